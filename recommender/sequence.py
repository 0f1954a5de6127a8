"""A SASRec next-item model (one causal self-attention block over the last items), trained in torch on CPU.

Trained with a full softmax over the catalogue on every position of every shopper's sequence, item
embeddings started from the text vectors' principal components, early stopping on the training-period
rows the fusion weights are fitted on. Served in numpy: only the last position's output is needed, so
one recommendation costs a few small matrix products and one (items x dim) product, and torch is only
imported to train.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.config import SequenceParams

LAYER_NORM_EPS = 1e-5
PARAMETER_NAMES = ("items", "positions", "ln1_w", "ln1_b", "wq", "wk", "wv", "wo", "ln2_w", "ln2_b",
                   "ff1_w", "ff1_b", "ff2_w", "ff2_b", "lnf_w", "lnf_b")


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias


@dataclass
class SequenceModel:
    """Fitted SASRec weights (numpy); `scores` gives a logit per catalogue item for a history."""

    weights: dict[str, np.ndarray]  # PARAMETER_NAMES -> float32 arrays; items has one row per catalogue item

    @property
    def max_length(self) -> int:
        return int(self.weights["positions"].shape[0])

    def with_item(self, embedding: np.ndarray) -> SequenceModel:
        """A copy with one more item (appended last) whose embedding is given."""
        items = np.vstack([self.weights["items"], embedding[None, :].astype(np.float32)])
        return SequenceModel({**self.weights, "items": items})

    def scores(self, history: np.ndarray) -> np.ndarray:
        """Logits of every item being next after `history` (catalogue indices, oldest first)."""
        w = self.weights
        items = np.asarray(history, dtype=np.int64)[-self.max_length:]
        dim = w["items"].shape[1]
        # positions count back from the most recent item, so short and long histories share them
        x = w["items"][items] * np.float32(np.sqrt(dim)) + w["positions"][items.size - 1::-1]
        normed = _layer_norm(x, w["ln1_w"], w["ln1_b"])
        query = normed[-1] @ w["wq"]
        keys, values = normed @ w["wk"], normed @ w["wv"]
        logits = keys @ query / np.float32(np.sqrt(dim))
        attention = np.exp(logits - logits.max())
        attention /= attention.sum()
        hidden = x[-1] + (attention @ values) @ w["wo"]
        inner = np.maximum(_layer_norm(hidden, w["ln2_w"], w["ln2_b"]) @ w["ff1_w"] + w["ff1_b"], 0.0)
        hidden = hidden + inner @ w["ff2_w"] + w["ff2_b"]
        out = _layer_norm(hidden, w["lnf_w"], w["lnf_b"])
        return w["items"] @ out


def user_sequences(users: np.ndarray, items: np.ndarray) -> list[np.ndarray]:
    """Each user's items in order (arrays are grouped by user, in time order within a user)."""
    if not users.size:
        return []
    cuts = np.flatnonzero(users[1:] != users[:-1]) + 1
    return [s for s in np.split(items.astype(np.int64), cuts) if s.size >= 2]


def text_components(text: np.ndarray | None, dim: int, n_items: int, seed: int) -> np.ndarray:
    """Initial item embeddings: the text vectors' top principal components (small random without text)."""
    rng = np.random.default_rng(seed)
    if text is None or text.shape[1] < dim:
        return rng.normal(0.0, 0.02, size=(n_items, dim)).astype(np.float32)
    centred = text - text.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:dim].T  # fewer columns than dim when there are fewer items than dim
    projected = projected / (max(float(projected.std()), 1e-12) * np.sqrt(dim)) * 0.5  # about unit norm / 2
    padding = rng.normal(0.0, 0.02, size=(n_items, dim - projected.shape[1]))
    return np.hstack([projected, padding]).astype(np.float32)


