"""Which route an intent takes through the dialogue graph (a table, so routing is visible in one place)."""

from __future__ import annotations

from assistant.agent.product_query import asks_for_advice, names_a_kind

ORDER_ROUTES = {
    "track_order": "track_order",
    "cancel_order": "cancel_order",
    "change_shipping_address": "change_address",
    "set_up_shipping_address": "change_address",
    "change_order": "change_item",
    "get_refund": "start_return",
    "track_refund": "track_refund",
    "payment_issue": "payment_issue",
}
SMALLTALK = {"greeting", "thanks", "goodbye"}
PRODUCT_SEARCH = "product_search"
RECOMMENDATION = "recommendation"
HUMAN = "contact_human_agent"
OUT_OF_SCOPE = "out_of_scope"
COMPLAINT = "complaint"

ROUTES = ("faq", "track_order", "choose_order", "cancel_order", "change_address", "change_item", "start_return",
          "track_refund", "payment_issue", "confirm", "products", "item_detail", "refine_products", "recommend",
          "smalltalk", "complaint", "handoff", "out_of_scope")


def route_for(intent: str, *, fallback: bool, pending: dict | None, text: str = "") -> str:
    """The graph node that handles a classified message (`text`, when given, settles search or suggestion)."""
    if pending:
        return "confirm"
    if intent == HUMAN:
        return "handoff"
    if intent == OUT_OF_SCOPE:
        return "out_of_scope"
    if fallback:
        return "handoff"
    if intent in ORDER_ROUTES:
        return ORDER_ROUTES[intent]
    if intent in (PRODUCT_SEARCH, RECOMMENDATION):
        return _search_or_suggest(intent, text)
    if intent in SMALLTALK:
        return "smalltalk"
    if intent == COMPLAINT:
        return "complaint"
    return "faq"


def _search_or_suggest(intent: str, text: str) -> str:
    """The model often confuses the two: "show me <a kind>" is a search for that kind, advice asked for ("what
    do you recommend", "suggest something for me") a recommendation; otherwise the model's reading stands."""
    if intent == RECOMMENDATION and names_a_kind(text):
        return "products"
    if intent == PRODUCT_SEARCH and asks_for_advice(text):
        return "recommend"
    return "products" if intent == PRODUCT_SEARCH else "recommend"
