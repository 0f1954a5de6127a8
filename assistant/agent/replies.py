"""The bot's fixed sentences (small talk, order answers, handoff), kept apart from the routing logic."""

from __future__ import annotations

SMALLTALK = {
    "greeting": "Hello! I can help with orders, delivery, returns, payments and your account, "
    "or find products for you. What can I do for you?",
    "thanks": "You're welcome! Is there anything else I can help you with?",
    "goodbye": "Goodbye, and thank you for shopping with us!",
}

WHAT_ELSE = "Sure. What else can I help you with?"

STATUS_SENTENCE = {
    "processing": "is being prepared and has not shipped yet",
    "shipped": "has shipped and is on its way",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
}

SIGN_IN = "To look at your orders I need to know who you are: please sign in, then ask me again."
NO_ORDERS = "I can't find any orders on your account yet."
UNKNOWN_ORDER = "I can't find order #{order_id} on your account. Your recent orders: {orders}."
CONFIRM_AGAIN = "Sorry, I didn't catch that."
NO_PRODUCTS = "I couldn't find a product matching that. Could you describe it differently?"
PRODUCTS_FOUND = "Here is what I found for \"{query}\":"
RECOMMENDED = "You might like these:"
OUT_OF_SCOPE = ("I'm the shop's assistant, so I can help with orders, delivery, returns, payments, "
                "your account and our products. Could you rephrase your question?")
NO_FAQ = "I'm not sure I have the answer to that. Let me bring in a person who can help."
PERSON_OFFER = "If you'd still like a person from our team to look at this, press the button or ask me again."
HANDOFF = "I'm handing this conversation to a person from our team."
HANDOFF_FRUSTRATED = ("I'm sorry for the trouble. I'm handing your conversation to a person from our team "
                      "right away; you are at the front of the queue.")
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

YES_NO = [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}]

# ---- dialogue across turns: which order, which item, order actions ----
WHICH_ORDER = "Which order do you mean?"
WHICH_ITEM = "Which one do you mean?"
NO_OTHER_ORDER = "Order #{order_id} is the only order on your account I can see."
ASK_ADDRESS = "What is the new shipping address for order #{order_id}? Please write the full address."
ONLY_LINE = ("\"{title}\" is the only item in order #{order_id}, so removing it would empty the order: "
             "shall I cancel the whole order instead? Just say \"cancel it\".")
WHICH_LINE = "Which item of order #{order_id} shall I remove?"
CHANGE_HANDOFF = ("I can remove an item from an order that has not shipped yet, or change how many you get; "
                  "for other changes to order #{order_id} I'm handing you to a person from our team.")
RETURN_OPEN = "There is already a {kind} request for order #{order_id}: {number}, {status} (opened {opened})."
REFUND_STATUS = "Your {kind} request {number} for order #{order_id} is {status} (opened {opened})."
NO_RETURNS = "I can't find a return or refund request on your account."
PAYMENT_HANDOFF = ("I'm sorry about the trouble with your payment. I'm handing you to a person from our team; "
                   "they will see {order}.")
PAYMENT_HANDOFF_ANON = "I'm sorry about the trouble with your payment. I'm handing you to a person from our team."
ITEM_DETAIL = "{title}: ${price:.2f}, {availability}."
IN_STOCK = "in stock ({stock} available)"
OUT_OF_STOCK = "currently out of stock"
REFINED = "Here is what I found for \"{query}\"{limit}:"
NO_COLOUR = "I couldn't find \"{query}\" in {colour}. Could you describe it differently?"
NO_CHEAPER = "I couldn't find a cheaper \"{query}\" in stock."
ETA = {
    "processing": "It should ship within 2 working days and arrive by {eta}.",
    "shipped": "It should arrive by {eta}.",
    "delivered": "It was delivered on {eta}.",
    "cancelled": "",
}
