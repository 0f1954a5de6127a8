"""The shopper widget in headless Chromium against the real app: real models, SQLite store, Chroma, agents.

Uses ``sqlite_server`` of ``tests/conftest.py`` (the real ``shopassist setup`` on a small catalogue,
served by uvicorn on a free loopback port). What the widget claims to have stored is checked in SQL;
agents are real agent sockets (``tests/agent_console/client.py``); the restart test stops a real server
and starts another on the same port.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from assistant.security import issue_session_token
from assistant.store.database import make_engine, session_factory
from assistant.store.models import BehaviourEvent, ChatSession, Customer, Item, LeftMessage, Message
from tests.agent_console.client import AgentSocket, add_agents, api
from tests.chat.client import customer_sig
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('#shopassist-widget').shadowRoot"
REPLY_MS = 60_000  # the first answer of a fresh server may include model warm-up
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
AGENT_NAME = "<img src=y onerror=alert(1)>Bo"
SESSION_ID = "window.Shopassist.session().session_id"
NO_MARKUP = f"{SHADOW}.querySelectorAll('.sa-log script, .sa-log img, .sa-log b').length"


# ---------------------------------------------------------------- helpers


def open_widget(url: str) -> list[dict]:
    return [{"do": "goto", "url": url}, {"do": "click", "selector": ".sa-launcher"}]


def say(text: str) -> list[dict]:
    return [{"do": "fill", "selector": ".sa-input", "value": text},
            {"do": "press", "selector": ".sa-input", "key": "Enter"}]


def stored_count(n: int, timeout_ms: int = REPLY_MS) -> dict:
    """Wait until ``n`` messages carry a seq (acknowledged or replayed from the store)."""
    return {"do": "wait_count", "selector": ".sa-msg[data-seq]", "count": n, "timeout_ms": timeout_ms}


def value(expression: str, name: str) -> dict:
    return {"do": "eval", "expression": expression, "as": name}


def ok(result: dict) -> dict[str, Any]:
    assert result.get("ok"), result.get("error", result)
    assert result["page_errors"] == [] and result["dialogs"] == [], result
    return result["values"]


def query(server: LiveServer, statement) -> list:
    engine = make_engine(server.settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return list(db.execute(statement).all())
    finally:
        engine.dispose()


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while not done(got := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def shopper_texts(server: LiveServer, session_id: str) -> list[str]:
    return [r.text for r in query(server, select(Message.text).where(
        Message.session_id == session_id, Message.author == "shopper").order_by(Message.seq))]


def wait_until_no_agent_online(server: LiveServer) -> None:
    presence = server.app.state.runtime.presence
    assert eventually(lambda: presence.consoles, lambda o: not o) == {}, "an agent socket of another test is open"


@contextmanager
def static_site(html: str) -> Iterator[str]:
    """Another shop's page on its own loopback origin (http.server in a thread); yields its URL."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def agent(sqlite_server):
    """A real agent whose display name is markup (it must reach the widget as text)."""
    account, = add_agents(sqlite_server.settings, 1, name=AGENT_NAME)
    return account


# ---------------------------------------------------------------- the demo page


