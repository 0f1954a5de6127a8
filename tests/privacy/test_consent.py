"""The "use my activity for suggestions" switch: off, no behaviour event is stored or learnt, on every worker
(the choice lives on the session row); on, events are stored and feed the live profile.

Exploit first (fails on the old main): every event frame was stored and fed to the profile, with no choice.
"""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from assistant.store.models import BehaviourEvent
from tests.chat.client import ChatClient, start_session


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
