"""Temperature scaling, calibration error, the fallback policy and the evaluation figures on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.intent.calibration import (
    ensemble_scores,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
)
from assistant.intent.clauses import split_clauses
from assistant.intent.metrics import summary_metrics
from assistant.intent.policy import FallbackPolicy, choose_policy, fallback_mask


def test_softmax_with_temperature_flattens_and_sharpens():
    scores = np.array([[2.0, 0.0]])
    assert softmax(scores)[0, 0] == pytest.approx(1 / (1 + np.exp(-2)))
    assert softmax(scores, 2.0)[0, 0] < softmax(scores)[0, 0] < softmax(scores, 0.5)[0, 0]


def test_fitted_temperature_cools_an_overconfident_model():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 3, 400)
    scores = rng.normal(0, 1, (400, 3))
    right = rng.random(400) < 0.7  # 70 % right but always sure
    predicted = np.where(right, targets, (targets + 1) % 3)
    scores[np.arange(400), predicted] += 10.0
    temperature = fit_temperature(scores, targets)
    assert temperature > 3
    assert expected_calibration_error(softmax(scores, temperature), targets) < \
        expected_calibration_error(softmax(scores), targets)


def test_expected_calibration_error_by_hand():
    # two bins: confidence 0.9 (2 rows, 1 right) and 0.6 (2 rows, 2 right)
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    targets = np.array([0, 1, 0, 0])
    assert expected_calibration_error(probs, targets, n_bins=10) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert [b[2] for b in reliability_bins(probs, targets, n_bins=10)] == [2, 2]


def test_ensemble_mixes_network_and_neighbour_probabilities():
    logits = np.log(np.array([[0.8, 0.2]]))
    votes = np.array([[0.0, 1.0]])
    assert np.exp(ensemble_scores(logits, votes, 0.5))[0] == pytest.approx([0.4, 0.6])
    assert np.exp(ensemble_scores(logits, None, 0.5))[0] == pytest.approx([0.8, 0.2])


def test_policy_falls_back_when_unsure_close_or_out_of_scope():
    policy = FallbackPolicy(threshold=0.5, margin=0.2)
    assert not policy.falls_back("track_order", 0.9, 0.05)
    assert policy.falls_back("track_order", 0.45, 0.05)
    assert policy.falls_back("track_order", 0.55, 0.40)
    assert not policy.falls_back("track_order", 0.55, 0.40, runner_up_confirmed=True)
    assert policy.falls_back("out_of_scope", 0.99, 0.0)


def test_chosen_policy_keeps_in_scope_fallbacks_under_the_budget():
    rng = np.random.default_rng(1)
    in_scope = rng.dirichlet([8, 1, 1], 500)
    oos = rng.dirichlet([1, 1, 1], 200)
    policy = choose_policy(in_scope, oos, oos_id=2, max_fallback=0.02)
    assert fallback_mask(in_scope, 2, policy.threshold, policy.margin).mean() <= 0.02
    assert fallback_mask(oos, 2, policy.threshold, policy.margin).mean() > 0.3


def test_summary_metrics_by_hand():
    gold = ["track_order", "track_order", "cancel_order", "cancel_order", "out_of_scope", "out_of_scope"]
    intents = ["track_order", "cancel_order", "cancel_order", "cancel_order", "greeting", "track_order"]
    fallbacks = [False, False, False, True, True, False]
    m = summary_metrics(gold, intents, fallbacks)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(2 / 4)  # the fallback on an in-scope row counts as wrong
    assert m["fallback_rate"] == pytest.approx(1 / 4)
    assert m["oos_recall"] == pytest.approx(1 / 2)
    assert m["answered_accuracy"] == pytest.approx(2 / 3)
    assert 0 < m["macro_f1"] < 1
    assert summary_metrics(["track_order"], ["track_order"], [False])["oos_recall"] is None


def test_coordinated_messages_split_into_clauses():
    assert split_clauses("I was charged twice and want my money back, also where is my parcel") == [
        "I was charged twice", "want my money back", "where is my parcel"]
    assert split_clauses("where is my order") == []
    assert split_clauses("hi, where is my order") == []


def test_group_weights_make_a_small_group_count_as_much_as_a_large_one():
    from assistant.intent.policy import group_weights

    groups = np.array([True] * 98 + [False] * 2)
    weights = group_weights(groups)
    assert weights[groups].sum() == pytest.approx(weights[~groups].sum())
    # 98 confident rows and 2 unsure ones: unweighted, 2 % may fall back; weighted, the small group's
    # unsure rows are half of all the weight, so the threshold stays below them
    probs = np.array([[0.95, 0.05, 0.0]] * 98 + [[0.6, 0.4, 0.0], [0.55, 0.45, 0.0]])
    oos = np.array([[0.5, 0.1, 0.4]] * 10)
    plain = choose_policy(probs, oos, oos_id=2, max_fallback=0.02, margins=(0.0,))
    balanced = choose_policy(probs, oos, oos_id=2, max_fallback=0.02, margins=(0.0,), in_scope_weights=weights)
    assert plain.threshold >= 0.6 and balanced.threshold <= 0.55


def test_strong_breaks_separate_requests_before_weak_ones():
    from assistant.intent.clauses import split_requests

    assert split_requests("I was charged twice and want my money back, also where is my parcel") == [
        "I was charged twice and want my money back", "where is my parcel"]
    assert split_requests("Cancel my order. By the way how do I reset my password") == [
        "Cancel my order", "how do I reset my password"]
    # no strong break: the clauses at weak breaks, as before
    assert split_requests("where is my order and i want to change my address") == [
        "where is my order", "i want to change my address"]
    assert split_requests("hi, where is my order") == []


def _reader(labels):
    from assistant.intent.classifier import IntentClassifier
    from assistant.intent.model_card import ModelCard

    card = ModelCard(labels=labels, max_length=32, policy=FallbackPolicy(threshold=0.4, margin=0.0))
    return IntentClassifier(backend=None, card=card, neighbours=None)


def test_a_message_blending_two_requests_is_read_as_its_requests():
    reader = _reader(["get_refund", "track_order", "track_refund", "out_of_scope"])
    whole = np.array([0.2, 0.2, 0.55, 0.05])  # "money back ... where is my parcel" blends into track_refund
    parts = np.array([[0.95, 0.02, 0.02, 0.01], [0.03, 0.9, 0.05, 0.02]])
    reading = reader._reading(whole, parts, separate_requests=True)
    assert (reading.intent, reading.secondary_intent, reading.fallback) == ("get_refund", "track_order", False)
    # clauses at weak breaks ("and", a comma) may be halves of one request: the whole message's reading stands
    reading = reader._reading(whole, parts, separate_requests=False)
    assert (reading.intent, reading.secondary_intent) == ("track_refund", "get_refund")
    # when the whole message names one of the requests, it stays the main one
    whole = np.array([0.1, 0.8, 0.05, 0.05])
    reading = reader._reading(whole, parts, separate_requests=True)
    assert (reading.intent, reading.secondary_intent) == ("track_order", "get_refund")


def test_ensemble_gives_the_frozen_member_its_weight_and_the_network_the_rest():
    logits = np.log(np.array([[0.8, 0.2]]))
    votes, frozen = np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    assert np.exp(ensemble_scores(logits, votes, 0.25, frozen, 0.25))[0] == pytest.approx([0.65, 0.35])
    assert np.exp(ensemble_scores(logits, votes, 0.25, None, 0.25))[0] == pytest.approx([0.6, 0.4])
