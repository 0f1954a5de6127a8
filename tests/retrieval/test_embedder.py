"""The shared MiniLM embedder: one-text queries are cached (a chat turn searches FAQ, products and the recommender
with the same message), batches are not, and both give the same vectors."""

import numpy as np
import pytest

from retrieval.embeddings import Embedder


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()  # its own instance: a server in this process may have set the shared one's query encoder


def test_a_repeated_query_is_encoded_once_and_matches_the_batch_vector(embedder):
    calls = []
    real = embedder._encode_batch
    embedder._encode_batch = lambda texts, progress: calls.append(list(texts)) or real(texts, progress)
    try:
        text = "do you sell blue staplers under $20?"
        first, again = embedder.encode([text]), embedder.encode([text])
        batch = embedder.encode([text, "where is my parcel"])
    finally:
        del embedder._encode_batch
    assert calls == [[text], [text, "where is my parcel"]]
    assert first.shape == (1, Embedder.dim) and np.array_equal(first, again)
    assert np.allclose(first[0], batch[0], atol=1e-5)


def test_the_query_cache_keeps_only_the_most_recent_texts(embedder):
    size, embedder._query_cache_size = embedder._query_cache_size, 2
    embedder._queries.clear()
    try:
        for text in ("one query", "two query", "three query"):
            embedder.encode([text])
        assert list(embedder._queries)[-2:] == ["two query", "three query"] and len(embedder._queries) <= 2
    finally:
        embedder._query_cache_size = size
