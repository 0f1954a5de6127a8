"""The agent console in headless Chromium against the real app: sign in, claim a waiting chat from the
queue, reply (the reply appears in the shopper's widget, another browser page), reload, hand back to the
bot; user content is shown as text."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.agent_console.client import add_agents, api, console_sign_in
from tests.chat.client import ChatClient, start_session

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
# the console's correction is one choice in a select: pick "complaint" as an agent would
CORRECT_TO_COMPLAINT = ("(() => { const s = document.querySelector('#transcript .correct'); s.value = 'complaint';"
                        " s.dispatchEvent(new Event('change')); return true; })()")
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def console_agent(sqlite_server):
    agent, = add_agents(sqlite_server.settings, 1, name="Carla")
    return agent


def waiting_ids(server, agent) -> set[str]:
    with httpx.Client(base_url=server.url, headers=agent.headers, timeout=30) as http:
        return {s["session_id"] for s in http.get("/api/agent/queue").json()}


def new_waiting_session(server, agent, before: set[str], timeout_s: float = 90) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        fresh = waiting_ids(server, agent) - before
        if fresh:
            return fresh.pop()
        time.sleep(0.2)
    raise AssertionError("the widget's chat never reached the queue")


def sign_in(server, agent, session_id: str) -> list[dict]:
    return [*console_sign_in(server, agent, session_id),
            {"do": "wait", "selector": f'.session-item[data-session-id="{session_id}"]', "timeout_ms": WAIT_MS}]


def test_an_agent_signs_in_claims_and_the_reply_shows_in_the_widget(console_browser, sqlite_server, console_agent):
    answer = f"Hi, this is Carla ({uuid.uuid4().hex[:6]})"
    widget_steps = [
        {"do": "goto", "url": sqlite_server.url + "/"},
        {"do": "click", "selector": ".sa-launcher"},
        {"do": "wait", "selector": '.sa-status[data-connection="online"]', "timeout_ms": WAIT_MS},
        {"do": "click", "selector": ".sa-human"},
        {"do": "wait_text", "selector": ".sa-from-agent .sa-bubble", "text": answer, "timeout_ms": 2 * WAIT_MS},
        {"do": "texts", "selector": ".sa-from-agent .sa-author", "as": "authors"},
        {"do": "wait_text", "selector": ".sa-notice", "text": "back with the assistant", "timeout_ms": WAIT_MS},
    ]
    before = waiting_ids(sqlite_server, console_agent)
    with ThreadPoolExecutor(1) as pool:
        widget = pool.submit(console_browser, widget_steps, overall_timeout_s=240)
        sid = new_waiting_session(sqlite_server, console_agent, before)
        console = console_browser([
            *sign_in(sqlite_server, console_agent, sid),
            {"do": "wait", "selector": "#claim:not([disabled])"},
            {"do": "click", "selector": "#claim"},
            {"do": "wait", "selector": "#reply:not([disabled])"},
            {"do": "fill", "selector": "#reply", "value": answer},
            {"do": "press", "selector": "#reply", "key": "Enter"},
            {"do": "wait", "selector": "#transcript li.msg-agent[data-seq]"},
            {"do": "reload"},
            {"do": "wait_text", "selector": "#transcript li.msg-agent .bubble", "text": answer},
            {"do": "wait", "selector": "#mine .session-item"},  # the queue loads apart from the transcript
            {"do": "texts", "selector": "#mine .session-item", "as": "mine"},
            {"do": "eval", "expression": "document.querySelector('#session-meta').textContent", "as": "meta"},
            {"do": "click", "selector": "#release"},
            {"do": "wait_text", "selector": "#session-meta", "text": "state: bot"},
        ], overall_timeout_s=180)
        shopper = widget.result()
    assert console["ok"], console["error"]
    assert shopper["ok"], shopper["error"]
    assert shopper["values"]["authors"] == ["Carla"]
    assert "with_agent" in console["values"]["meta"] and "Carla" in console["values"]["meta"]
    assert len(console["values"]["mine"]) >= 1
    assert console["page_errors"] == [] and shopper["page_errors"] == []


async def test_markup_from_a_shopper_is_shown_as_text_in_the_console(console_browser, sqlite_server, console_agent):
    chat = await ChatClient.open(sqlite_server.ws_url, await start_session(sqlite_server.url))
    await chat.send({"type": "handoff_request"})
    assert (await chat.recv_type("status"))["state"] == "waiting"
    await chat.send({"type": "message", "text": XSS, "client_msg_id": "xss-1"})
    await chat.recv_type("ack")
    sid = chat.session["session_id"]
    async with api(sqlite_server, console_agent) as http:
        assert (await http.get("/api/agent/queue")).status_code == 200
    result = console_browser([
        *sign_in(sqlite_server, console_agent, sid),
        {"do": "wait_text", "selector": "#transcript .bubble", "text": "<script>"},
        {"do": "texts", "selector": "#transcript li.msg-shopper .bubble", "as": "shown"},
        {"do": "texts", "selector": f'.session-item[data-session-id="{sid}"] .last', "as": "queued"},
        {"do": "eval", "expression": "document.querySelectorAll('main script, main img').length", "as": "elements"},
        {"do": "sleep", "ms": 300},
        {"do": "eval", "expression": "window.__xss === undefined", "as": "no_script_ran"},
        {"do": "eval", "expression": CORRECT_TO_COMPLAINT},
        {"do": "wait_text", "selector": "#transcript .corrected", "text": "corrected to complaint"},
    ], overall_timeout_s=180)
    await chat.close()
    assert result["ok"], result["error"]
    values = result["values"]
    assert XSS in values["shown"]
    assert values["queued"] == [f"shopper: {XSS}"]
    assert values["elements"] == 0
    assert values["no_script_ran"] is True
    assert result["dialogs"] == [] and result["page_errors"] == []
    async with api(sqlite_server, console_agent) as http:
        transcript = (await http.get(f"/api/agent/sessions/{sid}/transcript")).json()
    assert [m["corrected_intent"] for m in transcript["messages"] if m["text"] == XSS] == ["complaint"]
