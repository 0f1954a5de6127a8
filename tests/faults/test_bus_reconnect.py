"""After Redis restarts, the bus's pooled publishing connection is dead: the first publish must go out on
a fresh one. On the old main it failed ("Connection closed by server"): the reply was stored but never
reached a shopper whose new subscription was healthy, so nothing told them to resume (the intermittent
`not_seen` of the bus-restart fault test)."""

from __future__ import annotations

import asyncio

from assistant.chat.bus import RedisBus
from assistant.cluster.presence import RedisPresence


async def _next_frame(frames) -> dict:
    return await asyncio.wait_for(anext(frames), timeout=10)


async def test_a_publish_after_a_redis_restart_reaches_a_new_subscriber(own_redis):
    bus = RedisBus(own_redis.url, prefix="test-reconnect:")
    try:
        async with bus.subscribe("session:s1") as frames:
            await asyncio.sleep(0.1)  # the SUBSCRIBE is processed
            await bus.publish("session:s1", {"n": 1})
            assert await _next_frame(frames) == {"n": 1}  # the publisher's pooled connection is open now
        own_redis.stop()
        own_redis.start()
        async with bus.subscribe("session:s1") as frames:
            await asyncio.sleep(0.1)
            await bus.publish("session:s1", {"n": 2})
            assert await _next_frame(frames) == {"n": 2}
    finally:
        await bus.close()


async def test_presence_survives_a_redis_restart(own_redis):
    presence = RedisPresence(own_redis.url, prefix="test-reconnect:", ttl_s=30)
    try:
        await presence.count()
        own_redis.stop()
        own_redis.start()
        assert await presence.count() == 0
    finally:
        await presence.close()
