"""Diversity re-ranking of a scored list: maximal marginal relevance over item vectors and a per-category cap."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def mmr_order(scores: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> np.ndarray:
    """Greedy MMR: pick argmax of (1-d)*relevance - d*max similarity to the items already picked.

    Relevance is min-max scaled to [0, 1] so that `diversity` means the same for any score scale.
    """
    n = len(scores)
    k = min(k, n)
    if diversity <= 0 or n == 0:
        return np.argsort(-scores, kind="stable")[:k]
    spread = float(scores.max() - scores.min())
    relevance = (scores - scores.min()) / spread if spread > 0 else np.zeros(n)
    similarity = vectors @ vectors.T
    redundancy = np.zeros(n)
    picked = np.zeros(n, dtype=bool)
    order = []
    for step in range(k):
        value = (1 - diversity) * relevance - diversity * redundancy
        value[picked] = -np.inf
        best = int(np.argmax(value))
        order.append(best)
        picked[best] = True
        redundancy = similarity[best] if step == 0 else np.maximum(redundancy, similarity[best])
    return np.array(order, dtype=np.int64)


def cap_per_category(order: np.ndarray, categories: Sequence[str], k: int, cap: int) -> np.ndarray:
    """Keep the order but skip items whose (non-empty) category already has `cap` items in the list."""
    if cap <= 0:
        return order[:k]
    seen: Counter[str] = Counter()
    kept = []
    for position in order.tolist():
        category = categories[position]
        if category and seen[category] >= cap:
            continue
        seen[category] += 1
        kept.append(position)
        if len(kept) == k:
            break
    return np.array(kept, dtype=np.int64)
