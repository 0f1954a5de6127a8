"""Dashboard figures of what shoppers said about the answers: helpfulness per intent and per FAQ entry
(thumbs on bot replies), the entries marked unhelpful, conversation ratings, and the mood trend."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.store.models import Author, ChatSession, FaqEntry, Message, MessageFeedback


async def _votes(db: AsyncSession, since: datetime | None) -> list[tuple[dict[str, Any], bool]]:
    query = (select(Message.payload, MessageFeedback.helpful)
             .join(Message, and_(Message.session_id == MessageFeedback.session_id,
                                 Message.seq == MessageFeedback.seq)))
    if since is not None:
        query = query.where(MessageFeedback.at >= since)
    return [(payload or {}, helpful) for payload, helpful in (await db.execute(query)).all()]


def _tally(votes: list[tuple[str, bool]]) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for key, helpful in votes:
        counts[key]["up" if helpful else "down"] += 1
    return {key: {"up": c["up"], "down": c["down"], "helpful": round(c["up"] / (c["up"] + c["down"]), 3)}
            for key, c in sorted(counts.items())}


async def feedback_figures(db: AsyncSession, since: datetime, hours: int, messages) -> dict[str, Any]:
    votes = await _votes(db, since)
    per_intent = _tally([(p.get("intent") or "?", helpful) for p, helpful in votes])
    per_faq = _tally([(str(faq_id), helpful) for p, helpful in votes for faq_id in p.get("faq_ids") or []])
    ratings = [r for r in (await db.scalars(select(ChatSession.rating).where(
        ChatSession.rating.is_not(None), ChatSession.updated_at >= since))).all()]
    return {
        "helpfulness": {"per_intent": per_intent, "per_faq": per_faq, "votes": len(votes)},
        "ratings": {"n": len(ratings), "mean": round(sum(ratings) / len(ratings), 2) if ratings else None,
                    "counts": dict(Counter(ratings))},
        "mood_per_hour": mood_per_hour(messages, since, hours),
    }


def mood_per_hour(messages, since: datetime, hours: int) -> list[dict[str, Any]]:
    """Per hour: shopper messages read as frustrated or angry (the bot's reading, or the lexicon's with a person)."""
    start = since.replace(minute=0, second=0, microsecond=0)
    buckets: dict[datetime, Counter] = {start + timedelta(hours=h): Counter() for h in range(hours + 1)}
    for m in messages:
        payload = m.payload or {}
        mood = (payload.get("reading") or {}).get("mood") if m.author == Author.BOT else payload.get("mood")
        hour = m.created_at.replace(minute=0, second=0, microsecond=0)
        if mood and hour in buckets:
            buckets[hour][mood.get("label", "calm")] += 1
    return [{"hour": hour.isoformat() + "Z", "calm": c["calm"], "frustrated": c["frustrated"], "angry": c["angry"]}
            for hour, c in buckets.items()]


async def unhelpful_entries(db: AsyncSession, limit: int) -> list[dict[str, Any]]:
    """FAQ entries shoppers marked unhelpful, most thumbs-down first (all time)."""
    per_faq = _tally([(str(faq_id), helpful) for p, helpful in await _votes(db, None)
                      for faq_id in p.get("faq_ids") or []])
    down = sorted(((int(k), v) for k, v in per_faq.items() if v["down"]), key=lambda kv: (-kv[1]["down"], kv[0]))
    entries = {e.id: e for e in await db.scalars(select(FaqEntry).where(FaqEntry.id.in_([k for k, _ in down])))}
    return [{"faq_id": k, "question": entries[k].question, "answer": entries[k].answer, **v}
            for k, v in down[:limit] if k in entries]
