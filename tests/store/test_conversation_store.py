"""ConversationStore on SQLite and PostgreSQL: distinct increasing seqs under concurrency, idempotent retries."""

from __future__ import annotations

import asyncio

import pytest

from assistant.chat.conversations import ConversationStore
from assistant.store.models import Author


@pytest.fixture
def store(sessions):
    return ConversationStore(sessions)


async def test_concurrent_appends_get_distinct_increasing_seqs(store):
    chat = await store.create_session(None)
    results = await asyncio.gather(*(store.append(chat.id, Author.SHOPPER, f"m{i}", client_msg_id=f"c{i}")
                                     for i in range(30)))
    assert sorted(r.seq for r in results) == list(range(1, 31))
    stored = await store.messages_after(chat.id, 0)
    assert [m.seq for m in stored] == list(range(1, 31))


async def test_a_retried_client_msg_id_returns_the_first_message(store):
    chat = await store.create_session(None)
    first = await store.append(chat.id, Author.SHOPPER, "hello", client_msg_id="same")
    again = await asyncio.gather(*(store.append(chat.id, Author.SHOPPER, "hello", client_msg_id="same")
                                   for _ in range(5)))
    assert first.created and all(not r.created and r.seq == first.seq for r in again)
    assert len(await store.messages_after(chat.id, 0)) == 1


async def test_sessions_keep_separate_seqs(store):
    a, b = await store.create_session(None), await store.create_session(None)
    await store.append(a.id, Author.SHOPPER, "a1")
    await store.append(a.id, Author.BOT, "a2")
    assert (await store.append(b.id, Author.SHOPPER, "b1")).seq == 1


async def test_handoff_request_only_moves_a_bot_session_to_the_queue(store):
    chat = await store.create_session(None)
    assert await store.request_handoff(chat.id, "requested") is True
    assert await store.request_handoff(chat.id, "requested") is False
    assert await store.queue_position(chat.id) >= 1
