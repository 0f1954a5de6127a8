"""Answer leases: which worker answers a pending shopper message, claimed and settled in SQL.

A claim is one conditional UPDATE (`... WHERE answer_state = 'pending' AND the lease is free or
expired`), with a token unique to that claim in `lease_owner`; settling is another conditional UPDATE
(`... WHERE lease_owner = <token>`) run in the transaction that stores the bot's reply. So when workers
race, or one is killed mid-turn and its lease expires, exactly one reply is stored per message.
PostgreSQL skips rows another worker's sweep is claiming (`FOR UPDATE SKIP LOCKED`); SQLite has one
writer at a time, so the same statement is already exclusive there.
"""

from __future__ import annotations

import itertools
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from assistant.store.database import autocommit_sessions
from assistant.store.models import AnswerState, Message, utcnow


def _param(name: str, column):
    """A named parameter of a statement built once, typed like the column it is compared with or sets."""
    return bindparam(name, type_=column.type)


# the statements of every turn, built once (their SQL and cache keys are not made anew on each call), over the
# table (Core): nothing loaded in a session needs bringing up to date, and the ORM's DML layer cost more
# than the statements
_M = Message.__table__.c
_CLAIM_RETURNS = (_M.id, _M.session_id, _M.seq, _M.text, _M.answer_attempts)
_OURS = (_M.id == _param("message_id", _M.id), _M.lease_owner == _param("token", _M.lease_owner),
         _M.answer_state == AnswerState.PENDING)
_CLAIM_ONE = (update(Message.__table__)
              .where(_M.id == _param("message_id", _M.id), _M.answer_state == AnswerState.PENDING,
                     or_(_M.lease_until.is_(None), _M.lease_until < _param("now", _M.lease_until)))
              .values(lease_owner=_param("token", _M.lease_owner), lease_until=_param("until", _M.lease_until),
                      answer_attempts=_M.answer_attempts + 1)
              .returning(*_CLAIM_RETURNS))
_SETTLE = (update(Message.__table__).where(*_OURS)
           .values(answer_state=_param("new_state", _M.answer_state), lease_owner=None, lease_until=None))
_EXTEND = update(Message.__table__).where(*_OURS).values(lease_until=_param("until", _M.lease_until))


@dataclass(frozen=True)
class Claim:
    """A pending shopper message this worker holds a lease on."""

    message_id: int
    session_id: str
    seq: int
    text: str
    attempts: int  # claims so far, this one included (a message that keeps failing goes to a person)
    token: str

    @classmethod
    def of_stored(cls, msg: Message) -> Claim:
        """The claim of a message stored already leased (`AnswerLeases.fresh`)."""
        return cls(msg.id, msg.session_id, msg.seq, msg.text, msg.answer_attempts, msg.lease_owner or "")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class AnswerLeases:
    def __init__(self, sessions: async_sessionmaker, lease_s: float, worker: str | None = None) -> None:
        # each claim, renewal and release is one conditional UPDATE: atomic alone, one round trip
        self._sessions = autocommit_sessions(sessions)
        self.lease_s = lease_s
        self._lease = timedelta(seconds=lease_s)
        self.worker = worker or worker_name()
        self._claims = itertools.count(1)

    def _free(self, now):
        return (Message.answer_state == AnswerState.PENDING,
                or_(Message.lease_until.is_(None), Message.lease_until < now))

    async def claim(self, message_id: int) -> Claim | None:
        """Lease one pending message; None when it is answered, with a person, or leased by someone else."""
        now = utcnow()
        token = self._token()
        async with self._sessions() as db:
            row = (await db.execute(_CLAIM_ONE, {"message_id": message_id, "now": now, "token": token,
                                                 "until": now + self._lease})).first()
        return Claim(row.id, row.session_id, row.seq, row.text, row.answer_attempts, token) if row else None

    async def claim_stale(self, older_than_s: float, limit: int) -> list[Claim]:
        """Lease the oldest pending message of sessions left behind: older than `older_than_s`, lease free
        or expired, no earlier message of its session still pending (that one is being answered, or is
        this claim). The rest of a session's backlog is claimed one by one with `claim_next`, so no lease
        runs out while its message waits for the turn before it."""
        now = utcnow()
        earlier = aliased(Message)
        stale = (
            select(Message.id)
            .where(*self._free(now), Message.created_at < now - timedelta(seconds=older_than_s),
                   ~exists().where(earlier.session_id == Message.session_id, earlier.seq < Message.seq,
                                   earlier.answer_state == AnswerState.PENDING))
            .order_by(Message.id).limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders no locking clause
        )
        return await self._claim_where(now, Message.id.in_(stale), *self._free(now))

    async def claim_next(self, session_id: str) -> Claim | None:
        """Lease the session's oldest pending message, if its lease is free or expired."""
        now = utcnow()
        oldest = (select(Message.id).where(Message.session_id == session_id,
                                           Message.answer_state == AnswerState.PENDING)
                  .order_by(Message.seq).limit(1).scalar_subquery())
        return next(iter(await self._claim_where(now, Message.id == oldest, *self._free(now))), None)

    def _token(self) -> str:
        return f"{self.worker}#{next(self._claims)}"

    def fresh(self) -> dict[str, Any]:
        """Lease columns for a pending message this worker stores and answers at once: it is claimed as it is
        inserted, without a claim UPDATE (`Claim.of_stored` is its claim)."""
        return {"lease_owner": self._token(), "lease_until": utcnow() + self._lease, "answer_attempts": 1}

    async def _claim_where(self, now, *conditions) -> list[Claim]:
        token = self._token()
        async with self._sessions() as db:
            rows = (await db.execute(
                update(Message).where(*conditions)
                .values(lease_owner=token, lease_until=now + self._lease,
                        answer_attempts=Message.answer_attempts + 1)
                .returning(*_CLAIM_RETURNS).execution_options(synchronize_session=False)
            )).all()
            await db.commit()
        return [Claim(r.id, r.session_id, r.seq, r.text, r.answer_attempts, token) for r in rows]

    @staticmethod
    async def settle(db: AsyncSession, claim: Claim, state: AnswerState) -> bool:
        """In the caller's transaction: mark the claimed message `state` if the lease is still ours."""
        result = await db.execute(_SETTLE, {"message_id": claim.message_id, "token": claim.token,
                                            "new_state": state})
        return result.rowcount == 1

    async def settle_now(self, claim: Claim, state: AnswerState) -> bool:
        async with self._sessions() as db:
            done = await self.settle(db, claim, state)
            await db.commit()
        return done

    async def extend(self, claim: Claim) -> bool:
        """Renew a lease still held (a slow turn is not taken over while it runs); False once lost."""
        async with self._sessions() as db:
            result = await db.execute(_EXTEND, {"message_id": claim.message_id, "token": claim.token,
                                                "until": utcnow() + self._lease})
        return result.rowcount == 1

    async def release(self, claim: Claim) -> None:
        """Give a lease back after a failure, so the next sweep retries the message without waiting for expiry."""
        async with self._sessions() as db:
            await db.execute(update(Message).where(Message.id == claim.message_id, Message.lease_owner == claim.token)
                             .values(lease_owner=None, lease_until=None))
            await db.commit()
