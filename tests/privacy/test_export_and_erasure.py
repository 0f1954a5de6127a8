"""A customer's data can be exported as JSON and erased: afterwards no row in any table holds their id or
their messages' text, their live profile is gone, and anonymous counts (sessions, orders) stay.

Exploit first (fails on the old main): GET /api/admin/customers/{id}/export and
DELETE /api/admin/customers/{id}/data answered 404, and nothing could delete a conversation.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid

import httpx
import redis
from sqlalchemy import func, select

from assistant.config import Settings
from assistant.store.database import make_engine, session_factory
from assistant.store.models import AuditEntry, ChatSession, Customer, Order
from tests.agent_console.client import add_agents
from tests.chat.client import ChatClient, start_session
from tests.conftest import _free_port
from tests.privacy.scan import sql_cells_containing

CLI_REDIS_URL = "redis://127.0.0.1:6379/3"


async def _a_customer_conversation(server, customer: dict, staff: dict) -> dict:
    """A chat of the customer with a message, a behaviour event, a left message, a correction and reads."""
    phrase = f"I want a fountain pen like my aunt's {uuid.uuid4().hex[:8]}"
    chat = await ChatClient.open(server.ws_url, await start_session(server.url, customer["id"]))
    await chat.say(phrase)
    await chat.send({"type": "event", "kind": "view", "item_id": customer["item_id"]})
    assert (await chat.recv_type("event_ack"))["recorded"] is True
    await chat.send({"type": "leave_message", "text": f"call me back {phrase}", "contact": customer["email"]})
    await chat.recv_type("message_left")
    await chat.close()
    sid = chat.session["session_id"]
    agent = staff["agent"]
    async with httpx.AsyncClient(base_url=server.url, headers=agent.headers, timeout=30) as http:
        transcript = (await http.get(f"/api/agent/sessions/{sid}/transcript")).json()
        (await http.get(f"/api/agent/sessions/{sid}/shopper")).raise_for_status()
        msg = next(m for m in transcript["messages"] if m["author"] == "shopper")
        (await http.post(f"/api/agent/sessions/{sid}/messages/{msg['message_id']}/correct-intent",
                         json={"intent": "product_search"})).raise_for_status()
    return {"session_id": sid, "phrase": phrase}



def add_customer(settings, customer_id: str, name: str) -> None:
    engine = make_engine(settings.resolved_database_url)
    with session_factory(engine)() as db:
        db.add(Customer(id=customer_id, name=name, email=f"{customer_id}@example.org"))
        db.commit()
    engine.dispose()

async def test_export_holds_every_session_message_event_order_and_feedback(live_server, staff, customer):
    talk = await _a_customer_conversation(live_server, customer, staff)
    async with httpx.AsyncClient(base_url=live_server.url, headers=staff["admin"].headers, timeout=30) as http:
        resp = await http.get(f"/api/admin/customers/{customer['id']}/export")
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        assert (await http.get("/api/admin/customers/nobody-at-all/export")).status_code == 404
        refused = await http.get(f"/api/admin/customers/{customer['id']}/export", headers=staff["agent"].headers)
        assert refused.status_code == 403
    assert doc["customer"] == {**doc["customer"], "id": customer["id"], "email": customer["email"]}
    session, = doc["sessions"]
    assert session["session_id"] == talk["session_id"]
    assert talk["phrase"] in [m["text"] for m in session["messages"] if m["author"] == "shopper"]
    assert any(m["author"] == "bot" for m in session["messages"])
    assert [(e["item_id"], e["kind"]) for e in doc["events"]] == [(customer["item_id"], "view")]
    assert [(o["order_id"], o["lines"][0]["quantity"]) for o in doc["orders"]] == [(customer["order_id"], 2)]
    assert [(f["text"], f["intent"]) for f in doc["feedback"]] == [(talk["phrase"], "product_search")]
    assert doc["left_messages"][0]["contact"] == customer["email"]


async def test_erasure_leaves_no_row_with_the_customer_id_or_their_words(live_server, staff, customer, db,
                                                                         caplog):
    caplog.set_level(logging.INFO, logger="assistant.privacy")
    talk = await _a_customer_conversation(live_server, customer, staff)
    rec = live_server.app.state.runtime.recommender.current
    if rec is not None:
        assert rec.profiles.events(customer["id"])  # the live profile learnt from the view
    sessions_before = db.scalar(select(func.count()).select_from(ChatSession))
    async with httpx.AsyncClient(base_url=live_server.url, headers=staff["admin"].headers, timeout=30) as http:
        assert (await http.delete(f"/api/admin/customers/{customer['id']}/data",
                                  headers=staff["agent"].headers)).status_code == 403
        resp = await http.delete(f"/api/admin/customers/{customer['id']}/data")
        assert resp.status_code == 200, resp.text
        report = resp.json()
        assert (await http.get(f"/api/admin/customers/{customer['id']}/export")).status_code == 404
        audit = (await http.get("/api/admin/audit", params={"subject_id": report["pseudonym"]})).json()
    assert report["messages"] >= 2 and report["events"] == 1 and report["feedback"] == 1
    assert report["left_messages"] == 1 and report["orders_kept_anonymous"] == 1

    logged = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.privacy")]
    assert any(report["pseudonym"] in line for line in logged)  # the erasure is logged, without the id
    assert not any(customer["id"] in line or talk["phrase"] in line for line in logged)
    leftovers = sql_cells_containing(live_server.settings, [customer["id"], talk["phrase"], customer["email"]])
    assert leftovers == []
    if rec is not None:
        assert rec.profiles.events(customer["id"]) == [] and rec.profiles.events(talk["session_id"]) == []
    db.expire_all()  # anonymous counts stay: the session row (no customer), the order (a pseudonym)
    assert db.scalar(select(func.count()).select_from(ChatSession)) == sessions_before
    assert db.get(ChatSession, talk["session_id"]).customer_id is None
    assert db.get(Order, customer["order_id"]).customer_id == report["pseudonym"]
    # the audit log keeps who read the customer's record, now under the pseudonym, and the erasure itself
    assert {(a["action"], a["actor_role"]) for a in audit} >= {("read_customer", "agent"), ("erase", "admin")}
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_id == customer["id"])) == 0


async def test_a_shopper_deletes_their_own_conversation_with_their_token(live_server):
    phrase = f"please forget what I say here {uuid.uuid4().hex[:8]}"
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    await chat.say(phrase)
    await chat.close()
    other = await start_session(live_server.url)
    sid = chat.session["session_id"]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        forged = await http.delete(f"/api/sessions/{sid}", headers={"Authorization": f"Bearer {other['token']}"})
        assert forged.status_code == 403
        assert (await http.delete(f"/api/sessions/{sid}")).status_code == 401
        own = {"Authorization": f"Bearer {chat.session['token']}"}
        resp = await http.delete(f"/api/sessions/{sid}", headers=own)
        assert resp.status_code == 200 and resp.json()["messages"] >= 2
        assert (await http.get(f"/api/sessions/{sid}/transcript", headers=own)).json() == []
    assert sql_cells_containing(live_server.settings, [phrase]) == []


def test_cli_exports_and_erases_a_customer(live_server, customer, tmp_path):
    """The CLI erases the live profile the workers share in Redis too (on the old main it stayed there)."""
    prefix = f"test-cli-erase-{uuid.uuid4().hex[:8]}:"
    shared = redis.Redis.from_url(CLI_REDIS_URL)
    shared.rpush(f"{prefix}profile:{customer['id']}", "1 1.0")
    env = {**os.environ, "SHOPASSIST_STATE_DIR": str(live_server.settings.state_dir),
           "SHOPASSIST_DATABASE_URL": live_server.settings.resolved_database_url,
           "SHOPASSIST_REDIS_URL": CLI_REDIS_URL, "SHOPASSIST_REDIS_PREFIX": prefix}
    cli = [sys.executable, "-c", "from assistant.cli import app; app()", "customer"]
    out = tmp_path / "export.json"
    done = subprocess.run([*cli, "export", customer["id"], "--out", str(out)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f'"order_id": {customer["order_id"]}' in out.read_text()
    done = subprocess.run([*cli, "erase", customer["id"], "--yes"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "orders are kept as erased-" in done.stdout
    assert sql_cells_containing(live_server.settings, [customer["id"]]) == []
    assert not shared.exists(f"{prefix}profile:{customer['id']}")
    shared.close()
    missing = subprocess.run([*cli, "export", customer["id"]], env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1 and "no customer" in missing.stderr


async def test_erased_words_leave_no_copy_in_the_sqlite_files(sqlite_server):
    """SQLite keeps deleted rows' bytes in free space of the database file and older page versions in its
    write-ahead log: an erasure must leave neither (a `grep` of the state dir finds nothing).

    Exploit first (failed before the fix): the erased customer's id and words were still in shop.db-wal."""
    settings = sqlite_server.settings
    cid = f"priv-{uuid.uuid4().hex[:10]}"
    add_customer(settings, cid, "Disk Trace")
    admin, = add_agents(settings, 1, role="admin", name="Disk Admin")
    phrase = f"my neighbour Wilhelmina {uuid.uuid4().hex[:8]} took the parcel"
    chat = await ChatClient.open(sqlite_server.ws_url, await start_session(sqlite_server.url, cid))
    await chat.say(phrase)
    await chat.close()
    async with httpx.AsyncClient(base_url=sqlite_server.url, headers=admin.headers, timeout=30) as http:
        (await http.delete(f"/api/admin/customers/{cid}/data")).raise_for_status()
    files = sorted(str(f) for f in settings.state_dir.glob("shop.db*"))
    assert files, settings.state_dir
    # grep in a child process: a close() of the database file in this process, which runs the servers, would
    # drop every SQLite lock the process holds on it (POSIX advisory locks are per process) and corrupt it
    found = subprocess.run(["grep", "-l", "-a", "-F", "-e", phrase, "-e", cid, *files], capture_output=True,
                           text=True, timeout=60)
    assert found.returncode == 1 and found.stdout == "", found.stdout  # 1: no file holds either


