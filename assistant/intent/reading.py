"""What the intent model says about one message: the top intent, its calibrated confidence and the fallback flag."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IntentScore(BaseModel):
    intent: str
    confidence: float = Field(ge=0.0, le=1.0)


class IntentReading(BaseModel):
    """The reading the agent routes on; `fallback` means "not confident enough to act on `intent`"."""

    intent: str
    confidence: float = Field(ge=0.0, le=1.0, description="calibrated probability of the top intent")
    alternatives: list[IntentScore] = Field(default_factory=list, description="top-3, top-1 included")
    fallback: bool = False
    secondary_intent: str | None = Field(default=None, description="a confident second intent in the message")
