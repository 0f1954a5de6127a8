"""The follow-up table: which short messages resolve against the dialogue context, and only with it."""

from __future__ import annotations

import pytest

from assistant.agent.dialogue import DialogueContext
from assistant.agent.followups import pick_by_ordinal, resolve_followup

WITH_ORDER = DialogueContext(order_id=12)
WITH_ITEMS = DialogueContext(items=[{"item_id": 1, "title": "Blue pen", "price": 3.0},
                                    {"item_id": 2, "title": "Red pen", "price": 2.0}])
EMPTY = DialogueContext()


@pytest.mark.parametrize(("text", "ctx", "signed_in", "route"), [
    ("when will it arrive?", WITH_ORDER, True, "track_order"),
    ("cancel it", WITH_ORDER, True, "cancel_order"),
    ("what about my other order?", WITH_ORDER, True, "choose_order"),
    ("the second one", WITH_ITEMS, False, "item_detail"),
    ("how much is it?", WITH_ITEMS, False, "item_detail"),
    ("a cheaper one", WITH_ITEMS, False, "refine_products"),
    ("in blue", WITH_ITEMS, False, "refine_products"),
    ("change my shipping address to 5 Elm St", EMPTY, True, "change_address"),
    ("where is my refund?", EMPTY, True, "track_refund"),
])
def test_followups_resolve_against_the_context(text, ctx, signed_in, route):
    row = resolve_followup(text, ctx, signed_in)
    assert row is not None and row.route == route


@pytest.mark.parametrize(("text", "ctx", "signed_in"), [
    ("when will it arrive?", EMPTY, True),  # no order in focus: the intent decides
    ("the second one", EMPTY, False),
    ("a cheaper one", WITH_ORDER, True),
    ("what is the shipping cost?", WITH_ITEMS, False),
    ("where is my refund?", EMPTY, False),  # anonymous: the FAQ answers
])
def test_without_its_context_a_message_is_a_new_request(text, ctx, signed_in):
    assert resolve_followup(text, ctx, signed_in) is None


def test_ordinals_pick_from_a_list():
    assert pick_by_ordinal("the second one", ["a", "b", "c"]) == "b"
    assert pick_by_ordinal("the last one", ["a", "b", "c"]) == "c"
    assert pick_by_ordinal("the fifth one", ["a"]) is None


def test_an_unreadable_stored_context_starts_fresh():
    assert DialogueContext.of({"items": "nonsense"}) == DialogueContext()


@pytest.mark.parametrize(("text", "quantity"), [
    ("change the quantity of the pens in order #12 to 3", 3),
    ("please set the qty to 2", 2),
    ("change my address to 12 Elm Street", None),
    ("quantity to 0", None),
])
def test_a_new_quantity_is_read_from_the_request(text, quantity):
    from assistant.agent.actions import quantity_in

    assert quantity_in(text) == quantity


def test_how_much_is_it_with_an_order_in_focus_asks_about_that_order():
    """Failed before the fix: with an order in focus (and no item shown), "how much is it?" was a new request."""
    order_last = DialogueContext(order_id=12, focus="order")
    row = resolve_followup("how much was it?", order_last, True)
    assert row is not None and (row.name, row.route) == ("order_cost", "track_order")
    both = DialogueContext(order_id=12, items=WITH_ITEMS.items, focus="items")  # the items were shown last
    assert resolve_followup("how much is it?", both, True).route == "item_detail"
    assert resolve_followup("how much is it?", both.model_copy(update={"focus": "order"}), True).route == "track_order"


@pytest.mark.parametrize("text", [
    "where is my last order?", "cancel my last order", "I ordered last week, where is it?",
    "my first order never arrived", "what was the first thing you said", "at last!",
    "tell me more about your return policy", "I'd like to place another order",
])
def test_an_ordinal_or_a_phrase_about_something_else_is_not_a_pick_from_the_items_shown(text):
    """Failed before the fix: with item cards shown, any "first", "second" or "last" (even "my last
    order") showed an item, and "tell me more about your return policy" asked which item."""
    row = resolve_followup(text, WITH_ITEMS, True)
    assert row is None or row.route not in ("item_detail", "choose_order"), row


