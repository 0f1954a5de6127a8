"""Chroma client and collections: embedded (a folder) by default, a Chroma server by URL when scaled out."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # noqa: E402
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402

from retrieval.embeddings import Embedder, get_embedder  # noqa: E402


class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the local MiniLM, so Chroma never tries to download a model."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder or get_embedder()

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (Chroma's signature)
        return list(self._embedder.encode(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:  # noqa: A002 (Chroma's signature)
        return list(self._embedder.encode_query(list(input)))

    @staticmethod
    def name() -> str:
        return "shopassist-minilm"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction()

    def default_space(self) -> str:
        return "cosine"


def make_chroma_client(path: Path | None = None, url: str | None = None) -> chromadb.ClientAPI:
    """An HTTP client when `url` is given (scale-out), else an embedded client persisting in `path`."""
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if url:
        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost", port=parsed.port or 8000,
            ssl=parsed.scheme == "https", settings=settings,
        )
    if path is None:
        return chromadb.EphemeralClient(settings=settings)
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def open_collection(client: chromadb.ClientAPI, name: str, embedding_function: EmbeddingFunction):
    return client.get_or_create_collection(
        name=name, embedding_function=embedding_function, metadata={"hnsw:space": "cosine"}
    )


class CollectionIndex:
    """What the FAQ and product indexes share: one Chroma collection keyed by integer ids."""

    collection_name: str

    def __init__(self, client: chromadb.ClientAPI, embedding_function: EmbeddingFunction) -> None:
        self._collection = open_collection(client, self.collection_name, embedding_function)

    def delete(self, ids: Iterable[int]) -> None:
        keys = [str(i) for i in ids]
        if keys:
            self._collection.delete(ids=keys)

    def ids(self) -> set[int]:
        return {int(i) for i in self._collection.get(include=[])["ids"]}

    def count(self) -> int:
        return self._collection.count()
