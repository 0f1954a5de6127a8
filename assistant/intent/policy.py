"""The fallback policy: when the classifier's ranking is not confident enough to act on (kept apart from the model)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from assistant.intent.labels import OUT_OF_SCOPE


class FallbackPolicy(BaseModel):
    """Fall back when the top intent is out_of_scope, its confidence is under `threshold`,
    or it leads the runner-up by less than `margin` (unless the runner-up is a confirmed second intent)."""

    threshold: float = Field(ge=0.0, le=1.0)
    margin: float = Field(ge=0.0, le=1.0)
    secondary_threshold: float = Field(default=0.5, ge=0.0, le=1.0)

    def falls_back(self, top_intent: str, top: float, runner_up: float, runner_up_confirmed: bool = False) -> bool:
        if top_intent == OUT_OF_SCOPE or top < self.threshold:
            return True
        return not runner_up_confirmed and top - runner_up < self.margin

    def with_overrides(self, threshold: float | None, margin: float | None) -> FallbackPolicy:
        return self.model_copy(update={k: v for k, v in (("threshold", threshold), ("margin", margin))
                                       if v is not None})


def fallback_mask(probs: np.ndarray, oos_id: int, threshold: float, margin: float) -> np.ndarray:
    """Vectorised `falls_back` over a matrix of calibrated probabilities (no second-intent confirmation)."""
    ordered = np.sort(probs, axis=1)
    top, runner_up = ordered[:, -1], ordered[:, -2]
    return (probs.argmax(axis=1) == oos_id) | (top < threshold) | (top - runner_up < margin)


def choose_policy(in_scope_probs: np.ndarray, oos_probs: np.ndarray, oos_id: int, max_fallback: float,
                  margins: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3),
                  in_scope_weights: np.ndarray | None = None) -> FallbackPolicy:
    """The (threshold, margin) that rejects the most out-of-scope rows while at most `max_fallback`
    of the in-scope rows fall back (a weighted share when `in_scope_weights` is given); ties go to the
    smaller margin."""
    best: tuple[float, float, float] | None = None
    for margin in margins:
        threshold = _highest_threshold(in_scope_probs, oos_id, margin, max_fallback, in_scope_weights)
        if threshold is None:
            continue
        recall = float(fallback_mask(oos_probs, oos_id, threshold, margin).mean()) if len(oos_probs) else 0.0
        if best is None or recall > best[0] + 1e-9:
            best = (recall, threshold, margin)
    if best is None:
        return FallbackPolicy(threshold=0.0, margin=0.0)
    return FallbackPolicy(threshold=round(best[1], 4), margin=best[2])


def group_weights(groups: np.ndarray) -> np.ndarray:
    """Row weights under which every group counts as much as any other, whatever its size."""
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse]


def _highest_threshold(probs: np.ndarray, oos_id: int, margin: float, max_fallback: float,
                       weights: np.ndarray | None = None) -> float | None:
    def rate(threshold: float) -> float:
        return float(np.average(fallback_mask(probs, oos_id, threshold, margin), weights=weights))

    candidates = np.unique(np.round(probs.max(axis=1), 4))
    best = None
    for threshold in candidates:  # ascending: the fallback rate only grows with the threshold
        if rate(float(threshold)) > max_fallback:
            break
        best = float(threshold)
    if best is None and rate(0.0) <= max_fallback:
        best = 0.0
    return best
