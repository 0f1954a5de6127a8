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
    frustration: int  # frustrated shopper messages so far in this session
    dialogue: dict[str, Any] | None  # DialogueContext as stored: order in focus, items shown, topic
    activity_consent: bool  # False: suggestions from the current message only (no history, no profile)
    # classify
    reading: dict[str, Any]  # IntentReading as a dict
    route: str
    mood: dict[str, Any]  # the frustration signal: {score, label, handover}
    followup: str | None  # the follow-up row (followups.py) that chose the route, if any
    person_insisted: bool  # a second ask for a person after the bot offered one: hand over at once
    # output
    reply: str
    faq_ids: list[int]
    faq_intents: list[list[str]]  # the intents each answering FAQ entry is written for
    items: list[dict[str, Any]]
    options: list[dict[str, str]]  # quick replies: {"label", "value"}; the widget sends `value` as a message
    ab: dict[str, Any]  # the A/B test and variant the items were served under
    handoff: bool
    handoff_reason: str | None
    next_pending: dict[str, Any] | None
    order: dict[str, Any] | None  # the order card (status timeline) of the order the reply is about
