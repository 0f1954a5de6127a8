"""Real-time shopper profiles: the latest behaviour events per customer or session, safe across threads.

`ProfileStore` keeps them in this process; `RedisProfileStore` keeps them in Redis, so every worker sees
a click made on another one and the profiles survive a restart. Both have the same methods.
`ProfileStore` is bounded: past `max_profiles` keys the least recently active profile is forgotten
(anonymous sessions come and go; an attacker opening many of them must not grow memory without end); a
forgotten customer's profile is rebuilt from the store at the next retraining. In Redis they expire.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque


class ProfileStore:
    """Keeps the most recent (item id, event strength) pairs per profile key; updated on every event."""

    def __init__(self, event_weights: dict[str, float], max_events: int, max_profiles: int = 100_000) -> None:
        self._event_weights = dict(event_weights)
        self._max_events = max_events
        self._max_profiles = max_profiles
        self._events: OrderedDict[str, deque[tuple[int, float]]] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, profile_key: str, item_id: int, kind: str) -> None:
        if kind not in self._event_weights:
            raise ValueError(f"unknown behaviour event kind {kind!r}; expected one of {sorted(self._event_weights)}")
        with self._lock:
            events = self._events.setdefault(profile_key, deque(maxlen=self._max_events))
            events.append((int(item_id), self._event_weights[kind]))
            self._events.move_to_end(profile_key)
            while len(self._events) > self._max_profiles:
                self._events.popitem(last=False)

    def events(self, profile_key: str) -> list[tuple[int, float]]:
        with self._lock:
            return list(self._events.get(profile_key, ()))

    def forget(self, profile_key: str) -> None:
        with self._lock:
            self._events.pop(profile_key, None)

    def __len__(self) -> int:
        return len(self._events)


class RedisProfileStore:
    """The same profiles in Redis: one capped list per profile key, expiring after `ttl_s` without events."""

    def __init__(self, url: str, prefix: str, event_weights: dict[str, float], max_events: int,
                 ttl_s: int) -> None:
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        # a pooled connection dead since a Redis restart: the command goes out again on a fresh one
        self._redis = redis.Redis.from_url(url, decode_responses=True,
                                           retry=Retry(ExponentialBackoff(cap=0.25, base=0.02), 3))
        self._prefix = prefix + "profile:"
        self._event_weights = dict(event_weights)
        self._max_events = max_events
        self._ttl_s = ttl_s

    def observe(self, profile_key: str, item_id: int, kind: str) -> None:
        if kind not in self._event_weights:
            raise ValueError(f"unknown behaviour event kind {kind!r}; expected one of {sorted(self._event_weights)}")
        key = self._prefix + profile_key
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, f"{int(item_id)} {self._event_weights[kind]}")
            pipe.ltrim(key, -self._max_events, -1)
            pipe.expire(key, self._ttl_s)
            pipe.execute()

    def events(self, profile_key: str) -> list[tuple[int, float]]:
        """Oldest first, like `ProfileStore.events`."""
        pairs = (entry.split(" ") for entry in self._redis.lrange(self._prefix + profile_key, 0, -1))
        return [(int(item), float(strength)) for item, strength in pairs]

    def forget(self, profile_key: str) -> None:
        self._redis.delete(self._prefix + profile_key)

    def __len__(self) -> int:
        return sum(1 for _ in self._redis.scan_iter(match=self._prefix + "*", count=1000))

    def close(self) -> None:
        self._redis.close()
