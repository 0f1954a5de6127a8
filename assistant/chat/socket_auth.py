"""The authentication handshake of both sockets: the token comes in the first frame, within a timeout.

A socket opens without a token in its URL (URLs reach access logs and proxies); its first frame must be
`{"type":"auth","token":"…"}`, sent within `auth_timeout_s`. Anything else closes it with 4401.
"""

from __future__ import annotations

import asyncio

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from assistant.chat.protocol import auth_frame_adapter
from assistant.config import Settings

CLOSE_UNAUTHORIZED = 4401


class SocketAuthFailed(Exception):
    """The socket's first frame did not carry a token in time; the reason is safe to send back."""


async def receive_token(ws: WebSocket, settings: Settings) -> str:
    """The token of the first frame (raises SocketAuthFailed, or WebSocketDisconnect if the client left)."""
    try:
        message = await asyncio.wait_for(ws.receive(), settings.auth_timeout_s)
    except TimeoutError:
        raise SocketAuthFailed(f"no auth frame within {settings.auth_timeout_s:g} s") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("text") is None:
        raise SocketAuthFailed('the first frame must be {"type":"auth","token":…} as JSON text')
    text = message["text"]
    if len(text) > settings.max_frame_bytes:
        raise SocketAuthFailed("the auth frame is too large")
    try:
        return auth_frame_adapter.validate_json(text).token
    except ValidationError:
        raise SocketAuthFailed('the first frame must be {"type":"auth","token":…}') from None


async def close_refused(ws: WebSocket, reason: str, code: int = CLOSE_UNAUTHORIZED) -> None:
    """Close with 4401 (or the given code); the reason never repeats the token."""
    await ws.close(code=code, reason=reason[:120])
