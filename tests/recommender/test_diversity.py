"""Diversity re-ranking: MMR lowers intra-list similarity; a category cap limits items per category."""

import numpy as np

from recommender.config import RecommenderConfig
from recommender.diversity import cap_per_category, mmr_order
from recommender.metrics import intra_list_similarity
from recommender.service import Recommender


def test_mmr_without_diversity_is_the_relevance_order():
    scores = np.array([0.2, 0.9, 0.5])
    assert mmr_order(scores, np.eye(3), 3, 0.0).tolist() == [1, 2, 0]


def test_mmr_skips_a_near_copy_of_the_first_item():
    scores = np.array([1.0, 0.99, 0.5])
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert mmr_order(scores, vectors, 2, 0.5).tolist() == [0, 2]


def test_category_cap_keeps_order_and_limits_each_category():
    categories = ["pen", "pen", "pen", "ink", ""]
    assert cap_per_category(np.arange(5), categories, 4, 1).tolist() == [0, 3, 4]


def test_recommender_diversity_lowers_intra_list_similarity(catalogue, interactions, embed, small_config):
    model = Recommender.fit(catalogue, interactions, embed, small_config)
    diverse = model.with_config(RecommenderConfig(diversity=0.7, rerank_pool=30))

    def ils(recommender):
        ids = [r.item_id for r in recommender.recommend([0, 1], k=5)]
        return intra_list_similarity(embed([catalogue.texts[i] for i in ids]))

    assert ils(diverse) < ils(model)


def test_recommender_category_cap(catalogue, interactions, embed, small_config):
    model = Recommender.fit(catalogue, interactions, embed, small_config)
    capped = model.with_config(RecommenderConfig(category_cap=2))
    categories = [catalogue.categories[r.item_id] for r in capped.recommend([0, 1], k=6)]
    assert max(categories.count(c) for c in set(categories)) <= 2
