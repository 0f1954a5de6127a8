"""The chat protocol's guarantees over a real websocket: storage before ack, resume, retries, bad input."""

from __future__ import annotations

import json

import pytest
import websockets
from sqlalchemy import func, select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import BehaviourEvent, Item, Message
from tests.chat.client import ChatClient, customer_sig, start_session


@pytest.fixture(scope="module")
def db(live_server):
    engine = make_engine(live_server.settings.resolved_database_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


async def open_chat(server) -> ChatClient:
    return await ChatClient.open(server.ws_url, await start_session(server.url))


def stored(db, session_id: str) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.session_id == session_id).order_by(Message.seq)))


async def test_message_is_stored_before_it_is_acknowledged(live_server, db):
    chat = await open_chat(live_server)
    await chat.send({"type": "message", "text": "hello there", "client_msg_id": "first"})
    ack = await chat.recv_type("ack")
    rows = stored(db, chat.session["session_id"])
    assert [(m.seq, m.author, m.text) for m in rows if m.seq == ack["seq"]] == [(ack["seq"], "shopper",
                                                                                 "hello there")]
    reply = await chat.recv_type("reply")
    assert reply["seq"] > ack["seq"]
    assert any(m.seq == reply["seq"] and m.author == "bot" for m in stored(db, chat.session["session_id"]))
    await chat.close()


async def test_resume_replays_every_stored_frame_after_seq(live_server):
    chat = await open_chat(live_server)
    ack1, reply1 = await chat.say("hi")
    ack2, reply2 = await chat.say("what payment methods do you accept?")
    await chat.close()

    again = await ChatClient.open(live_server.ws_url, chat.session)
    await again.send({"type": "resume", "after_seq": ack1["seq"]})
    replayed = [await again.recv_type("reply") for _ in range(3)]
    assert [f["seq"] for f in replayed] == [reply1["seq"], ack2["seq"], reply2["seq"]]
    assert replayed[1]["author"] == "shopper" and replayed[1]["text"] == "what payment methods do you accept?"
    assert replayed[2]["text"] == reply2["text"] and replayed[2]["faq_ids"] == reply2["faq_ids"]
    await again.close()


async def test_repeated_client_msg_id_is_acked_again_but_processed_once(live_server, db):
    chat = await open_chat(live_server)
    ack, _ = await chat.say("thanks", client_msg_id="dup-1")
    await chat.send({"type": "message", "text": "thanks", "client_msg_id": "dup-1"})
    again = await chat.recv_type("ack")
    assert again == ack
    with pytest.raises(TimeoutError):
        await chat.recv_type("reply", timeout=1.5)
    rows = stored(db, chat.session["session_id"])
    assert sum(1 for m in rows if m.client_msg_id == "dup-1") == 1
    assert sum(1 for m in rows if m.author == "bot") == 1
    await chat.close()


@pytest.mark.parametrize(("frame", "code"), [
    ("this is not json", "bad_json"),
    (json.dumps({"type": "shout", "text": "hi"}), "bad_frame"),
    (json.dumps({"type": "message", "client_msg_id": "x"}), "bad_frame"),
    (json.dumps({"type": "message", "text": "hi"}), "bad_frame"),
    (json.dumps({"type": "message", "text": "x" * 2001, "client_msg_id": "long"}), "too_long"),
    (json.dumps({"type": "message", "text": "   ", "client_msg_id": "blank"}), "empty"),
    (json.dumps({"type": "event", "kind": "view", "item_id": 99999999}), "unknown_item"),
    (json.dumps({"type": "event", "kind": "teleport", "item_id": 1}), "bad_frame"),
    (json.dumps({"type": "resume", "after_seq": -1}), "bad_frame"),
    (json.dumps([1, 2, 3]), "bad_frame"),
])
async def test_bad_input_gets_an_error_frame_and_the_connection_stays_usable(live_server, db, frame, code):
    chat = await open_chat(live_server)
    ack, _ = await chat.say("hello")
    await chat.send(frame)
    error = await chat.recv_type("error")
    assert error["code"] == code and error["detail"]
    ack2, reply = await chat.say("thank you")
    assert ack2["seq"] > ack["seq"] and reply["type"] == "reply"
    texts = [m.text for m in stored(db, chat.session["session_id"]) if m.author == "shopper"]
    assert texts == ["hello", "thank you"]  # nothing lost, nothing invented
    await chat.close()


async def test_wrong_token_closes_with_4401(live_server):
    session = await start_session(live_server.url)
    other = await start_session(live_server.url)
    for token in ["", "forged.token.value", other["token"]]:
        ws = await websockets.connect(f"{live_server.ws_url}/ws/chat?session_id={session['session_id']}")
        await ws.send(json.dumps({"type": "auth", "token": token}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401


async def test_behaviour_event_is_stored_and_acknowledged(live_server, db):
    chat = await open_chat(live_server)
    item_id = db.scalar(select(Item.id).order_by(Item.id).limit(1))
    await chat.send({"type": "event", "kind": "view", "item_id": item_id})
    ack = await chat.recv_type("event_ack")
    assert ack == {"type": "event_ack", "kind": "view", "item_id": item_id, "recorded": True}
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(BehaviourEvent).where(
        BehaviourEvent.session_id == chat.session["session_id"], BehaviourEvent.item_id == item_id)) == 1
    await chat.close()


async def test_unknown_customer_cannot_start_a_session(live_server):
    import httpx

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        resp = await http.post("/api/sessions", json={"customer_id": "nobody-here",
                                                      "customer_sig": customer_sig("nobody-here")})
    assert resp.status_code == 404
