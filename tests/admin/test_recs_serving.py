"""The settings suggestions are served with: one source (the configured defaults) for chat and the admin
retraining, and items bought lately left out unless the catalogue marks them consumable."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from assistant.admin.ab_tests import DEFAULT_VARIANT
from assistant.store.database import make_engine, session_factory
from assistant.store.models import Customer, Order, OrderLine, RecExposure
from tests.admin.conftest import runtime_of
from tests.chat.client import ChatClient, start_session

RECOMMEND = "can you recommend something for my desk?"


async def test_an_item_bought_in_the_session_is_not_suggested_again_unless_consumable(admin_server, admin_api):
    """Old main: suggestions were made with exclude=(), so a purchase came straight back as a suggestion."""
    rt = runtime_of(admin_server)
    url = admin_server.settings.resolved_database_url
    customer_id = add_customer(url)
    chat = await ChatClient.open(admin_server.ws_url, await start_session(admin_server.url, customer_id))
    try:
        _, first = await chat.say(RECOMMEND)
        assert first["items"], first
        bought = first["items"][0]["item_id"]
        session_id = chat.session["session_id"]
        # purchases come from the shop's order store, never from the socket or behaviour events (issue 11)
        record_order(url, customer_id, bought)
        _, second = await chat.say(RECOMMEND)
        assert second["items"] and bought not in [card["item_id"] for card in second["items"]]

        # outside A/B tests a shopper is served the configured settings (old main: hard-coded variants)
        assert (await rt.toolbox.ab_tests.assignment(session_id)).settings == admin_server.settings.recs_serving
        assert await rt.toolbox.catalog.recently_bought(customer_id, session_id, 90) == {bought}
        marked = admin_api.put(f"/api/admin/items/{bought}", json={"consumable": True})
        assert marked.status_code == 200 and marked.json()["consumable"] is True, marked.text
        assert await rt.toolbox.catalog.recently_bought(customer_id, session_id, 90) == set()
        assert await rt.toolbox.catalog.recently_bought(customer_id, session_id, 0) == set()  # 0 days: off
    finally:
        await chat.close()
    engine = make_engine(admin_server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        shown = list(db.scalars(select(RecExposure).where(RecExposure.session_id == session_id)))
    engine.dispose()
    assert shown and all(e.ab_test_id is None and e.variant == DEFAULT_VARIANT for e in shown)


def add_customer(database_url: str) -> str:
    """A customer with no orders yet."""
    customer_id = f"recs-{uuid.uuid4().hex[:8]}"
    engine = make_engine(database_url)
    with session_factory(engine)() as db:
        db.add(Customer(id=customer_id, name="Robin Buyer"))
        db.commit()
    engine.dispose()
    return customer_id


def record_order(database_url: str, customer_id: str, item_id: int) -> None:
    engine = make_engine(database_url)
    with session_factory(engine)() as db:
        db.add(Order(customer_id=customer_id, lines=[OrderLine(item_id=item_id, unit_price=1.0)]))
        db.commit()
    engine.dispose()
