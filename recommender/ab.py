"""A/B tests of recommendation serving settings: sticky weighted assignment of shoppers to variants, and a
per-variant report (exposures, click-through, add-to-cart, conversion with 95 % Wilson intervals, and each
variant against the control by a two-proportion z-test) from the SQL store's exposures, behaviour events and
orders."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, column, distinct, func, select, table

from recommender.sql_source import CANCELLED, ORDER_LINES, ORDERS, as_engine

EXPOSURES = table("rec_exposures", column("session_id"), column("variant"), column("item_id"), column("at"),
                  column("ab_test_id"))
EVENTS = table("behaviour_events", column("session_id"), column("item_id"), column("kind"), column("at"))
SESSIONS = table("chat_sessions", column("id"), column("customer_id"))
# purchases come from the order store only (a socket's word is no proof), so no event kind counts as one
CLICK_KINDS = ("click", "add_to_cart")  # an add-to-cart needs a click first, even if unsent
CART_KINDS = ("add_to_cart",)
Z_95 = 1.959964
NOT_SIGNIFICANT = "not significant yet"


def assign_variant(shopper_key: str, variants: Sequence[tuple[str, float]], experiment: str = "recs") -> str:
    """The same shopper always gets the same variant of an experiment; each variant gets about its share."""
    if not variants:
        raise ValueError("assign_variant needs at least one variant")
    total = sum(share for _, share in variants)
    if total <= 0:
        raise ValueError("the variants' shares must add up to more than 0")
    digest = hashlib.sha256(f"{experiment}:{shopper_key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for name, share in variants:
        point -= share
        if point < 0:
            return name
    return variants[-1][0]


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

    def against(self, control: Rate, z: float = Z_95) -> str:
        """'better' or 'worse' than the control when a two-sided two-proportion z-test says so at 95 %."""
        if not self.trials or not control.trials:
            return NOT_SIGNIFICANT
        pooled = (self.successes + control.successes) / (self.trials + control.trials)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / self.trials + 1 / control.trials))
        if spread == 0:
            return NOT_SIGNIFICANT
        statistic = (self.value - control.value) / spread
        if abs(statistic) < z:
            return NOT_SIGNIFICANT
        return "better" if statistic > 0 else "worse"

    def as_dict(self) -> dict:
        low, high = self.wilson_interval()
        return {"value": round(self.value, 4), "successes": self.successes, "trials": self.trials,
                "low": round(low, 4), "high": round(high, 4)}


METRICS = ("click_through", "add_to_cart", "conversion")


@dataclass(frozen=True)
class VariantReport:
    variant: str
    sessions: int
    exposures: int
    click_through: Rate  # exposed items later clicked (or carted/bought) in the same session
    add_to_cart: Rate  # exposed items later added to the cart (or bought) in the same session
    conversion: Rate  # exposed sessions with a purchase of an exposed item
    verdicts: dict[str, str]  # metric -> 'control' | 'better' | 'worse' | NOT_SIGNIFICANT

    def as_dict(self) -> dict:
        return {"variant": self.variant, "sessions": self.sessions, "exposures": self.exposures,
                **{metric: {**getattr(self, metric).as_dict(), "verdict": self.verdicts[metric]}
                   for metric in METRICS}}

    def line(self) -> str:
        """One printable line (the command line's report)."""
        parts = [f"variant {self.variant}: sessions={self.sessions} exposures={self.exposures}"]
        for metric in METRICS:
            rate = getattr(self, metric)
            low, high = rate.wilson_interval()
            parts.append(f"{metric}={rate.value:.4f} [{low:.4f}, {high:.4f}] ({self.verdicts[metric]})")
        return " ".join(parts)


def _shown(test_id: int | None):
    """Distinct (variant, session, item) exposures of one test (None: those shown under no test)."""
    where = EXPOSURES.c.ab_test_id.is_(None) if test_id is None else EXPOSURES.c.ab_test_id == test_id
    return select(EXPOSURES.c.variant, EXPOSURES.c.session_id, EXPOSURES.c.item_id, EXPOSURES.c.at).where(where)


def _exposure_counts(conn: Connection, test_id: int | None) -> dict[str, tuple[int, int]]:
    shown = _shown(test_id).with_only_columns(
        EXPOSURES.c.variant, EXPOSURES.c.session_id, EXPOSURES.c.item_id).distinct().subquery()
    query = select(shown.c.variant, func.count(distinct(shown.c.session_id)), func.count()).group_by(shown.c.variant)
    return {variant: (sessions, exposures) for variant, sessions, exposures in conn.execute(query)}


def _count_by_variant(conn: Connection, test_id: int | None, kinds: Sequence[str]) -> dict[str, int]:
    """Exposures followed by an event of one of `kinds` on the exposed item, per variant."""
    shown = _shown(test_id).subquery()
    joined = shown.join(EVENTS, (EVENTS.c.session_id == shown.c.session_id) & (EVENTS.c.item_id == shown.c.item_id)
                        & (EVENTS.c.at >= shown.c.at))
    acted = (select(shown.c.variant, shown.c.session_id, shown.c.item_id)
             .select_from(joined).where(EVENTS.c.kind.in_(kinds)).distinct().subquery())
    query = select(acted.c.variant, func.count()).group_by(acted.c.variant)
    return dict(conn.execute(query).all())


def _converted_sessions(conn: Connection, test_id: int | None) -> dict[str, int]:
    """Exposed sessions whose customer then ordered an item shown to them (not cancelled), per variant."""
    shown = _shown(test_id).subquery()
    joined = (shown.join(SESSIONS, SESSIONS.c.id == shown.c.session_id)
              .join(ORDERS, (ORDERS.c.customer_id == SESSIONS.c.customer_id) & (ORDERS.c.created_at >= shown.c.at))
              .join(ORDER_LINES, (ORDER_LINES.c.order_id == ORDERS.c.id) & (ORDER_LINES.c.item_id == shown.c.item_id)))
    query = (select(shown.c.variant, func.count(distinct(shown.c.session_id))).select_from(joined)
             .where(ORDERS.c.status != CANCELLED).group_by(shown.c.variant))
    return dict(conn.execute(query).all())


def ab_report(store: Connection | Engine | str, test_id: int | None = None,
              variant_order: Sequence[str] = ()) -> list[VariantReport]:
    """Per variant of a test: sessions, exposures, click-through and add-to-cart (per exposure), conversion
    (per session), each against the control: the first of `variant_order` (else the first by name)."""
    if not isinstance(store, Connection):
        with as_engine(store).connect() as conn:
            return ab_report(conn, test_id, variant_order)
    exposures = _exposure_counts(store, test_id)
    clicked = _count_by_variant(store, test_id, CLICK_KINDS)
    carted = _count_by_variant(store, test_id, CART_KINDS)
    converted = _converted_sessions(store, test_id)
    names = [*variant_order, *sorted(set(exposures) - set(variant_order))]
    rates = {}
    for name in names:
        sessions, shown = exposures.get(name, (0, 0))
        rates[name] = (sessions, shown, {"click_through": Rate(clicked.get(name, 0), shown),
                                         "add_to_cart": Rate(carted.get(name, 0), shown),
                                         "conversion": Rate(converted.get(name, 0), sessions)})
    reports = []
    for position, name in enumerate(names):
        sessions, shown, measured = rates[name]
        control = rates[names[0]][2]
        verdicts = {metric: "control" if position == 0 else measured[metric].against(control[metric])
                    for metric in METRICS}
        reports.append(VariantReport(name, sessions, shown, measured["click_through"], measured["add_to_cart"],
                                     measured["conversion"], verdicts))
    return reports
