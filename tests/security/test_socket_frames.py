"""Hostile frames on both sockets: oversized, binary, deeply nested, invisible or NUL-laden text.

Each test here failed on main before the socket hardening (issue 11, item 4): a 100 KB frame was read
whole and answered `frame_too_large` instead of closing with 1009; a binary frame dropped the socket
without a close frame; `[` * 8000 got `internal`; a message of zero-width spaces was stored; a NUL
character failed on PostgreSQL as `internal` (shopper and agent sockets alike).
"""

from __future__ import annotations

import json

import pytest
import websockets
from sqlalchemy import select

from assistant.store.models import Message
from tests.agent_console.client import claimed_chat
from tests.chat.client import ChatClient, start_session

HOSTILE_TEXT_FRAMES = [
    pytest.param("[" * 8000, "bad_json", id="nested-8000"),
    pytest.param('{"a":' * 2500 + "1" + "}" * 2500, "bad_json", id="nested-objects"),
    pytest.param("9" * 5000, "bad_json", id="huge-number"),
    pytest.param('{"type": "message", "text": "\\ud800", "client_msg_id": "s"}', "empty", id="lone-surrogate"),
    pytest.param(json.dumps({"type": "message", "text": "\u200b\u200c\u200d\ufeff\u2060", "client_msg_id": "zw"}),
                 "empty", id="zero-width-only"),
    pytest.param(json.dumps({"type": "message", "text": "\x00\x01\x7f \u202e", "client_msg_id": "ctl"}),
                 "empty", id="controls-only"),
    pytest.param(json.dumps({"type": "message", "text": "hi", "client_msg_id": "\x00\u200b"}),
                 "bad_frame", id="invisible-client-msg-id"),
]


def shopper_texts(db, session_id: str) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(Message.text).where(Message.session_id == session_id,
                                                      Message.author == "shopper").order_by(Message.seq)))


async def open_chat(server) -> ChatClient:
    return await ChatClient.open(server.ws_url, await start_session(server.url))


async def test_an_oversized_frame_closes_with_1009_and_the_server_goes_on(live_server):
    chat = await open_chat(live_server)
    await chat.send("x" * (live_server.settings.max_frame_bytes * 8))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await chat.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    again = await ChatClient.open(live_server.ws_url, chat.session)
    _, reply = await again.say("hello")
    assert reply["text"]
    await again.close()


async def test_a_binary_frame_gets_bad_frame_and_the_socket_stays_open(live_server, db):
    chat = await open_chat(live_server)
    await chat.ws.send(b'{"type": "message", "text": "hi", "client_msg_id": "bin"}')
    error = await chat.recv_type("error")
    assert error["code"] == "bad_frame"
    ack, reply = await chat.say("hello")
    assert reply["text"] and shopper_texts(db, chat.session["session_id"]) == ["hello"]
    await chat.close()


@pytest.mark.parametrize(("frame", "code"), HOSTILE_TEXT_FRAMES)
async def test_hostile_text_frames_are_refused_and_store_nothing(live_server, db, frame, code):
    chat = await open_chat(live_server)
    await chat.send(frame)
    error = await chat.recv_type("error")
    assert error["code"] == code, error
    _, reply = await chat.say("thank you")
    assert reply["text"] and shopper_texts(db, chat.session["session_id"]) == ["thank you"]
    await chat.close()


async def test_text_is_stored_normalised_without_nul_or_invisible_characters(live_server, db):
    chat = await open_chat(live_server)
    ack, reply = await chat.say("whe\x00re is my or\u200bder?\r\ncafe\u0301")
    assert reply["text"]
    assert shopper_texts(db, chat.session["session_id"]) == ["where is my order?\ncaf\u00e9"]
    await chat.close()


async def test_the_agent_socket_refuses_binary_nested_and_invisible_frames(live_server):
    _, shopper, console = await claimed_chat(live_server, "Frames")
    session_id = shopper.session["session_id"]
    await console.ws.send(b"\x00\x01")
    assert (await console.recv_type("error"))["code"] == "bad_frame"
    await console.ws.send("[" * 8000)
    assert (await console.recv_type("error"))["code"] == "bad_json"
    await console.send({"type": "message", "session_id": session_id, "text": "\u200b\x00", "client_msg_id": "a1"})
    assert (await console.recv_type("error"))["code"] == "empty"
    await console.send({"type": "message", "session_id": session_id, "text": "on my w\x00ay", "client_msg_id": "a2"})
    assert (await console.recv_type("ack"))["client_msg_id"] == "a2"
    assert (await shopper.recv_type("reply"))["text"] == "on my way"
    await console.ws.send("x" * (live_server.settings.max_frame_bytes * 8))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await console.recv_type("never")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await shopper.close()
