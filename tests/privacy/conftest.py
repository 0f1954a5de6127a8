"""Fixtures of the privacy tests: the shared servers (SQLite, then PostgreSQL), an agent and an admin, and a
customer of their own with an order, so erasing them never touches the demo customers other tests use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import Customer, Item, Order, OrderLine
from tests.agent_console.client import add_agents


@pytest.fixture(scope="module")
def staff(live_server):
    agent, = add_agents(live_server.settings, 1, name="Privacy Agent")
    admin, = add_agents(live_server.settings, 1, role="admin", name="Privacy Admin")
    return {"agent": agent, "admin": admin}


@pytest.fixture
def db(live_server) -> Iterator:
    engine = make_engine(live_server.settings.resolved_database_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def customer(db) -> dict:
    """A fresh customer with one order of the first catalogue item."""
    cid = f"priv-{uuid.uuid4().hex[:10]}"
    item = db.scalar(select(Item).order_by(Item.id).limit(1))
    db.add(Customer(id=cid, name="Rosa Erasable", email=f"{cid}@example.org"))
    db.flush()
    order = Order(customer_id=cid, status="shipped", lines=[OrderLine(item_id=item.id, quantity=2,
                                                                       unit_price=item.price)])
    db.add(order)
    db.commit()
    return {"id": cid, "order_id": order.id, "item_id": item.id, "email": f"{cid}@example.org"}
