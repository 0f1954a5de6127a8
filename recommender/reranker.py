"""Second stage: a small MLP re-orders the fused score's top candidates, fitted listwise on training-period rows.

The first stage (the fused linear score, which pools behaviour, text, word, sequence and popularity
candidates) keeps its order below the pool. The MLP reads each pooled candidate's weighted features,
the fused score and rank, each generator's rank inside the pool, exact text cosines to the last and the
closest history item, and the history length. It is trained in torch with a softmax over each row's
pool (the target's probability), stopped early on a fifth of the rows, and served in numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.config import RerankParams

RANKED_FEATURES = ("cf_last", "text_max", "lexical_max", "sequence", "popularity")  # their rank in the pool counts


@dataclass
class Reranker:
    """Fitted MLP weights (numpy) and the input standardisation."""

    weights: dict[str, np.ndarray]  # mean, std, w1, b1, w2
    pool: int

    def scores(self, inputs: np.ndarray) -> np.ndarray:
        w = self.weights
        hidden = np.maximum(((inputs - w["mean"]) / w["std"]) @ w["w1"] + w["b1"], 0.0)
        return hidden @ w["w2"]


def pool_of(fused: np.ndarray, size: int) -> np.ndarray:
    """Positions of the `size` best fused scores, best first."""
    size = min(size, fused.size)
    top = np.argpartition(-fused, size - 1)[:size]
    return top[np.argsort(-fused[top], kind="stable")]


def rerank_inputs(feats: np.ndarray, weights: np.ndarray, fused: np.ndarray, feature_names: tuple[str, ...],
                  text_cosines: np.ndarray | None, history_size: int) -> np.ndarray:
    """Inputs of the MLP for a pool (rows best first): weighted features, fused score, ranks, cosines."""
    n = feats.shape[0]
    ranks = [np.log1p(np.arange(n, dtype=np.float32))]
    for name in RANKED_FEATURES:
        column = feats[:, feature_names.index(name)]
        order = np.argsort(-column, kind="stable")
        rank = np.empty(n, dtype=np.float32)
        rank[order] = np.arange(n)
        ranks.append(np.where(column > 0, np.log1p(rank), np.log1p(n)))
    cosines = np.zeros((n, 2), dtype=np.float32) if text_cosines is None else np.stack(
        [text_cosines[:, -1], text_cosines.max(axis=1)], axis=1)
    length = np.full((n, 1), np.log1p(history_size), dtype=np.float32)
    return np.hstack([feats * weights, fused[:, None] - fused[0], np.stack(ranks, axis=1), cosines,
                      length]).astype(np.float32)


def fit_reranker(inputs: np.ndarray, targets: np.ndarray, params: RerankParams,
                 log: Callable[[str], None] = lambda _: None) -> Reranker | None:
    """Fit on rows of pool inputs (rows, pool, inputs; best fused score first) and the target's position in
    each pool; None when there are too few rows or it does not beat the first stage on the held-out fifth."""
    import torch

    if len(targets) < params.min_rows:
        log(f"second stage: only {len(targets)} rows with the target in the pool, not fitted")
        return None
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    order = rng.permutation(len(targets))
    held, fitted = order[: max(1, len(targets) // 5)], order[max(1, len(targets) // 5):]
    flat = inputs[fitted].reshape(-1, inputs.shape[2])
    mean, std = flat.mean(axis=0), np.maximum(flat.std(axis=0), 1e-6)
    net = torch.nn.Sequential(torch.nn.Linear(inputs.shape[2], params.hidden), torch.nn.ReLU(),
                              torch.nn.Dropout(params.dropout), torch.nn.Linear(params.hidden, 1, bias=False))
    optimiser = torch.optim.Adam(net.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    x, y = torch.from_numpy(((inputs - mean) / std).astype(np.float32)), torch.from_numpy(targets)

    def export() -> Reranker:
        first, second = net[0], net[3]
        return Reranker({"mean": mean.astype(np.float32), "std": std.astype(np.float32),
                         "w1": first.weight.detach().numpy().T.copy(), "b1": first.bias.detach().numpy().copy(),
                         "w2": second.weight.detach().numpy()[0].copy()}, params.pool)

    first_stage = _ndcg(targets[held] + 1)
    best = (first_stage, 0, None)
    for epoch in range(1, params.epochs + 1):
        net.train()
        for batch in np.array_split(rng.permutation(fitted), max(1, fitted.size // params.batch_size)):
            loss = torch.nn.functional.cross_entropy(net(x[batch])[..., 0], y[batch])  # softmax over each pool
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        candidate = export()
        scores = np.stack([candidate.scores(inputs[i]) for i in held.tolist()])
        quality = _ndcg(np.count_nonzero(scores >= scores[np.arange(held.size), targets[held]][:, None], axis=1))
        if quality > best[0]:
            best = (quality, epoch, candidate)
        elif epoch - best[1] >= params.patience:
            break
    log(f"second stage: {len(targets)} rows, held-out ndcg@10 {best[0]:.4f} after {best[1]} epochs "
        f"(first stage {first_stage:.4f}){'' if best[2] else ': not used'}")
    return best[2]


def _ndcg(ranks: np.ndarray, k: int = 10) -> float:
    ranks = np.asarray(ranks, dtype=np.float64)
    return float(np.mean(np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)))
