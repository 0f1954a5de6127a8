"""ItemScorer: the fitted arrays (behaviour, text and word neighbours, item text vectors, popularity, fusion weights)
and the vectorised scoring of candidate items for one shopper's history."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.lambdamart import TreeRanker, tree_inputs
from recommender.reranker import Reranker, pool_of, rerank_inputs
from recommender.sequence import SequenceModel

FEATURES = ("cf_last", "cf_earlier", "text_last", "text_earlier", "popularity", "repeat_last", "repeat_earlier",
            "recent_popularity", "same_brand", "same_brand_last", "text_max", "lexical_max", "sequence")
SEQUENCE_FLOOR_RANK = 200  # the sequence feature is how far an item's logit lies above the logit of this rank


def positions_of(sorted_items: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Positions in a sorted index array of those `items` it contains."""
    if not sorted_items.size or not items.size:
        return np.zeros(0, dtype=np.int64)
    positions = np.minimum(np.searchsorted(sorted_items, items), sorted_items.size - 1)
    return positions[sorted_items[positions] == items]


def csr_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns, values and per-row counts of some rows of a CSR matrix, read from its arrays: for the few rows
    of a history this is several times faster than scipy's row indexing, which builds a new matrix."""
    starts, ends = matrix.indptr[rows], matrix.indptr[np.asarray(rows) + 1]
    counts = ends - starts
    positions = np.arange(int(counts.sum())) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return matrix.indices[positions], matrix.data[positions], counts


@dataclass
class History:
    """A shopper's recent items as catalogue indices (oldest first) with the strength of each event."""

    indices: np.ndarray  # int64
    strengths: np.ndarray  # float32

    @property
    def is_empty(self) -> bool:
        return self.indices.size == 0


@dataclass
class ScoredCandidates:
    indices: np.ndarray  # catalogue indices of the scored items
    features: np.ndarray  # (candidates, len(FEATURES)) before weighting
    scores: np.ndarray


