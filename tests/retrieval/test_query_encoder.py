"""The int8 ONNX query encoder: exported from the local MiniLM, close to the fp32 vectors, and what the
embedder uses for one-text queries once it is set."""

import numpy as np
import pytest

from retrieval.embeddings import Embedder
from retrieval.query_encoder import QUERY_ONNX_FILE, ensure_query_encoder

QUERIES = ["where is my parcel", "do you have a black stapler under $20?", "how can i get my money back",
           "wat payment metods do u take", "I would like to speak with a real person please"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return ensure_query_encoder(tmp_path_factory.mktemp("query-encoder"))


def test_export_lands_atomically_and_loads_again(encoder, tmp_path_factory):
    folder = next(iter(tmp_path_factory.getbasetemp().glob("query-encoder*")))
    assert (folder / QUERY_ONNX_FILE).exists()
    assert not list(folder.glob(".onnx-export-*")) and not list(folder.glob("*.fp32.onnx"))
    assert ensure_query_encoder(folder).encode(["hi"]).shape == (1, Embedder.dim)


def test_int8_vectors_stay_close_to_fp32_and_rank_the_same_documents(encoder):
    fp32 = Embedder(query_cache_size=0)
    documents = ["Track your order from the Orders page", "We accept Visa, Mastercard and PayPal",
                 "Refunds reach your card within 5 business days", "Staplers and staples for the office",
                 "Our agents are available from 9 to 5"]
    wanted, got = fp32.encode(QUERIES), encoder.encode(QUERIES)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)
    assert (wanted * got).sum(axis=1).min() > 0.97
    doc_vectors = fp32.encode(documents)
    assert ((wanted @ doc_vectors.T).argmax(1) == (got @ doc_vectors.T).argmax(1)).all()


def test_the_embedder_routes_queries_to_the_query_encoder_and_documents_to_fp32(encoder):
    embedder = Embedder(query_cache_size=4)
    embedder.use_query_encoder(encoder)
    assert np.array_equal(embedder.encode_query(["where is my parcel"])[0], encoder.encode(["where is my parcel"])[0])
    document = embedder.encode(["where is my parcel"])  # documents (even one alone) stay on the fp32 model
    assert not np.array_equal(document[0], encoder.encode(["where is my parcel"])[0])
    embedder.use_query_encoder(None)  # back to fp32: nothing cached from the int8 copy is served
    assert np.allclose(embedder.encode_query(["where is my parcel"])[0], document[0], atol=1e-6)
