"""The dashboard's figures follow real traffic (GET /api/admin/stats), and /metrics exports the same ones."""

from __future__ import annotations

import re

import httpx

from tests.chat.client import ChatClient, start_session

OFF_TOPIC = "what is the capital of mongolia?"


async def chat_once(server, text: str, view_first_card: bool = False) -> dict:
    chat = await ChatClient.open(server.ws_url, await start_session(server.url))
    try:
        _, reply = await chat.say(text)
        if view_first_card and reply["items"]:
            await chat.send({"type": "event", "kind": "view", "item_id": reply["items"][0]["item_id"]})
            assert (await chat.recv_type("event_ack", "error"))["type"] == "event_ack"
        return reply
    finally:
        await chat.close()


def shopper_messages(stats: dict) -> int:
    return sum(hour["shopper"] for hour in stats["messages_per_hour"])


async def test_figures_follow_the_traffic_and_are_exported_for_prometheus(admin_api, admin_server):
    before = admin_api.get("/api/admin/stats").json()
    await chat_once(admin_server, "what is your return policy?")
    handed = await chat_once(admin_server, "I want to talk to a human agent please")
    await chat_once(admin_server, OFF_TOPIC)
    cards = await chat_once(admin_server, "do you have a black stapler?", view_first_card=True)
    after = admin_api.get("/api/admin/stats").json()

    assert handed["handoff"] is True and cards["items"]
    assert after["sessions"] >= before["sessions"] + 4
    assert shopper_messages(after) >= shopper_messages(before) + 4
    assert after["intents"].get("check_refund_policy", 0) > before["intents"].get("check_refund_policy", 0)
    assert 0 < after["handoff_rate"] < 1 and abs(after["handoff_rate"] + after["containment"] - 1) < 1e-9
    assert 0 < after["latency_ms"]["p50"] <= after["latency_ms"]["p95"]
    recs_before, recs_after = before["recommendations"], after["recommendations"]
    assert recs_after["exposures"] >= recs_before["exposures"] + 1
    assert recs_after["clicked"] == recs_before["clicked"] + 1
    assert any(turn["question"] == OFF_TOPIC for turn in after["review"])
    assert admin_api.get("/api/admin/stats", params={"hours": 1}).json()["window_hours"] == 1

    exported = httpx.get(f"{admin_server.url}/metrics", timeout=30).text
    gauge = {name: float(value) for name, value in re.findall(r"^(shopassist_[a-z_]+(?:\{[^}]*\})?) (\S+)$",
                                                              exported, re.M)}
    assert gauge["shopassist_window_sessions"] >= after["sessions"]
    assert 0 < gauge["shopassist_handoff_rate"] < 1
    assert abs(gauge["shopassist_handoff_rate"] + gauge["shopassist_containment_rate"] - 1) < 1e-9
    assert gauge['shopassist_answer_latency_seconds{quantile="0.95"}'] > 0
    assert gauge["shopassist_rec_click_through"] > 0
    assert gauge['shopassist_window_intents{intent="check_refund_policy"}'] >= 1
    assert gauge["shopassist_review_messages"] >= 1


async def test_a_stored_purchase_event_is_no_card_click(tmp_path):
    """Purchases come from the order store: a `purchase` event an old socket stored after a card was shown does
    not count as a click on it (it did before; a view does)."""
    from datetime import timedelta

    from sqlalchemy import insert

    from assistant.admin.stats import dashboard_stats
    from assistant.store import models
    from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    engine = make_async_engine(url)
    sessions = async_session_factory(engine)
    shown = models.utcnow() - timedelta(minutes=10)
    async with sessions() as db:
        await db.execute(insert(models.Item), [{"id": i, "title": f"item {i}", "price": 1.0} for i in (1, 2)])
        await db.execute(insert(models.ChatSession), [{"id": "s1"}])
        await db.execute(insert(models.RecExposure), [{"session_id": "s1", "variant": "A", "item_id": i, "at": shown}
                                                      for i in (1, 2)])
        await db.execute(insert(models.BehaviourEvent), [
            {"session_id": "s1", "item_id": 1, "kind": "purchase", "at": shown + timedelta(minutes=1)},
            {"session_id": "s1", "item_id": 2, "kind": "view", "at": shown + timedelta(minutes=1)}])
        await db.commit()
    try:
        recs = (await dashboard_stats(sessions, window_hours=24, review_limit=10))["recommendations"]
    finally:
        await engine.dispose()
    assert recs["exposures"] == 2 and recs["clicked"] == 1