def test_a_product_question_gets_item_cards_whose_view_and_add_to_cart_are_stored(browser, sqlite_server):
    values = ok(browser(open_widget(sqlite_server.url + "/") + say("do you have a black stapler?") + [
        {"do": "wait", "selector": ".sa-card", "timeout_ms": REPLY_MS},
        {"do": "texts", "selector": ".sa-from-shopper[data-seq] .sa-bubble", "as": "mine"},
        {"do": "texts", "selector": ".sa-from-bot[data-seq] .sa-author", "as": "authors"},
        {"do": "texts", "selector": ".sa-card-title", "as": "titles"},
        {"do": "texts", "selector": ".sa-card-price", "as": "prices"},
        value(f"Number({SHADOW}.querySelector('.sa-card').dataset.itemId)", "item_id"),
        {"do": "click", "selector": ".sa-card-view"},
        {"do": "click", "selector": ".sa-card-add"},
        {"do": "wait", "selector": ".sa-added"},
        value("document.getElementById('cart-count').textContent", "cart"),
        value(f"{SHADOW}.querySelector('.sa-typing').hidden", "typing_hidden"),
        value(SESSION_ID, "session_id"),
    ]))
    assert values["mine"] == ["do you have a black stapler?"]
    assert values["authors"] == ["Assistant"]
    assert values["titles"] and all(t.strip() for t in values["titles"])
    assert all(re.fullmatch(r"\$\d[\d,]*\.\d\d", p) for p in values["prices"])
    assert values["cart"] == "1" and values["typing_hidden"] is True
    events = eventually(
        lambda: query(sqlite_server, select(BehaviourEvent.kind, BehaviourEvent.item_id)
                      .where(BehaviourEvent.session_id == values["session_id"]).order_by(BehaviourEvent.id)),
        lambda rows: len(rows) >= 2)
    assert [tuple(e) for e in events] == [("view", values["item_id"]), ("add_to_cart", values["item_id"])]


def test_signing_in_as_a_demo_customer_starts_a_session_for_them(browser, demo_server):
    """The demo page's sign-in (unsigned) works in demo mode, what `make run` serves."""
    values = ok(browser([
        {"do": "goto", "url": demo_server.url + "/"},
        {"do": "wait", "selector": "#demo-customer:not([disabled])"},
        value("document.getElementById('demo-customer').value", "customer_id"),
        {"do": "click", "selector": "#sign-in"},
        {"do": "wait_text", "selector": ".sa-status", "text": "Online · "},
        {"do": "texts", "selector": ".sa-status", "as": "status"},
        {"do": "texts", "selector": "#who", "as": "who"},
        value(SESSION_ID, "session_id"),
    ]))
    (name,), = query(demo_server, select(Customer.name).where(Customer.id == values["customer_id"]))
    assert values["who"] == [f"Signed in as {name}"]
    assert values["status"] == [f"Online · {name}"]
    (owner,), = query(demo_server, select(ChatSession.customer_id).where(ChatSession.id == values["session_id"]))
    assert owner == values["customer_id"]


def test_one_script_tag_embeds_a_styled_working_widget_on_another_origin(browser, sqlite_server):
    real = sqlite_server.url
    page = ("<!doctype html><html><head><title>Another shop</title></head><body><h1>Another shop</h1>"
            f'<script src="{real}/widget/widget.js" data-server="{real}" data-title="Help desk" data-open="true">'
            "</script></body></html>")
    with static_site(page) as other:
        values = ok(browser([
            {"do": "goto", "url": other + "/"},
            {"do": "wait", "selector": ".sa-panel"},  # data-open="true"
            {"do": "texts", "selector": ".sa-title", "as": "title"},
            value(f"getComputedStyle({SHADOW}.querySelector('.sa-panel')).position", "panel_position"),
            value("getComputedStyle(document.querySelector('h1')).fontFamily", "host_font"),
            *say("do you have a black stapler?"),  # POST /api/sessions from another origin: CORS
            {"do": "wait", "selector": ".sa-card", "timeout_ms": REPLY_MS},
            value("location.origin", "origin"),
            value("Object.keys(sessionStorage)", "keys"),
            value("Object.keys(localStorage)", "local_keys"),
        ]))
    assert values["origin"] == other != real
    assert values["title"] == ["Help desk"]
    assert values["panel_position"] == "relative"  # widget.css reached the shadow root
    assert "system-ui" not in values["host_font"]  # and did not leak into the host page
    assert values["keys"] == [f"shopassist.v1:{real}"]
    assert values["local_keys"] == []  # the token stays out of the host page's lasting storage


