"""Fixtures of the fault tests: served demo shops on SQLite or PostgreSQL, and a Redis server of our own."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import redis

from tests.conftest import fresh_pg_url, pg_available, shop_settings

# this suite's ports (8300-8399): one per server so a test's restart finds its port free
PORTS = {"sqlite": 8310, "postgres": 8311, "redis": 8312, "pg_drop": 8313}
REDIS_PORT = 8379


@pytest.fixture(scope="session")
def fault_pg_url(shop_state) -> str:
    """The demo shop in a fresh PostgreSQL schema, its connections named so a test drops only its own."""
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    from assistant.demo_shop import build_demo_shop

    url = f"{fresh_pg_url()}&application_name=shopassist-fault-{uuid.uuid4().hex[:8]}"
    build_demo_shop(shop_settings(shop_state, url), quick_model=True)
    return url


class RedisServer:
    """A redis-server of this test run (never the shared one), to stop and start again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            with suppress(redis.ConnectionError):
                if client.ping():
                    return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(REDIS_PORT, tmp_path).start()
    yield server
    server.stop()
