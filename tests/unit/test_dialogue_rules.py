"""Unit rules of the dialogue: routing table, price limits in product questions, yes/no answers, order numbers."""

from __future__ import annotations

import pytest

from assistant.agent.order_tools import order_number_in
from assistant.agent.product_query import parse_product_query
from assistant.agent.replies import yes_or_no
from assistant.agent.routing import route_for


@pytest.mark.parametrize(("intent", "fallback", "pending", "route"), [
    ("check_refund_policy", False, None, "faq"),
    ("track_order", False, None, "track_order"),
    ("cancel_order", False, None, "cancel_order"),
    ("product_search", False, None, "products"),
    ("recommendation", False, None, "recommend"),
    ("greeting", False, None, "smalltalk"),
    ("contact_human_agent", False, None, "handoff"),
    ("contact_human_agent", True, None, "handoff"),
    ("out_of_scope", True, None, "out_of_scope"),
    ("track_order", True, None, "handoff"),  # not confident: a person takes over
    ("greeting", False, {"action": "cancel_order", "order_id": 1}, "confirm"),
    ("change_shipping_address", False, None, "change_address"),
    ("change_order", False, None, "change_item"),
    ("get_refund", False, None, "start_return"),
    ("track_refund", False, None, "track_refund"),
    ("payment_issue", False, None, "payment_issue"),
])
def test_route_for_intent(intent, fallback, pending, route):
    assert route_for(intent, fallback=fallback, pending=pending) == route


@pytest.mark.parametrize(("text", "query", "lo", "hi"), [
    ("a black stapler under $20?", "a black stapler", None, 20.0),
    ("do you have a black stapler under $20?", "black stapler", None, 20.0),
    ("hi, I'm looking for some sticky notes", "sticky notes", None, None),
    ("pens between 5 and 10 dollars", "pens", 5.0, 10.0),
    ("printer paper over 30 bucks", "printer paper", 30.0, None),
    ("label maker less than 49.99", "label maker", None, 49.99),
    ("show me staplers", "staplers", None, None),
    ("red pens", "red pens", None, None),
])
def test_price_limits_are_read_out_of_product_questions(text, query, lo, hi):
    q = parse_product_query(text)
    assert (q.text, q.min_price, q.max_price) == (query, lo, hi)


@pytest.mark.parametrize(("text", "answer"), [
    ("yes", True), ("Yes please!", True), ("ok", True), ("no", False), ("nope", False),
    ("keep it", False), ("what about shipping?", None),
])
def test_yes_or_no(text, answer):
    assert yes_or_no(text) is answer


@pytest.mark.parametrize(("text", "number"), [
    ("where is order #123?", 123), ("status of order 42", 42), ("order number 7 please", 7),
    ("where is my order", None),
])
def test_order_number_in(text, number):
    assert order_number_in(text) == number
