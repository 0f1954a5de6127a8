"""The audit log: who read a transcript, a customer record or an export, and who erased what, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.security import AgentClaims
from assistant.store.models import AuditEntry

READ_TRANSCRIPT = "read_transcript"
READ_CUSTOMER = "read_customer"
READ_LEFT_MESSAGES = "read_left_messages"
EXPORT = "export"
ERASE = "erase"
SESSION = "session"
CUSTOMER = "customer"
LEFT_MESSAGES = "left_messages"


@dataclass(frozen=True)
class Actor:
    """Who acts: an agent or admin (from their token), the shopper, or the operator's CLI."""

    role: str
    actor_id: int | None = None
    name: str = ""

    @classmethod
    def of(cls, agent: AgentClaims) -> Actor:
        return cls(agent.role, agent.agent_id, agent.name)


OPERATOR = Actor("operator", None, "shopassist CLI")
SHOPPER = Actor("shopper", None, "the shopper")
RETENTION = Actor("retention", None, "retention job")


def add_audit(db: AsyncSession, actor: Actor, action: str, subject_kind: str, subject_id: str) -> None:
    """Add one entry to the caller's transaction (it commits with the change it records)."""
    db.add(AuditEntry(actor_id=actor.actor_id, actor_role=actor.role, actor_name=actor.name, action=action,
                      subject_kind=subject_kind, subject_id=subject_id))


async def record_read(sessions: async_sessionmaker, actor: Actor, action: str, subject_kind: str,
                      subject_id: str) -> None:
    """Record a read in a transaction of its own (reads change nothing else)."""
    async with sessions() as db:
        add_audit(db, actor, action, subject_kind, subject_id)
        await db.commit()


async def audit_entries(db: AsyncSession, *, limit: int, before_id: int | None = None,
                        subject_id: str | None = None, actor_id: int | None = None,
                        since: datetime | None = None) -> list[AuditEntry]:
    """Newest first; page on with `before_id` (the smallest id of the previous page)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return list(await db.scalars(query))
