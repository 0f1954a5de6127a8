"""The database gone while a socket opens: both sockets close with 1012 (reconnect), never 1011.

The store is PostgreSQL behind a TCP gate; shutting the gate drops the server's connections and refuses new
ones. Failed before (issue 11, item 4): the agent socket's token check (and its first queue frame) read the
store, the error escaped the handler and uvicorn dropped the socket without a close frame (the console saw
1006 or 1011, not "come back"); the shopper socket already closed with 1012.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from assistant.chat.socket import CLOSE_RECONNECT
from tests.agent_console.client import AgentSocket, add_agents
from tests.chat.client import start_session
from tests.conftest import LiveServer, shop_settings
from tests.faults.tcp_gate import TcpGate


@pytest.fixture
def gated_server(shop_state, fault_pg_url) -> Iterator[tuple[LiveServer, TcpGate]]:
    gate = TcpGate(("127.0.0.1", 5432)).open()
    url = fault_pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{gate.port}")
    server = LiveServer(shop_settings(shop_state, url, database_ping_idle_s=0.0)).start()
    yield server, gate
    gate.shut()
    server.stop()


async def close_code(url: str, token: str) -> int | None:
    """How the server ends a socket that sent its auth frame."""
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 30)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def test_a_socket_opened_while_the_store_is_down_closes_for_a_reconnect(gated_server):
    server, gate = gated_server
    agent, = add_agents(server.settings, 1, name="Night shift")
    session = await start_session(server.url)
    socket = await AgentSocket.open(server, agent)  # fine while the store is up
    await socket.recv_type("queue")
    await socket.close()

    gate.shut()
    try:
        assert await close_code(f"{server.ws_url}/ws/agent", agent.token) == CLOSE_RECONNECT  # old main: no 1012
        assert await close_code(f"{server.ws_url}/ws/chat?session_id={session['session_id']}",
                                session["token"]) == CLOSE_RECONNECT
    finally:
        gate.open()
    socket = await AgentSocket.open(server, agent)  # the store is back: the console's reconnect succeeds
    assert (await socket.recv_type("queue"))["type"] == "queue"
    await socket.close()
