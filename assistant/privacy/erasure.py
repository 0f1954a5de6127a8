"""Erasure: one customer's data, or one conversation, deleted from the SQL store in one transaction, and the
live shopper profiles that name them forgotten; anonymous counts stay.

What goes: messages, behaviour events, labelled feedback taken from those messages, recommendation
exposures, messages left for agents, FAQ suggestions quoting their questions, the customer row, and
every free text about them (shipping addresses, address changes in the order history, order-action
details, return reasons). What stays, anonymous: the chat session rows (state, resolution, variant,
rating, thumbs: the dashboard's counts, with no customer and no text) and the orders, order actions (their
actor named by the pseudonym) and returns, moved to a fresh pseudonymous customer row with no name or
e-mail (sales and co-purchase counts). Audit entries about the customer are
re-pointed at the same pseudonym, so the log still says who read what.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.agent.order_tools import ADDRESS_CHANGED
from assistant.privacy.audit import CUSTOMER, ERASE, SESSION, Actor, add_audit
from assistant.privacy.export import UnknownCustomer
from assistant.store.models import (
    AuditEntry,
    BehaviourEvent,
    ChatSession,
    Customer,
    FaqSuggestion,
    LabelledFeedback,
    LeftMessage,
    Message,
    Order,
    OrderAction,
    OrderStatusChange,
    RecExposure,
    ReturnRequest,
    SessionState,
    utcnow,
)

log = logging.getLogger(__name__)
ERASED_PREFIX = "erased-"


@dataclass
class ErasureReport:
    subject: str  # the pseudonym the erased customer's anonymous rows now carry, or the session id
    sessions: int = 0
    messages: int = 0
    events: int = 0
    feedback: int = 0
    exposures: int = 0
    left_messages: int = 0
    orders_kept_anonymous: int = 0
    profile_keys: tuple[str, ...] = ()  # live profiles (memory, Redis) to forget once committed

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


async def _affected(db: AsyncSession, statement) -> int:
    return int((await db.execute(statement)).rowcount or 0)


async def erase_sessions(db: AsyncSession, session_ids: list[str], report: ErasureReport) -> None:
    """Delete everything said and done in these sessions; keep each session row with no customer and no text."""
    if not session_ids:
        return
    message_ids = select(Message.id).where(Message.session_id.in_(session_ids)).scalar_subquery()
    report.feedback += await _affected(db, delete(LabelledFeedback).where(LabelledFeedback.message_id.in_(
        message_ids)))
    report.messages += await _affected(db, delete(Message).where(Message.session_id.in_(session_ids)))
    report.events += await _affected(db, delete(BehaviourEvent).where(BehaviourEvent.session_id.in_(session_ids)))
    report.exposures += await _affected(db, delete(RecExposure).where(RecExposure.session_id.in_(session_ids)))
    report.left_messages += await _affected(db, delete(LeftMessage).where(LeftMessage.session_id.in_(
        session_ids)))
    await db.execute(delete(FaqSuggestion).where(FaqSuggestion.session_id.in_(session_ids)))
    report.sessions += await _affected(db, update(ChatSession).where(ChatSession.id.in_(session_ids)).values(
        customer_id=None, pending=None, dialogue=None, mood=None, state=SessionState.CLOSED, updated_at=utcnow()))
    report.profile_keys += tuple(session_ids)


async def erase_conversation(db: AsyncSession, session_id: str, actor: Actor) -> ErasureReport:
    """A shopper's own conversation (the widget's delete button); the caller commits. A signed-in shopper's
    live profile, fed under their customer id by this conversation's events, is forgotten too."""
    report = ErasureReport(subject=session_id)
    customer_id = await db.scalar(select(ChatSession.customer_id).where(ChatSession.id == session_id))
    await erase_sessions(db, [session_id], report)
    report.profile_keys += (customer_id,) if customer_id else ()
    add_audit(db, actor, ERASE, SESSION, session_id)
    return report


async def erase_customer(db: AsyncSession, customer_id: str, actor: Actor) -> ErasureReport:
    """Everything that names the customer (see the module docstring); the caller commits."""
    if await db.get(Customer, customer_id) is None:
        raise UnknownCustomer(customer_id)
    pseudonym = ERASED_PREFIX + uuid.uuid4().hex[:16]
    report = ErasureReport(subject=pseudonym)
    sessions = list(await db.scalars(select(ChatSession.id).where(ChatSession.customer_id == customer_id)))
    await erase_sessions(db, sessions, report)
    report.events += await _affected(db, delete(BehaviourEvent).where(BehaviourEvent.customer_id == customer_id))
    db.add(Customer(id=pseudonym, name="", email=None))
    await db.flush()  # the pseudonym row exists before orders point at it
    their_orders = select(Order.id).where(Order.customer_id == customer_id).scalar_subquery()
    await db.execute(update(OrderStatusChange).where(OrderStatusChange.order_id.in_(their_orders),
                                                     OrderStatusChange.note.startswith(ADDRESS_CHANGED))
                     .values(note=ADDRESS_CHANGED))  # "shipping address changed to <address>"
    report.orders_kept_anonymous = await _affected(db, update(Order).where(Order.customer_id == customer_id)
                                                   .values(customer_id=pseudonym, shipping_address=""))
    await db.execute(update(OrderAction).where(OrderAction.customer_id == customer_id)
                     .values(customer_id=pseudonym, detail=None, actor=case(
                         (OrderAction.actor == f"shopper:{customer_id}", f"shopper:{pseudonym}"),
                         else_=OrderAction.actor)))
    await db.execute(update(ReturnRequest).where(ReturnRequest.customer_id == customer_id)
                     .values(customer_id=pseudonym, reason=""))
    await db.execute(update(AuditEntry).where(AuditEntry.subject_kind == CUSTOMER,
                                              AuditEntry.subject_id == customer_id).values(subject_id=pseudonym))
    await db.execute(delete(Customer).where(Customer.id == customer_id))
    report.profile_keys += (customer_id,)
    add_audit(db, actor, ERASE, CUSTOMER, pseudonym)
    return report


def log_erasure(report: ErasureReport, what: str, actor: Actor) -> None:
    """The erasure in the log: counts and the pseudonym only, never the data or the customer id."""
    log.info("erased %s (now %s) by %s %s: %s", what, report.subject, actor.role, actor.actor_id or "",
             report.counts())