@dataclass
class ItemScorer:
    """Scores items for a history: a weighted sum of behaviour, text, popularity and repeat features."""

    item_ids: np.ndarray  # int64 external ids by catalogue index
    cf: sp.csr_matrix  # behaviour neighbours, top k per item
    popularity: np.ndarray  # float32 in [0, 1]
    recent_popularity: np.ndarray  # float32 in [0, 1]: counts weighted towards the ends of the sequences
    text: np.ndarray | None  # L2-normalised item text vectors, or None without an embedder
    text_neighbours: sp.csr_matrix | None  # top k cosine neighbours of each item's text
    brand_codes: np.ndarray  # int32 brand number per item, -1 when unknown
    weights: np.ndarray  # float32 per FEATURES entry (already divided by the feature scale)
    history_decay: float
    dense_max_items: int
    popular_candidates: int
    lexical: sp.csr_matrix | None = None  # top k TF-IDF neighbours of each item's text, None without words
    sequence: SequenceModel | None = None  # next-item model over the history, None when not trained
    reranker: Reranker | TreeRanker | None = None  # second stage over the fused score's best, None when not fitted

    def __post_init__(self) -> None:
        self.index_of = {int(item): i for i, item in enumerate(self.item_ids.tolist())}
        self.popular_order = np.unique(np.concatenate([
            np.argsort(-self.popularity, kind="stable")[: self.popular_candidates],
            np.argsort(-self.recent_popularity, kind="stable")[: self.popular_candidates]]))

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def to_history(self, item_ids: list[int], strengths: list[float] | None = None) -> History:
        """Known items of a history as indices; unknown ids are dropped."""
        strengths = strengths or [1.0] * len(item_ids)
        pairs = [(self.index_of[i], s) for i, s in zip(item_ids, strengths, strict=True) if i in self.index_of]
        return History(np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs],
                                                                                  dtype=np.float32))

    def position_weights(self, history: History) -> np.ndarray:
        steps_back = np.arange(history.indices.size - 1, -1, -1, dtype=np.float32)
        return history.strengths * np.power(np.float32(self.history_decay), steps_back)

    def candidates(self, history: History, extra: np.ndarray | None = None,
                   sequence_scores: np.ndarray | None = None) -> np.ndarray:
        """Every item on small catalogues; else behaviour neighbours, popular items, the sequence model's
        best, history and extra."""
        if self.n_items <= self.dense_max_items:
            return np.arange(self.n_items)
        parts = [csr_rows(self.cf, history.indices)[0], self.popular_order, history.indices]
        if sequence_scores is not None:
            parts.append(self.sequence_top(sequence_scores))
        if extra is not None:
            parts.append(extra)
        return np.unique(np.concatenate(parts).astype(np.int64))

    def sequence_top(self, sequence_scores: np.ndarray) -> np.ndarray:
        """The sequence model's best items, as many as the popular candidates."""
        count = min(self.popular_candidates, self.n_items - 1)
        return np.argpartition(-sequence_scores, count)[:count]

    def sequence_scores(self, history: History) -> np.ndarray | None:
        """The sequence model's logit of every item after this history (None without one or without history)."""
        if self.sequence is None or history.is_empty:
            return None
        return self.sequence.scores(history.indices)

    def text_top(self, history: History) -> np.ndarray:
        """Text neighbours of the history items (none without text)."""
        if self.text_neighbours is None or history.is_empty:
            return np.zeros(0, dtype=np.int64)
        return csr_rows(self.text_neighbours, history.indices)[0]

    def word_top(self, history: History) -> np.ndarray:
        """Word (TF-IDF) neighbours of the history items (none without words)."""
        if self.lexical is None or history.is_empty:
            return np.zeros(0, dtype=np.int64)
        return csr_rows(self.lexical, history.indices)[0]

    def features(self, history: History, candidates: np.ndarray,
                 sequence_scores: np.ndarray | None = None) -> np.ndarray:
        """Raw features of the candidates; `sequence_scores` when the caller has them already."""
        feats = np.zeros((candidates.size, len(FEATURES)), dtype=np.float32)
        feats[:, 4] = self.popularity[candidates]
        feats[:, 7] = self.recent_popularity[candidates]
        if history.is_empty:
            return feats
        weights = self.position_weights(history)
        last, earlier, earlier_w = history.indices[-1], history.indices[:-1], weights[:-1]
        dense = candidates.size == self.n_items
        self._neighbour_features(feats, (0, 1), self.cf, last, earlier, earlier_w / earlier_w.sum(), candidates,
                                 dense)
        if earlier.size:
            feats[:, 6] = self._scatter(earlier, earlier_w, candidates, dense)
        feats[:, 5] = candidates == last
        if self.text_neighbours is not None:
            # cosine to the earlier items' mean vector, as if it were one more item
            profile_norm = float(np.linalg.norm(earlier_w @ self.text[earlier])) if earlier.size else 1.0
            self._neighbour_features(feats, (2, 3), self.text_neighbours, last, earlier,
                                     earlier_w / max(profile_norm, 1e-12), candidates, dense)
            # the closest history item by text: the mean profile blurs shoppers who buy for several needs
            columns, values, _ = csr_rows(self.text_neighbours, history.indices)
            feats[:, 10] = self._scatter_max(columns, values, candidates, dense)
        if self.lexical is not None:
            columns, values, _ = csr_rows(self.lexical, history.indices)
            feats[:, 11] = self._scatter_max(columns, values, candidates, dense)
        if sequence_scores is None:
            sequence_scores = self.sequence_scores(history)
        if sequence_scores is not None:
            floor = np.partition(sequence_scores, -SEQUENCE_FLOOR_RANK)[-SEQUENCE_FLOOR_RANK] if (
                sequence_scores.size > SEQUENCE_FLOOR_RANK) else sequence_scores.min()
            feats[:, 12] = np.maximum(sequence_scores[candidates] - floor, 0.0)
        feats[:, 8] = self._brand_share(history, weights, candidates)
        last_brand = self.brand_codes[last]
        if last_brand >= 0:
            feats[:, 9] = self.brand_codes[candidates] == last_brand
        # an item's likeness to itself (text, brand) is the repeat features' business
        own = positions_of(candidates, history.indices)
        feats[own, 2:4] = 0.0
        feats[own, 8:12] = 0.0
        return feats

    def _brand_share(self, history: History, weights: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Weighted share of the history whose brand is the candidate's brand."""
        history_brands = self.brand_codes[history.indices]
        known = history_brands >= 0
        if not known.any():
            return np.zeros(candidates.size, dtype=np.float32)
        per_brand = np.bincount(history_brands[known], weights=weights[known] / weights.sum(),
                                minlength=int(self.brand_codes.max()) + 1)
        codes = self.brand_codes[candidates]
        return np.where(codes >= 0, per_brand[np.maximum(codes, 0)], 0.0).astype(np.float32)

    def _neighbour_features(self, feats, columns, neighbours, last, earlier, earlier_w, candidates, dense) -> None:
        """Links of the candidates to the last history item and (weighted average) to the earlier ones."""
        feats[:, columns[0]] = self._linked(neighbours, np.array([last]), np.ones(1, np.float32), candidates, dense)
        if earlier.size:
            feats[:, columns[1]] = self._linked(neighbours, earlier, earlier_w, candidates, dense)

    def text_of(self, candidates: np.ndarray) -> np.ndarray:
        """Text vectors of the candidates (no copy when every item is a candidate)."""
        return self.text if candidates.size == self.n_items else self.text[candidates]

    def _linked(self, neighbours, rows, row_weights, candidates, dense) -> np.ndarray:
        columns, values, counts = csr_rows(neighbours, rows)
        return self._scatter(columns, values * np.repeat(row_weights, counts), candidates, dense)

    @staticmethod
    def _scatter_max(columns, values, candidates, dense) -> np.ndarray:
        """Largest value per candidate (0 where none or where every value is negative)."""
        out = np.zeros(candidates.size, dtype=np.float32)
        if not dense:
            positions = np.minimum(np.searchsorted(candidates, columns), candidates.size - 1)
            found = candidates[positions] == columns
            columns, values = positions[found], values[found]
        np.maximum.at(out, columns, values)
        return out

    @staticmethod
    def _scatter(columns, values, candidates, dense) -> np.ndarray:
        if dense:
            return np.bincount(columns, weights=values, minlength=candidates.size).astype(np.float32)
        positions = np.searchsorted(candidates, columns)
        positions = np.minimum(positions, candidates.size - 1)
        found = candidates[positions] == columns
        return np.bincount(positions[found], weights=np.asarray(values)[found],
                           minlength=candidates.size).astype(np.float32)

    def final_scores(self, history: History, candidates: np.ndarray, feats: np.ndarray,
                     weights: np.ndarray | None = None) -> np.ndarray:
        """The fused score; with the fitted weights and a second stage, its pool re-ordered by the second stage
        (the pool keeps its fused score values, handed out in the new order, so their scale stays)."""
        fitted = weights is None
        weights = self.weights if fitted else weights
        scores = np.einsum("ij,j->i", feats, weights)  # not BLAS: its threads stall on a busy machine
        if not fitted or self.reranker is None or history.is_empty:
            return scores
        pool = pool_of(scores, self.reranker.pool)
        second = self.reranker.scores(self.rerank_inputs(history, candidates[pool], feats[pool], scores[pool]))
        reordered = scores.copy()
        reordered[pool[np.argsort(-second, kind="stable")]] = scores[pool]
        return reordered

    def rerank_inputs(self, history: History, pooled: np.ndarray, feats: np.ndarray,
                      fused: np.ndarray, kind: str | None = None) -> np.ndarray:
        """The second stage's inputs for pooled candidates (best fused score first); `kind` ("mlp" or "trees")
        defaults to the fitted second stage's."""
        kind = kind or getattr(self.reranker, "kind", "mlp")
        if kind == "trees":
            return tree_inputs(feats, fused, history.indices, pooled, self.text, self.popularity,
                               self.recent_popularity)
        cosines = None if self.text is None else self.text[pooled] @ self.text[history.indices].T
        return rerank_inputs(feats, self.weights, fused, FEATURES, cosines, history.indices.size)

    def score(self, history: History, context_vector: np.ndarray | None = None,
              context_weight: float = 0.0) -> ScoredCandidates:
        extra = None
        if context_vector is not None and self.text is not None and self.n_items > self.dense_max_items:
            extra = np.argpartition(-(self.text @ context_vector), self.popular_order.size)[: self.popular_order.size]
        sequence_scores = self.sequence_scores(history)
        candidates = self.candidates(history, extra, sequence_scores)
        feats = self.features(history, candidates, sequence_scores)
        scores = self.final_scores(history, candidates, feats)
        if context_vector is not None and self.text is not None:
            scores = scores + context_weight * (self.text_of(candidates) @ context_vector)
        return ScoredCandidates(candidates, feats, scores)
