"""Order tools over the SQL store for the signed-in shopper: look up, describe and cancel orders."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from assistant.store.models import Item, Order, OrderLine, OrderStatus, OrderStatusChange, utcnow

CANCELLABLE = {OrderStatus.PROCESSING}
_ORDER_NUMBER = re.compile(r"(?:#|\border\s*(?:number|no\.?|nr\.?)?\s*)(\d{1,9})\b", re.I)


@dataclass(frozen=True)
class OrderSummary:
    order_id: int
    status: str
    placed: str
    updated: str
    titles: list[str]
    total: float

    def describe(self) -> str:
        items = ", ".join(_short(t) for t in self.titles[:3])
        more = f" and {len(self.titles) - 3} more" if len(self.titles) > 3 else ""
        return f"order #{self.order_id} ({items}{more}, ${self.total:.2f}, placed {self.placed})"


def _short(title: str, n: int = 48) -> str:
    return title if len(title) <= n else title[: n - 1].rstrip() + "…"


def order_number_in(text: str) -> int | None:
    m = _ORDER_NUMBER.search(text)
    return int(m.group(1)) if m else None


class OrderTools:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def recent_orders(self, customer_id: str, n: int = 5) -> list[OrderSummary]:
        async with self._sessions() as db:
            orders = await db.scalars(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(n)
                .options(selectinload(Order.lines))
            )
            return [await self._summary(db, o) for o in orders]

    async def order(self, customer_id: str, order_id: int) -> OrderSummary | None:
        async with self._sessions() as db:
            o = await db.scalar(
                select(Order)
                .where(Order.id == order_id, Order.customer_id == customer_id)
                .options(selectinload(Order.lines))
            )
            return await self._summary(db, o) if o else None

    async def cancel(self, customer_id: str, order_id: int) -> bool:
        """Cancel if the status still allows it; a conditional update, so a shipped order stays shipped."""
        async with self._sessions() as db:
            res = await db.execute(
                update(Order)
                .where(Order.id == order_id, Order.customer_id == customer_id,
                       Order.status.in_([s.value for s in CANCELLABLE]))
                .values(status=OrderStatus.CANCELLED, updated_at=utcnow())
            )
            if res.rowcount != 1:
                await db.rollback()
                return False
            db.add(OrderStatusChange(order_id=order_id, status=OrderStatus.CANCELLED,
                                     note="cancelled by the shopper in chat"))
            await db.commit()
            return True

    @staticmethod
    async def _summary(db, order: Order) -> OrderSummary:
        lines: list[OrderLine] = list(order.lines)
        titles = list(await db.scalars(select(Item.title).where(Item.id.in_([ln.item_id for ln in lines]))))
        total = sum(ln.unit_price * ln.quantity for ln in lines)
        return OrderSummary(order.id, order.status, order.created_at.strftime("%d %b %Y"),
                            order.updated_at.strftime("%d %b %Y"), titles, total)
