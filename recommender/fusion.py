"""Fit the fusion weights of ItemScorer's features on validation rows by coordinate ascent on NDCG@K.

Each validation row contributes a candidate list (the items each feature ranks highest, the history
and the target); ranks inside these lists stand in for full ranks, which keeps fitting fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.scoring import FEATURES, History, ItemScorer, csr_rows, positions_of

WEIGHT_GRID = (-3.0, -1.0, -0.3, 0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
REFINE_FACTORS = (0.5, 0.7, 0.85, 1.2, 1.4, 2.0)  # second stage: multiplicative steps around the grid's best
ANCHOR_FEATURE = 0  # cf_last keeps weight 1: scores are invariant to a common scale


@dataclass
class CandidateLists:
    """Features of every row's candidates stacked together, with the row and target of each entry."""

    features: np.ndarray  # (entries, features), divided by the feature scale
    row_of_entry: np.ndarray
    is_target: np.ndarray
    n_rows: int
    scale: np.ndarray  # per-feature divisor (a high percentile of its positive values)


def build_candidate_lists(scorer: ItemScorer, histories: list[History], targets: np.ndarray,
                          per_feature: int, dense_max_items: int) -> CandidateLists:
    blocks, rows, flags = [], [], []
    for row, (history, target) in enumerate(zip(histories, targets.tolist(), strict=True)):
        items = _row_candidates(scorer, history, target, dense_max_items)
        feats = scorer.features(history, items)
        kept = _top_per_feature(feats, items, history, target, per_feature)
        blocks.append(feats[kept])
        rows.append(np.full(kept.size, row))
        flags.append(items[kept] == target)
    if not blocks:
        blocks, rows, flags = [np.zeros((0, len(FEATURES)), np.float32)], [np.zeros(0, np.int64)], [np.zeros(0, bool)]
    features = np.concatenate(blocks)
    scale = _feature_scale(features)
    return CandidateLists(features / scale, np.concatenate(rows), np.concatenate(flags), len(histories), scale)


def _row_candidates(scorer: ItemScorer, history: History, target: int, dense_max_items: int) -> np.ndarray:
    """Every item on catalogues up to `dense_max_items` (each feature's top items must compete with each
    other's, or a feature's false alarms go unseen); above it, scoring every item for thousands of rows
    is too slow, so the behaviour and popular candidates of serving plus the text and word neighbours."""
    if scorer.n_items <= dense_max_items:
        return np.arange(scorer.n_items)
    extra = np.concatenate([scorer.text_top(history), scorer.word_top(history), [target]]).astype(np.int64)
    parts = [csr_rows(scorer.cf, history.indices)[0], scorer.popular_order, history.indices, extra]
    sequence_scores = scorer.sequence_scores(history)
    if sequence_scores is not None:
        parts.append(scorer.sequence_top(sequence_scores))
    return np.unique(np.concatenate(parts).astype(np.int64))


def _top_per_feature(feats: np.ndarray, items: np.ndarray, history: History, target: int,
                     per_feature: int) -> np.ndarray:
    """Positions of each feature's top items among the row's candidates, plus the history and target."""
    per_feature = min(per_feature, len(feats) - 1)
    top = np.argpartition(-feats, per_feature, axis=0)[:per_feature].ravel()
    own = positions_of(items, np.append(history.indices, target))
    return np.unique(np.concatenate([top, own]))


def _feature_scale(features: np.ndarray) -> np.ndarray:
    scale = np.ones(features.shape[1], dtype=np.float32)
    for f in range(features.shape[1]):
        positive = features[:, f][features[:, f] > 0]
        if positive.size:
            scale[f] = max(float(np.percentile(positive, 95)), 1e-6)
    return scale


def candidate_ranks(lists: CandidateLists, weights: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target inside its candidate list (ties count against the target)."""
    return ranks_of_scores(lists, np.einsum("ij,j->i", lists.features, weights))  # not BLAS: it stalls when busy


def ranks_of_scores(lists: CandidateLists, scores: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target among its candidates' scores (ties count against the target)."""
    target_score = np.full(lists.n_rows, np.inf, dtype=scores.dtype)
    target_score[lists.row_of_entry[lists.is_target]] = scores[lists.is_target]
    not_below = scores >= target_score[lists.row_of_entry]
    return np.bincount(lists.row_of_entry, weights=not_below, minlength=lists.n_rows)


def ndcg_at(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(np.where((ranks >= 1) & (ranks <= k), 1.0 / np.log2(ranks + 1.0), 0.0)))


def fit_weights(lists: CandidateLists, cutoff: int, passes: int,
                log: Callable[[str], None] = lambda _: None) -> np.ndarray:
    """Coordinate ascent over WEIGHT_GRID per feature (cf_last anchored at 1) from a few starting points;
    returns the best weights, divided by the feature scale so they apply to raw features."""
    starts = [np.eye(len(FEATURES), dtype=np.float32)[ANCHOR_FEATURE], np.ones(len(FEATURES), dtype=np.float32)]
    fitted = [_coordinate_ascent(lists, start, cutoff, passes, _grid_steps) for start in starts]
    quality, weights = max(fitted, key=lambda pair: pair[0])
    quality, weights = _coordinate_ascent(lists, weights, cutoff, passes, _refine_steps)
    named = dict(zip(FEATURES, weights.round(3).tolist(), strict=True))
    log(f"fusion weights: ndcg@{cutoff}={quality:.4f} on the validation candidates, {named}")
    return (weights / lists.scale).astype(np.float32)


def _grid_steps(current: float) -> tuple[float, ...]:
    return WEIGHT_GRID


def _refine_steps(current: float) -> tuple[float, ...]:
    return tuple(current * factor for factor in REFINE_FACTORS)


def _coordinate_ascent(lists: CandidateLists, weights: np.ndarray, cutoff: int, passes: int,
                       steps: Callable[[float], tuple[float, ...]]) -> tuple[float, np.ndarray]:
    scores = np.einsum("ij,j->i", lists.features, weights)
    best = ndcg_at(ranks_of_scores(lists, scores), cutoff)
    columns = np.ascontiguousarray(lists.features.T)
    for _ in range(passes):
        improved = False
        for f in range(len(FEATURES)):
            if f == ANCHOR_FEATURE:
                continue
            column = columns[f]
            for value in steps(float(weights[f])):
                # one weight changes: move the scores by it instead of summing every feature again
                trial_scores = scores + np.float32(value - weights[f]) * column
                quality = ndcg_at(ranks_of_scores(lists, trial_scores), cutoff)
                if quality > best + 1e-6:
                    best, scores, improved = quality, trial_scores, True
                    weights = weights.copy()
                    weights[f] = value
        if not improved:
            break
    return best, weights
