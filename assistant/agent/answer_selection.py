"""Which FAQ entry answers a confidently read message: the best entry written for its intent, unless an entry
written for something else is closer by more than a margin measured on data (`fit_other_intent_margin`).

The reading is the better judge of what was asked: a similar-sounding entry for another intent is usually a
wrong answer (a question about a refund's status reads close to the refund policy). The margin lets a much
closer entry win where the reading itself is wrong; `shopassist fit-answer-margin` measures it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.faq_index import FaqHit

MARGIN_GRID = tuple(round(float(m), 2) for m in np.arange(0.0, 1.01, 0.01))


def choose_entry(hits: Sequence[FaqHit], intent: str, other_intent_margin: float, min_score: float) -> FaqHit | None:
    """The entry to answer with, or None when nothing fits (no entry for the intent, none similar enough)."""
    tagged = max((h for h in hits if intent in h.intents), key=lambda h: h.score, default=None)
    other = max((h for h in hits if intent not in h.intents), key=lambda h: h.score, default=None)
    if tagged is None:
        return other if other is not None and other.score >= min_score else None
    if other is not None and other.score - tagged.score > other_intent_margin:
        return other
    return tagged


@dataclass(frozen=True)
class SelectionCase:
    """One labelled message for fitting: its true intent, the intent read, and the FAQ candidates found."""

    gold: str
    read: str
    hits: tuple[FaqHit, ...]


def answered_right(case: SelectionCase, margin: float, min_score: float) -> bool:
    chosen = choose_entry(case.hits, case.read, margin, min_score)
    return chosen is not None and case.gold in chosen.intents


def fit_other_intent_margin(cases: Sequence[SelectionCase], min_score: float,
                            grid: Sequence[float] = MARGIN_GRID) -> tuple[float, dict[float, float]]:
    """The margin under which the most cases are answered from an entry written for their true intent, and
    the share right at every margin of `grid`. Among equally good margins the middle one is kept: the edges
    of the plateau sit on single cases."""
    curve = {m: float(np.mean([answered_right(c, m, min_score) for c in cases])) if cases else 0.0 for m in grid}
    best = max(curve.values())
    plateau = [m for m in grid if curve[m] >= best - 1e-12]
    return plateau[len(plateau) // 2], curve
