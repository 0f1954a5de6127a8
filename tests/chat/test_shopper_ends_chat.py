"""The shopper's "End chat" (`{"type":"close"}`) over a real websocket, on SQLite and PostgreSQL.

Before it, only an agent could close a conversation, so a chat with the bot alone was never rated.
"""

from __future__ import annotations

import pytest

from assistant.store.database import make_engine, session_factory
from assistant.store.models import ChatSession
from tests.agent_console.client import AgentSocket, add_agents, api, claimed_chat, waiting_shopper
from tests.chat.client import ChatClient, start_session


async def closed_status(chat: ChatClient) -> dict:
    """The next `closed` status frame; status frames of earlier changes (queued, claimed) are passed over."""
    while True:
        frame = await chat.recv_type("status", "error")
        assert frame["type"] == "status", frame
        if frame["state"] == "closed":
            return frame


@pytest.fixture(scope="module")
def session_row(live_server):
    engine = make_engine(live_server.settings.resolved_database_url)

    def read(session_id: str) -> ChatSession:
        with session_factory(engine)() as db:
            return db.get(ChatSession, session_id)

    yield read
    engine.dispose()


async def test_a_bot_chat_ended_by_the_shopper_is_closed_idempotently_and_rated(live_server, session_row):
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    await chat.say("hello")
    await chat.send({"type": "close"})
    assert (await chat.recv_type("status", "error"))["state"] == "closed"
    row = session_row(chat.session["session_id"])
    assert row.state == "closed" and row.resolution == "ended_by_shopper"
    await chat.send({"type": "close"})  # a second press (or another tab): the same answer, nothing changes
    assert (await chat.recv_type("status", "error"))["state"] == "closed"
    await chat.send({"type": "message", "text": "are you there?", "client_msg_id": "after-close"})
    assert (await chat.recv_type("ack", "error"))["code"] == "closed"
    await chat.send({"type": "rating", "stars": 4})
    assert (await chat.recv_type("rating_ack"))["stars"] == 4
    assert session_row(chat.session["session_id"]).rating == 4
    await chat.close()


async def test_a_waiting_chat_ended_by_the_shopper_leaves_the_agents_queue(live_server, session_row):
    agent, = add_agents(live_server.settings, 1, name="Quinn")
    shopper = await waiting_shopper(live_server)
    session_id = shopper.session["session_id"]
    console = await AgentSocket.open(live_server, agent)
    await console.recv_queue_with(session_id)
    await shopper.send({"type": "close"})
    await closed_status(shopper)
    while True:  # the queue is announced again, without the session
        frame = await console.recv_type("queue")
        if all(s["session_id"] != session_id for s in frame["waiting"]):
            break
    assert session_row(session_id).state == "closed"
    await console.close()
    await shopper.close()


async def test_a_chat_with_an_agent_ended_by_the_shopper_is_closed_on_the_console(live_server, session_row):
    agent, shopper, console = await claimed_chat(live_server, "Rosa")
    session_id = shopper.session["session_id"]
    await console.send({"type": "watch", "session_id": session_id, "after_seq": 0})
    await console.recv_type("status", session_id=session_id, state="with_agent")
    await shopper.send({"type": "close"})
    await closed_status(shopper)
    # through the bus, as when an agent closes it
    await console.recv_type("status", session_id=session_id, state="closed")
    async with api(live_server, agent) as http:
        mine = (await http.get("/api/agent/sessions/mine")).json()
    assert session_id not in [s["session_id"] for s in mine]
    assert session_row(session_id).state == "closed"
    await console.close()
    await shopper.close()


async def test_close_frames_spend_the_sessions_frame_bucket(live_server):
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    burst = live_server.settings.frame_rate_per_session.burst
    for _ in range(burst + 5):
        await chat.send({"type": "close"})
    answers = [await chat.recv_type("status", "error") for _ in range(burst + 5)]
    assert {a.get("state") for a in answers if a["type"] == "status"} == {"closed"}
    assert any(a.get("code") == "rate_limited" for a in answers)
    await chat.close()
