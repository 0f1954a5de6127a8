"""The recommender with the real MiniLM embedder from retrieval (the interface the server uses)."""

import pytest

from recommender.service import Recommender


@pytest.fixture(scope="module")
def minilm_encode():
    from retrieval.embeddings import get_embedder

    return get_embedder().encode


def test_minilm_vectors_drive_chat_text_and_cold_start_items(catalogue, interactions, small_config, minilm_encode):
    model = Recommender.fit(catalogue, interactions, minilm_encode, small_config)
    top = model.recommend([], context_text="I need a stapler for the office", k=3)
    assert all("stapler" in catalogue.titles[r.item_id] for r in top)
    model.add_item(500, "Heavy-duty electric stapler, 60 sheets", title="electric stapler")
    top = model.recommend([], context_text="an electric stapler", k=1)
    assert top[0].item_id == 500


def test_chat_text_goes_through_the_query_embedding_and_new_items_through_the_document_one(
        catalogue, interactions, small_config, tmp_path):
    from retrieval.embeddings import get_embedder

    embedder, seen = get_embedder(), []

    def documents(texts):
        seen.append(("document", list(texts)))
        return embedder.encode(texts)

    def queries(texts):
        seen.append(("query", list(texts)))
        return embedder.encode_query(texts)

    Recommender.fit(catalogue, interactions, documents, small_config).save(tmp_path / "recs.npz")
    model = Recommender.load(tmp_path / "recs.npz", embed=documents, embed_query=queries).with_config(small_config)
    seen.clear()
    model.recommend([], context_text="a stapler for the office", k=3)
    model.add_item(501, "Heavy-duty electric stapler, 60 sheets", title="electric stapler")
    assert seen == [("query", ["a stapler for the office"]),
                    ("document", ["Heavy-duty electric stapler, 60 sheets"])]
