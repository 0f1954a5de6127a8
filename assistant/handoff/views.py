"""What an agent sees: queue rows, the transcript with the bot's reading beside each shopper message,
and the shopper's recent orders and suggestions (pydantic shapes and the functions that fill them)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from assistant.chat.protocol import ItemCard
from assistant.handoff.assignment import QueueEntry
from assistant.privacy.consent import profile_inputs
from assistant.runtime import Runtime
from assistant.store.models import (
    Agent,
    Author,
    ChatSession,
    Customer,
    LabelledFeedback,
    Message,
    MessageFeedback,
)


class QueueItem(BaseModel):
    session_id: str
    customer_id: str | None
    customer_name: str | None
    state: str
    agent_id: int | None
    handoff_reason: str | None
    waiting_since: datetime | None
    wait_s: float = Field(description="seconds since the session entered the queue")
    last_message: dict[str, Any] | None = Field(description="{author, text, at} of the newest message")
    priority: int = Field(default=0, description="2 angry, 1 frustrated, 0 calm: the queue serves it first")
    mood: str | None = Field(default=None, description="the last shopper message's mood: calm, frustrated, angry")


class Reading(BaseModel):
    """The bot's reading of one shopper message, taken from the reply that answered it."""

    intent: str | None
    confidence: float | None
    alternatives: list[dict[str, Any]] = Field(default_factory=list, description="top-3 {intent, confidence}")
    fallback: bool = False
    route: str | None = None
    faq_ids: list[int] = Field(default_factory=list)
    items: list[ItemCard] = Field(default_factory=list)
    reply_seq: int
    followup: str | None = None
    mood: dict[str, Any] | None = None


class TranscriptMessage(BaseModel):
    message_id: int
    seq: int
    author: str
    author_name: str
    text: str
    at: datetime
    items: list[ItemCard] = Field(default_factory=list)
    order: dict[str, Any] | None = None
    reading: Reading | None = None
    mood: dict[str, Any] | None = None
    corrected_intent: str | None = None
    helpful: bool | None = None  # the shopper's vote on this bot reply


class SessionInfo(BaseModel):
    session_id: str
    state: str
    customer_id: str | None
    customer_name: str | None
    agent_id: int | None
    agent_name: str | None
    handoff_reason: str | None
    waiting_since: datetime | None
    resolution: str | None
    priority: int = 0
    mood: str | None = None
    rating: int | None = None
    order_id: int | None = Field(default=None, description="the order the conversation is about")


class Transcript(BaseModel):
    session: SessionInfo
    messages: list[TranscriptMessage]


class OrderView(BaseModel):
    order_id: int
    status: str
    placed: str
    updated: str
    titles: list[str]
    total: float
    card: dict[str, Any] | None = Field(default=None, description="lines, address, status timeline, returns")


class ShopperContext(BaseModel):
    customer_id: str | None
    customer_name: str | None
    orders: list[OrderView]
    suggestions: list[ItemCard]


# ---------- queue ----------


def queue_item(entry: QueueEntry) -> QueueItem:
    last = None
    if entry.last_text is not None:
        last = {"author": entry.last_author, "text": entry.last_text, "at": entry.last_at}
    return QueueItem(session_id=entry.session_id, customer_id=entry.customer_id,
                     customer_name=entry.customer_name, state=entry.state, agent_id=entry.agent_id,
                     handoff_reason=entry.handoff_reason, waiting_since=entry.waiting_since,
                     wait_s=entry.wait_s, last_message=last, priority=entry.priority, mood=entry.mood)


# ---------- transcript ----------


async def load_transcript(rt: Runtime, chat: ChatSession) -> Transcript:
    async with rt.sessions() as db:
        messages = list(await db.scalars(select(Message).where(Message.session_id == chat.id)
                                         .order_by(Message.seq)))
        corrections = await _corrections(db, [m.id for m in messages if m.author == Author.SHOPPER])
        info = await _session_info(db, chat)
        votes = {r.seq: r.helpful for r in await db.execute(
            select(MessageFeedback.seq, MessageFeedback.helpful).where(MessageFeedback.session_id == chat.id))}
    views = with_readings(messages, corrections)
    for view in views:
        view.helpful = votes.get(view.seq)
    return Transcript(session=info, messages=views)


def with_readings(messages: list[Message], corrections: dict[int, str]) -> list[TranscriptMessage]:
    """Each shopper message with the reading of the bot reply that followed it (if the bot answered)."""
    out: list[TranscriptMessage] = []
    for i, msg in enumerate(messages):
        view = _message_view(msg)
        if msg.author == Author.SHOPPER:
            view.reading = _reading_after(messages, i)
            view.corrected_intent = corrections.get(msg.id)
            view.mood = (view.reading.mood if view.reading else None) or (msg.payload or {}).get("mood")
        out.append(view)
    return out


