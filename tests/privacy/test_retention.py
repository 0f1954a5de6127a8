"""Retention: transcripts, behaviour events and left messages older than SHOPASSIST_RETENTION_DAYS are erased,
old sessions anonymised, expired revoked-token rows purged; by the server's periodic job and by the CLI.

Exploit first (fails on the old main): there was no retention at all; every row was kept forever.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta

from sqlalchemy import select

from assistant.privacy.retention import run_retention
from assistant.store.database import async_session_factory, make_async_engine
from assistant.store.models import (
    BehaviourEvent,
    ChatSession,
    LeftMessage,
    Message,
    RevokedToken,
    utcnow,
)
from tests.conftest import LiveServer


def _old_conversation(db, customer: dict, days_old: int) -> dict:
    """A session of the customer whose every row is `days_old` days old, plus a fresh message and token rows."""
    old = utcnow() - timedelta(days=days_old)
    sid = uuid.uuid4().hex
    db.add(ChatSession(id=sid, customer_id=customer["id"], created_at=old, updated_at=old, last_seq=2))
    db.flush()
    db.add_all([
        Message(session_id=sid, seq=1, author="shopper", text="an old question", created_at=old),
        Message(session_id=sid, seq=2, author="shopper", text="a new question", created_at=utcnow()),
        BehaviourEvent(customer_id=customer["id"], session_id=sid, item_id=customer["item_id"], kind="view", at=old),
        LeftMessage(session_id=sid, contact="x@example.org", text="old note", created_at=old),
        RevokedToken(jti=f"expired-{sid}", expires_at=utcnow() - timedelta(hours=1)),
        RevokedToken(jti=f"live-{sid}", expires_at=utcnow() + timedelta(hours=1)),
    ])
    db.commit()
    return {"session_id": sid}


def _left(db, sid: str) -> dict:
    db.expire_all()
    return {
        "messages": sorted(db.scalars(select(Message.text).where(Message.session_id == sid))),
        "events": len(list(db.scalars(select(BehaviourEvent.id).where(BehaviourEvent.session_id == sid)))),
        "left": len(list(db.scalars(select(LeftMessage.id).where(LeftMessage.session_id == sid)))),
        "customer": db.get(ChatSession, sid).customer_id,
        "tokens": sorted(t.split("-")[0] for t in db.scalars(select(RevokedToken.jti).where(
            RevokedToken.jti.like(f"%-{sid}")))),
    }


def test_cli_erases_what_is_older_than_the_retention_period(live_server, customer, db):
    sid = _old_conversation(db, customer, days_old=200)["session_id"]
    env = {**os.environ, "SHOPASSIST_STATE_DIR": str(live_server.settings.state_dir),
           "SHOPASSIST_DATABASE_URL": live_server.settings.resolved_database_url}
    cli = [sys.executable, "-c", "from assistant.cli import app; app()", "retention"]
    done = subprocess.run([*cli, "--days", "365"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    kept = _left(db, sid)
    assert kept["messages"] == ["a new question", "an old question"] and kept["events"] == 1
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=300)  # the default: 180 days
    assert done.returncode == 0, done.stderr
    assert _left(db, sid) == {"messages": ["a new question"], "events": 0, "left": 0, "customer": None,
                              "tokens": ["live"]}


async def test_the_servers_periodic_job_applies_retention(live_server, customer, db):
    """A running server applies retention by itself, at start and every SHOPASSIST_RETENTION_INTERVAL_S."""
    sid = _old_conversation(db, customer, days_old=40)["session_id"]
    server = LiveServer(live_server.settings.model_copy(update={"retention_days": 30, "retention_interval_s": 0.2}))
    server.start()
    try:
        for _ in range(600):  # until the job has run (each round is idempotent)
            if _left(db, sid)["messages"] == ["a new question"]:
                break
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert _left(db, sid) == {"messages": ["a new question"], "events": 0, "left": 0, "customer": None,
                              "tokens": ["live"]}


def test_privacy_scrub_masks_secrets_stored_before_redaction_existed(live_server, customer, db):
    """Rows written by an older version (straight into the store here) lose their card numbers and passwords."""
    sid = _old_conversation(db, customer, days_old=1)["session_id"]
    db.add(Message(session_id=sid, seq=3, author="shopper", text="card 4539 1488 0343 6467, pw: Oldsecret9"))
    db.commit()
    env = {**os.environ, "SHOPASSIST_STATE_DIR": str(live_server.settings.state_dir),
           "SHOPASSIST_DATABASE_URL": live_server.settings.resolved_database_url}
    done = subprocess.run([sys.executable, "-c", "from assistant.cli import app; app()", "privacy-scrub"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "messages" in done.stdout
    assert "card [card number removed], pw: [password removed]" in _left(db, sid)["messages"]


async def test_retention_clears_what_an_old_anonymous_session_remembers(live_server, db):
    """An anonymous session keeps its dialogue context (the product search typed, orders in focus) and a
    pending confirmation in JSON on the session row: past the retention period they go like its messages.

    Exploit first (failed before the fix): only sessions with a customer were anonymised; an anonymous
    session's `dialogue` kept the shopper's words ("query") for ever."""
    old = utcnow() - timedelta(days=40)
    sid = uuid.uuid4().hex
    words = f"a gift for my sister Ottilie {uuid.uuid4().hex[:6]}"
    db.add(ChatSession(id=sid, created_at=old, updated_at=old, mood="angry",
                       dialogue={"query": words, "topic": "product_search"},
                       pending={"action": "cancel_order", "order_id": 1}))
    db.commit()
    engine = make_async_engine(live_server.settings.resolved_database_url)
    try:
        await run_retention(async_session_factory(engine), days=30)
    finally:
        await engine.dispose()
    db.expire_all()
    chat = db.get(ChatSession, sid)
    assert (chat.dialogue, chat.pending, chat.mood) == (None, None, None)
