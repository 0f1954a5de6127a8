"""PostgreSQL connections dropped under traffic: error frames at worst, then recovery, nothing lost.

The server's connections carry a unique application_name, so only they are terminated.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg

from tests.conftest import PG_BASE_URL
from tests.faults.conftest import PORTS
from tests.faults.harness import ServerProcess, Shopper, audit, server_env, settle, steady_traffic


def drop_connections(application_name: str) -> int:
    with psycopg.connect(PG_BASE_URL.replace("+psycopg", ""), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'test' "
            "AND pid <> pg_backend_pid() AND application_name = %s", (application_name,)).fetchall()
    return len(rows)


async def test_dropped_store_connections_give_error_frames_then_recover(shop_state, fault_pg_url, tmp_path):
    application_name = parse_qs(urlsplit(fault_pg_url).query)["application_name"][0]
    server = ServerProcess(server_env(shop_state, fault_pg_url), PORTS["pg_drop"], tmp_path / "server.log").start()
    dropped = 0
    try:
        shoppers = [await Shopper.start(server.url) for _ in range(5)]
        async with steady_traffic(server.ws_url, shoppers) as sending:
            for _ in range(4):
                await asyncio.sleep(0.7)
                dropped += await asyncio.to_thread(drop_connections, application_name)
            await asyncio.sleep(1)
            sending.clear()
            await settle(shoppers, timeout_s=90)
        figures = await audit(server.url, shoppers)
        health = httpx.get(server.url + "/healthz", timeout=10)
    finally:
        server.stop()
    print("dropped", dropped, figures.as_line(), *figures.notes, sep="\n\n")
    assert dropped > 0
    assert set(figures.errors) <= {"internal"}  # a failed frame is an error frame, the socket lives on
    assert (figures.lost, figures.answered_twice, figures.unanswered, figures.not_seen) == (0, 0, 0, 0), figures
    assert health.status_code == 200 and health.json()["checks"]["store"]["ok"]