def _message_view(msg: Message) -> TranscriptMessage:
    payload = msg.payload or {}
    default_name = {"shopper": "Shopper", "bot": "Assistant", "system": "Shop"}.get(msg.author, "Agent")
    return TranscriptMessage(message_id=msg.id, seq=msg.seq, author=msg.author,
                             author_name=payload.get("author_name") or default_name, text=msg.text,
                             at=msg.created_at, items=payload.get("items") or [], order=payload.get("order"))


def _reading_after(messages: list[Message], index: int) -> Reading | None:
    for later in messages[index + 1:]:
        if later.author == Author.SHOPPER:
            return None
        payload = later.payload or {}
        if later.author == Author.BOT and payload.get("intent"):
            return _reading(later.seq, payload)
    return None


def _reading(seq: int, payload: dict[str, Any]) -> Reading:
    inner = payload.get("reading") or {}
    return Reading(intent=payload.get("intent"), confidence=payload.get("confidence"),
                   alternatives=list(inner.get("alternatives") or [])[:3], fallback=bool(inner.get("fallback")),
                   route=inner.get("route"), faq_ids=payload.get("faq_ids") or [],
                   items=payload.get("items") or [], reply_seq=seq, followup=inner.get("followup"),
                   mood=inner.get("mood"))


async def _corrections(db, message_ids: list[int]) -> dict[int, str]:
    if not message_ids:
        return {}
    rows = await db.execute(select(LabelledFeedback.message_id, LabelledFeedback.intent)
                            .where(LabelledFeedback.message_id.in_(message_ids))
                            .order_by(LabelledFeedback.id))
    return {r.message_id: r.intent for r in rows}  # the newest correction wins


async def _session_info(db, chat: ChatSession) -> SessionInfo:
    customer = await db.get(Customer, chat.customer_id) if chat.customer_id else None
    agent = await db.get(Agent, chat.agent_id) if chat.agent_id else None
    return SessionInfo(session_id=chat.id, state=chat.state, customer_id=chat.customer_id,
                       customer_name=customer.name if customer else None, agent_id=chat.agent_id,
                       agent_name=agent.name if agent else None, handoff_reason=chat.handoff_reason,
                       waiting_since=chat.waiting_since, resolution=chat.resolution, priority=chat.priority or 0,
                       mood=chat.mood, rating=chat.rating, order_id=(chat.dialogue or {}).get("order_id"))


# ---------- the shopper ----------


async def shopper_context(rt: Runtime, chat: ChatSession) -> ShopperContext:
    customer_name = None
    orders: list[OrderView] = []
    if chat.customer_id:
        async with rt.sessions() as db:
            customer = await db.get(Customer, chat.customer_id)
        customer_name = customer.name if customer else None
        recent = await rt.toolbox.orders.recent_orders(chat.customer_id, rt.settings.agent_recent_orders)
        orders = [OrderView(order_id=o.order_id, status=o.status, placed=o.placed, updated=o.updated,
                            titles=o.titles, total=round(o.total, 2), card=o.card()) for o in recent]
    return ShopperContext(customer_id=chat.customer_id, customer_name=customer_name, orders=orders,
                          suggestions=await suggestions_for(rt, chat))


async def suggestions_for(rt: Runtime, chat: ChatSession) -> list[ItemCard]:
    """The recommender's picks for this shopper and what they last wrote ([] without a recommender)."""
    rec = rt.recommender.current
    if rec is None:
        return []
    catalog = rt.toolbox.catalog
    customer, profile = profile_inputs(chat.customer_id, chat.id, chat.activity_consent)
    history = await catalog.purchased_items(customer) if customer else []
    bought = await catalog.recently_bought(chat.customer_id, chat.id, rt.settings.exclude_bought_days)
    last = await _last_shopper_text(rt, chat.id)
    k = rt.settings.agent_suggestions
    picks = await asyncio.to_thread(rec.recommend, history, last, 3 * k, tuple(bought), profile)
    info = await catalog.items([p.item_id for p in picks])
    # what the shopper can buy now and has not just bought
    return [ItemCard(item_id=p.item_id, title=info[p.item_id].title, price=info[p.item_id].price,
                     score=round(float(p.score), 4), reason=p.reason, stock=info[p.item_id].stock, available=True)
            for p in picks if p.item_id in info and info[p.item_id].stock > 0][:k]


async def _last_shopper_text(rt: Runtime, session_id: str) -> str | None:
    async with rt.sessions() as db:
        return await db.scalar(select(Message.text).where(Message.session_id == session_id,
                                                          Message.author == Author.SHOPPER)
                               .order_by(Message.seq.desc()).limit(1))