def test_a_shop_signs_its_customer_in_with_the_script_tag_attributes(browser, sqlite_server):
    """data-customer-id and data-customer-sig (the shop backend's HMAC) open a session as that customer;
    a wrong signature leaves the shopper a guest."""
    real = sqlite_server.url
    (customer_id, name), = query(sqlite_server, select(Customer.id, Customer.name).order_by(Customer.id).limit(1))

    def page(sig: str) -> str:
        return ("<!doctype html><html><body><h1>Another shop</h1>"
                f'<script src="{real}/widget/widget.js" data-server="{real}" data-open="true" '
                f'data-customer-id="{customer_id}" data-customer-sig="{sig}"></script></body></html>')

    for sig, owner in ((customer_sig(customer_id), customer_id), ("0" * 64, None)):
        with static_site(page(sig)) as other:
            values = ok(browser([
                {"do": "goto", "url": other + "/"},
                *say("hello"),
                stored_count(2),
                value(SESSION_ID, "session_id"),
            ]))
        (stored_owner,), = query(sqlite_server, select(ChatSession.customer_id).where(
            ChatSession.id == values["session_id"]))
        assert stored_owner == owner, sig


# ---------------------------------------------------------------- stored sessions and reconnects


@pytest.mark.parametrize("refusal", ["bad_token_4401", "unknown_session_4404"])
def test_a_refused_stored_session_is_replaced_by_a_new_one(browser, sqlite_server, refusal):
    gone = f"gone-{uuid.uuid4().hex[:8]}"
    token = "bad" if refusal.startswith("bad_token") else issue_session_token(sqlite_server.settings.secret_key,
                                                                              gone, ttl_s=600)
    stale = json.dumps({"session": {"session_id": gone, "token": token}, "pending": []})
    values = ok(browser([
        {"do": "goto", "url": sqlite_server.url + "/"},
        value(f"sessionStorage.setItem({json.dumps('shopassist.v1:' + sqlite_server.url)}, {json.dumps(stale)})",
              "_"),
        {"do": "reload"},
        {"do": "click", "selector": ".sa-launcher"},
        *say("hello"),
        stored_count(2),
        {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
        value(SESSION_ID, "session_id"),
    ]))
    assert values["mine"] == ["hello"]
    assert values["session_id"] != gone
    assert shopper_texts(sqlite_server, values["session_id"]) == ["hello"]


def test_a_message_typed_while_the_server_is_down_is_sent_once_after_it_restarts(browser, sqlite_server):
    first, offline = "how long does shipping take?", "do you have a black stapler?"
    server = LiveServer(sqlite_server.settings).start()  # same SQLite store; this one is restarted
    steps = open_widget(server.url + "/") + say(first) + [
        stored_count(2),
        {"do": "wait_text", "selector": ".sa-status", "text": "Reconnecting", "timeout_ms": REPLY_MS},
        *say(offline),
        {"do": "count", "selector": ".sa-pending", "as": "pending_while_down"},
        {"do": "wait_count", "selector": ".sa-from-shopper[data-seq]", "count": 2, "timeout_ms": 90_000},
        {"do": "sleep", "ms": 500},
        {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
        {"do": "count", "selector": ".sa-pending", "as": "pending"},
        value("JSON.parse(Object.entries(sessionStorage).find(([k]) => k.startsWith('shopassist'))[1])"
              ".pending.length", "stored_pending"),
        value(SESSION_ID, "session_id"),
    ]
    (last_id,), = query(server, select(func.coalesce(func.max(Message.id), 0)))
    outcome: dict[str, Any] = {}
    run = threading.Thread(target=lambda: outcome.update(browser(steps, overall_timeout_s=240)))
    run.start()
    try:
        answered = eventually(lambda: query(server, select(Message.id).where(
            Message.id > last_id, Message.author == "bot")), bool, timeout_s=90)
        assert answered, "the first message was never answered"
        server.stop()
        server = LiveServer(server.settings, port=server.port).start()
        run.join(timeout=240)
    finally:
        server.stop()
    values = ok(outcome)
    assert values["pending_while_down"] == 1  # it really was unacknowledged while the server was down
    assert values["mine"] == [first, offline]
    assert values["pending"] == 0 and values["stored_pending"] == 0
    assert shopper_texts(server, values["session_id"]) == [first, offline]


# ---------------------------------------------------------------- handoff to a person


def test_with_no_agent_online_the_shopper_can_leave_a_message(browser, sqlite_server):
    wait_until_no_agent_online(sqlite_server)
    values = ok(browser(open_widget(sqlite_server.url + "/") + [
        {"do": "wait", "selector": '.sa-status[data-connection="online"]', "timeout_ms": REPLY_MS},
        {"do": "click", "selector": ".sa-human"},
        {"do": "fill", "selector": ".sa-leave textarea", "value": "Please call me about order 12"},
        {"do": "fill", "selector": ".sa-leave input", "value": "me@example.com"},
        {"do": "click", "selector": ".sa-leave button"},
        {"do": "wait", "selector": ".sa-thanks"},
        value(SESSION_ID, "session_id"),
    ]))
    left = eventually(lambda: query(sqlite_server, select(LeftMessage.text, LeftMessage.contact)
                                    .where(LeftMessage.session_id == values["session_id"])), bool)
    assert [tuple(r) for r in left] == [("Please call me about order 12", "me@example.com")]


async def test_a_reload_resumes_the_conversation_and_the_queue_notice_shows_once(browser, sqlite_server, agent):
    question = "how long does shipping take?"
    steps = open_widget(sqlite_server.url + "/") + say(question) + [
        stored_count(2),
        {"do": "click", "selector": ".sa-human"},
        {"do": "wait", "selector": ".sa-notice-waiting", "timeout_ms": REPLY_MS},
        stored_count(3),  # "You asked to talk to a person."
        {"do": "texts", "selector": ".sa-msg[data-seq] .sa-bubble", "as": "before"},
        value(SESSION_ID, "session_before"),
        {"do": "reload"},
        {"do": "click", "selector": ".sa-launcher"},
        stored_count(3),
        {"do": "wait", "selector": ".sa-notice-waiting", "timeout_ms": REPLY_MS},
        {"do": "sleep", "ms": 300},
        {"do": "texts", "selector": ".sa-msg[data-seq] .sa-bubble", "as": "after"},
        {"do": "texts", "selector": ".sa-notice-waiting", "as": "notices"},
        {"do": "texts", "selector": ".sa-status", "as": "status"},
        value(f"{SHADOW}.querySelector('.sa-human').disabled", "human_disabled"),
        value(SESSION_ID, "session_after"),
    ]
    online = await AgentSocket.open(sqlite_server, agent)  # someone is online: the widget shows the queue
    try:
        values = ok(await asyncio.to_thread(browser, steps, overall_timeout_s=180))
    finally:
        await online.close()
    assert values["after"] == values["before"] and values["before"][0] == question
    assert values["session_after"] == values["session_before"]
    (notice,) = values["notices"]
    assert re.fullmatch(r"A person will be with you shortly — you are number \d+ in the queue\.", notice)
    assert values["status"] == ["Waiting for a person"] and values["human_disabled"] is True
    assert shopper_texts(sqlite_server, values["session_after"]) == [question]


async def test_markup_from_the_shopper_and_an_agent_is_shown_as_text(browser, sqlite_server, agent):
    agent_text = "<b>bold</b> <img src=z onerror=\"window.__xss=3\"> here to help"
    steps = open_widget(sqlite_server.url + "/") + [
        {"do": "wait", "selector": '.sa-status[data-connection="online"]', "timeout_ms": REPLY_MS},
        {"do": "click", "selector": ".sa-human"},
        *say(XSS),  # the bot stays silent while the chat waits for a person
        stored_count(2),  # "You asked to talk to a person." and the shopper's message
        {"do": "wait", "selector": ".sa-from-agent .sa-card", "timeout_ms": 90_000},
        {"do": "wait_text", "selector": ".sa-from-agent .sa-bubble", "text": "here to help"},
        {"do": "sleep", "ms": 300},
        {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
        {"do": "texts", "selector": ".sa-from-agent .sa-author", "as": "agent_names"},
        {"do": "texts", "selector": ".sa-from-agent .sa-bubble", "as": "agent_texts"},
        {"do": "texts", "selector": ".sa-from-agent .sa-card-reason", "as": "card_reasons"},
        {"do": "texts", "selector": ".sa-notice-agent", "as": "notice"},
        value(NO_MARKUP, "elements"),
        value("window.__xss === undefined", "no_script_ran"),
    ]
    sock = await AgentSocket.open(sqlite_server, agent)
    try:
        before = {s["session_id"] for s in (await sock.recv_type("queue"))["waiting"]}
        shopper = asyncio.create_task(asyncio.to_thread(browser, steps, overall_timeout_s=240))
        session_id = await _next_waiting(sock, before)
        (item_id,), = query(sqlite_server, select(Item.id).order_by(Item.id).limit(1))
        async with api(sqlite_server, agent) as http:
            assert (await http.post(f"/api/agent/sessions/{session_id}/claim")).status_code == 200
            await sock.send({"type": "message", "session_id": session_id, "text": agent_text,
                             "client_msg_id": "a1"})
            await sock.recv_type("ack", session_id=session_id)
            assert (await http.post(f"/api/agent/sessions/{session_id}/cards",
                                    json={"item_id": item_id})).status_code == 201
        values = ok(await shopper)
    finally:
        await sock.close()
    assert values["mine"] == [XSS]
    assert set(values["agent_names"]) == {AGENT_NAME}
    assert agent_text in values["agent_texts"]
    assert values["card_reasons"] == [f"picked by {AGENT_NAME}"]
    assert values["notice"] == [f"You are now chatting with {AGENT_NAME}."]
    assert values["elements"] == 0 and values["no_script_ran"] is True


async def _next_waiting(sock: AgentSocket, before: set[str], timeout_s: float = 120) -> str:
    """The first session to join the queue after ``before`` was seen (the widget's)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame = await sock.recv_type("queue", timeout=timeout_s)
        fresh = {s["session_id"] for s in frame["waiting"]} - before
        if fresh:
            return fresh.pop()
    raise AssertionError("the widget's chat never reached the queue")


def test_a_sign_in_while_the_guest_session_is_being_made_keeps_the_signed_in_session(browser, sqlite_server):
    """The shop signs its shopper in just as the widget opens: the guest session asked for first, answered
    last, must not replace the signed-in one.

    Failed on the old widget (deterministically here, about one run in three without the delay): it took
    whichever session request answered last, so the shopper was greeted by name and then told to sign in
    to see their orders (tests/browser/test_browser_dialogue.py's quick-reply test flaked on it)."""
    with make_engine(sqlite_server.settings.resolved_database_url).connect() as db:
        customer = db.execute(select(Customer.id).order_by(Customer.id)).scalar()
    delay_first_session = """
        const original = window.fetch;
        let delayed = false;
        window.fetch = async (url, options) => {
          const first = !delayed && String(url).endsWith('/api/sessions') && options && options.method === 'POST';
          if (!first) return original(url, options);
          delayed = true;
          const answer = await original(url, options);
          await new Promise((ok) => setTimeout(ok, 1500));
          return answer;
        };
        true"""
    values = ok(browser([
        {"do": "goto", "url": sqlite_server.url + "/"},
        {"do": "eval", "expression": delay_first_session, "as": "_patched"},
        {"do": "click", "selector": ".sa-launcher"},  # asks for a guest session (answered 1.5 s late)
        {"do": "eval", "expression": f"window.Shopassist.signIn({customer!r}, {customer_sig(customer)!r})",
         "as": "_signed"},
        {"do": "sleep", "ms": 2500},
        {"do": "eval", "expression": "window.Shopassist.session()", "as": "session"},
    ]))
    assert values["session"]["customer_id"] == customer, values["session"]
