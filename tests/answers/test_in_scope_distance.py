"""The out-of-scope score: far from every in-scope line and doubted by the classifier means off-topic, with a
threshold chosen on in-scope rows only."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.intent.in_scope_distance import (
    InScopeDistance,
    choose_policy_and_score,
    fit_threshold,
    in_scope_confidence,
    standardised_card,
)
from assistant.intent.policy import fallback_mask


def test_distance_is_to_the_nearest_in_scope_lines():
    distance = InScopeDistance(np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0]]), k=1)
    near, far = distance.distances(np.array([[1.0, 0.05, 0.0], [0.0, 0.1, 1.0]]))
    assert near < 0.01 and far > 0.9


def test_the_score_adds_the_standardised_distance_and_doubt():
    card = standardised_card(10, np.array([0.1, 0.3]), np.array([0.9, 0.7]))  # means 0.2 and doubt 0.2
    far_and_doubted, near_and_sure = card.scores(np.array([0.3, 0.1]), np.array([0.7, 0.9]))
    assert far_and_doubted == pytest.approx(2.0) and near_and_sure == pytest.approx(-2.0)


def test_in_scope_confidence_ignores_the_out_of_scope_column():
    probs = np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])
    assert in_scope_confidence(probs, out_of_scope_id=1).tolist() == [0.2, 0.5]


def test_the_threshold_keeps_the_fallback_budget_counting_the_policys_rows_once():
    scores = np.linspace(0.0, 1.0, 100)
    policy = np.zeros(100, dtype=bool)
    policy[[99, 10]] = True  # the highest score falls back anyway; so does a low one
    threshold = fit_threshold(scores, policy, max_fallback=0.05)
    assert ((scores > threshold) | policy).mean() <= 0.05
    assert (scores > threshold).sum() == 4  # the top row is shared with the policy: 4 + 1 other = 5 rows


def test_no_budget_left_means_the_score_flags_nothing():
    scores, policy = np.linspace(0.0, 1.0, 10), np.ones(10, dtype=bool)
    assert not (scores > fit_threshold(scores, policy, max_fallback=0.05)).any()


def test_the_doubt_weighs_as_the_card_says():
    card = standardised_card(10, np.array([0.1, 0.3]), np.array([0.9, 0.7])).model_copy(update={"doubt_weight": 0.0})
    far_and_doubted, near_and_sure = card.scores(np.array([0.3, 0.1]), np.array([0.7, 0.9]))
    assert far_and_doubted == pytest.approx(1.0) and near_and_sure == pytest.approx(-1.0)


def _probs(in_scope_confidence: np.ndarray) -> np.ndarray:
    """Rows over (intent, other intent, out_of_scope) with this top in-scope probability, nothing on out_of_scope."""
    return np.column_stack([in_scope_confidence, 1.0 - in_scope_confidence, np.zeros(len(in_scope_confidence))])


def test_policy_and_score_are_chosen_together_within_the_in_scope_budget():
    rng = np.random.default_rng(0)
    # in scope: near the lines, confidence spread; off-topic: far, but the classifier is as sure as in scope,
    # so only a score without the doubt (weight 0) tells them apart
    in_scope = (_probs(rng.uniform(0.55, 1.0, 400)), rng.normal(0.3, 0.05, 400))
    off_topic = (_probs(rng.uniform(0.55, 1.0, 200)), rng.normal(0.45, 0.05, 200))
    policy, card, recalls = choose_policy_and_score(in_scope, off_topic, oos_id=2, k=10, max_fallback=0.02,
                                                    policy_shares=(0.5, 0.0, 1.0), doubt_weights=(1.0, 0.0))
    # the policy cannot tell them apart either, so the whole budget goes to the score
    assert card.doubt_weight == 0.0 and card.calibration["policy_budget_share"] == 0.0
    assert recalls["policy share 0.0, doubt weight 0.0"] == max(recalls.values())
    assert recalls["policy share 0.0, doubt weight 0.0"] > recalls["policy share 0.0, doubt weight 1.0"] + 0.1
    assert recalls["policy share 1.0, doubt weight 0.0"] < recalls["policy share 0.0, doubt weight 0.0"]
    probs, distances = in_scope
    fell_back = fallback_mask(probs, 2, policy.threshold, policy.margin) | (
        card.scores(distances, in_scope_confidence(probs, 2)) > card.threshold)
    assert fell_back.mean() <= 0.02
