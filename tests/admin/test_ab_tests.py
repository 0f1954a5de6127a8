"""A/B tests an admin runs over the API: variants with shares and serving settings, sticky per shopper,
figures per variant with 95 % intervals, stopped with a winner that becomes the default; `ab-report` agrees.

Old main: two hard-coded variants, command line only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.admin.ab_tests import DEFAULT_VARIANT
from recommender.ab import NOT_SIGNIFICANT, assign_variant
from tests.admin.conftest import ADMIN, add_accounts, build_indexes, copy_store, login, runtime_of
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, shop_settings

RECOMMEND = "can you recommend something for my desk?"
SPEC = {"name": "diversity on desk suggestions", "variants": [
    {"name": "plain", "share": 0.5, "settings": {"diversity": 0.0}},
    {"name": "diverse", "share": 0.5, "settings": {"diversity": 0.6, "candidate_pool": 80,
                                                   "fusion_preset": "more_text"}}]}


@pytest.fixture(scope="module")
def ab_server(shop_state, tmp_path_factory) -> Iterator[LiveServer]:
    """A server of its own: a stopped test's winner changes the default settings of every later suggestion."""
    state = tmp_path_factory.mktemp("ab_state")
    copy_store(shop_state, state)
    settings = shop_settings(state, intent_model_dir=shop_state / "intent_model")
    add_accounts(settings)
    build_indexes(settings)
    server = LiveServer(settings).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ab_api(ab_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ab_server.url, headers={"Authorization": f"Bearer {login(ab_server, ADMIN)}"},
                      timeout=60) as client:
        yield client


def test_a_test_definition_that_cannot_run_is_refused_with_its_reason(ab_api):
    def refused(spec: dict) -> str:
        response = ab_api.post("/api/admin/ab-tests", json=spec)
        assert response.status_code == 422, response.text
        return response.text

    one = SPEC["variants"][0]
    assert "add up to 1" in refused({**SPEC, "variants": [one, {**one, "name": "other", "share": 0.3}]})
    assert "differ" in refused({**SPEC, "variants": [one, one]})
    assert "colour" in refused({**SPEC, "variants": [one, {**one, "name": "x", "settings": {"colour": 1}}]})
    assert "diversity" in refused({**SPEC, "variants": [one, {**one, "name": "x", "settings": {"diversity": 2}}]})
    assert ab_api.get("/api/admin/ab-tests").json()["tests"] == []


async def test_an_admin_runs_a_test_and_its_winner_becomes_the_default(ab_server, ab_api):
    rt = runtime_of(ab_server)
    started = ab_api.post("/api/admin/ab-tests", json=SPEC)
    assert started.status_code == 201, started.text
    test_id = started.json()["id"]
    assert ab_api.post("/api/admin/ab-tests", json=SPEC).status_code == 409  # one test at a time

    # sticky per shopper: every suggestion in a session is served (and counted) under its one variant
    chat = await ChatClient.open(ab_server.ws_url, await start_session(ab_server.url))
    try:
        _, first = await chat.say(RECOMMEND)
        _, again = await chat.say(RECOMMEND)
        assert first["items"] and again["items"]
        clicked = first["items"][0]["item_id"]
        await chat.send({"type": "event", "kind": "click", "item_id": clicked})
        await chat.recv_type("event_ack")
    finally:
        await chat.close()
    session_id = chat.session["session_id"]
    variant = assign_variant(session_id, [("plain", 0.5), ("diverse", 0.5)], experiment=f"ab{test_id}")
    assignment = await rt.toolbox.ab_tests.assignment(session_id)
    assert (assignment.test_id, assignment.variant) == (test_id, variant)
    assert assignment.settings.diversity == (0.6 if variant == "diverse" else 0.0)

    view = ab_api.get(f"/api/admin/ab-tests/{test_id}").json()
    rows = {row["variant"]: row for row in view["report"]}
    assert list(rows) == ["plain", "diverse"]  # the control first, even before it has exposures
    shown = rows[variant]
    assert shown["sessions"] == 1 and shown["exposures"] >= len(first["items"])
    assert shown["click_through"]["successes"] == 1
    ctr = shown["click_through"]
    assert ctr["low"] <= ctr["value"] <= ctr["high"]
    other = rows["diverse" if variant == "plain" else "plain"]
    assert other["exposures"] == 0
    if variant == "diverse":
        assert shown["click_through"]["verdict"] == NOT_SIGNIFICANT

    report = subprocess.run([str(Path(sys.executable).parent / "shopassist"), "ab-report", "--test", str(test_id)],
                            capture_output=True, text=True, check=True, timeout=120,
                            env={**os.environ, "SHOPASSIST_STATE_DIR": str(ab_server.settings.state_dir)}).stdout
    line = next(text for text in report.splitlines() if text.startswith(f"variant {variant}:"))
    assert f"exposures={shown['exposures']}" in line
    assert f"click_through={ctr['value']:.4f} [{ctr['low']:.4f}, {ctr['high']:.4f}]" in line

    stopped = ab_api.post(f"/api/admin/ab-tests/{test_id}/stop", json={"winner": "diverse"})
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped", stopped.text
    assert ab_api.post(f"/api/admin/ab-tests/{test_id}/stop", json={"winner": "diverse"}).status_code == 409
    default = ab_api.get("/api/admin/ab-tests").json()["default_settings"]
    assert (default["diversity"], default["candidate_pool"], default["fusion_preset"]) == (0.6, 80, "more_text")
    after = await rt.toolbox.ab_tests.assignment(session_id)
    assert (after.test_id, after.variant, after.settings.diversity) == (None, DEFAULT_VARIANT, 0.6)


