"""ConversationStore: chat sessions and their messages in SQL, with per-session seq and idempotent appends."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.store.database import autocommit_sessions
from assistant.store.models import Author, ChatSession, Message, SessionState, utcnow

# used on every turn: built once (their SQL and cache keys are not made anew on each call)
_SESSION_ROW = select(ChatSession).where(ChatSession.id == bindparam("session_id", type_=ChatSession.id.type))
_INSERT_MESSAGE = insert(Message.__table__).returning(Message.__table__.c.id)
_SESSIONS = ChatSession.__table__


@dataclass(frozen=True)
class StoredMessage:
    message_id: int
    seq: int
    created: bool  # False when the client_msg_id was seen before (a retry)
    message: Message | None = None  # the new row (None for a retry)
    answer_state: str | None = None  # of a shopper message (pending until the bot or a person has it)


class ConversationStore:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions
        self._autocommit = autocommit_sessions(sessions)  # reads and one-statement writes: one round trip

    async def create_session(self, customer_id: str | None, activity_consent: bool = True) -> ChatSession:
        session_id = uuid.uuid4().hex
        chat = ChatSession(id=session_id, customer_id=customer_id, activity_consent=activity_consent)
        async with self._sessions() as db:
            db.add(chat)
            await db.commit()
        return chat

    async def get_session(self, session_id: str) -> ChatSession | None:
        async with self._autocommit() as db:
            return await db.scalar(_SESSION_ROW, {"session_id": session_id})

    async def append(
        self,
        session_id: str,
        author: Author,
        text: str,
        *,
        client_msg_id: str | None = None,
        payload: dict[str, Any] | None = None,
        agent_id: int | None = None,
        session_values: dict[str, Any] | None = None,
        answer_state: str | None = None,
        reply_to: int | None = None,
        settle: Callable[[AsyncSession], Awaitable[bool]] | None = None,
        lease: dict[str, Any] | None = None,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> StoredMessage | None:
        """Store a message with the session's next seq; a repeated client_msg_id returns the first one.

        `session_values` are written to the session row in the same transaction (one commit a turn).
        `settle` runs first in that transaction (a bot reply marks its question answered): when it
        returns False nothing is stored and the result is None. `lease` (lease columns) stores a pending
        message already claimed by its answering worker. A repeated client_msg_id is found by the
        unique constraint (its transaction rolls back, then the first message is read), not looked up
        before every insert: retries are rare, new messages are not. `also` writes what belongs to the
        message (a reply's shown cards) in its transaction: both are stored, or neither.
        """
        async with self._sessions() as db:
            try:
                if settle is not None and not await settle(db):
                    await db.rollback()
                    return None
                # the counter row is the per-session lock: concurrent writers get distinct seqs
                seq = (
                    await db.execute(
                        update(_SESSIONS)  # Core: no loaded row to bring up to date, no ORM DML layer
                        .where(_SESSIONS.c.id == session_id)
                        .values(last_seq=_SESSIONS.c.last_seq + 1, updated_at=utcnow(), **(session_values or {}))
                        .returning(_SESSIONS.c.last_seq)
                    )
                ).scalar_one()
                values = {"session_id": session_id, "seq": seq, "author": author, "text": text,
                          "client_msg_id": client_msg_id, "payload": payload, "agent_id": agent_id,
                          "answer_state": answer_state, "reply_to": reply_to, "created_at": utcnow(),
                          "answer_attempts": 0, **(lease or {})}
                # a Core INSERT: for one new row the ORM's unit of work cost more than the statement
                message_id = (await db.execute(_INSERT_MESSAGE, values)).scalar_one()
                if also is not None:
                    await also(db)
                await db.commit()
                msg = Message(id=message_id, **values)  # the stored row, as the frames and the claim read it
                return StoredMessage(message_id, seq, True, msg, answer_state)
            except IntegrityError:
                await db.rollback()
                if client_msg_id is None:
                    raise
        existing = await self._by_client_id(session_id, client_msg_id)
        assert existing is not None
        return existing

    async def _by_client_id(self, session_id: str, client_msg_id: str) -> StoredMessage | None:
        async with self._autocommit() as db:
            row = (
                await db.execute(
                    select(Message.id, Message.seq, Message.answer_state).where(
                        Message.session_id == session_id, Message.client_msg_id == client_msg_id
                    )
                )
            ).first()
        return StoredMessage(row.id, row.seq, False, answer_state=row.answer_state) if row else None

    async def messages_after(self, session_id: str, after_seq: int, limit: int = 1000) -> list[Message]:
        async with self._autocommit() as db:
            rows = await db.scalars(
                select(Message)
                .where(Message.session_id == session_id, Message.seq > after_seq)
                .order_by(Message.seq)
                .limit(limit)
            )
            return list(rows)

    async def last_messages(self, session_id: str, n: int) -> list[Message]:
        async with self._autocommit() as db:
            rows = await db.scalars(
                select(Message).where(Message.session_id == session_id).order_by(Message.seq.desc()).limit(n)
            )
            return list(reversed(list(rows)))

    async def update_session(self, session_id: str, **values: Any) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(ChatSession).where(ChatSession.id == session_id).values(updated_at=utcnow(), **values)
            )
            await db.commit()

    async def request_handoff(self, session_id: str, reason: str) -> bool:
        """Put a bot session in the queue; False when it already waits, is with an agent or closed."""
        async with self._sessions() as db:
            res = await db.execute(
                update(ChatSession)
                .where(ChatSession.id == session_id, ChatSession.state == SessionState.BOT)
                .values(state=SessionState.WAITING, handoff_reason=reason, waiting_since=utcnow(),
                        updated_at=utcnow(), pending=None)
            )
            await db.commit()
            return res.rowcount == 1

    async def close_by_shopper(self, session_id: str, resolution: str) -> str | None:
        """Close a session the shopper ends, in any state; the state it left (bot, waiting, with_agent), None
        when it was closed already. Compare-and-set on the state, so a claim or handoff racing it is seen."""
        while True:
            async with self._sessions() as db:
                was = await db.scalar(select(ChatSession.state).where(ChatSession.id == session_id))
                if was is None or was == SessionState.CLOSED:
                    return None
                res = await db.execute(
                    update(ChatSession).where(ChatSession.id == session_id, ChatSession.state == was)
                    .values(state=SessionState.CLOSED, resolution=resolution, waiting_since=None, pending=None,
                            updated_at=utcnow())
                )
                await db.commit()
            if res.rowcount == 1:
                return was

    async def queue_position(self, session_id: str) -> int | None:
        async with self._autocommit() as db:
            chat = await db.get(ChatSession, session_id)
            if chat is None or chat.state != SessionState.WAITING:
                return None
            # the queue serves priority first, then the longest wait (as Assignments.waiting lists it)
            mine = chat.priority or 0
            ahead = await db.scalar(
                select(func.count()).where(
                    ChatSession.state == SessionState.WAITING,
                    or_(ChatSession.priority > mine,
                        and_(ChatSession.priority == mine, ChatSession.waiting_since < chat.waiting_since)),
                )
            )
            return int(ahead or 0) + 1


def handoff_values(reason: str) -> dict[str, Any]:
    """Session-row values that put a bot session in the queue (and leave any other state as it is), for a
    reply's own transaction: the reply that says "a person will take over" and the handoff commit together,
    so a worker dying between them cannot leave the shopper told so and the session still with the bot."""
    bot = _SESSIONS.c.state == SessionState.BOT
    return {"state": case((bot, SessionState.WAITING), else_=_SESSIONS.c.state),
            "handoff_reason": case((bot, reason), else_=_SESSIONS.c.handoff_reason),
            "waiting_since": case((bot, utcnow()), else_=_SESSIONS.c.waiting_since),
            "pending": None}
