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