@pytest.mark.browser
def test_an_admin_defines_runs_and_stops_a_test_in_the_admin_page(browser, ab_server, ab_api):
    second = "#ab-variant-rows tr:nth-child(2)"
    result = browser([
        {"do": "goto", "url": ab_server.url + "/admin/"},
        {"do": "fill", "selector": "#login-email", "value": ADMIN["email"]},
        {"do": "fill", "selector": "#login-password", "value": ADMIN["password"]},
        {"do": "click", "selector": "#login-submit"},
        {"do": "wait", "selector": ".faq-row"},
        {"do": "click", "selector": '#tabs [data-tab="ab"]'},
        {"do": "wait", "selector": "#ab-variant-rows tr"},
        {"do": "fill", "selector": "#ab-name", "value": "page test"},
        {"do": "fill", "selector": f"{second} .ab-share", "value": "30"},
        {"do": "click", "selector": "#ab-start"},
        {"do": "wait_text", "selector": "#ab-status", "text": "add up to 1"},
        {"do": "fill", "selector": f"{second} .ab-share", "value": "50"},
        {"do": "fill", "selector": f'{second} [data-setting="candidate_pool"]', "value": "70"},
        {"do": "click", "selector": "#ab-start"},
        {"do": "wait_text", "selector": "#ab-status", "text": "started"},
        {"do": "wait", "selector": "#ab-running .ab-report tbody tr"},
        {"do": "texts", "selector": "#ab-running .ab-report tbody th", "as": "variants"},
        {"do": "texts", "selector": "#ab-running .ab-report tbody .verdict", "as": "verdicts"},
        {"do": "eval", "expression": "document.getElementById('ab-winner').value = 'B'", "as": "picked"},
        {"do": "click", "selector": "#ab-stop"},
        {"do": "wait_text", "selector": "#ab-status", "text": "B is now the default"},
        {"do": "wait_text", "selector": "#ab-default", "text": "candidate pool 70"},
    ])
    assert result["ok"], result["error"]
    assert result["page_errors"] == []
    assert result["values"]["variants"] == ["A", "B"]
    # A is the control; B's three rates, with no exposures yet, are not significant
    assert result["values"]["verdicts"] == ["control"] * 3 + [NOT_SIGNIFICANT] * 3
    latest = ab_api.get("/api/admin/ab-tests").json()
    assert latest["tests"][0]["winner"] == "B" and latest["default_settings"]["diversity"] == 0.3
    assert latest["default_settings"]["candidate_pool"] == 70
