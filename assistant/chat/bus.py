"""Message bus between sockets: in-process by default, Redis pub/sub when several workers run.

Every stored frame for a session is published on `session:<id>`; every socket showing that session
(the shopper's widget, the claimed agent's console) subscribes to it. Queue changes go to `agents`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, Protocol

from assistant.cluster.redis_retry import fresh_connection_retry

log = logging.getLogger(__name__)

AGENTS_CHANNEL = "agents"


def session_channel(session_id: str) -> str:
    return f"session:{session_id}"


class MessageBus(Protocol):
    async def publish(self, channel: str, frame: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> Any:  # async context manager yielding an async iterator
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...  # raises when the bus is unreachable


class InProcessBus:
    """Fan-out to asyncio queues of this process."""

    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._max_queue = max_queue

    async def publish(self, channel: str, frame: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                # a stalled socket must not block others; it recovers with resume
                log.warning("dropping frame for a slow subscriber on %s", channel)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue = asyncio.Queue(self._max_queue)
        self._subscribers[channel].add(queue)

        async def frames() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield frames()
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()

    async def ping(self) -> None:
        return None


class RedisBus:
    """Redis pub/sub: frames published by any worker reach the sockets of every worker."""

    def __init__(self, url: str, prefix: str = "shopassist:", max_connections: int = 10_000) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # each open socket holds one pub/sub connection: the client's default limit (100) refused the 101st
        self._redis = redis.from_url(url, decode_responses=True, max_connections=max_connections,
                                     retry=fresh_connection_retry())
        # subscriptions never reconnect quietly (frames published meanwhile would be lost unseen): a broken
        # one ends with an error, and its socket closes so the client reconnects and resumes by seq
        self._subscriber = redis.from_url(url, decode_responses=True, retry=Retry(NoBackoff(), 0),
                                          max_connections=max_connections)
        self._prefix = prefix

    async def publish(self, channel: str, frame: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + channel, json.dumps(frame))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self._subscriber.pubsub()
        await pubsub.subscribe(self._prefix + channel)

        async def frames() -> AsyncIterator[dict[str, Any]]:
            async for msg in pubsub.listen():
                if msg.get("type") == "message":
                    yield json.loads(msg["data"])

        try:
            yield frames()
        finally:
            with suppress(Exception):  # a dead connection has nothing left to unsubscribe
                await pubsub.unsubscribe()
            await pubsub.aclose()

    async def close(self) -> None:
        await self._redis.aclose()
        await self._subscriber.aclose()

    async def ping(self) -> None:
        await self._redis.ping()


def make_bus(redis_url: str | None, prefix: str = "shopassist:", max_connections: int = 10_000) -> MessageBus:
    return RedisBus(redis_url, prefix, max_connections) if redis_url else InProcessBus()
