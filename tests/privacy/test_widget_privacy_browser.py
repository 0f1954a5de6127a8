"""The widget's privacy controls in headless Chromium against the real app: the "use my activity for
suggestions" switch reaches the session row and survives a reload; "Delete conversation" erases the stored
conversation and starts a fresh one that keeps the choice.

Exploit first (fails on the old main): the widget had neither control.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import ChatSession, Message
from tests.privacy.scan import sql_cells_containing

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('#shopassist-widget').shadowRoot"
CHECKED = f"{SHADOW}.querySelector('.sa-activity').checked"
TOKEN = "JSON.parse(sessionStorage.getItem('shopassist.v1:' + window.Shopassist.server)).session.token"
SESSION_ID = "window.Shopassist.session().session_id"
CONSENT_SAVED = f"""(async () => {{
  for (let i = 0; i < 600; i += 1) {{
    const r = await fetch('/api/sessions/' + {SESSION_ID} + '/consent',
                          {{headers: {{Authorization: 'Bearer ' + {TOKEN}}}}});
    if (r.ok && (await r.json()).activity === false) return true;
    await new Promise((done) => setTimeout(done, 50));
  }}
  return false;
}})()"""


@pytest.fixture(scope="module")
def browser():
    from tests.browser.browser_driver import ensure_browser_tools, run_scenario

    ensure_browser_tools()
    return run_scenario


def test_consent_switch_and_delete_button(sqlite_server, browser):
    phrase = f"remember my desk size {uuid.uuid4().hex[:8]}"
    steps = [
        {"do": "goto", "url": sqlite_server.url + "/"},
        {"do": "click", "selector": ".sa-launcher"},
        {"do": "fill", "selector": ".sa-input", "value": phrase},
        {"do": "press", "selector": ".sa-input", "key": "Enter"},
        {"do": "wait_count", "selector": ".sa-msg[data-seq]", "count": 2, "timeout_ms": 60_000},
        {"do": "eval", "expression": SESSION_ID, "as": "first_session"},
        {"do": "eval", "expression": CHECKED, "as": "checked_at_start"},
        {"do": "click", "selector": ".sa-activity"},
        {"do": "eval", "expression": CONSENT_SAVED, "as": "consent_saved"},
        {"do": "reload"},
        {"do": "click", "selector": ".sa-launcher"},
        {"do": "wait", "selector": ".sa-delete"},
        {"do": "eval", "expression": CHECKED, "as": "checked_after_reload"},
        {"do": "click", "selector": ".sa-delete"},
        {"do": "wait_text", "selector": ".sa-delete", "text": "Click again"},
        {"do": "click", "selector": ".sa-delete"},
        {"do": "wait_text", "selector": ".sa-toast", "text": "deleted"},
        {"do": "eval", "expression": SESSION_ID, "as": "second_session"},
        {"do": "eval", "expression": CHECKED, "as": "checked_in_new_session"},
        {"do": "count", "selector": ".sa-msg[data-seq]", "as": "messages_shown"},
    ]
    result = browser(steps, timeout_ms=30_000)
    assert result["ok"], result
    got = result["values"]
    assert got["checked_at_start"] is sqlite_server.settings.activity_consent_default
    assert got["consent_saved"] is True and got["checked_after_reload"] is False
    assert got["second_session"] != got["first_session"] and got["messages_shown"] == 0
    assert got["checked_in_new_session"] is False
    engine = make_engine(sqlite_server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        first = db.get(ChatSession, got["first_session"])
        assert first.customer_id is None and first.state == "closed"
        assert db.scalar(select(func.count()).select_from(Message)
                         .where(Message.session_id == got["first_session"])) == 0
        assert db.get(ChatSession, got["second_session"]).activity_consent is False
    engine.dispose()
    assert sql_cells_containing(sqlite_server.settings, [phrase]) == []


async def test_the_admin_page_shows_who_read_a_transcript(sqlite_server, browser):
    from tests.agent_console.client import PASSWORD, add_agents
    from tests.chat.client import ChatClient, start_session

    reader, = add_agents(sqlite_server.settings, 1, name=f"Reader {uuid.uuid4().hex[:6]}")
    admin, = add_agents(sqlite_server.settings, 1, role="admin", name="Page Admin")
    chat = await ChatClient.open(sqlite_server.ws_url, await start_session(sqlite_server.url))
    await chat.say("hello")
    await chat.close()
    sid = chat.session["session_id"]
    async with httpx.AsyncClient(base_url=sqlite_server.url, headers=reader.headers, timeout=30) as http:
        (await http.get(f"/api/agent/sessions/{sid}/transcript")).raise_for_status()
    result = browser([
        {"do": "goto", "url": sqlite_server.url + "/admin/"},
        {"do": "fill", "selector": "#login-email", "value": admin.email},
        {"do": "fill", "selector": "#login-password", "value": PASSWORD},
        {"do": "click", "selector": "#login-submit"},
        {"do": "click", "selector": "#tabs [data-tab=privacy]"},
        {"do": "fill", "selector": "#audit-subject", "value": sid},
        {"do": "click", "selector": "#audit-refresh"},
        {"do": "wait_text", "selector": "#audit-rows tr", "text": reader.name},
        {"do": "texts", "selector": "#audit-rows tr", "as": "rows"},
    ], timeout_ms=30_000)
    assert result["ok"], result
    rows = result["values"]["rows"]
    assert any(reader.name in row and "read transcript" in row and sid in row for row in rows), rows
