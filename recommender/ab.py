"""A/B tests of recommendation variants: stable assignment from the session id, variant settings, and a
per-variant report of click-through and conversion (95 % Wilson intervals) from the SQL store."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine, column, distinct, func, select, table

from recommender.config import RecommenderConfig
from recommender.sql_source import as_engine

EXPOSURES = table("rec_exposures", column("session_id"), column("variant"), column("item_id"), column("at"))
EVENTS = table("behaviour_events", column("session_id"), column("item_id"), column("kind"), column("at"))
CLICK_KINDS = ("click", "add_to_cart", "purchase")
PURCHASE_KINDS = ("purchase",)
Z_95 = 1.959964


def assign_variant(session_id: str, variants: Sequence[str], experiment: str = "recs") -> str:
    """The same session always gets the same variant; variants get near-equal shares of sessions."""
    if not variants:
        raise ValueError("assign_variant needs at least one variant")
    digest = hashlib.sha256(f"{experiment}:{session_id}".encode()).digest()
    return variants[int.from_bytes(digest[:8], "big") % len(variants)]


@dataclass(frozen=True)
class VariantSettings:
    """What a variant changes in serving: diversity re-ranking and the weight of the chat text."""

    diversity: float = 0.0
    category_cap: int = 0
    context_weight: float = 1.0

    def apply(self, config: RecommenderConfig) -> RecommenderConfig:
        return replace(config, diversity=self.diversity, category_cap=self.category_cap,
                       context_weight=self.context_weight)


DEFAULT_VARIANTS = {"A": VariantSettings(), "B": VariantSettings(diversity=0.3)}


@dataclass(frozen=True)
class Rate:
    successes: int
    trials: int

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    def wilson_interval(self, z: float = Z_95) -> tuple[float, float]:
        if not self.trials:
            return (0.0, 0.0)
        n, p = self.trials, self.value
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class VariantReport:
    variant: str
    sessions: int
    exposures: int
    click_through: Rate  # exposed items later clicked (or carted/bought) in the same session
    conversion: Rate  # exposed sessions with a purchase of an exposed item


def _exposure_counts(engine: Engine) -> dict[str, tuple[int, int]]:
    shown = select(EXPOSURES.c.variant, EXPOSURES.c.session_id, EXPOSURES.c.item_id).distinct().subquery()
    query = select(shown.c.variant, func.count(distinct(shown.c.session_id)), func.count()).group_by(shown.c.variant)
    with engine.connect() as conn:
        return {variant: (sessions, exposures) for variant, sessions, exposures in conn.execute(query)}


def _acted_on(engine: Engine, kinds: Sequence[str]):
    """Distinct (variant, session, item) exposures followed by an event of one of `kinds` on that item."""
    joined = EXPOSURES.join(EVENTS, (EVENTS.c.session_id == EXPOSURES.c.session_id)
                            & (EVENTS.c.item_id == EXPOSURES.c.item_id) & (EVENTS.c.at >= EXPOSURES.c.at))
    return (select(EXPOSURES.c.variant, EXPOSURES.c.session_id, EXPOSURES.c.item_id)
            .select_from(joined).where(EVENTS.c.kind.in_(kinds)).distinct().subquery())


def _count_by_variant(engine: Engine, kinds: Sequence[str], per_session: bool) -> dict[str, int]:
    acted = _acted_on(engine, kinds)
    counted = distinct(acted.c.session_id) if per_session else func.count()
    query = select(acted.c.variant, func.count(counted) if per_session else counted).group_by(acted.c.variant)
    with engine.connect() as conn:
        return dict(conn.execute(query).all())


def ab_report(engine_or_url: Engine | str) -> list[VariantReport]:
    """Per variant: sessions, exposures, click-through (per exposure) and conversion (per session)."""
    engine = as_engine(engine_or_url)
    exposures = _exposure_counts(engine)
    clicked = _count_by_variant(engine, CLICK_KINDS, per_session=False)
    converted = _count_by_variant(engine, PURCHASE_KINDS, per_session=True)
    return [VariantReport(variant, sessions, shown, Rate(clicked.get(variant, 0), shown),
                          Rate(converted.get(variant, 0), sessions))
            for variant, (sessions, shown) in sorted(exposures.items())]
