"""The frustration signal of a shopper message: the project's frustration lexicon, VADER's sentiment
(a rule-based valence lexicon, `vaderSentiment` on PyPI: it knows thousands of words ours does not) and the
intent model's belief that the message is a complaint, combined by noisy-OR (measured on
bench/data/frustration.jsonl and the held-out bench/data/frustration_probe.jsonl, see BENCHMARKS.md).

What the signal says (`read_mood`) is kept apart from what the dialogue does about it
(`FrustrationPolicy`: hand over at once when strong, or on the Nth frustrated message).
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from pydantic import BaseModel, Field

# weights: a strong word alone reads as frustrated; two moderate ones do
STRONG = ("ridiculous", "unacceptable", "worst", "furious", "scam", "useless", "terrible", "awful",
          "disgusting", "pathetic", "fed up", "sick of", "sick and tired", "waste of time", "never again",
          "are you kidding", "wtf", "joke", "outrageous", "incompetent", "rubbish", "garbage", "horrible",
          "livid", "fraud", "lawyer", "report you", "stolen", "robbed", "hopeless", "shame on")
MODERATE = ("annoyed", "annoying", "frustrated", "frustrating", "disappointed", "disappointing", "angry",
            "upset", "unhappy", "not happy", "still", "again", "third time", "second time", "how many times",
            "no one", "nobody", "nothing happened", "no answer", "no reply", "ignored", "waiting for weeks",
            "weeks", "days ago", "already asked", "already told", "keep asking", "doesn't work",
            "does not work", "not working", "broken", "damaged", "wrong item", "never arrived",
            "never received", "lost", "late", "delayed", "unbelievable", "seriously", "come on", "ugh",
            "bad service", "poor service", "not good enough", "refund now", "immediately", "asap")
_WORD = re.compile(r"[a-z']+")


def _phrases(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.I)


_STRONG = _phrases(STRONG)
_MODERATE = _phrases(MODERATE)
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")


def lexicon_score(text: str) -> float:
    """0..1 from the words alone: strong words, moderate words, shouting and repeated marks."""
    points = 1.0 * len(_STRONG.findall(text)) + 0.3 * len(_MODERATE.findall(text))
    shouted = [w for w in _SHOUT.findall(text) if w not in ("ASAP", "USA", "USD", "OK")]
    if len(shouted) >= 2:
        points += 0.6
    if "!!" in text or "?!" in text or "??" in text:
        points += 0.35
    return round(1.0 - math.exp(-1.6 * points), 4)


@cache
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def negativity(text: str) -> float:
    """0..1: how negative VADER reads the text (its compound valence below zero; a positive text is 0)."""
    return round(max(0.0, -_vader().polarity_scores(text)["compound"]), 4)


def complaint_belief(reading: dict[str, Any] | None) -> float:
    """The intent model's probability that the message is a complaint (top intent or an alternative)."""
    if not reading:
        return 0.0
    if reading.get("intent") == "complaint":
        return float(reading.get("confidence") or 0.0)
    for alt in reading.get("alternatives") or []:
        if alt.get("intent") == "complaint":
            return float(alt.get("confidence") or 0.0)
    return 0.0


class Mood(BaseModel):
    score: float = Field(ge=0.0, le=1.0)
    label: str  # "calm", "frustrated" or "angry"


class FrustrationPolicy(BaseModel):
    """Thresholds on the combined score, and what the dialogue does about them."""

    complaint_weight: float = 0.5
    sentiment_weight: float = 0.5  # VADER alone reads at most "frustrated", never "angry"
    frustrated_at: float = 0.5
    angry_at: float = 0.85
    handoff_after: int = 2  # frustrated messages in a session; 0 = never on repetition

    def read_mood(self, text: str, reading: dict[str, Any] | None = None) -> Mood:
        # noisy-OR: each source alone can raise the score; together they raise it more, never past 1
        score = 1.0 - ((1.0 - lexicon_score(text)) * (1.0 - self.complaint_weight * complaint_belief(reading))
                       * (1.0 - self.sentiment_weight * negativity(text)))
        label = "angry" if score >= self.angry_at else "frustrated" if score >= self.frustrated_at else "calm"
        return Mood(score=round(score, 4), label=label)

    def hands_over(self, mood: Mood, frustrated_before: int) -> bool:
        if mood.label == "angry":
            return True
        return mood.label == "frustrated" and 0 < self.handoff_after <= frustrated_before + 1

    @staticmethod
    def priority(mood: Mood) -> int:
        """The queue's urgency: 2 angry, 1 frustrated, 0 calm."""
        return {"angry": 2, "frustrated": 1}.get(mood.label, 0)


def policy_from_settings(settings: Any) -> FrustrationPolicy:
    return FrustrationPolicy(complaint_weight=settings.frustration_complaint_weight,
                             sentiment_weight=settings.frustration_sentiment_weight,
                             frustrated_at=settings.frustration_frustrated_at,
                             angry_at=settings.frustration_angry_at,
                             handoff_after=settings.handoff_after_frustrated)
