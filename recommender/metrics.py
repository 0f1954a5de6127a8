"""Ranking metrics for next-item evaluation: HR@K, NDCG@K from 1-based target ranks, and intra-list similarity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def target_rank(scores: np.ndarray, target_index: int) -> int:
    """1-based rank of the target in a full score vector; ties count against the target (pessimistic)."""
    target_score = scores[target_index]
    return int(np.count_nonzero(scores > target_score) + np.count_nonzero(scores == target_score))


def hit_rate(ranks: np.ndarray, k: int) -> float:
    """Share of rows whose target is ranked within the top k."""
    ranks = np.asarray(ranks)
    return float(np.mean(ranks <= k)) if ranks.size else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    """Mean of 1/log2(rank+1) for targets within the top k, 0 past k (one relevant item per row)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if not ranks.size:
        return 0.0
    gains = np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)
    return float(gains.mean())


def ranking_report(ranks: np.ndarray, cutoffs: Sequence[int]) -> dict[str, float]:
    """HR@K and NDCG@K for every cutoff, keyed like {"hr@10": ..., "ndcg@10": ...}."""
    report: dict[str, float] = {}
    for k in cutoffs:
        report[f"hr@{k}"] = hit_rate(ranks, k)
        report[f"ndcg@{k}"] = ndcg(ranks, k)
    return report


def bootstrap_intervals(ranks: np.ndarray, cutoffs: Sequence[int], resamples: int = 1000, seed: int = 0,
                        level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of HR@K and NDCG@K over the test rows (rows resampled with replacement)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if not ranks.size:
        return {}
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ranks.size, size=(resamples, ranks.size))
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    intervals: dict[str, tuple[float, float]] = {}
    for k in cutoffs:
        hits = (ranks <= k).astype(np.float64)
        gains = np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)
        for name, values in ((f"hr@{k}", hits), (f"ndcg@{k}", gains)):
            low, high = np.percentile(values[picks].mean(axis=1), tails)
            intervals[name] = (float(low), float(high))
    return intervals


def intra_list_similarity(vectors: np.ndarray) -> float:
    """Mean pairwise cosine similarity of a recommended list's item vectors (lower = more diverse)."""
    n = len(vectors)
    if n < 2:
        return 0.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    sims = unit @ unit.T
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))
