"""Answer states over a real websocket: a stored answer outlives the socket, a retry of an unanswered
message gets it answered once, messages of a handed-off session are with a person.

On the old main a message stored but not answered (its worker died after the ack) stayed unanswered:
the retry of its client_msg_id was acknowledged again and nothing answered it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from assistant.chat.conversations import ConversationStore
from assistant.store.database import async_session_factory, make_async_engine
from assistant.store.models import AnswerState, Author
from tests.chat.client import ChatClient, start_session


async def transcript(server, session: dict) -> list[dict]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        resp = await http.get(f"/api/sessions/{session['session_id']}/transcript",
                              headers={"Authorization": f"Bearer {session['token']}"})
        return resp.raise_for_status().json()


async def replies_to(server, session: dict, seq: int, wait_s: float = 60) -> list[dict]:
    """The bot replies to message `seq`, waiting (bounded) for the first to be stored."""
    for _ in range(int(wait_s / 0.2)):
        found = [f for f in await transcript(server, session) if f.get("in_reply_to") == seq]
        if found:
            return found
        await asyncio.sleep(0.2)
    return []


async def test_the_answer_is_stored_though_the_socket_closed_right_after_the_ack(live_server):
    session = await start_session(live_server.url)
    chat = await ChatClient.open(live_server.ws_url, session)
    await chat.send({"type": "message", "text": "what is your return policy?", "client_msg_id": "gone-1"})
    ack = await chat.recv_type("ack")
    await chat.close()
    replies = await replies_to(live_server, session, ack["seq"])
    assert [r["author"] for r in replies] == ["bot"]
    again = await ChatClient.open(live_server.ws_url, session)
    await again.send({"type": "resume", "after_seq": ack["seq"]})
    assert (await again.recv_type("reply"))["in_reply_to"] == ack["seq"]
    await again.close()


@pytest.fixture
async def store(live_server):
    engine = make_async_engine(live_server.settings.resolved_database_url)
    yield ConversationStore(async_session_factory(engine))
    await engine.dispose()


async def test_a_retry_of_a_message_left_unanswered_gets_it_answered_once(live_server, store):
    session = await start_session(live_server.url)
    chat = await ChatClient.open(live_server.ws_url, session)  # open first: the sweep may answer before the retry
    # what a worker killed between its ack and its answer leaves behind
    left = await store.append(session["session_id"], Author.SHOPPER, "where is my order?",
                              client_msg_id="lost-1", answer_state=AnswerState.PENDING)
    await chat.send({"type": "message", "text": "where is my order?", "client_msg_id": "lost-1"})
    ack = await chat.recv_type("ack")
    reply = await chat.recv_type("reply")
    assert ack["seq"] == left.seq and reply["in_reply_to"] == left.seq
    await chat.send({"type": "message", "text": "where is my order?", "client_msg_id": "lost-1"})
    assert (await chat.recv_type("ack"))["seq"] == left.seq
    await chat.close()
    frames = await transcript(live_server, session)
    assert [f["seq"] for f in frames if f.get("in_reply_to") == left.seq] == [reply["seq"]]
    assert [f["answer_state"] for f in frames if f["author"] == "shopper"] == ["answered"]


async def test_messages_of_a_handed_off_session_are_with_a_person(live_server):
    session = await start_session(live_server.url)
    chat = await ChatClient.open(live_server.ws_url, session)
    await chat.send({"type": "handoff_request"})
    await chat.recv_type("status")
    await chat.send({"type": "message", "text": "hello, anyone?", "client_msg_id": "h-1"})
    ack = await chat.recv_type("ack")
    await chat.close()
    shopper = [f for f in await transcript(live_server, session) if f["author"] == "shopper"]
    assert [(f["seq"], f["answer_state"]) for f in shopper] == [(ack["seq"], "with_person")]
