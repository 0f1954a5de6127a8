"""Store fixtures: an async session factory on a fresh SQLite file and on a fresh PostgreSQL schema."""

from __future__ import annotations

import asyncio

import pytest

from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema
from tests.conftest import fresh_pg_url, pg_available


@pytest.fixture(params=["sqlite", "postgres"])
async def sessions(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        if not pg_available():
            pytest.skip("PostgreSQL is not reachable")
        url = fresh_pg_url()
    await asyncio.to_thread(upgrade_schema, url)
    engine = make_async_engine(url)
    yield async_session_factory(engine)
    await engine.dispose()