def _padded(sequences: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (items shifted by one, 0 = padding, left-padded) and next-item targets (-1 = none)."""
    inputs = np.zeros((len(sequences), length), dtype=np.int64)
    targets = np.full((len(sequences), length), -1, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        tail = sequence[-(length + 1):]
        n = tail.size - 1
        inputs[row, length - n:] = tail[:-1] + 1
        targets[row, length - n:] = tail[1:]
    return inputs, targets


def _network(n_items: int, params: SequenceParams, text: np.ndarray | None):
    import torch
    from torch import nn

    class SASRec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            d = params.dim
            mode = params.item_embedding if text is not None and params.text_init else "id"
            initial = text_components(text if params.text_init else None, d, n_items, params.seed)
            free = initial if mode == "id" else np.zeros_like(initial)
            self.free = nn.Parameter(torch.from_numpy(np.vstack([np.zeros((1, d), np.float32), free])),
                                     requires_grad=mode != "text")
            self.projection = None
            if mode != "id":  # a learned map of the frozen text vectors: items without behaviour keep theirs
                self.register_buffer("text", torch.from_numpy(np.vstack([np.zeros((1, text.shape[1]), np.float32),
                                                                          text])))
                self.projection = nn.Parameter(torch.from_numpy(np.linalg.lstsq(text, initial, rcond=None)[0]))
            self.positions = nn.Parameter(torch.randn(params.max_length, d) * 0.02)
            self.ln1, self.ln2, self.lnf = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d, bias=False) for _ in range(4))
            self.ff1, self.ff2 = nn.Linear(d, d), nn.Linear(d, d)
            self.dropout = nn.Dropout(params.dropout)
            causal = torch.triu(torch.ones(params.max_length, params.max_length, dtype=torch.bool), 1)
            self.register_buffer("causal", causal)
            self.register_buffer("position_ids", torch.arange(params.max_length - 1, -1, -1))

        @property
        def items(self):
            if self.projection is None:
                return self.free
            return self.free + self.text @ self.projection

        def forward(self, inputs):
            d = params.dim
            pad = inputs == 0
            x = torch.nn.functional.embedding(inputs, self.items) * d ** 0.5 + self.positions[self.position_ids]
            x = self.dropout(x) * (~pad).unsqueeze(-1)
            normed = self.ln1(x)
            q, k, v = self.wq(normed), self.wk(normed), self.wv(normed)
            logits = q @ k.transpose(1, 2) / d ** 0.5
            logits = logits.masked_fill(self.causal | pad.unsqueeze(1), -1e9)
            x = x + self.dropout(self.wo(self.dropout(torch.softmax(logits, dim=-1)) @ v))
            x = x + self.dropout(self.ff2(self.dropout(torch.relu(self.ff1(self.ln2(x))))))
            return self.lnf(x)

        def logits(self, hidden):
            return hidden @ self.items[1:].T

        def export(self) -> dict[str, np.ndarray]:
            def arr(t) -> np.ndarray:
                return t.detach().numpy().astype(np.float32).copy()
            return {"items": arr(self.items[1:]), "positions": arr(self.positions),
                    "ln1_w": arr(self.ln1.weight), "ln1_b": arr(self.ln1.bias),
                    "wq": arr(self.wq.weight.T), "wk": arr(self.wk.weight.T), "wv": arr(self.wv.weight.T),
                    "wo": arr(self.wo.weight.T), "ln2_w": arr(self.ln2.weight), "ln2_b": arr(self.ln2.bias),
                    "ff1_w": arr(self.ff1.weight.T), "ff1_b": arr(self.ff1.bias),
                    "ff2_w": arr(self.ff2.weight.T), "ff2_b": arr(self.ff2.bias),
                    "lnf_w": arr(self.lnf.weight), "lnf_b": arr(self.lnf.bias)}

    return SASRec()


@dataclass
class TrainedSequence:
    model: SequenceModel
    epochs: int  # the epoch count early stopping chose (a refit on more behaviour trains this many)
    holdout_ndcg: float


def train_sequence_model(users: np.ndarray, items: np.ndarray, n_items: int, text: np.ndarray | None,
                         params: SequenceParams, holdout: tuple[list[np.ndarray], np.ndarray] | None = None,
                         epochs: int | None = None, log: Callable[[str], None] = lambda _: None) -> TrainedSequence:
    """Train on the users' sequences; with `holdout` (histories, target indices) stop early on its NDCG@10,
    else train `epochs` (or params.epochs) epochs."""
    import torch

    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    sequences = user_sequences(users, items)
    inputs, targets = _padded(sequences, params.max_length)
    net = _network(n_items, params, text)
    optimiser = torch.optim.Adam(net.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    inputs_t, targets_t = torch.from_numpy(inputs), torch.from_numpy(targets)
    best = (-1.0, 0, net.export())
    budget = epochs if epochs is not None else params.epochs
    start = time.perf_counter()
    for epoch in range(1, budget + 1):
        net.train()
        for batch in np.array_split(rng.permutation(len(sequences)), max(1, len(sequences) // params.batch_size)):
            hidden, wanted = net(inputs_t[batch]), targets_t[batch]
            known = wanted >= 0  # most positions of short sequences are padding: no logits for them
            loss = torch.nn.functional.cross_entropy(net.logits(hidden[known]), wanted[known])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if holdout is None:
            continue
        quality = holdout_ndcg(SequenceModel(net.export()), *holdout)
        if quality > best[0]:
            best = (quality, epoch, net.export())
        elif epoch - best[1] >= params.patience:
            break
    if holdout is None:
        best = (float("nan"), budget, net.export())
    log(f"sequence model: {best[1]} epochs, holdout ndcg@10={best[0]:.4f}, {time.perf_counter() - start:.1f}s")
    return TrainedSequence(SequenceModel(best[2]), best[1], best[0])


def holdout_ndcg(model: SequenceModel, histories: list[np.ndarray], targets: np.ndarray, k: int = 10) -> float:
    gains = []
    for history, target in zip(histories, targets.tolist(), strict=True):
        if not len(history):
            gains.append(0.0)
            continue
        scores = model.scores(history)
        rank = int(np.count_nonzero(scores >= scores[target]))
        gains.append(1.0 / np.log2(rank + 1.0) if rank <= k else 0.0)
    return float(np.mean(gains)) if gains else 0.0
