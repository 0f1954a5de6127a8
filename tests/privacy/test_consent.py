"""The "use my activity for suggestions" switch: off, no behaviour event is stored or learnt, on every worker
(the choice lives on the session row); on, events are stored and feed the live profile.

Exploit first (fails on the old main): every event frame was stored and fed to the profile, with no choice.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from assistant.store.models import BehaviourEvent, Customer, Item, Order, OrderLine, utcnow
from tests.chat.client import ChatClient, customer_sig, start_session
from tests.conftest import LiveServer


def _events(db, session_id: str) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(BehaviourEvent).where(BehaviourEvent.session_id == session_id))


async def _view(chat: ChatClient, item_id: int) -> dict:
    await chat.send({"type": "event", "kind": "view", "item_id": item_id})
    return await chat.recv_type("event_ack", "error")


async def test_with_consent_off_no_event_is_stored_or_learnt(live_server, customer, db):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        session = (await http.post("/api/sessions", json={"activity_consent": False})).json()
    assert session["activity_consent"] is False
    chat = await ChatClient.open(live_server.ws_url, session)
    ack = await _view(chat, customer["item_id"])
    assert ack["type"] == "event_ack" and ack["recorded"] is False
    await chat.say("recommend me something for my desk")
    await chat.close()
    assert _events(db, session["session_id"]) == 0
    rec = live_server.app.state.runtime.recommender.current
    if rec is not None:
        assert rec.profiles.events(session["session_id"]) == []


async def test_turning_consent_off_forgets_the_session_and_stops_recording(live_server, customer, db):
    session = await start_session(live_server.url)
    assert session["activity_consent"] is live_server.settings.activity_consent_default
    sid = session["session_id"]
    own = {"Authorization": f"Bearer {session['token']}"}
    chat = await ChatClient.open(live_server.ws_url, session)
    assert (await _view(chat, customer["item_id"]))["recorded"] is True
    assert _events(db, sid) == 1
    async with httpx.AsyncClient(base_url=live_server.url, headers=own, timeout=30) as http:
        assert (await http.put(f"/api/sessions/{sid}/consent", json={"activity": False})).json() == {"activity": False}
        assert (await http.get(f"/api/sessions/{sid}/consent")).json() == {"activity": False}
        other = await start_session(live_server.url)
        forged = await http.put(f"/api/sessions/{sid}/consent", json={"activity": True},
                                headers={"Authorization": f"Bearer {other['token']}"})
        assert forged.status_code == 403
    assert _events(db, sid) == 0  # withdrawn: the events already stored go too
    assert (await _view(chat, customer["item_id"]))["recorded"] is False
    await chat.close()
    assert _events(db, sid) == 0
    rec = live_server.app.state.runtime.recommender.current
    if rec is not None:
        assert rec.profiles.events(sid) == []


async def test_every_worker_honours_the_choice_made_on_another(live_server, customer, db):
    """Two workers on one store: the shopper switches tracking off through one, their socket is on the other,
    and the other stores nothing from then on (the choice is read from the session row, not a worker's memory).
    A restarted worker is the same case: it has no memory of the choice either."""
    other = LiveServer(live_server.settings).start()
    try:
        session = await start_session(other.url)
        sid = session["session_id"]
        chat = await ChatClient.open(other.ws_url, session)
        assert (await _view(chat, customer["item_id"]))["recorded"] is session["activity_consent"] is True
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {session['token']}"}) as http:
            assert (await http.put(f"/api/sessions/{sid}/consent", json={"activity": False})).status_code == 200
        assert (await _view(chat, customer["item_id"]))["recorded"] is False
        await chat.close()
        assert _events(db, sid) == 0
    finally:
        other.stop()


async def test_without_consent_suggestions_read_only_the_current_message(live_server, staff, db):
    """With tracking off, a customer with a purchase history gets the suggestions an anonymous shopper gets for
    the same words: neither their history nor a live profile counts (the agent console's panel here; the bot
    asks the recommender with the same inputs, `assistant/privacy/consent.py: profile_inputs`)."""
    cid = f"priv-{uuid.uuid4().hex[:10]}"
    long_ago = utcnow() - timedelta(days=400)  # older than any "recently bought" window: nothing is excluded
    items = list(db.scalars(select(Item).order_by(Item.id).limit(5)))
    db.add(Customer(id=cid, name="History Holder", email=f"{cid}@example.org"))
    db.flush()
    db.add_all([Order(customer_id=cid, status="delivered", created_at=long_ago, updated_at=long_ago,
                      lines=[OrderLine(item_id=i.id, quantity=1, unit_price=i.price)]) for i in items])
    db.commit()
    words = "something nice for my desk at the office"
    panels = []
    for customer in (cid, None):
        body = {"activity_consent": False}
        if customer:
            body |= {"customer_id": customer, "customer_sig": customer_sig(customer)}
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
            session = (await http.post("/api/sessions", json=body)).json()
        chat = await ChatClient.open(live_server.ws_url, session)
        await chat.say(words)
        await chat.close()
        async with httpx.AsyncClient(base_url=live_server.url, headers=staff["agent"].headers, timeout=30) as http:
            panel = (await http.get(f"/api/agent/sessions/{session['session_id']}/shopper")).json()
        panels.append([s["item_id"] for s in panel["suggestions"]])
    with_history, anonymous = panels
    assert anonymous and with_history == anonymous


async def test_a_signed_in_shopper_turning_consent_off_loses_their_live_profile(live_server, customer, db):
    """A signed-in shopper's events feed the live profile kept under their customer id, not the session id.

    Exploit first (failed before the fix): switching off forgot the profile under the session id only, so the
    customer's live profile (in memory or Redis) kept the events of the conversation."""
    rec = live_server.app.state.runtime.recommender.current
    assert rec is not None, "the test shop has a recommender"
    session = await start_session(live_server.url, customer["id"])
    chat = await ChatClient.open(live_server.ws_url, session)
    assert (await _view(chat, customer["item_id"]))["recorded"] is True
    await chat.close()
    assert rec.profiles.events(customer["id"])
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {session['token']}"}) as http:
        resp = await http.put(f"/api/sessions/{session['session_id']}/consent", json={"activity": False})
        assert resp.status_code == 200
    assert rec.profiles.events(customer["id"]) == []
    assert _events(db, session["session_id"]) == 0
