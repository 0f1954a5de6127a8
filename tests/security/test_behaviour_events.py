"""Behaviour events from the socket: only view, click and add_to_cart, only for items on sale; bounded profiles.

These failed on main before (issue 11, item 7): any anonymous socket could send `purchase` events, for
any item id that existed, and each was stored and trained the recommender; the in-memory profile map
grew by one entry per session without bound.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from assistant.store.models import BehaviourEvent, Item
from recommender.profiles import ProfileStore
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer


def events_of(db, session_id: str) -> list[tuple[int, str]]:
    db.expire_all()
    rows = db.scalars(select(BehaviourEvent).where(BehaviourEvent.session_id == session_id))
    return [(e.item_id, e.kind) for e in rows]


async def test_a_purchase_event_from_the_socket_is_refused_and_not_stored(live_server, db):
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    item_id = db.scalar(select(Item.id).where(Item.active).order_by(Item.id).limit(1))
    await chat.send({"type": "event", "kind": "purchase", "item_id": item_id})
    error = await chat.recv_type("error")
    assert error["code"] == "bad_frame" and "kind" in error["detail"]
    await chat.send({"type": "event", "kind": "add_to_cart", "item_id": item_id})
    assert (await chat.recv_type("event_ack"))["kind"] == "add_to_cart"
    assert events_of(db, chat.session["session_id"]) == [(item_id, "add_to_cart")]
    await chat.close()


async def test_an_event_for_an_item_withdrawn_from_sale_is_refused(live_server, db):
    withdrawn = db.scalar(select(Item.id).order_by(Item.id.desc()).limit(1))
    db.execute(update(Item).where(Item.id == withdrawn).values(active=False))
    db.commit()
    try:
        chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
        for kind in ("view", "click", "add_to_cart"):
            await chat.send({"type": "event", "kind": kind, "item_id": withdrawn})
            assert (await chat.recv_type("error"))["code"] == "unknown_item"
        assert events_of(db, chat.session["session_id"]) == []
        await chat.close()
    finally:
        db.execute(update(Item).where(Item.id == withdrawn).values(active=True))
        db.commit()
    assert db.scalar(select(func.count()).select_from(Item).where(Item.id == withdrawn, Item.active)) == 1


async def test_an_event_for_an_item_that_does_not_exist_is_refused(live_server, db):
    """Ids never on sale, or outside the store's 32-bit column, are refused and store nothing (the
    "unknown items" of issue 11; a regression test, not checked against the old main)."""
    missing = db.scalar(select(func.max(Item.id))) + 1000
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    for item_id, code in ((missing, "unknown_item"), (2**31 - 1, "unknown_item"), (2**31, "bad_frame"),
                          (-1, "bad_frame"), (None, "bad_frame"), ("x", "bad_frame")):
        await chat.send({"type": "event", "kind": "view", "item_id": item_id})
        answer = await chat.recv_type("error", "event_ack")
        assert answer.get("code") == code, (item_id, answer)
    assert events_of(db, chat.session["session_id"]) == []
    await chat.close()


def test_profiles_are_bounded_and_forget_the_least_recently_active():
    profiles = ProfileStore({"view": 0.5}, max_events=10, max_profiles=3)
    for key in ("a", "b", "c"):
        profiles.observe(key, 1, "view")
    profiles.observe("a", 2, "view")  # "a" is active again: "b" is now the oldest
    profiles.observe("d", 1, "view")
    assert len(profiles) == 3 and profiles.events("b") == [] and profiles.events("a") == [(1, 0.5), (2, 0.5)]
    for n in range(1000):
        profiles.observe(f"flood-{n}", 1, "view")
    assert len(profiles) == 3


async def test_the_servers_profiles_stay_within_recs_max_profiles(sqlite_server, tmp_path):
    """The bound reaches the running server: sessions past `recs_max_profiles` push the least recently
    active profiles out. Old main: one more profile per session, for ever."""
    server = LiveServer(sqlite_server.settings.model_copy(update={"recs_max_profiles": 3})).start()
    try:
        item_id = await first_item_on_sale(server)
        keys = []
        for _ in range(6):
            session = await start_session(server.url)
            chat = await ChatClient.open(server.ws_url, session)
            await chat.send({"type": "event", "kind": "view", "item_id": item_id})
            assert (await chat.recv_type("event_ack"))["recorded"]
            await chat.close()
            keys.append(session["session_id"])
        profiles = server.app.state.runtime.recommender.current.profiles
        assert len(profiles) == 3
        assert [bool(profiles.events(k)) for k in keys] == [False] * 3 + [True] * 3
    finally:
        server.stop()


async def first_item_on_sale(server) -> int:
    from assistant.store.database import make_engine, session_factory

    engine = make_engine(server.settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return db.scalar(select(Item.id).where(Item.active).order_by(Item.id).limit(1))
    finally:
        engine.dispose()
