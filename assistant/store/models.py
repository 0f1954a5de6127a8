"""The SQL store's tables as SQLAlchemy 2 typed ORM classes (the schema itself changes only via alembic)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    # naive UTC everywhere: SQLite drops tz info, so aware values would not compare across backends
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime()}


class SessionState(enum.StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    WITH_AGENT = "with_agent"
    CLOSED = "closed"


class Author(enum.StrEnum):
    BOT = "bot"
    SHOPPER = "shopper"
    AGENT = "agent"
    SYSTEM = "system"


class AnswerState(enum.StrEnum):
    """Where a shopper message stands: the bot still owes it an answer, has answered it, or a person has it."""

    PENDING = "pending"
    ANSWERED = "answered"
    WITH_PERSON = "with_person"


class OrderStatus(enum.StrEnum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class EventKind(enum.StrEnum):
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(200), default="")
    categories: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[float] = mapped_column(Float)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    # withdrawn from sale: kept for the orders that name it, refused in new behaviour events
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # bought again and again (paper, ink, staples): suggested even when the shopper bought it lately
    consumable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PROCESSING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    shipping_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", cascade="all, delete-orphan")
    history: Mapped[list[OrderStatusChange]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderStatusChange.at"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[float] = mapped_column(Float)
    order: Mapped[Order] = relationship(back_populates="lines")


class OrderStatusChange(Base):
    __tablename__ = "order_status_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    order: Mapped[Order] = relationship(back_populates="history")


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="agent")
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column()


class ChatSession(Base):
    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=SessionState.BOT, index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    handoff_reason: Mapped[str | None] = mapped_column(String(100))
    waiting_since: Mapped[datetime | None] = mapped_column()
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    resolution: Mapped[str | None] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(20), default="A")
    fallback_streak: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the shopper's "use my activity for suggestions" switch: off = no behaviour event stored or used
    activity_consent: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # a question the bot asked and waits on (e.g. "cancel order 12? yes/no")
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # what the conversation is about (assistant/agent/dialogue.py): order in focus, items shown, topic
    dialogue: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the queue serves higher priority first (a frustrated shopper), then the longest wait
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mood: Mapped[str | None] = mapped_column(String(20))  # the last shopper message's mood
    frustration: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # frustrated messages
    rating: Mapped[int | None] = mapped_column(Integer)  # the shopper's 1-5 stars at the close
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
        UniqueConstraint("session_id", "client_msg_id", name="uq_messages_session_client_id"),
        # at most one bot reply per shopper message, whatever the workers do
        UniqueConstraint("session_id", "reply_to", name="uq_messages_session_reply_to"),
        Index("ix_messages_answer_state", "answer_state", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    client_msg_id: Mapped[str | None] = mapped_column(String(100))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # the whole server frame as sent (reply payload, reading, cards), replayed on resume
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # shopper messages only (None otherwise): an AnswerState, and the lease of the worker answering it
    answer_state: Mapped[str | None] = mapped_column(String(20))
    answer_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column()
    # bot replies only: the seq of the shopper message this answers
    reply_to: Mapped[int | None] = mapped_column(Integer)


class BehaviourEvent(Base):
    __tablename__ = "behaviour_events"
    __table_args__ = (Index("ix_behaviour_customer_at", "customer_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqEntry(Base):
    __tablename__ = "faq_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    intents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqRevision(Base):
    __tablename__ = "faq_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    faq_id: Mapped[int] = mapped_column(Integer, index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LabelledFeedback(Base):
    __tablename__ = "labelled_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecExposure(Base):
    __tablename__ = "rec_exposures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    variant: Mapped[str] = mapped_column(String(20))
    # the A/B test the card was shown under (None: the default settings, no test running)
    ab_test_id: Mapped[int | None] = mapped_column(ForeignKey("ab_tests.id"), index=True)
    item_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AbTest(Base):
    """An A/B test of recommendation serving settings; at most one runs at a time."""

    __tablename__ = "ab_tests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)  # running | stopped
    winner: Mapped[str | None] = mapped_column(String(20))
    # the winner's full serving settings when stopped: the default from then on, until a later winner
    winner_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column()
    variants: Mapped[list[AbVariant]] = relationship(back_populates="test", cascade="all, delete-orphan",
                                                     order_by="AbVariant.position", lazy="selectin")


class AbVariant(Base):
    """One arm of an A/B test: a share of the shoppers and the serving settings it changes."""

    __tablename__ = "ab_variants"
    __table_args__ = (UniqueConstraint("test_id", "name", name="uq_ab_variants_test_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the first variant is the control
    name: Mapped[str] = mapped_column(String(20))
    share: Mapped[float] = mapped_column(Float)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # changed ServingSettings fields
    test: Mapped[AbTest] = relationship(back_populates="variants")


class LeftMessage(Base):
    """A message a shopper leaves when no agent is online, answered later."""

    __tablename__ = "left_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    contact: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()


class Job(Base):
    """A background job (e.g. intent retraining) with progress readable over the API."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    # the kind while the job runs, NULL once it ends: unique, so one job of a kind runs in the whole cluster
    active_kind: Mapped[str | None] = mapped_column(String(50), unique=True)
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the worker running it
    heartbeat_at: Mapped[datetime | None] = mapped_column()  # refreshed while it runs; stale = worker died


class OrderAction(Base):
    """A confirmed change to an order (cancel, address, item, return), with who and when.

    `key` is unique: the same confirmation applied twice (a retry, a second worker) writes once."""

    __tablename__ = "order_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


class ReturnRequest(Base):
    """A return or refund request with its own number and status."""

    __tablename__ = "return_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "return" or "refund"
    status: Mapped[str] = mapped_column(String(20), default=ReturnStatus.REQUESTED)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageFeedback(Base):
    """A shopper's thumbs up or down on one bot reply (the last vote counts)."""

    __tablename__ = "message_feedback"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_feedback_session_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    helpful: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqSuggestion(Base):
    """A shopper question the bot handed over and the agent's answer, offered to admins as an FAQ entry."""

    __tablename__ = "faq_suggestions"
    __table_args__ = (UniqueConstraint("session_id", "question", name="uq_suggestion_session_question"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    faq_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
class AuditEntry(Base):
    """One read of personal data (a transcript, a customer record, an export) or an erasure, by whom."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_kind", "subject_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # the agent or admin; None for the CLI or a job
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(40))  # read_transcript, read_customer, export, erase, ...
    subject_kind: Mapped[str] = mapped_column(String(40))  # session, customer, left_messages
    subject_id: Mapped[str] = mapped_column(String(100))
