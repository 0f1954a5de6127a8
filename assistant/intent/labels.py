"""The intent label set: the 27 Bitext customer-service intents plus the shop assistant's own."""

from __future__ import annotations

BITEXT_INTENTS: tuple[str, ...] = (
    "cancel_order", "change_order", "change_shipping_address", "check_cancellation_fee", "check_invoice",
    "check_payment_methods", "check_refund_policy", "complaint", "contact_customer_service",
    "contact_human_agent", "create_account", "delete_account", "delivery_options", "delivery_period",
    "edit_account", "get_invoice", "get_refund", "newsletter_subscription", "payment_issue", "place_order",
    "recover_password", "registration_problems", "review", "set_up_shipping_address", "switch_account",
    "track_order", "track_refund",
)

OUT_OF_SCOPE = "out_of_scope"

# intents Bitext lacks; their training lines are written by the project in assistant/data/intents/
SHOP_INTENTS: tuple[str, ...] = ("product_search", "recommendation", "greeting", "thanks", "goodbye")

LABELS: tuple[str, ...] = BITEXT_INTENTS + SHOP_INTENTS + (OUT_OF_SCOPE,)

LABEL_TO_ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}


def is_known_intent(intent: str) -> bool:
    return intent in LABEL_TO_ID
