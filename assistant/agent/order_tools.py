"""Order tools over the SQL store for the signed-in shopper: look up and describe orders, and apply
confirmed changes (cancel, new address, remove an item, return or refund) exactly once each."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from assistant.store.database import autocommit_sessions
from assistant.store.models import (
    Item,
    Order,
    OrderAction,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    ReturnRequest,
    utcnow,
)

CANCELLABLE = {OrderStatus.PROCESSING}
_ORDER_NUMBER = re.compile(r"(?:#|\border\s*(?:number|no\.?|nr\.?)?\s*)(\d{1,9})\b", re.I)


@dataclass(frozen=True)
class OrderLineView:
    line_id: int
    item_id: int
    title: str
    quantity: int
    price: float


@dataclass(frozen=True)
class OrderSummary:
    order_id: int
    status: str
    placed: str
    updated: str
    titles: list[str]
    total: float
    address: str = ""
    lines: list[OrderLineView] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    returns: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        items = ", ".join(_short(t) for t in self.titles[:3])
        more = f" and {len(self.titles) - 3} more" if len(self.titles) > 3 else ""
        return f"order #{self.order_id} ({items}{more}, ${self.total:.2f}, placed {self.placed})"

    def label(self) -> str:
        """A quick-reply label: number, first item, status."""
        first = _short(self.titles[0], 28) if self.titles else "no items"
        return f"#{self.order_id} {first} ({self.status})"

    def card(self) -> dict[str, Any]:
        """The structured order card of a reply frame (status timeline, lines, returns)."""
        return {"order_id": self.order_id, "status": self.status, "placed": self.placed,
                "total": round(self.total, 2), "address": self.address,
                "lines": [{"item_id": ln.item_id, "title": ln.title, "quantity": ln.quantity,
                           "price": ln.price} for ln in self.lines],
                "timeline": self.timeline, "returns": self.returns}


@dataclass(frozen=True)
class ActionOutcome:
    done: bool  # the change is in the store (now, or by an earlier identical confirmation)
    repeated: bool = False  # an earlier confirmation with the same key already applied it
    status: str | None = None  # the order's status now, when the change was refused
    detail: dict[str, Any] = field(default_factory=dict)


def _short(title: str, n: int = 48) -> str:
    return title if len(title) <= n else title[: n - 1].rstrip() + "…"


def order_number_in(text: str) -> int | None:
    m = _ORDER_NUMBER.search(text)
    return int(m.group(1)) if m else None


def return_number(return_id: int) -> str:
    return f"R-{return_id}"


class OrderTools:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions
        self._reads = autocommit_sessions(sessions)  # one round trip a statement, no BEGIN and ROLLBACK

    async def recent_orders(self, customer_id: str, n: int = 5) -> list[OrderSummary]:
        async with self._reads() as db:
            orders = await db.scalars(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(n)
                .options(selectinload(Order.lines), selectinload(Order.history))
            )
            return [await self._summary(db, o) for o in orders]

    async def order(self, customer_id: str, order_id: int) -> OrderSummary | None:
        async with self._reads() as db:
            o = await db.scalar(
                select(Order)
                .where(Order.id == order_id, Order.customer_id == customer_id)
                .options(selectinload(Order.lines), selectinload(Order.history))
            )
            return await self._summary(db, o) if o else None

    async def returns(self, customer_id: str, order_id: int | None = None) -> list[dict[str, Any]]:
        """The shopper's return and refund requests, newest first (of one order when given)."""
        async with self._reads() as db:
            query = select(ReturnRequest).where(ReturnRequest.customer_id == customer_id)
            if order_id is not None:
                query = query.where(ReturnRequest.order_id == order_id)
            rows = await db.scalars(query.order_by(ReturnRequest.id.desc()))
            return [_return_view(r) for r in rows]

    async def cancel(self, customer_id: str, order_id: int, key: str | None = None,
                     session_id: str | None = None) -> bool:
        """Cancel if the status still allows it; a conditional update, so a shipped order stays shipped."""
        outcome = await self.apply("cancel_order", customer_id, order_id, {}, key or f"cancel:{order_id}",
                                   session_id)
        return outcome.done

    async def apply(self, action: str, customer_id: str, order_id: int, args: dict[str, Any], key: str,
                    session_id: str | None) -> ActionOutcome:
        """Apply one confirmed action once: the action row (unique key), the conditional change and the
        order's history commit together; a second call with the same key finds the first."""
        async with self._sessions() as db:
            if await db.scalar(select(OrderAction.id).where(OrderAction.key == key)):
                return ActionOutcome(True, repeated=True)
            db.add(OrderAction(key=key, order_id=order_id, customer_id=customer_id, session_id=session_id,
                               action=action, detail=dict(args), actor=f"shopper:{customer_id}"))
            try:
                await db.flush()
            except IntegrityError:  # another worker applied the same confirmation a moment ago
                await db.rollback()
                return ActionOutcome(True, repeated=True)
            detail = await _WRITERS[action](db, customer_id, order_id, args)
            if detail is None:
                await db.rollback()
                now = await db.scalar(select(Order.status).where(Order.id == order_id))
                return ActionOutcome(False, status=now)
            await db.commit()
            return ActionOutcome(True, detail=detail)

    @staticmethod
    async def _summary(db: AsyncSession, order: Order) -> OrderSummary:
        lines: list[OrderLine] = list(order.lines)
        titles_by_id = {r.id: r.title for r in await db.execute(
            select(Item.id, Item.title).where(Item.id.in_([ln.item_id for ln in lines])))}
        views = [OrderLineView(ln.id, ln.item_id, titles_by_id.get(ln.item_id, f"item {ln.item_id}"),
                               ln.quantity, ln.unit_price) for ln in lines]
        total = sum(ln.unit_price * ln.quantity for ln in lines)
        timeline = [{"status": h.status, "at": h.at.isoformat() + "Z", "note": h.note} for h in order.history]
        if not timeline:  # a shop's import (or a hand-made order) may carry no status changes: use its own dates
            timeline = [{"status": OrderStatus.PROCESSING.value, "at": order.created_at.isoformat() + "Z", "note": ""}]
            if order.status != OrderStatus.PROCESSING:
                timeline.append({"status": str(order.status), "at": order.updated_at.isoformat() + "Z", "note": ""})
        returns = [_return_view(r) for r in await db.scalars(
            select(ReturnRequest).where(ReturnRequest.order_id == order.id).order_by(ReturnRequest.id))]
        return OrderSummary(order.id, order.status, order.created_at.strftime("%d %b %Y"),
                            order.updated_at.strftime("%d %b %Y"), [v.title for v in views], total,
                            order.shipping_address or "", views, timeline, returns)


