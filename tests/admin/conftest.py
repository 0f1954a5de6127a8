"""Fixtures of the admin tests: a server of their own (a copy of the demo shop's store, its own Chroma),
admin and agent accounts, and signed-in HTTP clients.

The admin tests change the FAQ and the catalogue, so they never share the store or the collections
of the chat tests' servers; the intent model is read from the shared demo state, never written.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from tests.conftest import LiveServer, shop_settings

ADMIN = {"email": "admin@example.com", "password": "admin-password-1", "name": "Ada Admin"}
AGENT = {"email": "agent@example.com", "password": "agent-password-1", "name": "Sam Agent"}


def copy_store(source_state: Path, state: Path) -> None:
    """A consistent copy of the demo shop's SQLite store (the backup API, safe while it is open)."""
    state.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source_state / "shop.db") as src, sqlite3.connect(state / "shop.db") as dst:
        src.backup(dst)
    recs = source_state / "recommender.npz"
    if recs.exists():
        shutil.copy(recs, state / "recommender.npz")


def add_accounts(settings: Settings) -> None:
    from assistant.security import hash_password
    from assistant.store.database import make_engine, session_factory
    from assistant.store.models import Agent

    engine = make_engine(settings.resolved_database_url)
    with session_factory(engine)() as db:
        for who, role in ((ADMIN, "admin"), (AGENT, "agent")):
            db.add(Agent(email=who["email"], name=who["name"], role=role, password_hash=hash_password(who["password"])))
        db.commit()
    engine.dispose()


def build_indexes(settings: Settings) -> None:
    from assistant.demo_shop import index_collections
    from assistant.store.database import make_engine, session_factory

    engine = make_engine(settings.resolved_database_url)
    with session_factory(engine)() as db:
        index_collections(db, settings)
    engine.dispose()


@pytest.fixture(scope="session")
def admin_settings(shop_state, tmp_path_factory) -> Settings:
    state = tmp_path_factory.mktemp("admin_state")
    copy_store(shop_state, state)
    settings = shop_settings(state, intent_model_dir=shop_state / "intent_model")
    add_accounts(settings)
    build_indexes(settings)
    return settings


@pytest.fixture(scope="session")
def admin_server(admin_settings) -> Iterator[LiveServer]:
    server = LiveServer(admin_settings).start()
    yield server
    server.stop()


def login(server: LiveServer, who: dict) -> str:
    resp = httpx.post(f"{server.url}/api/agent/login", json={"email": who["email"], "password": who["password"]},
                      timeout=30)
    resp.raise_for_status()
    return resp.json()["token"]


@pytest.fixture(scope="session")
def admin_token(admin_server) -> str:
    return login(admin_server, ADMIN)


@pytest.fixture(scope="session")
def agent_token(admin_server) -> str:
    return login(admin_server, AGENT)


@pytest.fixture
def admin_api(admin_server, admin_token) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=admin_server.url, headers={"Authorization": f"Bearer {admin_token}"},
                      timeout=60) as client:
        yield client


def runtime_of(server: LiveServer):
    """The running server's components (it runs in this process, in a thread)."""
    return server._server.config.app.state.runtime  # noqa: SLF001


@pytest.fixture(scope="session")
def browser():
    """The headless-browser harness of tests/browser (Debian chromium + playwright-core)."""
    from tests.browser.browser_driver import ensure_browser_tools, run_scenario

    ensure_browser_tools()
    return run_scenario
