"""A small real websocket client for the chat tests: start a session, send frames, wait for frames."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import websockets

_ids = itertools.count(1)


async def start_session(base_url: str, customer_id: str | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        body = {"customer_id": customer_id} if customer_id else {}
        resp = await http.post("/api/sessions", json=body)
        resp.raise_for_status()
        return resp.json()


class ChatClient:
    def __init__(self, ws, session: dict[str, Any]) -> None:
        self.ws = ws
        self.session = session

    @classmethod
    async def open(cls, ws_url: str, session: dict[str, Any]) -> ChatClient:
        ws = await websockets.connect(
            f"{ws_url}/ws/chat?session_id={session['session_id']}&token={session['token']}", max_size=1 << 22)
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