def _return_view(r: ReturnRequest) -> dict[str, Any]:
    return {"return_id": r.id, "number": return_number(r.id), "order_id": r.order_id, "kind": r.kind,
            "status": r.status, "opened": r.created_at.strftime("%d %b %Y")}


# ---- the writes of each action: None when the order's state no longer allows it ----

ADDRESS_CHANGED = "shipping address changed"  # the history note, "... to <address>" (an erasure cuts the address)


def _still(order_id: int, customer_id: str, statuses) -> list:
    return [Order.id == order_id, Order.customer_id == customer_id, Order.status.in_([str(s) for s in statuses])]


async def _write_cancel(db: AsyncSession, customer_id: str, order_id: int, args: dict) -> dict | None:
    res = await db.execute(update(Order).where(*_still(order_id, customer_id, CANCELLABLE))
                           .values(status=OrderStatus.CANCELLED, updated_at=utcnow()))
    if res.rowcount != 1:
        return None
    db.add(OrderStatusChange(order_id=order_id, status=OrderStatus.CANCELLED, note="cancelled by the shopper in chat"))
    return {}


async def _write_address(db: AsyncSession, customer_id: str, order_id: int, args: dict) -> dict | None:
    res = await db.execute(update(Order).where(*_still(order_id, customer_id, {OrderStatus.PROCESSING}))
                           .values(shipping_address=args["address"], updated_at=utcnow()))
    if res.rowcount != 1:
        return None
    db.add(OrderStatusChange(order_id=order_id, status=OrderStatus.PROCESSING,
                             note=f"{ADDRESS_CHANGED} to {args['address']}"))
    return {"address": args["address"]}


async def _write_remove_item(db: AsyncSession, customer_id: str, order_id: int, args: dict) -> dict | None:
    open_order = await db.scalar(select(Order.id).where(*_still(order_id, customer_id, {OrderStatus.PROCESSING}))
                                 .with_for_update())
    lines = await db.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order_id))
    if open_order is None or (lines or 0) < 2:
        return None
    res = await db.execute(delete(OrderLine).where(OrderLine.id == args["line_id"], OrderLine.order_id == order_id))
    if res.rowcount != 1:
        return None
    await db.execute(update(Order).where(Order.id == order_id).values(updated_at=utcnow()))
    db.add(OrderStatusChange(order_id=order_id, status=OrderStatus.PROCESSING,
                             note=f"removed {args.get('title', 'an item')} at the shopper's request"))
    return {"line_id": args["line_id"]}


async def _write_quantity(db: AsyncSession, customer_id: str, order_id: int, args: dict) -> dict | None:
    open_order = await db.scalar(select(Order.id).where(*_still(order_id, customer_id, {OrderStatus.PROCESSING})))
    if open_order is None:
        return None
    res = await db.execute(update(OrderLine).where(OrderLine.id == args["line_id"], OrderLine.order_id == order_id)
                           .values(quantity=int(args["quantity"])))
    if res.rowcount != 1:
        return None
    await db.execute(update(Order).where(Order.id == order_id).values(updated_at=utcnow()))
    db.add(OrderStatusChange(order_id=order_id, status=OrderStatus.PROCESSING,
                             note=f"{args.get('title', 'an item')}: quantity changed to {args['quantity']}"))
    return {}


async def _write_return(db: AsyncSession, customer_id: str, order_id: int, args: dict) -> dict | None:
    allowed = await db.scalar(select(Order.id).where(
        *_still(order_id, customer_id, {OrderStatus.SHIPPED, OrderStatus.DELIVERED})))
    if allowed is None:
        return None
    request = ReturnRequest(order_id=order_id, customer_id=customer_id, kind=args.get("kind", "return"),
                            reason=args.get("reason", "")[:500])
    db.add(request)
    await db.flush()
    return {"return_id": request.id, "number": return_number(request.id)}


_WRITERS = {"cancel_order": _write_cancel, "change_address": _write_address, "remove_item": _write_remove_item,
            "change_quantity": _write_quantity,
            "start_return": _write_return}
