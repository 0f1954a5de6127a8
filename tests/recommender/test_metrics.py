"""Ranking metrics on hand-made rankings."""

import math

import numpy as np
import pytest

from recommender.metrics import (
    bootstrap_intervals,
    hit_rate,
    intra_list_similarity,
    ndcg,
    ranking_report,
    target_rank,
)


def test_target_rank_is_one_based_and_counts_ties_against_the_target():
    scores = np.array([0.1, 0.9, 0.5, 0.5])
    assert target_rank(scores, 1) == 1
    assert target_rank(scores, 2) == 3
    assert target_rank(scores, 0) == 4


def test_hit_rate_counts_targets_within_the_cutoff():
    ranks = np.array([1, 5, 6, 11])
    assert hit_rate(ranks, 5) == 0.5
    assert hit_rate(ranks, 10) == 0.75


def test_ndcg_uses_one_over_log2_rank_plus_one_and_zero_past_k():
    ranks = np.array([1, 3, 11])
    expected = (1.0 + 1.0 / math.log2(4) + 0.0) / 3
    assert ndcg(ranks, 10) == pytest.approx(expected)
    assert ndcg(np.array([2]), 1) == 0.0


def test_ranking_report_has_hr_and_ndcg_for_every_cutoff():
    report = ranking_report(np.array([1, 2]), (1, 5))
    assert report == {"hr@1": 0.5, "ndcg@1": 0.5, "hr@5": 1.0, "ndcg@5": pytest.approx((1 + 1 / math.log2(3)) / 2)}


def test_intra_list_similarity_is_one_for_copies_and_zero_for_orthogonal_items():
    assert intra_list_similarity(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(1.0)
    assert intra_list_similarity(np.eye(3)) == pytest.approx(0.0)


def test_bootstrap_interval_holds_the_measured_figure_and_narrows_with_more_rows():
    rng = np.random.default_rng(3)
    few, many = rng.integers(1, 40, size=200), rng.integers(1, 40, size=5000)
    small, large = bootstrap_intervals(few, (10,)), bootstrap_intervals(many, (10,))
    assert small["hr@10"][0] <= hit_rate(few, 10) <= small["hr@10"][1]
    assert small["ndcg@10"][0] <= ndcg(few, 10) <= small["ndcg@10"][1]
    assert large["ndcg@10"][1] - large["ndcg@10"][0] < small["ndcg@10"][1] - small["ndcg@10"][0]
