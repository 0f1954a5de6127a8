"""Read the catalogue and behaviour from the SQL store with SQLAlchemy Core (no ORM classes imported).

Behaviour = order lines (purchases, at the order's time) and behaviour events (view, click, add to
cart); a profile is a customer, or the chat session for events without a customer.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, column, create_engine, select, table

from recommender.data import Interactions, ItemCatalogue, item_text

ITEMS = table("items", column("id"), column("title"), column("description"), column("brand"),
              column("categories"))
ORDERS = table("orders", column("id"), column("customer_id"), column("status"), column("created_at"))
ORDER_LINES = table("order_lines", column("order_id"), column("item_id"), column("quantity"))
EVENTS = table("behaviour_events", column("customer_id"), column("session_id"), column("item_id"),
               column("kind"), column("at"))
CANCELLED = "cancelled"
PURCHASE = "purchase"


def as_engine(engine_or_url: Engine | str) -> Engine:
    return create_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url


def read_catalogue(engine_or_url: Engine | str, description_chars: int) -> ItemCatalogue:
    query = select(ITEMS.c.id, ITEMS.c.title, ITEMS.c.description, ITEMS.c.brand, ITEMS.c.categories
                   ).order_by(ITEMS.c.id)
    with as_engine(engine_or_url).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return ItemCatalogue(
        ids=np.array([r["id"] for r in rows], dtype=np.int64),
        titles=[r["title"] or f"item {r['id']}" for r in rows],
        texts=[item_text(r, description_chars) for r in rows],
        categories=[(r["categories"] or "").split(",")[0].strip() for r in rows],
        brands=[(r["brand"] or "").strip() for r in rows],
    )


def _behaviour_rows(engine: Engine) -> list[tuple[str, int, str, object]]:
    """(profile key, item id, kind, time) for every purchase line and behaviour event but `purchase`: a
    purchase is an order line, never an event (old sockets stored any client's)."""
    purchases = (select(ORDERS.c.customer_id, ORDER_LINES.c.item_id, ORDERS.c.created_at)
                 .select_from(ORDER_LINES.join(ORDERS, ORDERS.c.id == ORDER_LINES.c.order_id))
                 .where(ORDERS.c.status != CANCELLED))
    events = (select(EVENTS.c.customer_id, EVENTS.c.session_id, EVENTS.c.item_id, EVENTS.c.kind, EVENTS.c.at)
              .where(EVENTS.c.kind != PURCHASE))
    with engine.connect() as conn:
        rows = [(str(c), int(i), PURCHASE, at) for c, i, at in conn.execute(purchases)]
        rows += [(str(c if c is not None else s), int(i), kind, at) for c, s, i, kind, at in conn.execute(events)
                 if c is not None or s is not None]
    return rows


def read_interactions(engine_or_url: Engine | str, event_weights: dict[str, float]) -> Interactions:
    """Behaviour grouped by profile and ordered by time, weighted by event kind."""
    rows = _behaviour_rows(as_engine(engine_or_url))
    rows.sort(key=lambda r: (r[0], str(r[3])))
    index_of_key: dict[str, int] = {}
    users = np.array([index_of_key.setdefault(r[0], len(index_of_key)) for r in rows], dtype=np.int64)
    return Interactions(users=users, items=np.array([r[1] for r in rows], dtype=np.int64),
                        weights=np.array([event_weights.get(r[2], 1.0) for r in rows], dtype=np.float32),
                        user_keys=list(index_of_key))
