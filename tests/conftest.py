"""Shared test fixtures: a small demo shop built once per run, databases (SQLite, PostgreSQL), a live server.

The demo shop is the real `shopassist setup` on a catalogue subset with a quick intent model, so the
integration tests exercise the real store, Chroma, models and websocket server, with nothing mocked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from assistant.config import RateLimit, Settings  # noqa: E402
from tests.chat.client import TEST_IDENTITY_SECRET  # noqa: E402

PG_BASE_URL = os.environ.get("SHOPASSIST_TEST_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
TEST_ITEM_LIMIT = 300


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_BASE_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:
        return False


_created_schemas: list[str] = []


def fresh_pg_url() -> str:
    """A new, empty schema in the `test` database, so runs and tests never see each other's rows."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    _created_schemas.append(schema)
    return f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", autouse=True)
def drop_test_schemas() -> Iterator[None]:
    """Drop this run's PostgreSQL schemas at the end (set up first, so torn down after the servers)."""
    yield
    if not _created_schemas:
        return
    import psycopg

    try:
        with psycopg.connect(PG_BASE_URL.replace("+psycopg", ""), autocommit=True, connect_timeout=5) as conn:
            conn.execute("SET lock_timeout = '5s'")
            for schema in _created_schemas:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    except psycopg.Error:
        pass  # leftovers only cost space in the throwaway `test` database


@pytest.fixture(scope="session")
def shop_state(tmp_path_factory) -> Path:
    """A state dir with a quick intent model, a recommender and Chroma indexes of a small catalogue."""
    from assistant.demo_shop import build_demo_shop

    state = tmp_path_factory.mktemp("state")
    # opt-in by the env var only: a folder found beside the checkout also reached CI (which runs on the
    # session's machine) and gave it a store that earlier runs' tests had written to
    cache = os.environ.get("SHOPASSIST_TEST_STATE_CACHE")
    cached = Path(cache) / _shop_state_key() if cache else None
    if cached is not None and cached.is_dir():
        shutil.copytree(cached, state, dirs_exist_ok=True)
        return state
    build_demo_shop(shop_settings(state), quick_model=True)
    if cached is not None:  # publish atomically: parallel runs may build the same key at once
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
        shutil.copytree(state, partial)
        with contextlib.suppress(OSError):
            partial.rename(cached)
        shutil.rmtree(partial, ignore_errors=True)
    return state


# what the built test shop depends on: a change to any of these builds it anew
_STATE_INPUTS = ("assistant/demo_shop.py", "assistant/demo_faq.py", "assistant/data", "assistant/intent",
                 "assistant/store", "alembic/versions", "retrieval", "recommender", "tests/conftest.py")


def _shop_state_key() -> str:
    """A digest of the sources that build the test shop (an opt-in cache for local runs, not for CI)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in _STATE_INPUTS:
        top = root / name
        for f in sorted([top] if top.is_file() else top.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(root)).encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


# the shared test servers serve many tests from one address and a few sessions: limits out of their way
# (tests/security starts servers with the real defaults or tight limits)
ROOMY_LIMITS = {name: RateLimit(burst=100_000, per_minute=100_000) for name in (
    "login_rate_per_address", "session_rate_per_address", "message_rate_per_session", "event_rate_per_session")}


def shop_settings(state: Path, database_url: str | None = None, **overrides) -> Settings:
    overrides.setdefault("identity_secret", TEST_IDENTITY_SECRET)  # tests/chat/client.py signs customer ids
    overrides.setdefault("agent_recheck_s", 1.0)  # an agent losing access loses the open socket within ~1 s
    return Settings(state_dir=state, database_url=database_url, demo_item_limit=TEST_ITEM_LIMIT,
                    secret_key="test-secret-key-of-at-least-32-bytes!",
                    **{**ROOMY_LIMITS, "login_free_failures": 1000, "login_free_failures_per_account": 1000,
                       **overrides})


def _database_url(backend: str, state: Path) -> str | None:
    if backend == "sqlite":
        return None  # the state dir's shop.db, built by setup
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    from assistant.demo_shop import build_demo_shop

    url = fresh_pg_url()
    build_demo_shop(shop_settings(state, url), quick_model=True)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend_settings(request, shop_state) -> Settings:
    """Settings of the demo shop on each SQL backend (the models and Chroma are shared)."""
    return shop_settings(shop_state, _database_url(request.param, shop_state))


class LiveServer:
    """The real app under uvicorn on a loopback port (a free one unless given), in a background thread.

    A restart is ``stop()`` then ``LiveServer(old.settings, port=old.port).start()``.
    """

    def __init__(self, settings: Settings, port: int | None = None, log_level: str = "warning") -> None:
        self.settings = settings
        self._pinned_port = port
        self._log_level = log_level
        self._build(port or _free_port())

    def _build(self, port: int) -> None:
        import uvicorn

        from assistant.app import create_app, server_options

        self.port = port
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level=self._log_level,
                                **server_options(self.settings))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, attempts: int = 3) -> LiveServer:
        for _ in range(attempts):
            if self._started_once():
                return self
            # a free port taken between picking and binding, or a start-up race: try again
            time.sleep(0.5)
            self._build(self._pinned_port or _free_port())
        raise RuntimeError(f"the server did not start after {attempts} attempts")

    def _started_once(self) -> bool:
        self._thread.start()
        deadline = time.monotonic() + 120
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(backend_settings) -> Iterator[LiveServer]:
    server = LiveServer(backend_settings).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_server(shop_state) -> Iterator[LiveServer]:
    """The server on the embedded default only (for tests that need no backend matrix)."""
    server = LiveServer(shop_settings(shop_state)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_server(shop_state) -> Iterator[LiveServer]:
    """The server in demo mode (`shopassist serve --demo`): demo customers listed, unsigned demo sign-in."""
    server = LiveServer(shop_settings(shop_state, demo_mode=True)).start()
    yield server
    server.stop()
