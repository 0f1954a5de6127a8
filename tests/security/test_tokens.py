"""Tokens expire, carry an id, travel in a socket's first frame (never in a URL) and never reach a log line.

On the old main shopper tokens never expired, both sockets took the token in the URL (`?token=`) and
uvicorn logged that URL at INFO; each test marked "old main" failed there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import jwt
import pytest
import websockets

from assistant.security import issue_session_token
from tests.agent_console.client import AgentSocket, add_agents, api, waiting_shopper
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, shop_settings


@pytest.fixture(scope="module")
def logged_server(shop_state) -> Iterator[LiveServer]:
    """A server that logs at INFO with uvicorn's access log on, as `shopassist serve` runs, and waits
    only one second for an auth frame."""
    server = LiveServer(shop_settings(shop_state, auth_timeout_s=1.0), log_level="info").start()
    yield server
    server.stop()


async def close_code(ws) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await ws.recv()
    return closed.value.rcvd.code


async def test_a_shopper_token_carries_an_expiry_and_an_id(live_server):
    """Old main: the token had neither `exp` nor `jti` (valid for ever)."""
    session = await start_session(live_server.url)
    claims = jwt.decode(session["token"], live_server.settings.secret_key, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == live_server.settings.session_token_ttl_s == 24 * 3600
    assert claims["jti"] and claims["sid"] == session["session_id"]
    assert (await start_session(live_server.url))["token"] != session["token"]


async def test_an_expired_or_never_expiring_shopper_token_opens_nothing(live_server):
    """Old main: a token without expiry opened the session (it was the only kind)."""
    session_id = (await start_session(live_server.url))["session_id"]
    secret = live_server.settings.secret_key
    expired = issue_session_token(secret, session_id, ttl_s=-60)
    forever = jwt.encode({"kind": "shopper", "sid": session_id}, secret, algorithm="HS256")
    for token in (expired, forever):
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{live_server.url}/api/sessions/{session_id}/transcript", headers=headers,
                         timeout=30).status_code == 401
        async with websockets.connect(f"{live_server.ws_url}/ws/chat?session_id={session_id}") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert await close_code(ws) == 4401


async def test_a_token_in_the_url_no_longer_opens_a_socket(live_server):
    """Old main: `?token=` opened the session, and the URL with the token went to the access log."""
    session = await start_session(live_server.url)
    url = f"{live_server.ws_url}/ws/chat?session_id={session['session_id']}&token={session['token']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "resume", "after_seq": 0}))  # not an auth frame: refused
        assert await close_code(ws) == 4401


async def test_sockets_without_an_auth_frame_in_time_are_closed_with_4401(logged_server):
    """Old main: without `?token=` the socket was refused at once; with it, there was no first frame to wait for."""
    session = await start_session(logged_server.url)
    async with websockets.connect(f"{logged_server.ws_url}/ws/chat?session_id={session['session_id']}") as ws:
        assert await close_code(ws) == 4401
    async with websockets.connect(f"{logged_server.ws_url}/ws/agent") as ws:
        assert await close_code(ws) == 4401


async def test_a_binary_or_malformed_first_frame_is_refused_with_4401(live_server):
    session = await start_session(live_server.url)
    for first in (b"\x00\x01", "not json", json.dumps({"type": "auth"}), "[" * 5000):
        async with websockets.connect(f"{live_server.ws_url}/ws/chat?session_id={session['session_id']}") as ws:
            await ws.send(first)
            assert await close_code(ws) == 4401, first[:20]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("websockets.client", "httpx", "httpcore")):  # the test's own clients
            self.lines.append(self.format(record))


@contextmanager
def server_log() -> Iterator[Captured]:
    """Every line the server logs at INFO and above (uvicorn's error and access logs, the app's loggers)."""
    handler = Captured()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


async def test_no_token_reaches_a_log_line_during_a_whole_chat(logged_server):
    """Old main: uvicorn logged `"WebSocket /ws/chat?session_id=…&token=eyJ…" [accepted]` at INFO."""
    agent, = add_agents(logged_server.settings, 1, name="Logged")
    with server_log() as log:
        shopper = await waiting_shopper(logged_server)  # a session, its socket, a handoff request
        session = shopper.session
        console = await AgentSocket.open(logged_server, agent)
        async with api(logged_server, agent) as http:
            assert (await http.post(f"/api/agent/sessions/{session['session_id']}/claim")).status_code == 200
            await http.post("/api/agent/logout")
        async with httpx.AsyncClient(base_url=logged_server.url, timeout=30) as http:
            transcript = await http.get(f"/api/sessions/{session['session_id']}/transcript",
                                        headers={"Authorization": f"Bearer {session['token']}"})
            assert transcript.status_code == 200
        await shopper.close()
        await console.close()
        again = await ChatClient.open(logged_server.ws_url, session)
        await again.send({"type": "resume", "after_seq": 0})
        await again.recv_type("reply")
        await again.close()
    text = "\n".join(log.lines)
    assert "/ws/chat?session_id=" in text and "/api/sessions" in text  # the access log was captured
    for token in (session["token"], agent.token):
        assert token not in text
        assert token.split(".")[2] not in text  # not even the signature part


async def test_a_token_put_in_a_url_by_a_client_never_reaches_a_log_line(logged_server):
    """A client that still puts its token in the URL (the old main's widget, cached in a browser; a careless
    integration) is refused, and its token is masked in the server's log lines too. Before this test
    uvicorn's INFO line `"WebSocket /ws/chat?session_id=…&token=eyJ…" [accepted]` carried it whole."""
    agent, = add_agents(logged_server.settings, 1, name="URL token")
    session = await start_session(logged_server.url)
    sid, token = session["session_id"], session["token"]
    with server_log() as log:
        async with websockets.connect(f"{logged_server.ws_url}/ws/chat?session_id={sid}&token={token}") as ws:
            assert await close_code(ws) == 4401  # no auth frame: refused after auth_timeout_s
        async with websockets.connect(f"{logged_server.ws_url}/ws/agent?token={agent.token}") as ws:
            assert await close_code(ws) == 4401
        async with httpx.AsyncClient(base_url=logged_server.url, timeout=30) as http:
            assert (await http.get(f"/api/sessions/{sid}/transcript?token={token}")).status_code == 401
            assert (await http.get(f"/api/agent/me?access_token={agent.token}")).status_code == 401
    text = "\n".join(log.lines)
    assert f"/ws/chat?session_id={sid}" in text and "/api/agent/me" in text  # the lines were logged
    for secret in (token, agent.token):
        assert secret.split(".")[2] not in text and secret.split(".")[1] not in text
