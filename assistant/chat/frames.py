"""Reading client frames off a websocket: text only, bounded size and nesting, normalised text, validated.

Both sockets (/ws/chat and /ws/agent) read through `receive_frame`; every way a frame can be wrong ends
as a `FrameRefused` (an error frame, the connection stays usable), never as an exception that drops it.
Frames larger than `max_frame_bytes` never get here: uvicorn's `ws_max_size` closes them with 1009.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from assistant.chat.protocol import client_frame_adapter
from assistant.chat.service import FrameRefused

# kept from the control characters: the line breaks and tabs of a multi-line message
_KEPT_CONTROLS = frozenset("\n\t")
# control (Cc), format (Cf: zero-width spaces and joiners, bidi overrides, BOM), lone surrogates (Cs)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def normalise_text(text: str) -> str:
    """NFC, without control, zero-width/format characters or lone surrogates (none of which PostgreSQL
    stores, or a reader sees); CR LF becomes LF."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    return "".join(c for c in text if c in _KEPT_CONTROLS or unicodedata.category(c) not in _DROPPED_CATEGORIES)


def normalise_strings(value: Any) -> Any:
    """Every string (keys too) of decoded JSON, normalised; the shape is unchanged."""
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, list):
        return [normalise_strings(v) for v in value]
    if isinstance(value, dict):
        return {normalise_text(k): normalise_strings(v) for k, v in value.items()}
    return value


def parse_client_frame(raw: str, max_bytes: int, adapter: TypeAdapter = client_frame_adapter):
    """One text frame as a validated protocol frame, or FrameRefused (too large, bad_json, bad_frame)."""
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:  # when the server runs without ws_max_size
        raise FrameRefused("frame_too_large", f"frames are limited to {max_bytes} bytes")
    try:
        data = json.loads(raw)
    except RecursionError as e:  # `[[[[...` thousands deep
        raise FrameRefused("bad_json", "not JSON: nested too deeply") from e
    except ValueError as e:  # JSONDecodeError, and numbers too long to convert
        raise FrameRefused("bad_json", f"not JSON: {getattr(e, 'msg', None) or 'unreadable value'}") from e
    try:
        return adapter.validate_python(normalise_strings(data))
    except RecursionError as e:
        raise FrameRefused("bad_json", "not JSON: nested too deeply") from e
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "frame"
        raise FrameRefused("bad_frame", f"{where}: {first['msg']}") from e


async def receive_text(ws: WebSocket) -> str:
    """The next text frame; a binary frame is refused with bad_frame (the socket stays open)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    if message.get("text") is None:
        raise FrameRefused("bad_frame", "binary frames are not accepted: send JSON as text")
    return message["text"]


async def receive_frame(ws: WebSocket, max_bytes: int, adapter: TypeAdapter = client_frame_adapter):
    """Wait for the next client frame and return it parsed; FrameRefused for anything wrong with it."""
    return parse_client_frame(await receive_text(ws), max_bytes, adapter)
