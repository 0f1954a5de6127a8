"""Fixtures for headless-browser tests: the browser tools, a page driver and servers to point it at.

- ``browser``: installs Debian chromium / playwright-core if missing, returns ``run_scenario``
  (see ``browser_driver.py`` and ``drive.mjs`` for the steps).
- ``fake_shop``: the scripted protocol server of ``fake_shop_server.py`` on a free loopback port;
  ``fake_shop_offline`` the same with no agent online; ``other_shop`` a page on another origin
  embedding the widget from ``fake_shop``.
- ``serve_app(app)``: run any ASGI app (the real one too) with uvicorn in a thread on a free port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from browser_driver import ensure_browser_tools, run_scenario

from assistant.config import get_settings


@dataclass
class RunningServer:
    url: str
    app: Any


@contextmanager
def serve_app(app: Any, startup_timeout_s: float = 60) -> Iterator[RunningServer]:
    """Serve ``app`` on a free port of the configured host; stop it on exit."""
    host = get_settings().host
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_ping_interval=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(url=f"http://{host}:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Callable[..., dict[str, Any]]:
    ensure_browser_tools()
    return run_scenario


@pytest.fixture
def fake_shop() -> Iterator[RunningServer]:
    from fake_shop_server import create_fake_app

    with serve_app(create_fake_app()) as running:
        yield running


@pytest.fixture
def fake_shop_offline() -> Iterator[RunningServer]:
    """The scripted server with no agent online (the widget offers "leave a message")."""
    from fake_shop_server import create_fake_app

    with serve_app(create_fake_app(agents_online=0)) as running:
        yield running


@pytest.fixture
def other_shop(fake_shop: RunningServer) -> Iterator[RunningServer]:
    """Another shop's page, on its own origin, that embeds the widget served by ``fake_shop``."""
    from fake_shop_server import create_other_shop

    with serve_app(create_other_shop(fake_shop.url)) as running:
        yield running
