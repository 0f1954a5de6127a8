"""Fixtures for headless-browser tests, which run against the real app (``sqlite_server`` of ``tests/conftest.py``).

``browser`` installs Debian chromium / playwright-core if missing and returns ``run_scenario``
(see ``browser_driver.py`` and ``drive.mjs`` for the steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from browser_driver import ensure_browser_tools, run_scenario


@pytest.fixture(scope="session")
def browser() -> Callable[..., dict[str, Any]]:
    ensure_browser_tools()
    return run_scenario
