"""The bot's fixed sentences (small talk, order answers, handoff), kept apart from the routing logic."""

from __future__ import annotations

SMALLTALK = {
    "greeting": "Hello! I can help with orders, delivery, returns, payments and your account, "
    "or find products for you. What can I do for you?",
    "thanks": "You're welcome! Is there anything else I can help you with?",
    "goodbye": "Goodbye, and thank you for shopping with us!",
}

STATUS_SENTENCE = {
    "processing": "is being prepared and has not shipped yet",
    "shipped": "has shipped and is on its way",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
}

SIGN_IN = "To look at your orders I need to know who you are: please sign in, then ask me again."
NO_ORDERS = "I can't find any orders on your account yet."
UNKNOWN_ORDER = "I can't find order #{order_id} on your account. Your recent orders: {orders}."
CANCEL_CONFIRM = "Shall I cancel {order}? Please answer yes or no."
CANCELLED = "Done: order #{order_id} is cancelled. The refund goes back to your original payment method."
CANCEL_TOO_LATE = ("Order #{order_id} {status_sentence}, so it can no longer be cancelled. Once it arrives "
                   "you can return it within our return window.")
CANCEL_KEPT = "All right, order #{order_id} stays as it is."
CANCEL_RACE = "I couldn't cancel order #{order_id}: its status just changed to {status}."
CONFIRM_AGAIN = "Sorry, I didn't catch that: shall I cancel order #{order_id}? Please answer yes or no."
NO_PRODUCTS = "I couldn't find a product matching that. Could you describe it differently?"
PRODUCTS_FOUND = "Here is what I found for \"{query}\":"
RECOMMENDED = "You might like these:"
OUT_OF_SCOPE = ("I'm the shop's assistant, so I can help with orders, delivery, returns, payments, "
                "your account and our products. Could you rephrase your question?")
NO_FAQ = "I'm not sure I have the answer to that. Let me bring in a person who can help."
HANDOFF = "I'm handing this conversation to a person from our team."
HANDOFF_COMPLAINT = "I'm sorry this is still not sorted out. I'm handing your conversation to a person from our team."

YES = {"yes", "y", "yeah", "yep", "sure", "ok", "okay", "please do", "do it", "confirm", "yes please",
       "go ahead", "correct"}
NO = {"no", "n", "nope", "don't", "do not", "cancel that", "never mind", "nevermind", "keep it", "stop"}


def yes_or_no(text: str) -> bool | None:
    t = text.lower().strip(" .!?")
    if t in YES or t.startswith("yes"):
        return True
    if t in NO or t.startswith("no"):
        return False
    return None
