"""Retention: transcripts and behaviour events older than the retention period are erased, sessions anonymised,
expired revoked-token rows purged; run periodically by the server and on demand by `shopassist retention`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, delete, func, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.store.database import flush_deleted
from assistant.store.models import (
    BehaviourEvent,
    ChatSession,
    FaqSuggestion,
    LabelledFeedback,
    LeftMessage,
    Message,
    RecExposure,
    RevokedToken,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass
class RetentionReport:
    cutoff: str
    messages: int = 0
    events: int = 0
    exposures: int = 0
    left_messages: int = 0
    sessions_anonymised: int = 0
    revoked_tokens: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


async def _affected(db: AsyncSession, statement) -> int:
    return int((await db.execute(statement)).rowcount or 0)


async def apply_retention(db: AsyncSession, days: int, now: datetime | None = None) -> RetentionReport:
    """Erase what is older than `days` (the caller commits). Labelled feedback keeps its masked text for
    training but loses the link to the erased message."""
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    report = RetentionReport(cutoff=cutoff.isoformat() + "Z")
    old_messages = select(Message.id).where(Message.created_at < cutoff).scalar_subquery()
    await db.execute(update(LabelledFeedback).where(LabelledFeedback.message_id.in_(old_messages))
                     .values(message_id=None))
    report.messages = await _affected(db, delete(Message).where(Message.created_at < cutoff))
    report.events = await _affected(db, delete(BehaviourEvent).where(BehaviourEvent.at < cutoff))
    report.exposures = await _affected(db, delete(RecExposure).where(RecExposure.at < cutoff))
    report.left_messages = await _affected(db, delete(LeftMessage).where(LeftMessage.created_at < cutoff))
    # suggestions still waiting for an admin quote old transcripts; decided ones became FAQ entries or were dropped
    await db.execute(delete(FaqSuggestion).where(FaqSuggestion.created_at < cutoff))
    # a session untouched for the period keeps no customer and nothing it remembered of the conversation (the
    # dialogue context holds the product search typed), signed in or not; its counts stay
    report.sessions_anonymised = await _affected(db, update(ChatSession).where(
        ChatSession.updated_at < cutoff,
        or_(ChatSession.customer_id.is_not(None), ChatSession.mood.is_not(None),
            _holds_json(ChatSession.dialogue), _holds_json(ChatSession.pending))).values(
        customer_id=None, pending=null(), dialogue=null(), mood=None))
    report.revoked_tokens = await _affected(db, delete(RevokedToken).where(RevokedToken.expires_at < now))
    return report


def _holds_json(column):
    """The JSON column holds a value (neither SQL NULL nor a JSON null)."""
    return func.coalesce(cast(column, Text), "null") != "null"


async def run_retention(sessions: async_sessionmaker, days: int) -> RetentionReport:
    async with sessions() as db:
        report = await apply_retention(db, days)
        await db.commit()
    if any(report.counts().values()) and not await flush_deleted(sessions):
        log.warning("the SQLite write-ahead log was busy: expired rows stay in it until its next checkpoint")
    if any(report.counts().values()):
        log.info("retention (%d days, before %s): %s", days, report.cutoff, report.counts())
    return report


async def retention_loop(sessions: async_sessionmaker, days: int, interval_s: float) -> None:
    """Apply retention now and every `interval_s` (each worker may run it: every statement is idempotent)."""
    while True:
        try:
            await run_retention(sessions, days)
        except Exception:
            log.exception("retention failed; retrying in %.0f s", interval_s)
        await asyncio.sleep(interval_s)
