"""A/B tests: stable variant assignment and the per-variant report over a real SQLite store."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert

from assistant.store import models
from assistant.store.database import upgrade_schema
from recommender.ab import Rate, ab_report, assign_variant


def test_a_session_always_gets_the_same_variant():
    assert {assign_variant("session-42", ["A", "B"]) for _ in range(10)} == {assign_variant("session-42",
                                                                                           ["A", "B"])}


def test_variants_get_near_equal_shares_of_sessions():
    counts = Counter(assign_variant(f"s{i}", ["A", "B", "C"]) for i in range(3000))
    assert set(counts) == {"A", "B", "C"}
    assert all(900 < n < 1100 for n in counts.values())


def test_wilson_interval_contains_the_rate_and_narrows_with_more_trials():
    small, large = Rate(5, 20), Rate(250, 1000)
    assert small.wilson_interval()[0] < 0.25 < small.wilson_interval()[1]
    def width(rate):
        low, high = rate.wilson_interval()
        return high - low

    assert width(large) < width(small)


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    return url


def test_ab_report_counts_clicks_and_purchases_after_exposure(store_url):
    engine = create_engine(store_url)
    start = datetime(2026, 11, 26, 12, 0)
    with engine.begin() as conn:
        conn.execute(insert(models.Item), [{"id": i, "title": f"item {i}", "price": 1.0} for i in (1, 2, 3)])
        conn.execute(insert(models.ChatSession), [{"id": s, "variant": v} for s, v in
                                                  (("a1", "A"), ("a2", "A"), ("b1", "B"))])
        conn.execute(insert(models.RecExposure), [
            {"session_id": "a1", "variant": "A", "item_id": 1, "at": start},
            {"session_id": "a1", "variant": "A", "item_id": 2, "at": start},
            {"session_id": "a2", "variant": "A", "item_id": 1, "at": start},
            {"session_id": "b1", "variant": "B", "item_id": 3, "at": start},
        ])
        later = start + timedelta(minutes=1)
        conn.execute(insert(models.BehaviourEvent), [
            {"session_id": "a1", "item_id": 1, "kind": "click", "at": later},
            {"session_id": "a1", "item_id": 1, "kind": "purchase", "at": later},
            {"session_id": "b1", "item_id": 3, "kind": "click", "at": start - timedelta(minutes=1)},
        ])
    report = {row.variant: row for row in ab_report(store_url)}
    assert report["A"].sessions == 2 and report["A"].exposures == 3
    assert report["A"].click_through == Rate(1, 3)
    assert report["A"].conversion == Rate(1, 2)
    assert report["B"].click_through == Rate(0, 1)  # the click came before the exposure


def test_a_variant_changes_only_its_serving_settings():
    from recommender.ab import DEFAULT_VARIANTS
    from recommender.config import RecommenderConfig

    base = RecommenderConfig(neighbours_k=7)
    diverse = DEFAULT_VARIANTS["B"].apply(base)
    assert diverse.diversity == DEFAULT_VARIANTS["B"].diversity and diverse.neighbours_k == 7
