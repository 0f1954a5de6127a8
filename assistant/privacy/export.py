"""Export: everything the shop holds about one customer, as one JSON document (the right of access)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from assistant.store.models import (
    BehaviourEvent,
    ChatSession,
    Customer,
    Item,
    LabelledFeedback,
    LeftMessage,
    Message,
    MessageFeedback,
    Order,
    OrderAction,
    RecExposure,
    ReturnRequest,
)


class UnknownCustomer(LookupError):
    """No customer with this id (the admin API answers 404)."""


def _at(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


async def export_customer(db: AsyncSession, customer_id: str) -> dict[str, Any]:
    """Every session, message, behaviour event, order, left message, exposure and feedback of the customer."""
    customer = await db.get(Customer, customer_id)
    if customer is None:
        raise UnknownCustomer(customer_id)
    chats = list(await db.scalars(select(ChatSession).where(ChatSession.customer_id == customer_id)
                                  .order_by(ChatSession.created_at)))
    session_ids = [c.id for c in chats]
    messages = list(await db.scalars(select(Message).where(Message.session_id.in_(session_ids))
                                     .order_by(Message.session_id, Message.seq))) if session_ids else []
    events = list(await db.scalars(select(BehaviourEvent).where(or_(
        BehaviourEvent.customer_id == customer_id, BehaviourEvent.session_id.in_(session_ids)))
        .order_by(BehaviourEvent.at)))
    exposures = list(await db.scalars(select(RecExposure).where(RecExposure.session_id.in_(session_ids))
                                      .order_by(RecExposure.at))) if session_ids else []
    left = list(await db.scalars(select(LeftMessage).where(LeftMessage.session_id.in_(session_ids))
                                 .order_by(LeftMessage.created_at))) if session_ids else []
    message_ids = [m.id for m in messages]
    feedback = list(await db.scalars(select(LabelledFeedback).where(LabelledFeedback.message_id.in_(message_ids))
                                     .order_by(LabelledFeedback.id))) if message_ids else []
    orders = list(await db.scalars(select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
                                   .options(selectinload(Order.lines), selectinload(Order.history))))
    actions = list(await db.scalars(select(OrderAction).where(OrderAction.customer_id == customer_id)
                                    .order_by(OrderAction.at)))
    returns = list(await db.scalars(select(ReturnRequest).where(ReturnRequest.customer_id == customer_id)
                                    .order_by(ReturnRequest.created_at)))
    thumbs = list(await db.scalars(select(MessageFeedback).where(MessageFeedback.session_id.in_(session_ids))
                                   .order_by(MessageFeedback.at))) if session_ids else []
    titles = await _titles(db, {line.item_id for o in orders for line in o.lines} | {e.item_id for e in events})
    return {
        "customer": {"id": customer.id, "name": customer.name, "email": customer.email,
                     "created_at": _at(customer.created_at)},
        "sessions": [_session(c, [m for m in messages if m.session_id == c.id]) for c in chats],
        "events": [{"session_id": e.session_id, "item_id": e.item_id, "title": titles.get(e.item_id),
                    "kind": e.kind, "at": _at(e.at)} for e in events],
        "orders": [_order(o, titles) for o in orders],
        "left_messages": [{"session_id": m.session_id, "contact": m.contact, "text": m.text,
                           "created_at": _at(m.created_at), "answered_at": _at(m.answered_at)} for m in left],
        "recommendations_shown": [{"session_id": e.session_id, "item_id": e.item_id, "variant": e.variant,
                                   "at": _at(e.at)} for e in exposures],
        "feedback": [{"message_id": f.message_id, "text": f.text, "intent": f.intent, "created_at": _at(f.created_at)}
                     for f in feedback],
        "order_actions": [{"order_id": a.order_id, "session_id": a.session_id, "action": a.action,
                           "detail": a.detail, "actor": a.actor, "at": _at(a.at)} for a in actions],
        "returns": [{"return_id": r.id, "order_id": r.order_id, "kind": r.kind, "status": r.status,
                     "reason": r.reason, "created_at": _at(r.created_at)} for r in returns],
        "reply_ratings": [{"session_id": t.session_id, "seq": t.seq, "helpful": t.helpful, "at": _at(t.at)}
                          for t in thumbs],
    }


def _session(chat: ChatSession, messages: list[Message]) -> dict[str, Any]:
    return {
        "session_id": chat.id, "state": chat.state, "created_at": _at(chat.created_at),
        "updated_at": _at(chat.updated_at), "handoff_reason": chat.handoff_reason, "resolution": chat.resolution,
        "activity_consent": chat.activity_consent, "rating": chat.rating,
        "messages": [{"seq": m.seq, "author": m.author, "text": m.text, "at": _at(m.created_at),
                      "intent": (m.payload or {}).get("intent"),
                      "items": [i.get("item_id") for i in (m.payload or {}).get("items") or []]}
                     for m in messages],
    }


def _order(order: Order, titles: dict[int, str]) -> dict[str, Any]:
    return {
        "order_id": order.id, "status": order.status, "created_at": _at(order.created_at),
        "shipping_address": order.shipping_address,
        "lines": [{"item_id": line.item_id, "title": titles.get(line.item_id), "quantity": line.quantity,
                   "unit_price": line.unit_price} for line in order.lines],
        "history": [{"status": h.status, "at": _at(h.at), "note": h.note} for h in order.history],
    }


async def _titles(db: AsyncSession, item_ids: set[int]) -> dict[int, str]:
    if not item_ids:
        return {}
    return {row.id: row.title for row in await db.execute(select(Item.id, Item.title).where(Item.id.in_(item_ids)))}
