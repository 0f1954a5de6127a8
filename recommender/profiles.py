"""Real-time shopper profiles: the latest behaviour events per customer or session, safe across threads."""

from __future__ import annotations

import threading
from collections import deque


class ProfileStore:
    """Keeps the most recent (item id, event strength) pairs per profile key; updated on every event."""

    def __init__(self, event_weights: dict[str, float], max_events: int) -> None:
        self._event_weights = dict(event_weights)
        self._max_events = max_events
        self._events: dict[str, deque[tuple[int, float]]] = {}
        self._lock = threading.Lock()

    def observe(self, profile_key: str, item_id: int, kind: str) -> None:
        if kind not in self._event_weights:
            raise ValueError(f"unknown behaviour event kind {kind!r}; expected one of {sorted(self._event_weights)}")
        with self._lock:
            events = self._events.setdefault(profile_key, deque(maxlen=self._max_events))
            events.append((int(item_id), self._event_weights[kind]))

    def events(self, profile_key: str) -> list[tuple[int, float]]:
        with self._lock:
            return list(self._events.get(profile_key, ()))

    def forget(self, profile_key: str) -> None:
        with self._lock:
            self._events.pop(profile_key, None)

    def __len__(self) -> int:
        return len(self._events)
