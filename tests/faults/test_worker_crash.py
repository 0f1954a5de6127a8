"""A worker killed with SIGKILL under steady traffic loses nothing and answers every message exactly once.

On the old main this failed: answers were computed inline on the socket after the ack, so a message
acknowledged just before the kill was never answered (3 of 10 sessions left unanswered), and a retry of
its client_msg_id was acknowledged again without an answer.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.conftest import PORTS
from tests.faults.harness import ServerProcess, Shopper, audit, server_env, settle, steady_traffic

SESSIONS = 10


async def sigkill_and_restart(server: ServerProcess, sessions: int = SESSIONS):
    """Steady traffic, SIGKILL, restart on the same port, more traffic, then every answer: the figures."""
    shoppers = [await Shopper.start(server.url) for _ in range(sessions)]
    async with steady_traffic(server.ws_url, shoppers) as sending:
        await asyncio.sleep(3)
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.start)
        await asyncio.sleep(2)
        sending.clear()
        await settle(shoppers, timeout_s=90)
    return await audit(server.url, shoppers), server.metric("shopassist_answers_swept_total")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_sigkill_under_steady_traffic_loses_nothing_and_answers_each_message_once(
        backend, shop_state, request, tmp_path):
    url = request.getfixturevalue("fault_pg_url") if backend == "postgres" else None
    server = ServerProcess(server_env(shop_state, url), PORTS[backend], tmp_path / "server.log").start()
    try:
        figures, swept = await sigkill_and_restart(server)
    finally:
        server.stop()
    print(backend, figures.as_line(), "swept", swept, *figures.notes, sep="\n\n")
    assert figures.acknowledged >= SESSIONS
    assert (figures.lost, figures.answered_twice, figures.unanswered, figures.not_seen) == (0, 0, 0, 0), figures
