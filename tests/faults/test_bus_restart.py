"""Redis restarted under traffic: sockets close with the reconnect code, clients resume, nothing is lost.

On the old main the forwarding task swallowed the failure: the socket stayed open and acked messages,
but no reply arrived on it any more.
"""

from __future__ import annotations

import asyncio

import httpx

from assistant.chat.socket import CLOSE_RECONNECT
from tests.faults.conftest import PORTS
from tests.faults.harness import ServerProcess, Shopper, audit, server_env, settle, steady_traffic


async def test_redis_restart_closes_sockets_for_a_reconnect_and_loses_nothing(shop_state, own_redis, tmp_path):
    server = ServerProcess(server_env(shop_state, redis_url=own_redis.url), PORTS["redis"],
                           tmp_path / "server.log").start()
    try:
        shoppers = [await Shopper.start(server.url) for _ in range(5)]
        async with steady_traffic(server.ws_url, shoppers) as sending:
            await asyncio.sleep(2)
            own_redis.stop()
            down = await asyncio.to_thread(httpx.get, server.url + "/healthz", timeout=30)
            await asyncio.sleep(1)
            own_redis.start()
            await asyncio.sleep(2)
            sending.clear()
            await settle(shoppers, timeout_s=90)
        figures = await audit(server.url, shoppers)
        up = httpx.get(server.url + "/healthz", timeout=30)
    finally:
        server.stop()
    print(figures.as_line(), *figures.notes, sep="\n\n")
    assert figures.close_codes.get(str(CLOSE_RECONNECT), 0) >= len(shoppers)  # every socket was told
    assert (figures.lost, figures.answered_twice, figures.unanswered, figures.not_seen) == (0, 0, 0, 0), figures
    assert down.status_code == 503 and not down.json()["checks"]["bus"]["ok"], down.text
    assert down.json()["checks"]["store"]["ok"]  # each dependency is reported on its own
    assert up.status_code == 200, up.text
