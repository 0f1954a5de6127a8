"""Dashboard figures computed from the SQL store: traffic, handoff, containment, intents, latency, CTR, review.

Everything is read over one time window and summarised in Python, so the same code runs on SQLite
and PostgreSQL (no JSON or date functions of either dialect).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant import metrics
from assistant.admin.feedback_stats import feedback_figures
from assistant.privacy.redaction import mask_contacts
from assistant.store.models import Author, BehaviourEvent, ChatSession, Message, RecExposure, SessionState, utcnow

log = logging.getLogger(__name__)

# the widget's card buttons: "View" and "Add to cart" (purchases come from the order store, not from events)
CARD_CLICK_KINDS = ("view", "click", "add_to_cart")
REVIEW_ROUTES = ("out_of_scope", "handoff")


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in [0, 1]) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def dashboard_stats(sessions: async_sessionmaker, window_hours: int, review_limit: int,
                          now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    since = now - timedelta(hours=window_hours)
    async with sessions() as db:
        messages = (await db.execute(
            select(Message.id, Message.session_id, Message.seq, Message.author, Message.text, Message.payload,
                   Message.created_at).where(Message.created_at >= since)
            .order_by(Message.session_id, Message.seq))).all()
        active = {m.session_id for m in messages if m.author == Author.SHOPPER}
        chats = (await db.execute(select(ChatSession.id, ChatSession.state, ChatSession.handoff_reason,
                                         ChatSession.agent_id).where(ChatSession.id.in_(active)))).all() \
            if active else []
        exposures = (await db.execute(select(RecExposure.session_id, RecExposure.item_id, RecExposure.at)
                                      .where(RecExposure.at >= since))).all()
        feedback = await feedback_figures(db, since, window_hours, messages)
        clicks = (await db.execute(select(BehaviourEvent.session_id, BehaviourEvent.item_id, BehaviourEvent.at)
                                   .where(BehaviourEvent.at >= since, BehaviourEvent.session_id.is_not(None),
                                          BehaviourEvent.kind.in_(CARD_CLICK_KINDS)))).all()
    bot_turns = _bot_turns(messages)
    latencies = [t["latency_ms"] for t in bot_turns if t["latency_ms"] is not None]
    handed = {c.id for c in chats if c.handoff_reason is not None or c.agent_id is not None}
    review = [t for t in reversed(bot_turns) if t["needs_review"]]
    return {
        "window_hours": window_hours, "since": since.isoformat() + "Z", "now": now.isoformat() + "Z",
        "messages_per_hour": _per_hour(messages, since, window_hours),
        "sessions": len(chats),
        "handoff_rate": _share(len(handed), len(chats)),
        "containment": _share(len(chats) - len(handed), len(chats)),
        "closed_without_human": sum(1 for c in chats if c.state == SessionState.CLOSED and c.id not in handed),
        "handoff_reasons": dict(Counter(c.handoff_reason or "agent" for c in chats if c.id in handed)),
        "intents": dict(Counter(t["intent"] for t in bot_turns if t["intent"]).most_common()),
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95), "n": len(latencies)},
        "recommendations": _click_through(exposures, clicks),
        "review_count": len(review),
        "review": review[:review_limit],
        **feedback,
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _per_hour(messages, since: datetime, hours: int) -> list[dict[str, Any]]:
    start = since.replace(minute=0, second=0, microsecond=0)
    buckets: dict[datetime, Counter] = {start + timedelta(hours=h): Counter() for h in range(hours + 1)}
    for m in messages:
        hour = m.created_at.replace(minute=0, second=0, microsecond=0)
        if hour in buckets:
            buckets[hour][m.author] += 1
    return [{"hour": hour.isoformat() + "Z", "shopper": c[Author.SHOPPER], "bot": c[Author.BOT],
             "agent": c[Author.AGENT]} for hour, c in buckets.items()]


def _bot_turns(messages) -> list[dict[str, Any]]:
    """Each bot reply with the shopper message it answered, its latency and whether it needs review."""
    turns, previous = [], None
    for m in messages:
        if m.author == Author.BOT and m.payload and "intent" in m.payload:
            asked = previous if previous is not None and previous.session_id == m.session_id \
                and previous.author == Author.SHOPPER else None
            reading = m.payload.get("reading") or {}
            route = reading.get("route")
            turns.append({
                "session_id": m.session_id, "message_id": m.id, "at": m.created_at.isoformat() + "Z",
                # the review list is read by people who do not handle the session: no contact data
                "question": mask_contacts(asked.text) if asked else None, "reply": mask_contacts(m.text),
                "intent": m.payload.get("intent"),
                "confidence": m.payload.get("confidence"), "route": route,
                "latency_ms": (m.created_at - asked.created_at).total_seconds() * 1000 if asked else None,
                "needs_review": bool(reading.get("fallback")) or route in REVIEW_ROUTES
                or (route == "faq" and not m.payload.get("faq_ids")),
            })
        previous = m
    return turns


def _click_through(exposures, clicks) -> dict[str, Any]:
    first_shown: dict[tuple[str, int], datetime] = {}
    for e in exposures:
        key = (e.session_id, e.item_id)
        first_shown[key] = min(e.at, first_shown.get(key, e.at))
    clicked_at: dict[tuple[str, int], list[datetime]] = defaultdict(list)
    for c in clicks:
        clicked_at[(c.session_id, c.item_id)].append(c.at)
    clicked = sum(1 for key, shown in first_shown.items() if any(at >= shown for at in clicked_at.get(key, ())))
    return {"exposures": len(first_shown), "clicked": clicked, "click_through": _share(clicked, len(first_shown))}


@dataclass
class StatsCache:
    """Reuses computed figures for a few seconds (a Prometheus scrape must not rescan the store each time);
    callers arriving while they are computed wait for that one computation instead of starting their own."""

    ttl_s: float
    value: dict[str, Any] | None = None
    computed_at: float = -math.inf
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _fresh(self) -> bool:
        return self.value is not None and time.monotonic() - self.computed_at <= self.ttl_s

    async def get(self, sessions: async_sessionmaker, window_hours: int, review_limit: int) -> dict[str, Any]:
        if not self._fresh():
            async with self.lock:
                if not self._fresh():  # the caller before us may have computed them meanwhile
                    self.value = await dashboard_stats(sessions, window_hours, review_limit)
                    self.computed_at = time.monotonic()
                    metrics.STATS_COMPUTATIONS.inc()
        return self.value


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per server (its session maker)


def forget_cached_stats() -> None:
    """Drop every cached computation (after an erasure: the review list quotes shopper messages)."""
    _caches.clear()


async def cached_stats(sessions: async_sessionmaker, settings) -> dict[str, Any]:
    cache = _caches.setdefault(sessions, StatsCache(settings.stats_cache_s))
    return await cache.get(sessions, settings.stats_window_hours, settings.stats_review_limit)


async def refresh_metrics(runtime) -> None:
    """Set the dashboard gauges of assistant.metrics from the (cached) figures, before a scrape.
    When the store cannot be read the gauges keep their last values and the counters are still served."""
    try:
        publish(await cached_stats(runtime.sessions, runtime.settings))
    except Exception:
        log.exception("could not compute the dashboard figures for /metrics")


def publish(stats: dict[str, Any]) -> None:
    for author in (Author.SHOPPER, Author.BOT, Author.AGENT):
        metrics.WINDOW_MESSAGES.labels(author.value).set(sum(h[author.value] for h in stats["messages_per_hour"]))
    metrics.WINDOW_SESSIONS.set(stats["sessions"])
    metrics.HANDOFF_RATE.set(stats["handoff_rate"] or 0.0)
    metrics.CONTAINMENT.set(stats["containment"] or 0.0)
    metrics.WINDOW_INTENTS.clear()
    for intent, n in stats["intents"].items():
        metrics.WINDOW_INTENTS.labels(intent).set(n)
    for name, share in (("p50", "0.5"), ("p95", "0.95")):
        value = stats["latency_ms"][name]
        metrics.ANSWER_LATENCY_QUANTILE.labels(share).set((value or 0.0) / 1000)
    metrics.REC_CLICK_THROUGH.set(stats["recommendations"]["click_through"] or 0.0)
    metrics.REVIEW_MESSAGES.set(stats["review_count"])