@pytest.mark.parametrize("text", ["the last one", "the 2nd", "second", "how much is the first one?",
                                  "is the first one in stock?", "show me the second item", "tell me more"])
def test_a_pick_from_the_items_shown_still_resolves(text):
    assert resolve_followup(text, WITH_ITEMS, False).route == "item_detail"


@pytest.mark.parametrize(("text", "ctx", "route"), [
    ("I want to return something", EMPTY, "start_return"),
    ("I'd like to send something back", EMPTY, "start_return"),
    ("can I send it back?", WITH_ORDER, "start_return"),
])
def test_a_signed_in_wish_to_return_starts_a_return(text, ctx, route):
    """Failed before the fix: "I want to return something" (read as a return-policy question) got the policy
    text and no return was offered; "send it back" about the order in focus was a new request."""
    row = resolve_followup(text, ctx, True)
    assert row is not None and row.route == route
    assert resolve_followup("I want to return something", EMPTY, False) is None  # anonymous: the policy


async def test_a_yes_when_nothing_was_asked_is_not_a_goodbye():
    """Failed before the fix: a second "yes" (nothing pending), read by the model as goodbye, ended the chat
    with "Goodbye, and thank you for shopping with us!"."""
    from assistant.agent.graph import DialogueNodes, choose_route

    reading = {"intent": "goodbye", "confidence": 0.68, "fallback": False}
    route, followup = choose_route("yes", reading, None, True, None)
    assert (route, followup) == ("smalltalk", "bare_yes")
    out = await DialogueNodes(None).smalltalk({"text": "yes", "reading": reading, "followup": followup})
    assert "goodbye" not in out["reply"].lower() and "help" in out["reply"].lower()
    assert choose_route("no thanks", reading, None, True, None)[0] == "smalltalk"  # the model's goodbye stands


@pytest.mark.parametrize("text", [
    "How do I change my email address?", "can I update my billing address", "change my e-mail address please",
    "what is the return policy for my order?", "how long do I have to return an order?",
    "what is the return window for my order",
])
def test_account_and_policy_questions_are_not_order_actions(text):
    """Failed before the fix: for a signed-in shopper "how do I change my email address?" started a shipping
    address change (and, with the latest order sent, a handover), and "what is the return policy for my
    order?" offered to open a return; the intent model reads these (account and policy FAQ)."""
    assert resolve_followup(text, EMPTY, True) is None


@pytest.mark.parametrize(("text", "route"), [
    ("I need to change my shipping address", "change_address"), ("update the delivery address", "change_address"),
    ("new address: 5 Elm St", "change_address"), ("I want to return my order", "start_return"),
])
def test_order_actions_worded_plainly_still_resolve(text, route):
    assert resolve_followup(text, EMPTY, True).route == route


def test_i_dont_want_an_item_any_more_is_a_change_to_the_order():
    """Failed before the fix: "I don't want the desk calendar any more" from a signed-in shopper with an open
    order was read by the quick model as a product search and listed calendars."""
    row = resolve_followup("I don't want the GLANCE desk calendar any more", EMPTY, True)
    assert row is not None and row.route == "change_item"
    assert resolve_followup("I don't want to wait any more", EMPTY, True) is None
    assert resolve_followup("I don't want the calendar any more", EMPTY, False) is None  # anonymous


@pytest.mark.parametrize("text", ["in blue", "blue ones?", "what about blue?", "any in red?", "any red ones?",
                                  "and in black?", "red?", "do you have them in green?", "how about grey ones"])
def test_a_colour_asked_alone_narrows_the_last_search(text):
    """Failed before the fix: only "in blue" narrowed the items shown; "blue ones?" and "what about blue?" were
    new requests (the quick model read them as anything)."""
    row = resolve_followup(text, WITH_ITEMS, False)
    assert row is not None and (row.name, row.route) == ("in_colour", "refine_products"), text
    assert resolve_followup(text, EMPTY, False) is None  # nothing shown: the intent decides


@pytest.mark.parametrize("text", ["my order came in a blue box", "the red pen is broken", "blue pens under $5"])
def test_a_colour_inside_another_sentence_is_not_a_colour_follow_up(text):
    row = resolve_followup(text, WITH_ITEMS, False)
    assert row is None or row.name != "in_colour", text
