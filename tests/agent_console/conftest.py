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


@pytest.fixture(scope="module")
def sqlite_agent(sqlite_server):
    """An agent in the store of the embedded-default server."""
    agent, = add_agents(sqlite_server.settings, 1, name="Sam")
    return agent


@pytest.fixture(scope="session")
def console_browser():
    """run_scenario of the shared headless-browser harness (tests/browser), tools installed if missing."""
    from tests.browser.browser_driver import ensure_browser_tools, run_scenario

    ensure_browser_tools()
    return run_scenario
