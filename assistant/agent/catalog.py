"""Item look-ups for reply cards (title, price, stock) from the SQL store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.store.database import autocommit_sessions
from assistant.store.models import Item, Order, OrderLine, OrderStatus, utcnow


@dataclass(frozen=True)
class ItemInfo:
    item_id: int
    title: str
    price: float
    stock: int


class Catalog:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = autocommit_sessions(sessions)  # reads only: one round trip each

    async def items(self, item_ids: Sequence[int]) -> dict[int, ItemInfo]:
        """The cards' facts for the items still on sale: a withdrawn item is never shown or suggested,
        whatever the search index or the recommender (trained before the withdrawal) still hold."""
        if not item_ids:
            return {}
        async with self._sessions() as db:
            rows = await db.execute(
                select(Item.id, Item.title, Item.price, Item.stock)
                .where(Item.id.in_(list(item_ids)), Item.active.is_(True))
            )
            return {r.id: ItemInfo(r.id, r.title, r.price, r.stock) for r in rows}

    async def exists(self, item_id: int) -> bool:
        async with self._sessions() as db:
            return await db.get(Item, item_id) is not None

    async def is_active(self, item_id: int) -> bool:
        """The item exists and is on sale (behaviour events are taken only for these)."""
        async with self._sessions() as db:
            return bool(await db.scalar(select(Item.active).where(Item.id == item_id)))

    async def purchased_items(self, customer_id: str, n: int = 20) -> list[int]:
        """The customer's most recent purchases, oldest first (the recommender's history)."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(OrderLine.item_id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.customer_id == customer_id)
                .order_by(Order.created_at.desc(), OrderLine.id.desc())
                .limit(n)
            )
            return list(reversed(list(rows)))

    async def recently_bought(self, customer_id: str | None, session_id: str | None, days: int) -> set[int]:
        """Items the customer ordered in the last `days` days (not cancelled), except those the catalogue marks
        as consumable: these are the ones not to suggest again. Only orders count: a `purchase` behaviour
        event is no proof (old sockets stored any client's), and an anonymous session has no orders."""
        if days <= 0 or not customer_id:
            return set()
        since = utcnow() - timedelta(days=days)
        ordered = (select(OrderLine.item_id).join(Order, Order.id == OrderLine.order_id)
                   .where(Order.customer_id == customer_id, Order.created_at >= since,
                          Order.status != OrderStatus.CANCELLED))
        async with self._sessions() as db:
            rows = await db.scalars(select(Item.id).where(Item.id.in_(ordered), Item.consumable.is_(False)))
            return set(rows)

