"""Purchases come only from the order store: `purchase` behaviour events (old sockets stored any client's)
neither train the recommender nor count as "recently bought", and the migration deletes those stored.

Failed before (issue 11, item 7): the socket refuses `purchase` frames now, but the rows old sockets wrote (and
an old worker still running during a rolling upgrade writes) were read by the recommender's training data and
by the "do not suggest again" list like real orders; nothing deleted them.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from assistant.agent.catalog import Catalog
from assistant.config import REPO_ROOT
from assistant.runtime import warm_profiles
from assistant.store.database import (
    _sync_url,
    async_session_factory,
    make_async_engine,
    make_engine,
    session_factory,
    upgrade_schema,
)
from assistant.store.models import BehaviourEvent, ChatSession, Customer, Item, Order, OrderLine
from recommender.sql_source import read_interactions
from tests.conftest import fresh_pg_url, pg_available

ORDERED, FORGED, VIEWED = 1, 2, 3  # item ids: in a real order, in forged purchase events, viewed


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    return fresh_pg_url()


def migrate(url: str, revision: str) -> None:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", _sync_url(url).replace("%", "%%"))
    command.upgrade(cfg, revision)


def add_shop(url: str) -> None:
    """One customer with an order of ORDERED, forged purchases of FORGED (by the customer and by an anonymous
    session), a view of VIEWED."""
    engine = make_engine(url)
    with session_factory(engine)() as db:
        db.add_all([Item(id=i, title=f"item {i}", price=9.5) for i in (ORDERED, FORGED, VIEWED)]
                   + [Customer(id="c-1", name="Pat")])
        db.flush()
        db.add_all([ChatSession(id="s-1", customer_id="c-1"), ChatSession(id="s-anon"),
                    Order(customer_id="c-1", lines=[OrderLine(item_id=ORDERED, unit_price=9.5)])])
        db.flush()
        db.add_all([BehaviourEvent(customer_id="c-1", session_id="s-1", item_id=FORGED, kind="purchase"),
                    BehaviourEvent(session_id="s-anon", item_id=FORGED, kind="purchase"),
                    BehaviourEvent(customer_id="c-1", session_id="s-1", item_id=VIEWED, kind="view")])
        db.commit()
    engine.dispose()


@pytest.fixture
def shop_url(empty_url) -> Iterator[str]:
    upgrade_schema(empty_url)
    add_shop(empty_url)  # after the migration: what an old worker writes during a rolling upgrade
    yield empty_url


def test_the_recommender_trains_on_orders_not_on_purchase_events(shop_url):
    engine = make_engine(shop_url)
    try:
        data = read_interactions(engine, {"purchase": 1.0, "view": 0.5})
    finally:
        engine.dispose()
    rows = {(data.user_keys[u], int(i), float(w)) for u, i, w in zip(data.users, data.items, data.weights, strict=True)}
    assert rows == {("c-1", ORDERED, 1.0), ("c-1", VIEWED, 0.5)}  # old main: FORGED for c-1 and s-anon too


async def test_recently_bought_is_what_the_orders_say(shop_url):
    engine = make_async_engine(shop_url)
    try:
        catalog = Catalog(async_session_factory(engine))
        assert await catalog.recently_bought("c-1", "s-1", 90) == {ORDERED}  # old main: FORGED too
        assert await catalog.recently_bought(None, "s-anon", 90) == set()  # an anonymous session has no orders
    finally:
        await engine.dispose()


async def test_live_profiles_are_warmed_without_purchase_events(shop_url):
    """A restart replays stored events into the live profiles. Old main: the forged purchases too."""
    observed = []
    model = SimpleNamespace(observe=lambda key, item_id, kind: observed.append((key, item_id, kind)))
    engine = make_async_engine(shop_url)
    try:
        await warm_profiles(async_session_factory(engine), SimpleNamespace(current=model), limit=100)
    finally:
        await engine.dispose()
    assert observed == [("c-1", VIEWED, "view")]


def test_the_migration_deletes_stored_purchase_events(empty_url):
    migrate(empty_url, "0008_recs_serving")
    add_shop(empty_url)
    migrate(empty_url, "head")
    engine = make_engine(empty_url)
    with session_factory(engine)() as db:
        kept = [(e.item_id, e.kind) for e in db.scalars(select(BehaviourEvent).order_by(BehaviourEvent.id))]
        ordered = list(db.scalars(select(OrderLine.item_id)))
    engine.dispose()
    assert kept == [(VIEWED, "view")] and ordered == [ORDERED]
