"""The settings suggestions are served with: one source (the configured defaults) for chat and the admin
retraining, and items bought lately left out unless the catalogue marks them consumable."""

from __future__ import annotations

from sqlalchemy import select

from assistant.admin.ab_tests import DEFAULT_VARIANT
from assistant.store.database import make_engine, session_factory
from assistant.store.models import BehaviourEvent, EventKind, RecExposure
from tests.admin.conftest import runtime_of
from tests.chat.client import ChatClient, start_session

RECOMMEND = "can you recommend something for my desk?"


async def test_an_item_bought_in_the_session_is_not_suggested_again_unless_consumable(admin_server, admin_api):
    """Old main: suggestions were made with exclude=(), so a purchase came straight back as a suggestion."""
    rt = runtime_of(admin_server)
    chat = await ChatClient.open(admin_server.ws_url, await start_session(admin_server.url))
    try:
        _, first = await chat.say(RECOMMEND)
        assert first["items"], first
        bought = first["items"][0]["item_id"]
        session_id = chat.session["session_id"]
        # purchases come from the shop's order store, never from the socket (issue 11)
        record_purchase(admin_server.settings.resolved_database_url, session_id, bought)
        _, second = await chat.say(RECOMMEND)
        assert second["items"] and bought not in [card["item_id"] for card in second["items"]]

        # outside A/B tests a shopper is served the configured settings (old main: hard-coded variants)
        assert (await rt.toolbox.ab_tests.assignment(session_id)).settings == admin_server.settings.recs_serving
        assert await rt.toolbox.catalog.recently_bought(None, session_id, 90) == {bought}
        marked = admin_api.put(f"/api/admin/items/{bought}", json={"consumable": True})
        assert marked.status_code == 200 and marked.json()["consumable"] is True, marked.text
        assert await rt.toolbox.catalog.recently_bought(None, session_id, 90) == set()
        assert await rt.toolbox.catalog.recently_bought(None, session_id, 0) == set()  # 0 days: off
    finally:
        await chat.close()
    engine = make_engine(admin_server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        shown = list(db.scalars(select(RecExposure).where(RecExposure.session_id == session_id)))
    engine.dispose()
    assert shown and all(e.ab_test_id is None and e.variant == DEFAULT_VARIANT for e in shown)


def record_purchase(database_url: str, session_id: str, item_id: int) -> None:
    engine = make_engine(database_url)
    with session_factory(engine)() as db:
        db.add(BehaviourEvent(session_id=session_id, item_id=item_id, kind=EventKind.PURCHASE))
        db.commit()
    engine.dispose()
