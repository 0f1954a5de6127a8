"""Nearest-neighbour voting over sentence embeddings of the training lines: robust with little training."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class NeighbourVoter:
    """Class probabilities from the k most similar training embeddings, weighted by exp(similarity / tau)."""

    def __init__(self, embeddings: np.ndarray, label_ids: np.ndarray, n_labels: int,
                 k: int, temperature: float) -> None:
        self.embeddings = embeddings.astype(np.float32)
        self.label_ids = label_ids.astype(np.int64)
        self.n_labels = n_labels
        self.k = min(k, len(label_ids))
        self.temperature = temperature

    def probabilities(self, queries: np.ndarray) -> np.ndarray:
        sims = queries.astype(np.float32) @ self.embeddings.T
        top = np.argpartition(-sims, self.k - 1, axis=1)[:, : self.k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        weights = np.exp((top_sims - top_sims.max(axis=1, keepdims=True)) / self.temperature)
        votes = np.zeros((len(queries), self.n_labels), dtype=np.float64)
        rows = np.repeat(np.arange(len(queries)), self.k)
        np.add.at(votes, (rows, self.label_ids[top].ravel()), weights.ravel())
        return votes / votes.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, embeddings=self.embeddings.astype(np.float16), label_ids=self.label_ids,
                            n_labels=self.n_labels, k=self.k, temperature=self.temperature)

    @classmethod
    def load(cls, path: Path) -> NeighbourVoter:
        data = np.load(path)
        return cls(data["embeddings"].astype(np.float32), data["label_ids"], int(data["n_labels"]),
                   int(data["k"]), float(data["temperature"]))
