"""How far a message lies from the in-scope training lines in the encoder's space: an out-of-scope score that
owes nothing to the off-topic lines seen in training (deep k-nearest-neighbour distance, Sun et al. 2022).

Kept apart from the classifier and its fallback policy, like policy.py: the classifier says which intent,
the policy says whether that is confident enough, and this says whether the message is like anything the
shop answers at all. A message farther than `threshold` is read as out of scope. The threshold is the
distance below which `1 - max_in_scope_flagged` of in-scope messages the model never saw fall
(`fit_threshold`), so it is calibrated on in-scope data only.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

DISTANCE_FILE = "in_scope_distance.npz"


class InScopeDistanceCard(BaseModel):
    """What the model card keeps of the distance: k, the threshold, and how it was calibrated."""

    k: int = Field(ge=1)
    threshold: float
    calibration: dict = Field(default_factory=dict)


class InScopeDistance:
    """1 - mean cosine similarity to the k nearest in-scope training embeddings (unit vectors)."""

    def __init__(self, embeddings: np.ndarray, k: int) -> None:
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        self.embeddings = (embeddings / np.maximum(norms, 1e-12)).astype(np.float32)
        self.k = min(k, len(self.embeddings))

    @classmethod
    def from_neighbours(cls, embeddings: np.ndarray, label_ids: np.ndarray, out_of_scope_id: int,
                        k: int) -> InScopeDistance:
        """From the neighbour store of a trained model, keeping only its in-scope rows."""
        return cls(embeddings[label_ids != out_of_scope_id], k)

    def distances(self, queries: np.ndarray) -> np.ndarray:
        if len(queries) == 0:
            return np.zeros(0)
        q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        sims = q.astype(np.float32) @ self.embeddings.T
        top = -np.partition(-sims, self.k - 1, axis=1)[:, : self.k]
        return 1.0 - top.mean(axis=1).astype(np.float64)


def fit_threshold(in_scope_distances: np.ndarray, max_in_scope_flagged: float) -> float:
    """The distance that flags at most `max_in_scope_flagged` of these in-scope messages."""
    return float(np.quantile(in_scope_distances, 1.0 - max_in_scope_flagged, method="higher"))
