"""The frozen-encoder ensemble member: a logistic regression on the base MiniLM's sentence vectors.

Fine-tuning bends the encoder towards Bitext's near-templated wording; the untouched MiniLM keeps its general
sense of paraphrase, and a linear model over its vectors reads unfamiliar phrasings better than the fine-tune
alone. The vectors are the ones the FAQ search embeds a message with (`retrieval.embeddings.Embedder.
encode_query`, the int8 query encoder when configured), so a chat turn computes each message's vector once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.intent.calibration import softmax

FROZEN_HEAD_FILE = "frozen_head.npz"

# texts -> L2-normalised base-MiniLM vectors, one row per text
FrozenEncoder = Callable[[Sequence[str]], np.ndarray]


class FrozenHead:
    """Multinomial logistic regression over frozen sentence vectors; columns in the model's label order."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def fit(cls, vectors: np.ndarray, label_ids: np.ndarray, n_labels: int, inverse_regularisation: float,
            seed: int) -> FrozenHead:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=inverse_regularisation, max_iter=2000, random_state=seed)
        model.fit(vectors, label_ids)
        weights = np.zeros((n_labels, vectors.shape[1]), np.float32)
        bias = np.full(n_labels, -1e4, np.float32)  # a label without training rows is never predicted
        coef, intercept = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # one row for two classes: softmax over (0, w.x + b) is the same sigmoid
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        weights[model.classes_], bias[model.classes_] = coef, intercept
        return cls(weights, bias)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        return softmax(vectors.astype(np.float32) @ self.weights.T + self.bias)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights, bias=self.bias)

    @classmethod
    def load(cls, path: Path) -> FrozenHead:
        data = np.load(path)
        return cls(data["weights"], data["bias"])


def default_frozen_encoder() -> FrozenEncoder:
    """The process-wide embedder's query path (int8 once the runtime has set its query encoder, else fp32)."""
    from retrieval.embeddings import get_embedder

    return get_embedder().encode_query


def frozen_encoder_from_settings(settings) -> FrozenEncoder:
    """The vectors the server's FAQ search uses: the int8 query encoder of the state dir when configured."""
    return frozen_encoder_for(settings.state_dir, settings.query_encoder == "int8")


def frozen_encoder_for(state_dir: Path, int8: bool) -> FrozenEncoder:
    """The process-wide embedder's query path, with the state dir's int8 query encoder when `int8`. Loaded at
    the first call, so a model without a frozen member never loads MiniLM twice."""

    def encode(texts: Sequence[str]) -> np.ndarray:
        from retrieval.embeddings import get_embedder
        from retrieval.query_encoder import ensure_query_encoder

        embedder = get_embedder()
        if int8 and not embedder.has_query_encoder:
            embedder.use_query_encoder(ensure_query_encoder(state_dir))
        return embedder.encode_query(texts)

    return encode


def remembering(encoder: FrozenEncoder) -> FrozenEncoder:
    """`encoder` encoding each distinct text once (training scores the same rows in several sets)."""
    seen: dict[str, np.ndarray] = {}

    def encode(texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, encoder(missing), strict=True))
        return np.vstack([seen[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    return encode
