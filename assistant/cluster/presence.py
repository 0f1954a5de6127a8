"""Which agents are online, seen alike by every worker: one entry per open console, kept alive by heartbeats.

In-process (one worker) it is a dict of open consoles. With Redis, each console is a member of a sorted
set scored by its expiry (Redis' own clock, so workers' clocks need not agree); the worker holding the
console pushes the expiry forward every `ttl / 3` seconds. A worker killed with its consoles open stops
pushing, and its agents drop out of the count within `ttl` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

from assistant.cluster.redis_retry import fresh_connection_retry

log = logging.getLogger(__name__)


class Presence(Protocol):
    async def join(self, agent_id: int) -> str:
        """Register one open console of the agent; returns its handle for `leave`."""
        ...

    async def leave(self, handle: str) -> None: ...

    async def count(self) -> int:
        """How many distinct agents have a console open on any worker."""
        ...

    async def close(self) -> None: ...


class InProcessPresence:
    def __init__(self) -> None:
        self._consoles: dict[str, int] = {}

    async def join(self, agent_id: int) -> str:
        handle = f"{agent_id}:{uuid.uuid4().hex}"
        self._consoles[handle] = agent_id
        return handle

    async def leave(self, handle: str) -> None:
        self._consoles.pop(handle, None)

    async def count(self) -> int:
        return len(set(self._consoles.values()))

    @property
    def consoles(self) -> dict[str, int]:
        """The open consoles now (handle -> agent id), readable from any thread."""
        return dict(self._consoles)

    async def close(self) -> None:
        self._consoles.clear()


class RedisPresence:
    def __init__(self, url: str, prefix: str, ttl_s: float) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True, retry=fresh_connection_retry())
        self._key = prefix + "presence"
        self._ttl_s = ttl_s
        self._mine: set[str] = set()  # consoles open on this worker
        self._heartbeat: asyncio.Task | None = None

    async def _now(self) -> float:
        seconds, micros = await self._redis.time()
        return seconds + micros / 1e6

    async def _refresh(self, handles: set[str]) -> None:
        if not handles:
            return
        expiry = await self._now() + self._ttl_s
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key, dict.fromkeys(handles, expiry))
            pipe.expire(self._key, int(self._ttl_s) + 1)  # the whole set goes when every worker is gone
            await pipe.execute()

    async def join(self, agent_id: int) -> str:
        handle = f"{agent_id}:{uuid.uuid4().hex}"
        await self._refresh({handle})
        self._mine.add(handle)
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat())
        return handle

    async def leave(self, handle: str) -> None:
        self._mine.discard(handle)
        await self._redis.zrem(self._key, handle)

    async def count(self) -> int:
        now = await self._now()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._key, "-inf", now)
            pipe.zrange(self._key, 0, -1)
            _, handles = await pipe.execute()
        return len({h.split(":", 1)[0] for h in handles})

    async def _beat(self) -> None:
        while self._mine:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                await self._refresh(set(self._mine))
            except Exception:  # Redis away for a moment: the next beat retries before the entries expire
                log.warning("presence heartbeat failed", exc_info=True)

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(Exception):
            if self._mine:
                await self._redis.zrem(self._key, *self._mine)
        await self._redis.aclose()


def make_presence(redis_url: str | None, prefix: str, ttl_s: float) -> Presence:
    return RedisPresence(redis_url, prefix, ttl_s) if redis_url else InProcessPresence()
