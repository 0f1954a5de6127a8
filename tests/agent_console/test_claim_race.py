"""Claiming is atomic: of 50 agents claiming one waiting session at once exactly one wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import ChatSession
from tests.agent_console.client import add_agents, api, waiting_shopper

CLAIMERS = 50


def stored_session(settings, session_id: str) -> ChatSession:
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return db.scalars(select(ChatSession).where(ChatSession.id == session_id)).one()
    finally:
        engine.dispose()


async def claim(server, account, session_id: str) -> tuple[int, int]:
    async with api(server, account) as http:
        resp = await http.post(f"/api/agent/sessions/{session_id}/claim")
        return resp.status_code, account.agent_id


async def test_fifty_concurrent_claims_have_exactly_one_winner(live_server):
    claimers = add_agents(live_server.settings, CLAIMERS, name="Racer")
    shopper = await waiting_shopper(live_server)
    session_id = shopper.session["session_id"]

    results = await asyncio.gather(*(claim(live_server, a, session_id) for a in claimers))

    winners = [agent_id for status, agent_id in results if status == 200]
    assert len(winners) == 1, results
    assert sorted(status for status, _ in results) == [200] + [409] * (CLAIMERS - 1)
    chat = stored_session(live_server.settings, session_id)
    assert (chat.state, chat.agent_id) == ("with_agent", winners[0])
    status = await shopper.recv_type("status")
    assert status["state"] == "with_agent" and status["agent_name"].startswith("Racer")
    await shopper.close()


async def test_claiming_an_unknown_session_is_404_and_a_bot_session_409(live_server, agents):
    async with api(live_server, agents["alice"]) as http:
        assert (await http.post("/api/agent/sessions/no-such-session/claim")).status_code == 404
        bot_session = (await http.post("/api/sessions", json={})).json()["session_id"]
        assert (await http.post(f"/api/agent/sessions/{bot_session}/claim")).status_code == 409
