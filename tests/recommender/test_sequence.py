"""The SASRec sequence model: numpy serving equals the torch network, it learns a walk, it is saved, and it
is skipped on shops too large for it."""

from dataclasses import replace

import numpy as np
import pytest

from recommender.config import SequenceParams
from recommender.scoring import FEATURES
from recommender.sequence import SequenceModel, _network, train_sequence_model
from recommender.service import Recommender
from recommender.training import to_catalogue_indices


@pytest.mark.parametrize("item_embedding", ["id", "text+id"])
def test_numpy_scores_equal_the_torch_network_at_the_last_position(item_embedding):
    import torch

    rng = np.random.default_rng(0)
    text = rng.normal(size=(12, 80)).astype(np.float32)
    params = SequenceParams(dim=16, max_length=5, item_embedding=item_embedding)
    net = _network(12, params, text)
    with torch.no_grad():
        for parameter in net.parameters():  # away from the initial values (layer norms at 1 and 0)
            parameter.add_(torch.randn_like(parameter) * 0.1)
    net.eval()
    model = SequenceModel(net.export())
    for history in ([3], [1, 4, 7], [0, 2, 4, 6, 8, 10, 11]):
        inputs = np.zeros((1, 5), dtype=np.int64)
        tail = np.array(history[-5:]) + 1
        inputs[0, 5 - tail.size:] = tail
        with torch.no_grad():
            expected = net.logits(net(torch.from_numpy(inputs))[0, -1]).numpy()
        np.testing.assert_allclose(model.scores(np.array(history)), expected, rtol=1e-4, atol=1e-4)


def test_it_learns_what_comes_next_in_a_walk(catalogue, interactions, embed):
    behaviour = to_catalogue_indices(interactions, catalogue.ids)
    params = SequenceParams(dim=16, learning_rate=1e-2, dropout=0.1)
    trained = train_sequence_model(behaviour.users, behaviour.items, len(catalogue.ids), embed(catalogue.texts),
                                   params, epochs=40)
    assert int(np.argmax(trained.model.scores(np.array([0, 1])))) == 2  # red, blue pen -> green pen
    assert int(np.argmax(trained.model.scores(np.array([13])))) == 14  # blue ink -> green ink


def test_the_fitted_model_carries_it_through_saving_and_a_new_item(catalogue, interactions, embed, small_config,
                                                                  tmp_path):
    model = Recommender.fit(catalogue, interactions, embed, small_config)
    scorer = model.current_scorer
    assert scorer.sequence is not None
    path = tmp_path / "recs.npz"
    model.save(path)
    loaded = Recommender.load(path, embed)
    np.testing.assert_array_equal(loaded.score_all([0, 1]), model.score_all([0, 1]))
    loaded.add_item(999, "purple pen")
    assert loaded.current_scorer.sequence.scores(np.array([0])).shape == (len(catalogue.ids) + 1,)
    assert [r.item_id for r in loaded.recommend([0, 1], k=3)]


def test_shops_too_large_for_it_train_without_it(catalogue, interactions, embed, small_config):
    config = replace(small_config, sequence=replace(small_config.sequence, max_items=len(catalogue.ids) - 1))
    scorer = Recommender.fit(catalogue, interactions, embed, config).current_scorer
    assert scorer.sequence is None
    feats = scorer.features(scorer.to_history([0, 1]), np.arange(scorer.n_items))
    assert not feats[:, FEATURES.index("sequence")].any()


def test_the_second_stage_reorders_only_its_pool_and_keeps_the_pool_scores(catalogue, interactions, embed,
                                                                          small_config):
    from recommender.reranker import Reranker

    scorer = Recommender.fit(catalogue, interactions, embed, small_config).current_scorer
    history = scorer.to_history([0, 1])
    everything = np.arange(scorer.n_items)
    feats = scorer.features(history, everything)
    fused = np.einsum("ij,j->i", feats, scorer.weights)
    width = scorer.rerank_inputs(history, everything[:3], feats[:3], fused[:3], "mlp").shape[1]
    # a second stage that prefers the fused order reversed: the pool's best becomes its last
    reverse = {"mean": np.zeros(width, np.float32), "std": np.ones(width, np.float32),
               "w1": np.eye(width, 1, k=-(width - 9), dtype=np.float32), "b1": np.zeros(1, np.float32),
               "w2": np.ones(1, np.float32)}  # unit 0 reads the fused rank's log
    scorer.reranker = Reranker(reverse, pool=5)
    final = scorer.final_scores(history, everything, feats)
    pool = np.argsort(-fused, kind="stable")[:5]
    assert sorted(final[pool].tolist()) == sorted(fused[pool].tolist())
    assert np.argmax(final) == pool[-1] and final[pool[0]] == fused[pool].min()
    outside = np.setdiff1d(everything, pool)
    np.testing.assert_array_equal(final[outside], fused[outside])


def test_the_second_stage_learns_a_signal_the_first_stage_missed():
    from recommender.config import RerankParams
    from recommender.reranker import fit_reranker

    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(300, 20, 4)).astype(np.float32)
    targets = np.argmax(inputs[:, :, 2], axis=1)  # the first stage's order (position) knows nothing of it
    reranker = fit_reranker(inputs, targets, RerankParams(epochs=30, min_rows=100))
    assert reranker is not None
    picked = [int(np.argmax(reranker.scores(inputs[i]))) for i in range(300)]
    assert np.mean(np.array(picked) == targets) > 0.8
    assert fit_reranker(inputs[:50], targets[:50], RerankParams(min_rows=100)) is None


def test_two_fits_on_the_same_behaviour_give_the_same_model():
    """A fit is repeatable, so two runs of a recommender benchmark differ only by what changed between them (the
    item embedding's gradient was an accumulating index_put, whose CPU threads add in no fixed order)."""
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(400), 20)
    items = rng.integers(0, 300, size=users.size)
    params = SequenceParams(dim=64, max_length=20, item_embedding="id")
    first, second = (train_sequence_model(users, items, 300, None, params, epochs=1).model for _ in range(2))
    for name, values in first.weights.items():
        np.testing.assert_array_equal(values, second.weights[name], err_msg=name)