def test_shopassist_serve_logs_each_erasure(shop_state, tmp_path):
    """`shopassist serve` sets the root log level to WARNING; the erasure line (INFO) must still be written.

    Exploit first (failed before the fix): a served erasure left no line in the server's log at all (only the
    test's caplog, which lowers the level, ever saw it)."""
    port = _free_port()
    key = "privacy-log-test-key-of-32-bytes-or-more"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPASSIST_")}
    env |= {"SHOPASSIST_STATE_DIR": str(shop_state), "SHOPASSIST_PORT": str(port), "SHOPASSIST_SECRET_KEY": key}
    settings = Settings(state_dir=shop_state, secret_key=key)
    cid = f"priv-{uuid.uuid4().hex[:10]}"
    add_customer(settings, cid, "Logged Erasure")
    admin, = add_agents(settings, 1, role="admin", name="Log Admin")
    stderr = tmp_path / "serve.err"
    with stderr.open("w") as err:
        server = subprocess.Popen([sys.executable, "-c", "from assistant.cli import app; app()", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=err)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=admin.headers, timeout=30) as http:
            for _ in range(1200):  # until the server answers (models load first)
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            resp = http.delete(f"/api/admin/customers/{cid}/data")
            assert resp.status_code == 200, resp.text
            pseudonym = resp.json()["pseudonym"]
    finally:
        server.terminate()
        server.wait(timeout=60)
    log = stderr.read_text()
    assert f"erased a customer (now {pseudonym}) by admin {admin.agent_id}" in log, log[-2000:]
    assert cid not in log  # neither in the erasure line nor in the access line of the request


