"""The agent websocket /ws/agent: live queue, watched sessions' messages and typing, the agent's replies.

Server frames are those of the shopper socket plus `session_id`, and two of its own:
`{"type":"hello",...}` once, and `{"type":"queue","waiting":[...],"mine":[...],"agents_online":n}`
whenever the queue changes. See docs/agent.md.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from assistant import metrics
from assistant.api.deps import agent_from_token, check_agent_role
from assistant.chat.bus import AGENTS_CHANNEL, session_channel
from assistant.chat.frames import receive_frame
from assistant.chat.protocol import (
    AgentMessageFrame,
    AgentTypingFrame,
    ErrorFrame,
    RateLimitedFrame,
    UnwatchFrame,
    WatchFrame,
    agent_frame_adapter,
)
from assistant.chat.service import FrameRefused
from assistant.chat.socket import (
    FrameSender,
    close_for_reconnect,
    retry_hint,
    running,
    subscribe_or_close,
)
from assistant.chat.socket_auth import CLOSE_UNAUTHORIZED, SocketAuthFailed, close_refused, receive_token
from assistant.handoff.desk import AgentDesk
from assistant.handoff.views import queue_item
from assistant.limits import RateLimited, enforce
from assistant.privacy.audit import READ_TRANSCRIPT, SESSION, Actor, record_read
from assistant.runtime import Runtime
from assistant.security import AgentClaims

log = logging.getLogger(__name__)
router = APIRouter()
CLOSE_FORBIDDEN = 4403


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    rt: Runtime = ws.app.state.runtime
    await ws.accept()
    try:
        token = await receive_token(ws, rt.settings)
        agent = check_agent_role(await agent_from_token(rt, token))
    except SocketAuthFailed as e:
        await close_refused(ws, str(e))
        return
    except HTTPException as e:
        await close_refused(ws, str(e.detail), _close_code(e))
        return
    except WebSocketDisconnect:
        return
    except Exception:  # the store lost its connection: the console comes back in a moment, as the widget does
        log.warning("store unavailable while opening an agent socket", exc_info=True)
        await close_for_reconnect(ws, "store unavailable")
        return
    desk = AgentDesk(rt)
    sender = FrameSender(ws)
    async with AsyncExitStack() as stack:
        queue_events = await subscribe_or_close(stack, ws, rt.bus, AGENTS_CHANNEL)
        if queue_events is None:
            return
        try:
            await stack.enter_async_context(presence(desk, agent))
            watcher = await stack.enter_async_context(SessionWatcher(desk, sender, ws, agent))
            await sender.send({"type": "hello", "agent_id": agent.agent_id, "name": agent.name, "role": agent.role})
            await sender.send(await queue_frame(desk, agent))
        except WebSocketDisconnect:
            return
        except Exception:  # the store (the queue) or presence failed before the console had its queue
            log.warning("could not open the agent socket of agent %s", agent.agent_id, exc_info=True)
            await close_for_reconnect(ws, "store unavailable")
            return
        async with running(_forward_queue(queue_events, sender, desk, agent, ws)), \
                running(_recheck_access(sender, rt, token)):
            with suppress(WebSocketDisconnect):
                await _read_frames(ws, sender, desk, agent, watcher)


def _close_code(refused: HTTPException) -> int:
    return CLOSE_FORBIDDEN if refused.status_code == 403 else CLOSE_UNAUTHORIZED


async def _recheck_access(sender: FrameSender, rt: Runtime, token: str) -> None:
    """Re-read the agent row and the token every `agent_recheck_s`: a deleted or demoted agent, a revoked
    or expired token loses the open socket too, always with 4401 (what opened it no longer does; the
    reader then sees the close and ends the connection). A store error skips one check, not the rest."""
    while True:
        await asyncio.sleep(rt.settings.agent_recheck_s)
        try:
            check_agent_role(await agent_from_token(rt, token))
        except HTTPException as e:
            log.info("agent socket closed: %s", e.detail)
            await sender.close(str(e.detail), CLOSE_UNAUTHORIZED)
            return
        except Exception:  # the store restarting: this task ending would leave the socket unchecked for good
            log.warning("agent socket re-check failed; trying again in %g s", rt.settings.agent_recheck_s,
                        exc_info=True)


@asynccontextmanager
async def presence(desk: AgentDesk, agent: AgentClaims):
    """Count the agent's open console on every worker (the widget offers "leave a message" when nobody is
    online)."""
    handle = await desk.rt.presence.join(agent.agent_id)
    await desk.announce_queue_change()
    try:
        yield
    finally:
        await desk.rt.presence.leave(handle)
        await desk.announce_queue_change()


async def queue_frame(desk: AgentDesk, agent: AgentClaims) -> dict[str, Any]:
    waiting = await desk.assignments.waiting()
    mine = await desk.assignments.held_by(agent.agent_id)
    return {"type": "queue", "waiting": [queue_item(e).model_dump(mode="json") for e in waiting],
            "mine": [queue_item(e).model_dump(mode="json") for e in mine], "agents_online": await desk.agents_online()}


async def _forward_queue(events, sender: FrameSender, desk: AgentDesk, agent: AgentClaims, ws: WebSocket) -> None:
    try:
        async for _ in events:
            try:
                await sender.send(await queue_frame(desk, agent))
            except Exception:  # the socket is gone; the reader ends the connection
                return
    except Exception:  # the bus failed: the console reconnects and watches again
        await close_for_reconnect(ws, "message bus failed")


class SessionWatcher:
    """The sessions one console follows: a bus subscription per session, forwarded with its session_id."""

    def __init__(self, desk: AgentDesk, sender: FrameSender, ws: WebSocket, agent: AgentClaims) -> None:
        self._desk = desk
        self._sender = sender
        self._ws = ws
        self._agent = agent
        self._watched: dict[str, tuple[AsyncExitStack, asyncio.Task]] = {}

    async def __aenter__(self) -> SessionWatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session_id in list(self._watched):
            await self.unwatch(session_id)

    async def watch(self, session_id: str, after_seq: int) -> None:
        """Subscribe first, then replay: nothing published in between is missed (duplicates share a seq)."""
        chat = await self._desk.store.get_session(session_id)
        if chat is None:
            raise FrameRefused("unknown_session", f"no session {session_id}")
        if session_id not in self._watched:
            stack = AsyncExitStack()
            frames = await stack.enter_async_context(self._desk.rt.bus.subscribe(session_channel(session_id)))
            self._watched[session_id] = (stack, asyncio.create_task(self._forward(session_id, frames)))
        await record_read(self._desk.rt.sessions, Actor.of(self._agent), READ_TRANSCRIPT, SESSION, session_id)
        for frame in await self._desk.rt.chat.replay(session_id, after_seq):
            await self._sender.send({**frame, "session_id": session_id})
        status = await self._desk.rt.chat.status_of(chat)
        await self._sender.send({**status.model_dump(), "session_id": session_id})

    async def unwatch(self, session_id: str) -> None:
        stack, task = self._watched.pop(session_id, (None, None))
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
            await stack.aclose()

    async def _forward(self, session_id: str, frames) -> None:
        try:
            async for frame in frames:
                if frame.get("type") == "typing" and frame.get("author") != "shopper":
                    continue  # the console shows the shopper typing, not itself or the bot
                try:
                    await self._sender.send({**frame, "session_id": session_id})
                except Exception:
                    return
        except Exception:  # the bus failed: the console reconnects and watches again
            await close_for_reconnect(self._ws, "message bus failed")


async def _read_frames(ws: WebSocket, sender: FrameSender, desk: AgentDesk, agent: AgentClaims,
                       watcher: SessionWatcher) -> None:
    max_bytes = desk.rt.settings.max_frame_bytes
    while ws.application_state == WebSocketState.CONNECTED:  # not once the server closed it
        frame = None
        try:
            frame = await receive_frame(ws, max_bytes, agent_frame_adapter)
            await enforce(desk.rt.limiter, "agent frames", f"agent:{agent.agent_id}", desk.rt.settings.agent_frame_rate)
            await _handle(frame, sender, desk, agent, watcher)
        except RateLimited as limited:  # not handled: a reply is neither stored nor acked, the console resends
            metrics.RATE_LIMITED.labels(limited.what).inc()
            await sender.send({**RateLimitedFrame(detail=str(limited), retry_after_ms=limited.retry_after_ms,
                                                  client_msg_id=getattr(frame, "client_msg_id", None)).model_dump(),
                               "session_id": getattr(frame, "session_id", None)})
        except FrameRefused as refused:
            metrics.BAD_FRAMES.labels(refused.frame.code).inc()
            await sender.send(refused.frame)
        except WebSocketDisconnect:
            raise
        except Exception:
            log.exception("agent frame failed (agent %s)", agent.agent_id)
            await sender.send(ErrorFrame(code="internal", detail="the server failed on this frame; "
                                         "nothing already stored was lost", **retry_hint(frame)))


async def _handle(frame, sender: FrameSender, desk: AgentDesk, agent: AgentClaims, watcher: SessionWatcher) -> None:
    match frame:
        case AgentMessageFrame():
            ack = await desk.reply(frame.session_id, agent, frame.text, frame.client_msg_id)
            await sender.send({**ack.model_dump(), "session_id": frame.session_id})
        case AgentTypingFrame():
            await desk.typing(frame.session_id, agent, frame.active)
        case WatchFrame():
            await watcher.watch(frame.session_id, frame.after_seq)
        case UnwatchFrame():
            await watcher.unwatch(frame.session_id)
