"""Which route an intent takes through the dialogue graph (a table, so routing is visible in one place)."""

from __future__ import annotations

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


def route_for(intent: str, *, fallback: bool, pending: dict | None) -> str:
    """The graph node that handles a classified message."""
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
    if intent == PRODUCT_SEARCH:
        return "products"
    if intent == RECOMMENDATION:
        return "recommend"
    if intent in SMALLTALK:
        return "smalltalk"
    if intent == COMPLAINT:
        return "complaint"
    return "faq"
