"""Item-to-item neighbour models over scipy sparse matrices, each kept as the top k neighbours per item.

Every model here turns behaviour (user-grouped item sequences) or item vectors into a CSR matrix
S where S[i, j] says how strongly item j follows or accompanies item i. Memory grows with the
number of interactions (pairs within a window) and with items x k, never with items squared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def top_k_per_row(matrix: sp.spmatrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of every row (vectorised: one sort over all non-zeros)."""
    m = sp.csr_matrix(matrix)
    m.sum_duplicates()
    m.eliminate_zeros()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    order = np.lexsort((-m.data, rows))
    rank_in_row = np.arange(order.size) - m.indptr[rows[order]]
    keep = order[rank_in_row < k]
    kept = sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape, dtype=np.float32)
    kept.sort_indices()
    return kept


def item_counts(items: np.ndarray, n_items: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(items, weights=weights, minlength=n_items).astype(np.float32)


def _pairs_at_offset(users: np.ndarray, items: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(earlier item, later item) of the same user, `offset` steps apart in the user's sequence."""
    same_user = users[:-offset] == users[offset:]
    return items[:-offset][same_user], items[offset:][same_user]


@dataclass
class SequentialCooccurrence:
    """Transitions i -> j within a window of each user's sequence, weighted by 1/distance**decay.

    Forward transitions count fully, backward ones by `backward_weight`; the count is divided by
    (count_i * count_j)**pop_damping so that popular items do not dominate every row.
    """

    window: int = 5
    distance_decay: float = 1.0
    backward_weight: float = 0.5
    pop_damping: float = 0.5
    k: int = 100
    source_blocks: int = 1  # at least this many row blocks
    max_pairs_per_block: int = 10_000_000  # bounds peak memory: ~60 bytes per pair of a block

    def fit(self, users: np.ndarray, items: np.ndarray, n_items: int) -> sp.csr_matrix:
        items = items.astype(np.int32)
        counts = item_counts(items, n_items)
        bounds = self._balanced_bounds(counts, items.size, n_items)
        damp = np.power(np.maximum(counts, 1.0), -self.pop_damping).astype(np.float32)
        blocks = [self._block(users, items, n_items, lo, hi, damp)
                  for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
        return sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]

    def _balanced_bounds(self, counts: np.ndarray, n_interactions: int, n_items: int) -> np.ndarray:
        """Row-block boundaries with about equal numbers of pairs (popular items make blocks uneven by id)."""
        pairs = 2 * self.window * n_interactions
        n_blocks = max(self.source_blocks, -(-pairs // self.max_pairs_per_block), 1)
        cumulative = np.cumsum(counts, dtype=np.float64)
        total = cumulative[-1] if cumulative.size else 0.0
        cuts = np.searchsorted(cumulative, np.linspace(0, total, n_blocks + 1)[1:-1])
        return np.unique(np.r_[0, cuts, n_items]).astype(np.int64)

    def _block(self, users, items, n_items, lo, hi, damp) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for offset in range(1, self.window + 1):
            earlier, later = _pairs_at_offset(users, items, offset)
            weight = np.float32(1.0 / offset**self.distance_decay)
            for src, dst, w in ((earlier, later, weight), (later, earlier, weight * self.backward_weight)):
                inside = (src >= lo) & (src < hi) & (src != dst)
                rows.append(src[inside] - lo)
                cols.append(dst[inside])
                vals.append(np.full(int(inside.sum()), w, dtype=np.float32))
        block = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(hi - lo, n_items), dtype=np.float32)
        block.sum_duplicates()
        row_of_entry = np.repeat(np.arange(hi - lo), np.diff(block.indptr))
        block.data *= damp[lo:hi][row_of_entry] * damp[block.indices]
        return top_k_per_row(block, self.k)


@dataclass
class Ease:
    """EASE (Steck 2019): closed-form item-item regression; dense items x items, so small catalogues only."""

    l2: float = 200.0
    k: int = 100

    def fit(self, users: np.ndarray, items: np.ndarray, n_items: int) -> sp.csr_matrix:
        n_users = int(users.max()) + 1 if users.size else 0
        x = sp.csr_matrix((np.ones(items.size, dtype=np.float32), (users, items)), shape=(n_users, n_items))
        x.data[:] = 1.0
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices(n_items)] += self.l2
        inverse = np.linalg.inv(gram)
        weights = -inverse / np.diag(inverse)[None, :]
        weights[np.diag_indices(n_items)] = 0.0
        return top_k_per_row(sp.csr_matrix(np.maximum(weights, 0.0)), self.k)


@dataclass
class AlsNeighbours:
    """Item neighbours from ALS factors (benfred/implicit): cosine between item factor vectors."""

    factors: int = 64
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 10.0
    k: int = 100

    def fit(self, users: np.ndarray, items: np.ndarray, n_items: int) -> sp.csr_matrix:
        from implicit.als import AlternatingLeastSquares

        n_users = int(users.max()) + 1 if users.size else 0
        x = sp.csr_matrix((np.full(items.size, self.alpha, dtype=np.float32), (users, items)),
                          shape=(n_users, n_items))
        model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                        iterations=self.iterations, random_state=0)
        model.fit(x, show_progress=False)
        vectors = np.asarray(model.item_factors)
        return vector_neighbours(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12),
                                 self.k)


def vector_neighbours(unit_vectors: np.ndarray, k: int, chunk_rows: int = 2048) -> sp.csr_matrix:
    """Top-k cosine neighbours of every row of L2-normalised vectors (excluding itself), in row chunks."""
    n = len(unit_vectors)
    k = min(k, max(n - 1, 1))
    blocks = []
    for start in range(0, n, chunk_rows):
        sims = unit_vectors[start:start + chunk_rows] @ unit_vectors.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(sims, top, axis=1)
        values = np.maximum(values, 0.0)
        blocks.append(sp.csr_matrix((values.ravel(), (np.repeat(rows, k), top.ravel())),
                                    shape=(sims.shape[0], n), dtype=np.float32))
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0), dtype=np.float32)


def lexical_neighbours(texts: list[str], k: int, chunk_rows: int = 512) -> sp.csr_matrix | None:
    """Top-k TF-IDF cosine neighbours of every text (words and word pairs seen in at least two texts).

    Shared rare words (model series, part numbers, product lines) tie items that a sentence embedding
    finds only loosely alike. None when the texts share no such word.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)
    try:
        vectors = vectoriser.fit_transform(texts).tocsr()
    except ValueError:  # empty vocabulary: no word occurs in two texts
        return None
    transposed = vectors.T.tocsc()
    blocks = []
    for start in range(0, vectors.shape[0], chunk_rows):
        sims = (vectors[start:start + chunk_rows] @ transposed).tocsr()
        sims.setdiag(0.0, k=start)
        blocks.append(top_k_per_row(sims, k))
    return sp.vstack(blocks, format="csr").astype(np.float32)
