"""A small real websocket client for the chat tests: start a session, send frames, wait for frames.

A signed-in shopper is proven the way a shop's backend does it (docs/security.md): the test servers share
TEST_IDENTITY_SECRET, and `start_session` sends hex(HMAC-SHA256(secret, customer_id)) beside the id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from typing import Any

import httpx
import websockets

_ids = itertools.count(1)
TEST_IDENTITY_SECRET = "test-identity-secret-shared-with-the-shop"


def customer_sig(customer_id: str, secret: str = TEST_IDENTITY_SECRET) -> str:
    """The shop backend's proof of a customer id, as docs/security.md shows it in Python."""
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


async def start_session(base_url: str, customer_id: str | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        body = {"customer_id": customer_id, "customer_sig": customer_sig(customer_id)} if customer_id else {}
        resp = await http.post("/api/sessions", json=body)
        resp.raise_for_status()
        return resp.json()


class ChatClient:
    def __init__(self, ws, session: dict[str, Any]) -> None:
        self.ws = ws
        self.session = session

    @classmethod
    async def open(cls, ws_url: str, session: dict[str, Any]) -> ChatClient:
        """Connect with the session id only; the token goes in the first frame."""
        ws = await websockets.connect(f"{ws_url}/ws/chat?session_id={session['session_id']}", max_size=1 << 22)
        await ws.send(json.dumps({"type": "auth", "token": session["token"]}))
        return cls(ws, session)

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 60) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def recv_type(self, *types: str, timeout: float = 60) -> dict[str, Any]:
        """The next frame of one of `types`, skipping others (typing notices, status...)."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] in types:
                return frame

    async def say(self, text: str, client_msg_id: str | None = None) -> tuple[dict, dict]:
        """Send a message; return its ack and the bot's reply."""
        cid = client_msg_id or f"m{next(_ids)}"
        await self.send({"type": "message", "text": text, "client_msg_id": cid})
        ack = await self.recv_type("ack", "error")
        assert ack["type"] == "ack", ack
        reply = await self.recv_type("reply")
        return ack, reply
