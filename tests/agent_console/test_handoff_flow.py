"""A full handoff through real websockets: the shopper asks for a person, an agent claims the chat, they
write both ways (typing too), the agent sends a card, releases, and the bot answers again; then close."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import Customer, Item, LabelledFeedback, Order
from tests.agent_console.client import AgentSocket, api, waiting_shopper
from tests.chat.client import ChatClient, start_session

QUIET_S = 1.0  # how long the bot is watched for staying silent


@pytest.fixture(scope="module")
def customer_id(live_server) -> str:
    engine = make_engine(live_server.settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return db.scalars(select(Customer.id).join(Order, Order.customer_id == Customer.id)
                              .order_by(Customer.id)).first()
    finally:
        engine.dispose()


def stored_feedback(settings, message_id: int) -> list[str]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return list(db.scalars(select(LabelledFeedback.intent).where(LabelledFeedback.message_id == message_id)))
    finally:
        engine.dispose()


async def no_reply(chat: ChatClient) -> bool:
    try:
        await chat.recv_type("reply", timeout=QUIET_S)
    except TimeoutError:
        return True
    return False


async def test_handoff_to_an_agent_and_back_to_the_bot(live_server, agents, customer_id):
    alice, bob = agents["alice"], agents["bob"]
    console = await AgentSocket.open(live_server, alice)
    shopper = await ChatClient.open(live_server.ws_url, await _session(live_server, customer_id))
    _, bot_reply = await shopper.say("where is my order?")
    await shopper.send({"type": "handoff_request"})
    status = await shopper.recv_type("status")
    assert status["state"] == "waiting" and status["queue_position"] >= 1 and status["agents_online"] >= 1
    sid = shopper.session["session_id"]
    queue = await console.recv_queue_with(sid)
    assert next(s for s in queue["waiting"] if s["session_id"] == sid)["handoff_reason"] == "requested"

    async with api(live_server, alice) as http:
        listed = (await http.get("/api/agent/queue")).json()
        row = next(s for s in listed if s["session_id"] == sid)
        assert row["last_message"]["text"] and row["wait_s"] >= 0 and row["customer_id"] == customer_id
        assert (await http.post(f"/api/agent/sessions/{sid}/claim")).status_code == 200
    status = await shopper.recv_type("status")
    assert (status["state"], status["agent_name"]) == ("with_agent", "Alice")

    await console.send({"type": "watch", "session_id": sid, "after_seq": 0})
    replayed = await console.recv_type("status", session_id=sid)
    assert replayed["state"] == "with_agent"

    # shopper -> agent, and the bot stays silent
    ack = await _shopper_says(shopper, "are you a real person?")
    seen = await console.recv_type("reply", session_id=sid, author="shopper", seq=ack["seq"])
    assert seen["text"] == "are you a real person?"
    await shopper.send({"type": "typing", "active": True})
    assert (await console.recv_type("typing", session_id=sid))["author"] == "shopper"

    # agent -> shopper: stored before the ack, shown with the agent's name; a retry is not stored twice
    await console.send({"type": "typing", "session_id": sid, "active": True})
    assert (await shopper.recv_type("typing"))["author"] == "agent"
    frame = {"type": "message", "session_id": sid, "text": "Yes, I'm Alice. Let me look.", "client_msg_id": "a-1"}
    await console.send(frame)
    agent_ack = await console.recv_type("ack", session_id=sid)
    reply = await shopper.recv_type("reply")
    assert (reply["author"], reply["author_name"], reply["seq"]) == ("agent", "Alice", agent_ack["seq"])
    await console.send(frame)
    assert (await console.recv_type("ack", session_id=sid))["seq"] == agent_ack["seq"]
    assert await no_reply(shopper)

    # only the claiming agent writes into the chat
    other = await AgentSocket.open(live_server, bob)
    await other.send({**frame, "client_msg_id": "b-1", "text": "Bob here"})
    assert (await other.recv_type("error"))["code"] == "not_yours"
    async with api(live_server, bob) as http:
        assert (await http.post(f"/api/agent/sessions/{sid}/claim")).status_code == 409
        assert (await http.post(f"/api/agent/sessions/{sid}/release")).status_code == 409
    await other.close()

    # the transcript has everything, with the bot's reading beside the first shopper message
    async with api(live_server, alice) as http:
        transcript = (await http.get(f"/api/agent/sessions/{sid}/transcript")).json()
        first = transcript["messages"][0]
        assert first["author"] == "shopper" and first["reading"]["intent"] == bot_reply["intent"]
        assert 1 <= len(first["reading"]["alternatives"]) <= 3 and first["reading"]["confidence"] > 0
        assert [m["author"] for m in transcript["messages"]][-2:] == ["shopper", "agent"]
        assert sum(m["text"] == frame["text"] for m in transcript["messages"]) == 1
        assert transcript["session"]["agent_name"] == "Alice"

        # one-click correction, stored as labelled feedback
        url = f"/api/agent/sessions/{sid}/messages/{first['message_id']}/correct-intent"
        assert (await http.post(url, json={"intent": "delivery_period"})).status_code == 201
        assert (await http.post(url, json={"intent": "not_an_intent"})).status_code == 422
        assert stored_feedback(live_server.settings, first["message_id"]) == ["delivery_period"]
        again = (await http.get(f"/api/agent/sessions/{sid}/transcript")).json()
        assert again["messages"][0]["corrected_intent"] == "delivery_period"

        # the shopper's orders and suggestions; an item card reaches the widget
        context = (await http.get(f"/api/agent/sessions/{sid}/shopper")).json()
        assert context["customer_id"] == customer_id and context["orders"]
        item_id = (context["suggestions"] or [{"item_id": context_item(live_server)}])[0]["item_id"]
        assert (await http.post(f"/api/agent/sessions/{sid}/cards", json={"item_id": item_id})).status_code == 201
        card = await shopper.recv_type("reply")
        assert card["author"] == "agent" and card["items"][0]["item_id"] == item_id

        # release: the bot answers again
        assert (await http.post(f"/api/agent/sessions/{sid}/release")).status_code == 200
    assert (await shopper.recv_type("status"))["state"] == "bot"
    _, answer = await shopper.say("what is your return policy?")
    assert answer["author"] == "bot" and answer["text"]
    await asyncio.gather(shopper.close(), console.close())


async def test_a_reloaded_widget_gets_the_agent_messages_and_the_current_hands(live_server, agents):
    alice = agents["alice"]
    shopper = await waiting_shopper(live_server)
    sid = shopper.session["session_id"]
    console = await AgentSocket.open(live_server, alice)
    async with api(live_server, alice) as http:
        assert (await http.post(f"/api/agent/sessions/{sid}/claim")).status_code == 200
    await console.send({"type": "message", "session_id": sid, "text": "Hello from Alice", "client_msg_id": "r-1"})
    ack = await console.recv_type("ack", session_id=sid)
    await shopper.close()

    reloaded = await ChatClient.open(live_server.ws_url, shopper.session)
    await reloaded.send({"type": "resume", "after_seq": 0})
    replayed = await _replay_until(reloaded, ack["seq"])
    assert replayed["author_name"] == "Alice"
    status = await reloaded.recv_type("status")
    assert (status["state"], status["agent_name"]) == ("with_agent", "Alice")

    # the console resumes too, and closes the chat with a resolution tag
    await console.close()
    console = await AgentSocket.open(live_server, alice)
    await console.send({"type": "resume", "session_id": sid, "after_seq": ack["seq"] - 1})
    assert (await console.recv_type("reply", session_id=sid))["seq"] == ack["seq"]
    async with api(live_server, alice) as http:
        bad = await http.post(f"/api/agent/sessions/{sid}/close", json={"resolution": "whatever"})
        assert bad.status_code == 422
        assert (await http.post(f"/api/agent/sessions/{sid}/close", json={"resolution": "resolved"})).status_code == 200
        assert (await http.get(f"/api/agent/sessions/{sid}/transcript")).json()["session"]["resolution"] == "resolved"
    assert (await reloaded.recv_type("status"))["state"] == "closed"
    await reloaded.send({"type": "message", "text": "hello?", "client_msg_id": "late"})
    assert (await reloaded.recv_type("error"))["code"] == "closed"
    await asyncio.gather(reloaded.close(), console.close())


async def test_with_no_agent_online_the_shopper_leaves_a_message_an_agent_answers(live_server, agents):
    shopper = await ChatClient.open(live_server.ws_url, await _session(live_server))
    await shopper.send({"type": "handoff_request"})
    status = await shopper.recv_type("status")
    for _ in range(50):  # consoles of earlier tests may still be closing
        if not status["agents_online"]:
            break
        await asyncio.sleep(0.1)
        await shopper.send({"type": "resume", "after_seq": 10**6})
        status = await shopper.recv_type("status")
    await shopper.send({"type": "leave_message", "text": "Please call me about my parcel", "contact": "me@x.test"})
    left_ack = await shopper.recv_type("message_left")
    async with api(live_server, agents["bob"]) as http:
        left = (await http.get("/api/agent/left-messages")).json()
        mine = next(m for m in left if m["id"] == left_ack["id"])
        assert (mine["text"], mine["contact"]) == ("Please call me about my parcel", "me@x.test")
        answered = await http.post(f"/api/agent/left-messages/{mine['id']}/answer", json={"text": "Calling you now"})
        assert answered.status_code == 200 and answered.json()["answered_at"]
        assert all(m["id"] != mine["id"] for m in (await http.get("/api/agent/left-messages")).json())
    reply = await shopper.recv_type("reply")
    assert (reply["author"], reply["text"]) == ("agent", "Calling you now")
    await shopper.close()


async def _session(server, customer_id: str | None = None) -> dict:
    return await start_session(server.url, customer_id)


async def _shopper_says(shopper: ChatClient, text: str) -> dict:
    await shopper.send({"type": "message", "text": text, "client_msg_id": f"s-{hash(text)}"})
    ack = await shopper.recv_type("ack")
    assert await no_reply(shopper)  # with an agent the bot is silent
    return ack


async def _replay_until(chat: ChatClient, seq: int) -> dict:
    while True:
        frame = await chat.recv_type("reply")
        if frame["seq"] == seq:
            return frame


def context_item(server) -> int:
    engine = make_engine(server.settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return db.scalars(select(Item.id).order_by(Item.id)).first()
    finally:
        engine.dispose()
