"""DialogueState: the one typed dict that flows through the dialogue graph."""

from __future__ import annotations

from typing import Any, TypedDict


class DialogueState(TypedDict, total=False):
    # input
    session_id: str
    customer_id: str | None
    text: str
    pending: dict[str, Any] | None  # a question the bot asked last turn (e.g. confirm a cancellation)
    fallback_streak: int
    complaints: int  # complaints the bot already answered in this session
    variant: str  # the session's recommendation A/B variant
    # classify
    reading: dict[str, Any]  # IntentReading as a dict
    route: str
    # output
    reply: str
    faq_ids: list[int]
    items: list[dict[str, Any]]
    handoff: bool
    handoff_reason: str | None
    next_pending: dict[str, Any] | None
