"""Servers of the security tests: the shop of tests/conftest.py with its limits set as a test needs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.config import RateLimit, Settings
from assistant.store.database import make_engine, session_factory
from tests.conftest import LiveServer


def with_limits(settings: Settings, **limits) -> Settings:
    """`settings` with the real default limits (the shared test servers lift them), then `limits`."""
    defaults = {name: Settings.model_fields[name].default for name in (
        "login_rate_per_address", "session_rate_per_address", "message_rate_per_session",
        "event_rate_per_session", "login_free_failures", "login_free_failures_per_account")}
    return settings.model_copy(update={**defaults, **limits})


@pytest.fixture(scope="module")
def limited_server(backend_settings) -> Iterator[LiveServer]:
    """A server with the default limits, except small per-session and per-agent buckets (a burst test
    stays short)."""
    server = LiveServer(with_limits(backend_settings, message_rate_per_session=RateLimit(burst=8, per_minute=30),
                                    event_rate_per_session=RateLimit(burst=8, per_minute=30),
                                    frame_rate_per_session=RateLimit(burst=8, per_minute=30),
                                    agent_frame_rate=RateLimit(burst=8, per_minute=30))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def db(live_server):
    """A synchronous session on the store of `live_server` (SQLite, then PostgreSQL)."""
    engine = make_engine(live_server.settings.resolved_database_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()
