"""The FAQ's SQL rows and its Chroma collection stay in step when either side refuses a change.

Real SQLite / PostgreSQL and a real embedded Chroma; the failures are real too: the collection is
deleted under the service, and the revision row breaks a foreign key (the admin's account is gone).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from assistant.admin.faq_service import FaqInput, FaqService, IndexWriteFailed, StoreWriteFailed
from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema
from assistant.store.models import Agent, FaqEntry, FaqRevision
from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
from retrieval.faq_index import COLLECTION, FaqIndex
from tests.conftest import fresh_pg_url, pg_available, shop_settings

GONE_AGENT = 987_654  # an admin whose account was deleted after their token was issued


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    if request.param == "postgres" and not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    url = fresh_pg_url() if request.param == "postgres" else f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    engine = make_async_engine(url)
    sessions = async_session_factory(engine)
    async with sessions() as db:
        db.add(Agent(name="Ada", email="ada@example.com", role="admin", password_hash="x"))
        await db.commit()
        admin_id = await db.scalar(select(Agent.id))
    client = make_chroma_client(tmp_path / "chroma")
    ef = MiniLMEmbeddingFunction()
    service = FaqService(sessions, FaqIndex(client, ef), shop_settings(tmp_path))
    entry = await service.create(FaqInput(question="How long do refunds take?",
                                          answer="Refunds reach your card within 5 days.",
                                          intents=["get_refund"]), admin_id)
    yield service, client, ef, admin_id, entry
    await engine.dispose()


async def sql_state(service: FaqService) -> tuple[list[tuple], int]:
    async with service.sessions() as db:
        rows = [(e.id, e.question, e.answer) for e in await db.scalars(select(FaqEntry).order_by(FaqEntry.id))]
        revisions = await db.scalar(select(func.count()).select_from(FaqRevision))
    return rows, revisions


async def test_when_the_index_refuses_an_edit_the_sql_row_is_rolled_back(store):
    service, client, ef, admin_id, entry = store
    before = await sql_state(service)
    client.delete_collection(COLLECTION)  # the service's collection handle now points at nothing

    with pytest.raises(IndexWriteFailed):
        await service.update(entry["id"], FaqInput(question=entry["question"], answer="Refunds take 90 days.",
                                                   intents=["get_refund"]), admin_id)
    with pytest.raises(IndexWriteFailed):
        await service.create(FaqInput(question="Do you ship to Mars?", answer="No.", intents=["delivery_options"]),
                             admin_id)
    with pytest.raises(IndexWriteFailed):
        await service.delete(entry["id"], admin_id)
    assert await sql_state(service) == before


async def test_when_the_sql_commit_fails_the_index_change_is_undone(store):
    service, _client, _ef, _admin_id, entry = store
    before = await sql_state(service)

    with pytest.raises(StoreWriteFailed):
        await service.update(entry["id"], FaqInput(question=entry["question"], answer="Refunds take 90 days.",
                                                   intents=["get_refund"]), GONE_AGENT)
    assert await sql_state(service) == before
    indexed = service.index.get(entry["id"])
    assert indexed.answer == entry["answer"]

    with pytest.raises(StoreWriteFailed):
        await service.delete(entry["id"], GONE_AGENT)
    assert service.index.get(entry["id"]).answer == entry["answer"]

    with pytest.raises(StoreWriteFailed):
        await service.create(FaqInput(question="Do you ship to Mars?", answer="Only by rocket.",
                                      intents=["delivery_options"]), GONE_AGENT)
    assert await sql_state(service) == before
    assert service.index.ids() == {entry["id"]}
    assert [h.answer for h in service.index.search("ship to Mars", k=3)] == [entry["answer"]]


async def test_a_successful_change_is_in_both_stores_with_a_revision(store):
    service, _client, _ef, admin_id, entry = store
    edited = await service.update(entry["id"], FaqInput(question=entry["question"], answer="Refunds take 3 days.",
                                                        intents=["get_refund", "track_refund"]), admin_id)
    assert edited["answer"] == "Refunds take 3 days."
    assert service.index.get(entry["id"]).answer == "Refunds take 3 days."
    assert service.index.get(entry["id"]).intents == ("get_refund", "track_refund")
    revisions = await service.revisions(entry["id"])
    assert [r["action"] for r in revisions] == ["update", "create"]
    assert revisions[0]["agent_id"] == admin_id
    assert revisions[0]["before"]["answer"] == entry["answer"]
    assert revisions[0]["after"]["answer"] == "Refunds take 3 days."


async def test_the_start_up_sync_repairs_an_index_that_drifted_from_sql(store):
    from assistant.runtime import sync_faq_index
    from retrieval.faq_index import FaqDocument

    service, _client, _ef, _admin_id, entry = store
    service.index.upsert([FaqDocument(entry["id"], entry["question"], "a stale answer", ("get_refund",)),
                          FaqDocument(999, "an orphan?", "gone", ("review",))])
    await sync_faq_index(service.sessions, service.index)
    assert service.index.ids() == {entry["id"]}
    assert service.index.get(entry["id"]).answer == entry["answer"]
