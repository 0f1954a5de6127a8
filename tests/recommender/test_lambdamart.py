"""The LambdaMART second stage: numpy trees equal LightGBM's predictions, cut rows leave no target in the
generators' behaviour, the trees learn what the first stage missed, and a fitted model is saved and served."""

from dataclasses import replace

import numpy as np

from recommender.config import RerankParams
from recommender.data import NextItemRows
from recommender.lambdamart import TreeRanker, cut_rows, fit_lambdamart, from_booster, tree_inputs
from recommender.service import Recommender


def test_numpy_trees_equal_lightgbm():
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0.5).astype(np.float32)
    booster = lgb.train({"objective": "lambdarank", "num_leaves": 7, "max_depth": 4, "verbose": -1,
                         "min_data_in_leaf": 5}, lgb.Dataset(x, y, group=[20] * 100), num_boost_round=25)
    ranker = from_booster(booster, pool=20)
    np.testing.assert_allclose(ranker.scores(x[:300]), booster.predict(x[:300]), rtol=1e-6, atol=1e-9)


def test_cut_rows_hold_out_every_target_they_make():
    rows = NextItemRows(["a", "b"], [[1, 2, 3], [7]], np.array([4, 8]))
    cut, pairs = cut_rows(rows, cuts=2)
    assert list(zip(cut.user_keys, cut.histories, cut.targets.tolist(), strict=True)) == [
        ("a", [1, 2, 3], 4), ("a", [1, 2], 3), ("a", [1], 2), ("b", [7], 8)]
    assert pairs == [("a", 4), ("a", 3), ("a", 2), ("b", 8)]


def test_tree_inputs_know_where_the_candidate_sits_in_the_history():
    text = np.eye(5, dtype=np.float32)
    pooled, history = np.array([3, 0, 4]), np.array([3, 1, 3, 2])
    inputs = tree_inputs(np.zeros((3, 2), np.float32), np.array([3.0, 2.0, 1.0]), history, pooled, text,
                         np.array([.5, .5, .5, .5, 0.0], np.float32), np.zeros(5, np.float32))
    steps_back, count, cold = inputs[:, 4 + 5], inputs[:, 4 + 6], inputs[:, 4 + 9]
    assert steps_back.tolist() == [1, -1, -1] and count.tolist() == [2, 0, 0] and cold.tolist() == [0, 0, 1]


def test_the_trees_learn_a_signal_the_first_stage_missed_and_gate_themselves():
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(20, 4)).astype(np.float32) for _ in range(400)]
    positions = np.array([int(np.argmax(x[:, 2])) for x in inputs])  # the pool's order knows nothing of it
    params = RerankParams(min_rows=100, min_leaf=5, trees=60, threads=1)
    ranker = fit_lambdamart(inputs, positions, np.arange(400) // 2, params)
    assert ranker is not None
    picked = [int(np.argmax(ranker.scores(x))) for x in inputs]
    assert np.mean(np.array(picked) == positions) > 0.8
    # targets already first in every pool: nothing to gain, not used
    assert fit_lambdamart(inputs, np.zeros(400, dtype=np.int64), np.arange(400), params) is None
    assert fit_lambdamart(inputs[:50], positions[:50], np.arange(50), params) is None


def test_a_fitted_tree_stage_is_saved_and_serves_the_same_lists(catalogue, interactions, embed, small_config,
                                                                tmp_path):
    config = replace(small_config, rerank=RerankParams(kind="trees", cuts=1, min_rows=20, min_leaf=5, trees=20,
                                                        threads=1, pool=20))
    model = Recommender.fit(catalogue, interactions, embed, config)
    scorer = model.current_scorer
    if scorer.reranker is None:  # gated off on this data: serve a fixed tree stage to test the round trip
        scorer.reranker = TreeRanker({"feature": np.array([1], np.int32), "threshold": np.array([np.inf]),
                                      "left": np.array([0], np.int32), "right": np.array([0], np.int32),
                                      "value": np.array([0.0]), "roots": np.array([0], np.int32),
                                      "depth": np.array([0], np.int32)}, pool=20)
    assert isinstance(scorer.reranker, TreeRanker)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Recommender.load(path, embed)
    assert isinstance(loaded.current_scorer.reranker, TreeRanker)
    history = [0, 1, 2]
    assert [r.item_id for r in loaded.recommend(history, k=5)] == [r.item_id for r in model.recommend(history, k=5)]


def test_float32_inputs_split_as_the_double_thresholds_do():
    """The walk compares float32 inputs with thresholds rounded down to float32: an input on either side of a
    double threshold that no float32 can hold goes where the double comparison sends it."""
    threshold = 0.1  # float32(0.1) is a little above the double 0.1
    tree = TreeRanker({"feature": np.array([0, 0, 0], np.int32), "threshold": np.array([threshold, np.inf, np.inf]),
                       "left": np.array([1, 1, 2], np.int32), "right": np.array([2, 1, 2], np.int32),
                       "value": np.array([0.0, -1.0, 1.0]), "roots": np.array([0], np.int32),
                       "depth": np.array([1], np.int32)}, pool=2)
    above = np.float32(threshold)
    below = np.nextafter(above, np.float32(-np.inf))
    inputs = np.array([[above], [below]], dtype=np.float32)
    assert tree.scores(inputs).tolist() == [1.0 if float(above) > threshold else -1.0,
                                            1.0 if float(below) > threshold else -1.0] == [1.0, -1.0]
