"""The Recommender the chat server calls: ranking, reasons, real-time profiles, cold start, persistence."""

import threading
from dataclasses import replace

import numpy as np
import pytest

from recommender.config import RecommenderConfig, SequenceParams
from recommender.scoring import FEATURES
from recommender.service import Recommendation, Recommender


@pytest.fixture
def model(catalogue, interactions, embed, small_config):
    return Recommender.fit(catalogue, interactions, embed, small_config, catalogue_name="Office Products")


def test_next_item_of_a_walk_comes_first_with_a_behaviour_or_text_reason(model):
    # shoppers walk red pen -> blue pen -> green pen; after red and blue, green is next
    recs = model.recommend([0, 1], k=3, exclude=[0, 1])
    assert recs[0].item_id == 2
    assert all(isinstance(r, Recommendation) for r in recs)
    assert recs[0].reason.startswith(("often bought after", "similar to"))


def test_exclude_removes_items_and_k_limits_the_list(model):
    recs = model.recommend([0, 1], k=5, exclude=[2])
    assert len(recs) == 5 and 2 not in [r.item_id for r in recs]


def test_a_behaviour_event_changes_the_next_recommendation_at_once(model):
    before = model.recommend([], k=3, customer_id="shopper-1")
    model.observe("shopper-1", 13, "click")  # blue ink (kind 2, colour 1)
    after = model.recommend([], k=3, customer_id="shopper-1", exclude=[13])
    assert [r.item_id for r in after] != [r.item_id for r in before]
    assert after[0].item_id == 14  # green ink follows blue ink


def test_profile_events_are_merged_after_the_given_history(model):
    model.observe("session-9", 25, "view")  # blue folder, after a pen in the given history
    recs = model.recommend([0], k=1, customer_id="session-9", exclude=[0, 25])
    assert recs[0].item_id == 26


def test_unknown_event_kind_is_refused(model):
    with pytest.raises(ValueError):
        model.observe("s", 1, "teleport")


def test_new_shopper_gets_popular_items_with_a_popularity_reason(model):
    recs = model.recommend([], k=3)
    assert len(recs) == 3 and all(r.reason.startswith("popular") for r in recs)
    assert all(r.because in ("popularity", "recent_popularity") and r.anchor_id is None for r in recs)


def test_new_shopper_with_chat_text_gets_items_matching_it(model):
    recs = model.recommend([], context_text="yellow stapler", k=1)
    assert recs[0].item_id == model.item_ids.tolist().index(23)  # "yellow stapler"
    assert recs[0].reason == "matches 'yellow stapler'" and recs[0].because == "context"


def test_a_new_item_without_behaviour_is_recommended_through_its_text(catalogue, interactions, embed, small_config):
    # the text path is the first stage's: every item of this toy shop has behaviour, so a second stage fitted on
    # it has never seen an item without any (real shops' fit rows hold 9-12 % cold targets)
    config = replace(small_config, rerank=replace(small_config.rerank, enabled=False))
    model = Recommender.fit(catalogue, interactions, embed, config)
    model.add_item(1000, "green pen refill", title="green pen refill")
    history_recs = model.recommend([0, 1], k=5, exclude=[0, 1])
    context_recs = model.recommend([], context_text="green pen refill", k=1)
    assert 1000 in [r.item_id for r in history_recs]
    assert context_recs[0].item_id == 1000
    assert 1000 in [r.item_id for r in model.similar_items(2, k=5)]


def test_save_and_load_give_the_same_recommendations(model, embed, tmp_path):
    path = tmp_path / "recs.npz"
    model.save(path)
    loaded = Recommender.load(path, embed)
    assert loaded.recommend([0, 1], k=5) == model.recommend([0, 1], k=5)


def test_recommend_keeps_working_while_items_are_added_from_another_thread(model):
    errors = []

    def recommend_repeatedly():
        try:
            for _ in range(200):
                assert len(model.recommend([0, 1], k=5)) == 5
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    worker = threading.Thread(target=recommend_repeatedly)
    worker.start()
    for item_id in range(2000, 2020):
        model.add_item(item_id, f"red pen model {item_id}")
    worker.join()
    assert not errors


def test_training_without_an_embedder_still_ranks_by_behaviour(catalogue, interactions, small_config):
    model = Recommender.fit(catalogue, interactions, None, small_config)
    assert model.recommend([6, 7], k=1, exclude=[6, 7])[0].item_id == 8


def test_every_cf_model_trains_and_ranks(catalogue, interactions, embed):
    for cf_model in ("cooccurrence", "ease", "als"):
        config = RecommenderConfig(cf_model=cf_model, neighbours_k=10, sequence=SequenceParams(enabled=False))
        model = Recommender.fit(catalogue, interactions, embed, config)
        scores = model.score_all([0, 1])
        assert scores.shape == (len(catalogue.ids),) and np.isfinite(scores).all()


LINKS = {"cf": "cf", "text_max": "text_neighbours", "lexical_max": "lexical"}  # feature -> matrix whose max it is


@pytest.mark.parametrize(("history", "events"), [([0, 1], []), ([6, 13, 20], []), ([], [(13, "view")]),
                                                   ([25], [(7, "view"), (8, "add_to_cart")])])
def test_each_reason_names_the_feature_that_contributed_most_and_the_history_item_behind_it(model, history, events):
    profile = f"reasons-{history}-{events}"
    for item_id, kind in events:
        model.observe(profile, item_id, kind)
    scorer = model.current_scorer
    ids = history + [item_id for item_id, _ in events]
    shopper = scorer.to_history(ids, [1.0] * len(history) + [model.config.event_weights[k] for _, k in events])
    did = {**dict.fromkeys(history, "bought"), **{i: {"view": "viewed", "add_to_cart": "put in your cart"}[k]
                                                  for i, k in events}}
    for rec in model.recommend(history, k=8, customer_id=profile):
        item = scorer.index_of[rec.item_id]
        contributions = scorer.features(shopper, np.array([item]))[0] * scorer.weights
        top = FEATURES[int(np.argmax(contributions))]
        assert rec.because == (top if contributions.max() > 0 else "popularity"), rec
        if rec.anchor_id is None:
            assert rec.reason.startswith(("popular", "you ")), rec
            continue
        anchor = scorer.index_of[rec.anchor_id]
        assert f"'{model._state.titles[anchor]}'" in rec.reason  # noqa: SLF001
        if top.endswith("_last") or top == "sequence":
            assert rec.anchor_id == ids[-1]
        if top.startswith("cf") or top in LINKS:  # the anchor's own link is the largest behind the feature
            matrix = getattr(scorer, LINKS.get(top, "cf"))
            links = matrix[shopper.indices][:, [item]].toarray().ravel()
            assert matrix[anchor, item] == pytest.approx(links.max() if top in LINKS or top == "cf_last"
                                                         else links[:-1].max()), rec
        expected = {"cf": "often bought after", "te": "similar to", "le": "similar to", "sa": "same brand as",
                    "se": "often bought next by shoppers who bought"}
        assert rec.reason.startswith(expected[top[:2]]), rec
        if not top.startswith(("cf", "se")):
            assert rec.reason.endswith(f"you {did[rec.anchor_id]}"), rec
