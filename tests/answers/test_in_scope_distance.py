"""The out-of-scope score: far from every in-scope line and doubted by the classifier means off-topic, with a
threshold chosen on in-scope rows only."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.intent.in_scope_distance import (
    InScopeDistance,
    fit_threshold,
    in_scope_confidence,
    standardised_card,
)


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