async def test_a_signed_in_shopper_deleting_a_conversation_loses_the_live_profile_it_fed(live_server, customer):
    """Exploit first (failed before the fix): the widget's delete forgot the live profile under the session id
    only; a signed-in shopper's events live under their customer id and stayed (memory or Redis)."""
    rec = live_server.app.state.runtime.recommender.current
    assert rec is not None, "the test shop has a recommender"
    session = await start_session(live_server.url, customer["id"])
    chat = await ChatClient.open(live_server.ws_url, session)
    await chat.send({"type": "event", "kind": "view", "item_id": customer["item_id"]})
    assert (await chat.recv_type("event_ack"))["recorded"] is True
    await chat.close()
    assert rec.profiles.events(customer["id"])
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        resp = await http.delete(f"/api/sessions/{session['session_id']}",
                                 headers={"Authorization": f"Bearer {session['token']}"})
        assert resp.status_code == 200 and resp.json()["events"] == 1
    assert rec.profiles.events(customer["id"]) == []


async def test_erasure_leaves_no_trace_of_an_address_change_the_shopper_confirmed(live_server, staff, customer, db):
    """A confirmed address change writes the customer's id (the action's actor) and the new address (the order
    history's note): an erasure must leave neither.

    Exploit first (failed before the fix): `order_actions.actor` kept "shopper:<customer id>" and
    `order_status_history.note` kept "shipping address changed to <address>" after the erasure."""
    from assistant.agent.order_tools import OrderTools
    from assistant.store.database import async_session_factory, make_async_engine

    address = f"{uuid.uuid4().hex[:6]} Lindenallee 7, 10115 Berlin"
    db.get(Order, customer["order_id"]).status = "processing"
    db.commit()
    engine = make_async_engine(live_server.settings.resolved_database_url)
    try:
        outcome = await OrderTools(async_session_factory(engine)).apply(
            "change_address", customer["id"], customer["order_id"], {"address": address}, uuid.uuid4().hex, None)
    finally:
        await engine.dispose()
    assert outcome.done
    async with httpx.AsyncClient(base_url=live_server.url, headers=staff["admin"].headers, timeout=30) as http:
        (await http.delete(f"/api/admin/customers/{customer['id']}/data")).raise_for_status()
    assert sql_cells_containing(live_server.settings, [customer["id"], address]) == []
