"""Assignment of handed-off sessions to agents: the queue, and atomic claim / release / close in SQL.

Every change of hands is one conditional UPDATE (`... WHERE state = 'waiting'`), never read-then-write,
so when many agents claim one session at once exactly one row update succeeds, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.store.models import ChatSession, Customer, Message, SessionState, utcnow


class Outcome(enum.StrEnum):
    DONE = "done"
    UNKNOWN = "unknown"  # no such session
    CONFLICT = "conflict"  # the session is not in a state (or not held by an agent) that allows it


@dataclass(frozen=True)
class QueueEntry:
    session_id: str
    customer_id: str | None
    customer_name: str | None
    state: str
    agent_id: int | None
    handoff_reason: str | None
    waiting_since: datetime | None
    wait_s: float
    last_author: str | None
    last_text: str | None
    last_at: datetime | None
    priority: int = 0
    mood: str | None = None


class Assignments:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def waiting(self) -> list[QueueEntry]:
        """Sessions waiting for a person: the most urgent (a frustrated shopper) first, then the longest wait."""
        return await self._entries(ChatSession.state == SessionState.WAITING)

    async def held_by(self, agent_id: int) -> list[QueueEntry]:
        """The sessions an agent has claimed and not yet released or closed."""
        return await self._entries(and_(ChatSession.state == SessionState.WITH_AGENT,
                                        ChatSession.agent_id == agent_id))

    async def claim(self, session_id: str, agent_id: int) -> Outcome:
        return await self._change(
            session_id, ChatSession.state == SessionState.WAITING,
            state=SessionState.WITH_AGENT, agent_id=agent_id)

    async def release(self, session_id: str, agent_id: int, any_agent: bool = False) -> Outcome:
        """Hand a claimed session back to the bot (only its agent may, or an admin with any_agent)."""
        return await self._change(
            session_id, self._held(agent_id, any_agent), state=SessionState.BOT, agent_id=None,
            waiting_since=None, fallback_streak=0, pending=None, priority=0, frustration=0)

    async def close(self, session_id: str, agent_id: int, resolution: str, any_agent: bool = False) -> Outcome:
        """Close a claimed session (its agent), or a waiting one (any agent), with a resolution tag."""
        allowed = or_(self._held(agent_id, any_agent), ChatSession.state == SessionState.WAITING)
        return await self._change(session_id, allowed, state=SessionState.CLOSED, resolution=resolution,
                                  agent_id=agent_id, waiting_since=None)

    async def holder(self, session_id: str) -> tuple[str, int | None] | None:
        """(state, agent_id) of a session, None when unknown."""
        async with self._sessions() as db:
            row = (await db.execute(select(ChatSession.state, ChatSession.agent_id)
                                    .where(ChatSession.id == session_id))).first()
        return (row.state, row.agent_id) if row else None

    @staticmethod
    def _held(agent_id: int, any_agent: bool):
        with_agent = ChatSession.state == SessionState.WITH_AGENT
        return with_agent if any_agent else and_(with_agent, ChatSession.agent_id == agent_id)

    async def _change(self, session_id: str, condition, **values) -> Outcome:
        async with self._sessions() as db:
            result = await db.execute(
                update(ChatSession).where(ChatSession.id == session_id, condition)
                .values(updated_at=utcnow(), **values)
            )
            await db.commit()
        if result.rowcount == 1:
            return Outcome.DONE
        return Outcome.CONFLICT if await self.holder(session_id) else Outcome.UNKNOWN

    async def _entries(self, condition) -> list[QueueEntry]:
        now = utcnow()
        query = (
            select(ChatSession, Customer.name, Message.author, Message.text, Message.created_at)
            .outerjoin(Customer, Customer.id == ChatSession.customer_id)
            .outerjoin(Message, and_(Message.session_id == ChatSession.id, Message.seq == ChatSession.last_seq))
            .where(condition)
            .order_by(ChatSession.priority.desc(), ChatSession.waiting_since.asc(), ChatSession.updated_at.asc())
        )
        async with self._sessions() as db:
            rows = (await db.execute(query)).all()
        return [_entry(chat, name, author, text, at, now) for chat, name, author, text, at in rows]


def _entry(chat: ChatSession, name, author, text, at, now: datetime) -> QueueEntry:
    since = chat.waiting_since
    return QueueEntry(
        session_id=chat.id, customer_id=chat.customer_id, customer_name=name, state=chat.state,
        agent_id=chat.agent_id, handoff_reason=chat.handoff_reason, waiting_since=since,
        wait_s=round((now - since).total_seconds(), 1) if since else 0.0,
        last_author=author, last_text=text, last_at=at, priority=chat.priority or 0, mood=chat.mood,
    )
