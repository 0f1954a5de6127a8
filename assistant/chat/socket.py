"""The shopper websocket /ws/chat: parse frames, hand them to ChatService, forward bus frames."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import DBAPIError
from starlette.websockets import WebSocketState

from assistant import metrics
from assistant.chat.bus import session_channel
from assistant.chat.frames import receive_frame
from assistant.chat.protocol import (
    AgentMessageFrame,
    CloseFrame,
    ErrorFrame,
    EventFrame,
    FeedbackFrame,
    HandoffRequestFrame,
    LeaveMessageFrame,
    MessageFrame,
    RateLimitedFrame,
    RatingFrame,
    ResumeFrame,
    TypingFrame,
    TypingNotice,
)
from assistant.chat.service import ChatService, FrameRefused
from assistant.chat.socket_auth import CLOSE_UNAUTHORIZED, SocketAuthFailed, close_refused, receive_token
from assistant.limits import RateLimited, enforce
from assistant.security import TokenError, read_session_token
from assistant.store.models import SessionState

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_UNKNOWN_SESSION = 4404
# "service restart": a dependency failed (the message bus); the client reconnects and resumes by seq
CLOSE_RECONNECT = 1012
# when a client may send again a message the server failed on
_INTERNAL_RETRY_MS = 1000


class FrameSender:
    """Serialises sends from the reader (acks, errors) and the bus forwarder (replies)."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self._lock = asyncio.Lock()
        self._closed = False

    async def send(self, frame: dict[str, Any] | Any) -> None:
        data = frame if isinstance(frame, dict) else frame.model_dump()
        async with self._lock:
            if not self._closed:  # after close() frames are dropped; the reader sees the close and ends
                await self._ws.send_text(json.dumps(data))

    async def close(self, reason: str, code: int = CLOSE_UNAUTHORIZED) -> None:
        async with self._lock:
            if not self._closed:
                self._closed = True
                await close_refused(self._ws, reason, code)


@asynccontextmanager
async def running(coro) -> AsyncIterator[None]:
    """Run `coro` as a task for the duration of the block (e.g. forwarding bus frames to a socket)."""
    task = asyncio.create_task(coro)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task


@router.websocket("/ws/chat")
async def chat_socket(ws: WebSocket, session_id: str = "") -> None:
    rt = ws.app.state.runtime
    await ws.accept()
    try:
        if read_session_token(rt.settings.secret_key, await receive_token(ws, rt.settings)) != session_id:
            raise TokenError("token is for another session")
    except (TokenError, SocketAuthFailed) as e:
        await close_refused(ws, str(e))
        return
    except WebSocketDisconnect:
        return
    try:
        chat = await rt.chat.store.get_session(session_id)
    except Exception:  # the store lost its connection: the client comes back in a moment
        log.warning("store unavailable while opening session %s", session_id, exc_info=True)
        await close_for_reconnect(ws, "store unavailable")
        return
    if chat is None:
        await ws.close(code=CLOSE_UNKNOWN_SESSION, reason="unknown session")
        return
    sender = FrameSender(ws)
    async with AsyncExitStack() as stack:
        frames = await subscribe_or_close(stack, ws, rt.bus, session_channel(session_id))
        if frames is None:
            return
        await stack.enter_async_context(running(_forward(frames, sender, ws)))
        with suppress(WebSocketDisconnect):
            await _read_frames(ws, sender, rt, session_id)


async def subscribe_or_close(stack: AsyncExitStack, ws: WebSocket, bus, channel: str):
    """The bus subscription for this socket's life, or None after closing the socket for a reconnect."""
    try:
        return await stack.enter_async_context(bus.subscribe(channel))
    except Exception:
        await close_for_reconnect(ws, "message bus unavailable")
        return None


async def close_for_reconnect(ws: WebSocket, why: str) -> None:
    """A socket that cannot get its frames any more closes, so the client reconnects and resumes by seq."""
    log.warning("%s: closing the socket with %d so the client reconnects", why, CLOSE_RECONNECT)
    with suppress(Exception):
        await ws.close(code=CLOSE_RECONNECT, reason=why)


async def _forward(frames, sender: FrameSender, ws: WebSocket) -> None:
    try:
        async for frame in frames:
            if frame.get("author") == "shopper":
                continue  # the shopper's own messages and typing are for the agent; the shopper has the ack
            try:
                await sender.send(frame)
            except Exception:  # the socket is gone; the reader notices and ends the connection
                return
    except Exception:  # the bus failed: replies would stop arriving on a socket that looks alive
        await close_for_reconnect(ws, "message bus failed")


