"""A scripted stand-in for the chat server, for widget tests that need exact, repeatable replies.

It serves ``web/`` like the real app (``/`` and ``/widget/...``) and speaks the wire protocol of
``docs/protocol.md`` with the frames of ``assistant/chat/protocol.py``, but its "bot" is a script:

- text containing ``stapler``      -> a reply with two item cards;
- text starting with ``echo ``     -> a reply that repeats the text, and a card titled with it;
- text starting with ``agent ``    -> a reply from an agent whose display name is the rest;
- text ``drop``                    -> the message and its reply are stored, then the socket closes
                                      before the ack (the widget must reconnect, resume, re-send it
                                      with the same client_msg_id and show each message once);
- ``handoff_request``              -> a ``status`` frame (queue position 2, ``agents_online`` as set),
                                      repeated after every later ``resume``.

Tests of the whole chain run against the real app (``assistant.app:create_app``) instead.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from assistant.chat.protocol import (
    AckFrame,
    ErrorFrame,
    ItemCard,
    MessageFrame,
    ReplyFrame,
    ResumeFrame,
    StatusFrame,
    TypingNotice,
    client_frame_adapter,
)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
EMBED_PAGE = """<!doctype html><html><head><title>Another shop</title></head><body><h1>Another shop</h1>
<script src="/widget/widget.js" data-server="" data-title="Help desk" data-open="true"></script></body></html>"""
DEMO_CUSTOMERS = [{"id": "A1", "name": "Ada Lovelace"}, {"id": "B2", "name": "Brook Chen"}]


@dataclass
class FakeSession:
    token: str
    customer_name: str | None = None
    frames: list[ReplyFrame] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    drops: int = 0
    waiting: bool = False

    def store(self, **fields: Any) -> ReplyFrame:
        frame = ReplyFrame(seq=len(self.frames) + 1, **fields)
        self.frames.append(frame)
        return frame


def create_other_shop(widget_server: str) -> FastAPI:
    """Another shop's site, on its own origin, embedding the widget from ``widget_server``."""
    app = FastAPI()

    @app.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html><head><title>Other shop</title></head><body><h1>Other shop</h1>"
            f'<script src="{widget_server}/widget/widget.js" data-server="{widget_server}"></script>'
            "</body></html>"
        )

    return app


def create_fake_app(agents_online: int = 1, reply_delay_s: float = 0.15) -> FastAPI:
    """The fake server; ``app.state.sessions`` exposes what it stored, for assertions."""
    app = FastAPI()
    # a shop on another origin embeds the widget: its page calls this server's API
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    sessions: dict[str, FakeSession] = {}
    app.state.sessions = sessions

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @app.get("/embed")
    def embed() -> HTMLResponse:
        """A bare third-party page that embeds the widget with one script tag and nothing else."""
        return HTMLResponse(EMBED_PAGE)

    @app.get("/api/demo/customers")
    def demo_customers() -> list[dict[str, str]]:
        return DEMO_CUSTOMERS

    @app.post("/api/sessions")
    async def new_session(body: dict[str, Any] | None = None) -> JSONResponse:
        customer_id = (body or {}).get("customer_id")
        names = {c["id"]: c["name"] for c in DEMO_CUSTOMERS}
        if customer_id and customer_id not in names:
            return JSONResponse({"detail": "unknown customer"}, status_code=404)
        session_id = secrets.token_hex(8)
        sessions[session_id] = FakeSession(token=secrets.token_hex(8), customer_name=names.get(customer_id))
        return JSONResponse({"session_id": session_id, "token": sessions[session_id].token,
                             "customer_id": customer_id, "customer_name": names.get(customer_id)})

    @app.websocket("/ws/chat")
    async def chat(ws: WebSocket, session_id: str = "", token: str = "") -> None:
        session = sessions.get(session_id)
        await ws.accept()
        if session is None or session.token != token:
            await ws.close(code=4401 if session else 4404)
            return
        try:
            while True:
                raw = await ws.receive_text()
                try:
                    frame = client_frame_adapter.validate_json(raw)
                except ValidationError as exc:
                    await _send(ws, ErrorFrame(code="bad_frame", detail=str(exc)[:200]))
                    continue
                if isinstance(frame, ResumeFrame):
                    for stored in session.frames[frame.after_seq:]:
                        await _send(ws, stored)
                    if session.waiting:  # like the real server: who has the chat, after a resume
                        await _send(ws, _waiting(agents_online))
                elif isinstance(frame, MessageFrame):
                    if not await _on_message(ws, session, frame, reply_delay_s):
                        return
                elif frame.type == "event":
                    session.events.append(frame.model_dump())
                elif frame.type == "handoff_request":
                    session.waiting = True
                    await _send(ws, _waiting(agents_online))
                elif frame.type == "leave_message":
                    session.events.append(frame.model_dump())
        except WebSocketDisconnect:
            return

    app.mount("/widget", StaticFiles(directory=WEB_DIR / "widget"), name="widget")
    return app


def _waiting(agents_online: int) -> StatusFrame:
    return StatusFrame(state="waiting", queue_position=2, agents_online=agents_online)


async def _send(ws: WebSocket, frame: Any) -> None:
    await ws.send_text(frame.model_dump_json())


async def _on_message(ws: WebSocket, session: FakeSession, frame: MessageFrame, delay_s: float) -> bool:
    """Store, ack, reply. Returns False when the script says to drop the connection."""
    if frame.client_msg_id in session.acked:
        await _send(ws, AckFrame(client_msg_id=frame.client_msg_id, seq=session.acked[frame.client_msg_id]))
        return True
    text = frame.text.strip()
    if not text:
        await _send(ws, ErrorFrame(code="empty", detail="empty text"))
        return True
    mine = session.store(author="shopper", author_name="You", text=text, client_msg_id=frame.client_msg_id)
    session.acked[frame.client_msg_id] = mine.seq
    if text == "drop" and session.drops == 0:
        session.drops += 1
        session.store(**_script(text))
        await ws.close(code=1011)
        return False
    await _send(ws, AckFrame(client_msg_id=frame.client_msg_id, seq=mine.seq))
    await _send(ws, TypingNotice(author="bot", active=True))
    await asyncio.sleep(delay_s)
    await _send(ws, session.store(**_script(text)))
    return True


def _script(text: str) -> dict[str, Any]:
    lowered = text.lower()
    if "stapler" in lowered:
        items = [
            ItemCard(item_id=101, title="Swingline Classic Desk Stapler, Black", price=14.99, score=0.91,
                     reason="Black, full-strip, under $20"),
            ItemCard(item_id=102, title="Bostitch Antimicrobial Stapler", price=18.49, score=0.84,
                     reason="Often bought with staples"),
        ]
        return {"text": "Yes! Here are two black staplers:", "intent": "search_product", "confidence": 0.93,
                "items": items}
    if lowered.startswith("echo "):
        body = text[5:]
        card = ItemCard(item_id=7, title=body, price=1.0, score=0.5, reason=body)
        return {"text": f"You said: {body}", "items": [card]}
    if lowered.startswith("agent "):
        return {"author": "agent", "author_name": text[6:], "text": "Hi, I'm here to help."}
    if lowered == "drop":
        return {"text": "Got your message after the reconnect."}
    return {"text": "Happy to help with orders, shipping and products.", "intent": "faq", "confidence": 0.8}
