"""Word neighbours and the closest-history features of ItemScorer; older saved models still load."""

import json

import numpy as np

from recommender.neighbours import lexical_neighbours
from recommender.scoring import FEATURES
from recommender.service import Recommender


def test_lexical_neighbours_link_texts_sharing_a_rare_word_and_never_an_item_to_itself():
    texts = ["Stanley TRA708T staples", "Stanley TRA708T staple gun", "red pen", "blue pen", "lab glove"]
    neighbours = lexical_neighbours(texts, k=2)
    assert neighbours is not None and neighbours.shape == (5, 5)
    assert neighbours[0].indices.tolist() == [1]
    assert neighbours.diagonal().max() == 0.0
    assert neighbours[4].nnz == 0  # no word it shares with another text


def test_lexical_neighbours_are_none_without_shared_words():
    assert lexical_neighbours(["", "", ""], k=5) is None


def test_closest_history_item_counts_not_just_the_last_one(catalogue, interactions, embed, small_config):
    scorer = Recommender.fit(catalogue, interactions, embed, small_config).current_scorer
    history = scorer.to_history([0, 13])  # red pen, then blue ink
    feats = scorer.features(history, np.arange(scorer.n_items))
    text_max, lexical_max = FEATURES.index("text_max"), FEATURES.index("lexical_max")
    pen, ink = 3, 16  # black pen (like the red pen), white ink (like the blue ink)
    assert feats[pen, text_max] > 0 and feats[ink, text_max] > 0
    assert feats[pen, lexical_max] > 0 and feats[ink, lexical_max] > 0
    assert feats[[0, 13], text_max].max() == 0.0  # history items are the repeat features' business


def test_same_brand_as_the_last_item(catalogue, interactions, embed, small_config):
    catalogue.brands = ["acme" if i % 2 else "" for i in range(len(catalogue.ids))]
    scorer = Recommender.fit(catalogue, interactions, embed, small_config).current_scorer
    feats = scorer.features(scorer.to_history([1]), np.arange(scorer.n_items))
    column = feats[:, FEATURES.index("same_brand_last")]
    assert column[3] == 1.0 and column[2] == 0.0 and column[1] == 0.0


def test_a_model_saved_before_the_newer_features_loads_and_ranks(catalogue, interactions, embed, small_config,
                                                                   tmp_path):
    model = Recommender.fit(catalogue, interactions, embed, small_config)
    path = tmp_path / "recs.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files if not name.startswith("lx_")}
    meta = json.loads(str(arrays["meta"]))
    meta.pop("has_lexical")
    arrays["meta"] = np.array(json.dumps(meta))
    arrays["weights"] = arrays["weights"][:9]  # the nine features of the first format
    np.savez(path, **arrays)
    loaded = Recommender.load(path, embed)
    assert loaded.current_scorer.weights.size == len(FEATURES) and loaded.current_scorer.lexical is None
    assert loaded.recommend([0, 1], k=3, exclude=[0, 1])[0].item_id == 2
