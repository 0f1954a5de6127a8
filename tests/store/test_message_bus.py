"""The message bus: in-process and Redis pub/sub deliver published frames to every subscriber of a channel."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from assistant.chat.bus import InProcessBus, RedisBus

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


@pytest.fixture(params=["in_process", "redis"])
async def bus(request):
    if request.param == "redis":
        if not redis_available():
            pytest.skip("Redis is not reachable")
        made = RedisBus(REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:8]}:")
    else:
        made = InProcessBus()
    yield made
    await made.close()


async def test_every_subscriber_of_a_channel_gets_each_frame_in_order(bus):
    async with bus.subscribe("session:s1") as first, bus.subscribe("session:s1") as second, \
            bus.subscribe("session:other") as other:
        await asyncio.sleep(0.1)  # Redis confirms the subscription asynchronously
        for n in range(3):
            await bus.publish("session:s1", {"n": n})
        got1 = [await asyncio.wait_for(anext(first), 5) for _ in range(3)]
        got2 = [await asyncio.wait_for(anext(second), 5) for _ in range(3)]
        assert got1 == got2 == [{"n": 0}, {"n": 1}, {"n": 2}]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(other), 0.3)
