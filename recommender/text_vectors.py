"""A cache of item text vectors around any embedding function: retraining re-embeds only changed texts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

EmbedFunction = Callable[[Sequence[str]], np.ndarray]


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class CachedEmbedder:
    """Calls the wrapped embedding function only for texts it has not seen; `save` keeps them in a file."""

    def __init__(self, embed: EmbedFunction, path: Path) -> None:
        self._embed = embed
        self._path = path
        self._vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as saved:
                self._vectors = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        if missing:
            vectors = np.asarray(self._embed([t for _, t in missing]), dtype=np.float32)
            self._vectors.update(zip([k for k, _ in missing], vectors, strict=True))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if not self._vectors:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        with self._path.open("wb") as f:
            np.savez(f, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