async def _read_frames(ws: WebSocket, sender: FrameSender, rt, session_id: str) -> None:
    while ws.application_state == WebSocketState.CONNECTED:  # not once the server closed it
        frame = None
        try:
            frame = await receive_frame(ws, rt.settings.max_frame_bytes)
            await _check_rate(rt, session_id, frame)
            await _handle_once_more_on_lost_store(frame, sender, rt.chat, session_id)
        except RateLimited as limited:  # neither stored nor acked: the widget sends it again later
            metrics.RATE_LIMITED.labels(limited.what).inc()
            await sender.send(RateLimitedFrame(detail=str(limited), retry_after_ms=limited.retry_after_ms,
                                               client_msg_id=getattr(frame, "client_msg_id", None)))
        except FrameRefused as refused:
            metrics.BAD_FRAMES.labels(refused.frame.code).inc()
            await sender.send(refused.frame)
        except WebSocketDisconnect:
            raise
        except Exception:
            log.exception("frame failed in session %s", session_id)
            if isinstance(frame, ResumeFrame):  # a socket that skipped its replay would miss replies for good
                await close_for_reconnect(ws, "resume failed")
                return
            await sender.send(ErrorFrame(code="internal", detail="the server failed on this frame; "
                                         "nothing already stored was lost",
                                         **retry_hint(frame)))


def retry_hint(frame) -> dict[str, Any]:
    """A message (shopper's or agent's) is idempotent by client_msg_id: the client may send it again soon."""
    if isinstance(frame, MessageFrame | AgentMessageFrame):
        return {"client_msg_id": frame.client_msg_id, "retry_after_ms": _INTERNAL_RETRY_MS}
    return {}


async def _check_rate(rt, session_id: str, frame) -> None:
    """Every valid frame spends a token of one of the session's buckets, shared by all its sockets:
    messages, behaviour events and feedback, the rest (resume, typing, handoff, close; RateLimited when empty)."""
    match frame:
        case MessageFrame() | LeaveMessageFrame():
            await enforce(rt.limiter, "messages", f"messages:{session_id}", rt.settings.message_rate_per_session)
        case EventFrame() | FeedbackFrame() | RatingFrame():
            await enforce(rt.limiter, "events", f"events:{session_id}", rt.settings.event_rate_per_session)
        case ResumeFrame() | TypingFrame() | HandoffRequestFrame() | CloseFrame():
            await enforce(rt.limiter, "frames", f"frames:{session_id}", rt.settings.frame_rate_per_session)


async def _handle_once_more_on_lost_store(frame, sender: FrameSender, chat_service: ChatService,
                                          session_id: str) -> None:
    """A frame safe to repeat (a message, idempotent by client_msg_id; a resume) is handled once more
    when the store's connection was lost under it (a database restart, a dropped connection): the
    pool has thrown that connection away and hands out a fresh one."""
    try:
        await _handle(frame, sender, chat_service, session_id)
    except DBAPIError as e:
        if not (e.connection_invalidated and isinstance(frame, MessageFrame | ResumeFrame)):
            raise
        log.warning("store connection lost during a %s frame in session %s; trying once more", frame.type, session_id)
        await _handle(frame, sender, chat_service, session_id)


async def _handle(frame, sender: FrameSender, chat_service: ChatService, session_id: str) -> None:
    chat = await chat_service.store.get_session(session_id)
    match frame:
        case MessageFrame():
            ack, answering = await chat_service.accept_message(chat, frame.text, frame.client_msg_id)
            await sender.send(ack)
            if answering is not None:
                # this socket's frames keep their order (one turn at a time), but the turn, run by the
                # answering worker, goes on and stores its reply even if the socket is gone
                await asyncio.shield(answering)
        case EventFrame():
            await sender.send(await chat_service.record_event(chat, frame.kind, frame.item_id))
        case ResumeFrame():
            for replayed in await chat_service.replay(session_id, frame.after_seq):
                await sender.send(replayed)
            if chat.state != SessionState.BOT:
                await sender.send(await chat_service.status_of(chat))
        case TypingFrame():
            if chat.state == SessionState.WITH_AGENT:
                await chat_service.bus.publish(session_channel(session_id),
                                               TypingNotice(author="shopper", active=frame.active).model_dump())
        case HandoffRequestFrame():
            await chat_service.request_handoff(chat)
        case LeaveMessageFrame():
            await sender.send(await chat_service.leave_message(chat, frame.text, frame.contact))
        case FeedbackFrame():
            await sender.send(await chat_service.feedback.record_vote(chat, frame.seq, frame.helpful))
        case RatingFrame():
            await sender.send(await chat_service.feedback.record_rating(chat, frame.stars))
        case CloseFrame():
            await sender.send(await chat_service.end_by_shopper(chat))
