"""Fixtures of the agent console tests: the shared servers of tests/conftest.py plus agents and shoppers."""

from __future__ import annotations

import pytest

from tests.agent_console.client import add_agents


@pytest.fixture(scope="module")
def agents(live_server):
    """Two agents and an admin in the store of the server under test (SQLite, then PostgreSQL)."""
    alice, = add_agents(live_server.settings, 1, name="Alice")
    bob, = add_agents(live_server.settings, 1, name="Bob")
    admin, = add_agents(live_server.settings, 1, role="admin", name="Ada")
    return {"alice": alice, "bob": bob, "admin": admin}
