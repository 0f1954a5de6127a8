"""The shared MiniLM embedder: queries are cached (a chat turn searches FAQ, products and the recommender
with the same message), documents are not, and without a query encoder both give the same vectors."""

import numpy as np
import pytest

from retrieval.embeddings import Embedder


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()  # its own instance: a server in this process may have set the shared one's query encoder


def test_a_repeated_query_is_encoded_once_and_matches_the_document_vector(embedder):
    calls = []
    real = embedder._model.encode
    embedder._model.encode = lambda texts, **kw: calls.append(list(texts)) or real(texts, **kw)
    try:
        text = "do you sell blue staplers under $20?"
        first, again = embedder.encode_query([text]), embedder.encode_query([text])
        document = embedder.encode([text])
        embedder.encode([text])
    finally:
        del embedder._model.encode
    assert calls == [[text], [text], [text]]  # the query once; documents every time
    assert first.shape == (1, Embedder.dim) and np.array_equal(first, again)
    assert np.allclose(first[0], document[0], atol=1e-6)


def test_the_query_cache_keeps_only_the_most_recent_texts(embedder):
    size, embedder._query_cache_size = embedder._query_cache_size, 2
    embedder._queries.clear()
    try:
        embedder.encode_query(["one query", "two query", "three query"])
        assert list(embedder._queries) == ["two query", "three query"]
    finally:
        embedder._query_cache_size = size
