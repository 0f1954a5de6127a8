"""How unlike anything the shop answers a message is: an out-of-scope score that owes nothing to the off-topic
lines seen in training.

Two signals, both fitted on in-scope rows only: the distance from the message to its k nearest in-scope
training lines in the frozen MiniLM space (deep k-nearest-neighbour distance, Sun et al. 2022; the frozen
space keeps MiniLM's general sense of topic, where the fine-tuned one has been bent towards the intents), and
how little the classifier believes any in-scope intent (1 - its highest in-scope probability). Each is
standardised on held-out in-scope rows and the two are added, the doubt with a weight chosen in calibration.
A message whose score passes `threshold` is read as out of scope; the threshold is chosen on held-out in-scope
rows for a fallback budget (training.py).

Kept apart from the classifier and its fallback policy, like policy.py: the classifier says which intent,
the policy says whether that is confident enough, and this says whether the message is like anything the
shop answers at all.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from assistant.intent.policy import FallbackPolicy, choose_policy, fallback_mask

IN_SCOPE_VECTORS_FILE = "in_scope_vectors.npz"


class InScopeDistanceCard(BaseModel):
    """What the model card keeps of the score: k, the in-scope standardisation, the threshold."""

    k: int = Field(ge=1)
    distance_mean: float
    distance_std: float = Field(gt=0)
    doubt_mean: float
    doubt_std: float = Field(gt=0)
    doubt_weight: float = Field(default=1.0, ge=0)  # chosen in calibration (training.py); 1.0 on older cards
    threshold: float
    calibration: dict = Field(default_factory=dict)

    def scores(self, distances: np.ndarray, in_scope_confidence: np.ndarray) -> np.ndarray:
        """Standardised distance + `doubt_weight` x standardised doubt (1 - the highest in-scope probability)."""
        doubt = 1.0 - np.asarray(in_scope_confidence)
        return ((np.asarray(distances) - self.distance_mean) / self.distance_std
                + self.doubt_weight * (doubt - self.doubt_mean) / self.doubt_std)


class InScopeDistance:
    """1 - mean cosine similarity to the k nearest in-scope training vectors."""

    def __init__(self, vectors: np.ndarray, k: int) -> None:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        self.k = min(k, len(self.vectors))

    def distances(self, queries: np.ndarray) -> np.ndarray:
        if len(queries) == 0:
            return np.zeros(0)
        q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        sims = q.astype(np.float32) @ self.vectors.T
        top = -np.partition(-sims, self.k - 1, axis=1)[:, : self.k]
        return 1.0 - top.mean(axis=1).astype(np.float64)

    def save(self, path) -> None:
        np.savez_compressed(path, vectors=self.vectors.astype(np.float16), k=self.k)

    @classmethod
    def load(cls, path) -> InScopeDistance:
        data = np.load(path)
        return cls(data["vectors"].astype(np.float32), int(data["k"]))


def in_scope_confidence(probs: np.ndarray, out_of_scope_id: int) -> np.ndarray:
    """The highest probability among the in-scope intents, one per row."""
    in_scope = np.delete(probs, out_of_scope_id, axis=1)
    return in_scope.max(axis=1)


def standardised_card(k: int, distances: np.ndarray, confidence: np.ndarray) -> InScopeDistanceCard:
    """A card whose two signals are standardised on these held-out in-scope rows (threshold still open)."""
    doubt = 1.0 - confidence
    return InScopeDistanceCard(k=k, distance_mean=float(distances.mean()),
                               distance_std=float(max(distances.std(), 1e-6)), doubt_mean=float(doubt.mean()),
                               doubt_std=float(max(doubt.std(), 1e-6)), threshold=float("inf"))


def fit_threshold(in_scope_scores: np.ndarray, already_falling_back: np.ndarray, max_fallback: float,
                  weights: np.ndarray | None = None) -> float:
    """The lowest score threshold under which at most `max_fallback` of these in-scope rows fall back,
    counting the rows that fall back anyway (the policy) once; weighted when `weights` is given."""
    weights = np.ones(len(in_scope_scores)) if weights is None else np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    budget = max_fallback - float(weights[already_falling_back].sum())
    if budget <= 0:
        return float(in_scope_scores.max())  # nothing left: the score flags none of them
    order = np.argsort(-in_scope_scores)
    extra = np.cumsum(np.where(already_falling_back[order], 0.0, weights[order]))
    flagged = int(np.searchsorted(extra, budget, side="right"))  # the top `flagged` rows fit the budget
    if flagged >= len(order):
        return float(in_scope_scores.min()) - 1e-9
    return float(in_scope_scores[order[flagged]])


def choose_policy_and_score(in_scope: tuple[np.ndarray, np.ndarray], off_topic: tuple[np.ndarray, np.ndarray],
                            oos_id: int, k: int, max_fallback: float, policy_shares: tuple[float, ...],
                            doubt_weights: tuple[float, ...], in_scope_weights: np.ndarray | None = None
                            ) -> tuple[FallbackPolicy, InScopeDistanceCard, dict[str, float]]:
    """The fallback policy and the score chosen together. `in_scope` and `off_topic` are (calibrated
    probabilities, distances) of held-out rows. For each share of the budget left to the policy and each weight
    of the doubt, the policy takes its share and the score's threshold the rest, so that at most `max_fallback`
    of the in-scope rows fall back; the pair that reads the most off-topic rows as off-topic wins (ties: the
    earlier pair). Returns the policy, the card and the off-topic recall of every pair."""
    probs, distances = in_scope
    oos_probs, oos_distances = off_topic
    confidence, oos_confidence = in_scope_confidence(probs, oos_id), in_scope_confidence(oos_probs, oos_id)
    base = standardised_card(k, distances, confidence)
    recalls, best = {}, None
    for share in policy_shares:
        policy = choose_policy(probs, oos_probs, oos_id, max_fallback * share, in_scope_weights=in_scope_weights)
        falls_back = fallback_mask(probs, oos_id, policy.threshold, policy.margin)
        for doubt_weight in doubt_weights:
            weighted = base.model_copy(update={"doubt_weight": doubt_weight})
            card = weighted.model_copy(update={"threshold": fit_threshold(
                weighted.scores(distances, confidence), falls_back, max_fallback, in_scope_weights)})
            caught = (fallback_mask(oos_probs, oos_id, policy.threshold, policy.margin)
                      | (card.scores(oos_distances, oos_confidence) > card.threshold))
            recall = float(caught.mean()) if len(caught) else 0.0
            recalls[f"policy share {share}, doubt weight {doubt_weight}"] = recall
            if best is None or recall > best[0] + 1e-9:
                best = (recall, policy, card.model_copy(update={"calibration": {"policy_budget_share": share}}))
    return best[1], best[2], recalls
