"""A/B tests: sticky weighted assignment, the per-variant report over a real SQLite store, serving settings."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert

from assistant.store import models
from assistant.store.database import upgrade_schema
from recommender.ab import NOT_SIGNIFICANT, Rate, ab_report, assign_variant
from recommender.serving import ServingSettings, ServingSettingsError

EVEN = [("A", 1 / 3), ("B", 1 / 3), ("C", 1 / 3)]


def test_a_shopper_always_gets_the_same_variant():
    assert {assign_variant("shopper-42", EVEN) for _ in range(10)} == {assign_variant("shopper-42", EVEN)}


def test_variants_get_near_equal_shares_of_shoppers():
    counts = Counter(assign_variant(f"s{i}", EVEN) for i in range(3000))
    assert set(counts) == {"A", "B", "C"}
    assert all(900 < n < 1100 for n in counts.values())


def test_variants_get_their_traffic_share_and_tests_split_independently():
    counts = Counter(assign_variant(f"s{i}", [("A", 0.8), ("B", 0.2)], "ab1") for i in range(5000))
    assert 3850 < counts["A"] < 4150 and 850 < counts["B"] < 1150
    first = [assign_variant(f"s{i}", [("A", 0.5), ("B", 0.5)], "ab1") for i in range(400)]
    second = [assign_variant(f"s{i}", [("A", 0.5), ("B", 0.5)], "ab2") for i in range(400)]
    assert 0.35 < sum(a == b for a, b in zip(first, second, strict=True)) / 400 < 0.65


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


def test_ab_report_counts_clicks_after_exposure_and_orders_from_the_order_store(store_url):
    """Conversion is an order of the shown item by the session's customer after it was shown. Before, it counted
    `purchase` events, which no socket may send any more: every test's conversion read 0 (failed before)."""
    engine = create_engine(store_url)
    start = datetime(2026, 11, 26, 12, 0)
    with engine.begin() as conn:
        conn.execute(insert(models.Item), [{"id": i, "title": f"item {i}", "price": 1.0} for i in (1, 2, 3)])
        conn.execute(insert(models.Customer), [{"id": c, "name": c} for c in ("c1", "c2", "c3")])
        conn.execute(insert(models.ChatSession), [{"id": s, "variant": v, "customer_id": c} for s, v, c in
                                                  (("a1", "A", "c1"), ("a2", "A", "c2"), ("b1", "B", "c3"))])
        conn.execute(insert(models.RecExposure), [
            {"session_id": "a1", "variant": "A", "item_id": 1, "at": start},
            {"session_id": "a1", "variant": "A", "item_id": 2, "at": start},
            {"session_id": "a2", "variant": "A", "item_id": 1, "at": start},
            {"session_id": "b1", "variant": "B", "item_id": 3, "at": start},
        ])
        later = start + timedelta(minutes=1)
        conn.execute(insert(models.BehaviourEvent), [
            {"session_id": "a1", "item_id": 1, "kind": "click", "at": later},
            {"session_id": "a1", "item_id": 1, "kind": "add_to_cart", "at": later},
            {"session_id": "b1", "item_id": 3, "kind": "click", "at": start - timedelta(minutes=1)},
            {"session_id": "a2", "item_id": 1, "kind": "purchase", "at": later},  # an old socket's: no proof
        ])
        # conversion comes from the order store: c1 ordered the item shown to a1 after it was shown; c2's order
        # was cancelled and c3 ordered before the exposure
        conn.execute(insert(models.Order), [
            {"id": 1, "customer_id": "c1", "status": "processing", "created_at": later, "updated_at": later},
            {"id": 2, "customer_id": "c2", "status": "cancelled", "created_at": later, "updated_at": later},
            {"id": 3, "customer_id": "c3", "status": "delivered", "created_at": start - timedelta(days=1),
             "updated_at": start},
        ])
        conn.execute(insert(models.OrderLine), [{"order_id": o, "item_id": i, "quantity": 1, "unit_price": 1.0}
                                                for o, i in ((1, 1), (2, 1), (3, 3))])
    report = {row.variant: row for row in ab_report(store_url)}
    assert report["A"].sessions == 2 and report["A"].exposures == 3
    assert report["A"].click_through == Rate(1, 3)
    assert report["A"].add_to_cart == Rate(1, 3)
    assert report["A"].conversion == Rate(1, 2)  # a1's order; not a2's cancelled order nor its purchase event
    assert report["B"].conversion == Rate(0, 1)  # ordered before it was shown
    assert report["B"].click_through == Rate(0, 1)  # the click came before the exposure
    assert report["A"].verdicts["click_through"] == "control"
    assert report["B"].verdicts["click_through"] == NOT_SIGNIFICANT


def test_a_difference_is_called_only_when_the_z_test_says_so():
    assert Rate(12, 100).against(Rate(10, 100)) == NOT_SIGNIFICANT
    assert Rate(300, 1000).against(Rate(200, 1000)) == "better"
    assert Rate(200, 1000).against(Rate(300, 1000)) == "worse"
    assert Rate(0, 0).against(Rate(3, 10)) == NOT_SIGNIFICANT


def test_a_variant_changes_only_its_serving_settings():
    from recommender.config import RecommenderConfig

    base = RecommenderConfig(neighbours_k=7)
    variant = ServingSettings.from_dict({"diversity": 0.3}, ServingSettings(candidate_pool=80))
    served = variant.apply(base)
    assert (served.diversity, served.rerank_pool, served.neighbours_k) == (0.3, 80, 7)


def test_serving_settings_out_of_range_or_unknown_are_refused_by_name():
    with pytest.raises(ServingSettingsError, match="diversity"):
        ServingSettings(diversity=1.5)
    with pytest.raises(ServingSettingsError, match="colour"):
        ServingSettings.from_dict({"colour": "red"})
