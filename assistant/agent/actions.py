"""The order actions the bot can take for a signed-in shopper, as one table: which orders each applies
to, what it asks before it writes, and what it says after (the graph's `confirm` node applies them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.store.models import OrderStatus


@dataclass(frozen=True)
class OrderActionSpec:
    name: str
    allowed: frozenset[str]  # order statuses the action may still change
    candidates: frozenset[str]  # orders offered when the shopper has not said which
    ask: str  # the confirmation question ({order} = the order's description, plus the action's args)
    done: str
    kept: str
    too_late: str
    handoff_when_too_late: bool = False  # a person can still help with a shipped order (e.g. the carrier)
    delivered: str = ""  # the answer when the order was delivered (nothing left to redirect: no person needed)


PROCESSING = frozenset({OrderStatus.PROCESSING.value})
# what a shopper can still do about an order past cancelling, by its status ({return_hint} of a too_late)
RETURN_HINT = {
    OrderStatus.SHIPPED.value: "Once it arrives you can return it within our return window.",
    OrderStatus.DELIVERED.value: "You can return it within our return window instead: just say \"return it\".",
}
ALREADY = "Order #{order_id} is already cancelled."
SENT = frozenset({OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value})
OPEN = frozenset({OrderStatus.PROCESSING.value, OrderStatus.SHIPPED.value})

ACTIONS: dict[str, OrderActionSpec] = {a.name: a for a in (
    OrderActionSpec(
        "cancel_order", PROCESSING, PROCESSING,
        ask="Shall I cancel {order}? Please answer yes or no.",
        done="Done: order #{order_id} is cancelled. The refund goes back to your original payment method.",
        kept="All right, order #{order_id} stays as it is.",
        too_late="Order #{order_id} {status_sentence}, so it can no longer be cancelled. {return_hint}"),
    OrderActionSpec(
        "change_address", PROCESSING, PROCESSING,
        ask="Shall I change the shipping address of {order} to \"{address}\"? Please answer yes or no.",
        done="Done: order #{order_id} will ship to {address}.",
        kept="All right, the shipping address of order #{order_id} stays as it is.",
        too_late="Order #{order_id} {status_sentence}, so I can't change its address any more. I'm handing you "
                 "to a person from our team who can contact the carrier.",
        handoff_when_too_late=True,
        delivered="Order #{order_id} was delivered, so its shipping address can no longer be changed."),
    OrderActionSpec(
        "remove_item", PROCESSING, PROCESSING,
        ask="Shall I remove \"{title}\" from {order}? Please answer yes or no.",
        done="Done: \"{title}\" is removed from order #{order_id}; you'll be refunded for it.",
        kept="All right, order #{order_id} stays as it is.",
        too_late="Order #{order_id} {status_sentence}, so I can't change it any more. I'm handing you to a "
                 "person from our team who can help.",
        handoff_when_too_late=True,
        delivered="Order #{order_id} was delivered, so it can no longer be changed. {return_hint}"),
    OrderActionSpec(
        "change_quantity", PROCESSING, PROCESSING,
        ask="Shall I change \"{title}\" in {order} to {quantity}? Please answer yes or no.",
        done="Done: order #{order_id} now has {quantity} x \"{title}\".",
        kept="All right, order #{order_id} stays as it is.",
        too_late="Order #{order_id} {status_sentence}, so I can't change it any more. I'm handing you to a "
                 "person from our team who can help.",
        handoff_when_too_late=True,
        delivered="Order #{order_id} was delivered, so it can no longer be changed. {return_hint}"),
    OrderActionSpec(
        "start_return", SENT, SENT,
        ask="Shall I open a {kind} request for {order}? Please answer yes or no.",
        done="Done: {kind} request {number} is open for order #{order_id}. Ask me \"where is my refund?\" "
             "any time to see its status.",
        kept="All right, no {kind} request was opened for order #{order_id}.",
        too_late="Order #{order_id} {status_sentence}, so there is nothing to return yet. If it has not "
                 "shipped you can cancel it instead."),
)}

def confirmation_question(pending: dict) -> str:
    """The question a pending action asked, again (its order named by number only)."""
    spec = ACTIONS[pending["action"]]
    return spec.ask.format(order=f"order #{pending['order_id']}", **pending.get("args", {}))


# what the shopper says to pick a route's action
_ADDRESS = re.compile(r"\b(?:to|is now|new address(?: is)?:?)\s+(.{6,200})$", re.I)
_REMOVE = re.compile(r"\b(?:remove|delete|take out|drop|don'?t want|do not want)\b", re.I)
_RETURN = re.compile(r"\breturn", re.I)
_QUANTITY = re.compile(r"\b(?:quantity|qty)\b.*?\bto\s+(\d{1,2})\b|\b(?:make it|change it to)\s+(\d{1,2})\b", re.I)


def address_in(text: str) -> str | None:
    """A new address written into the request ("change my address to 5 Elm St, Springfield")."""
    m = _ADDRESS.search(text.strip())
    if not m:
        return None
    address = m.group(1).strip(" .!?")
    return address if any(ch.isdigit() for ch in address) else None


def wants_removal(text: str) -> bool:
    return bool(_REMOVE.search(text))


def quantity_in(text: str) -> int | None:
    """A new quantity for an order line ("change the quantity of the pens to 3"), 1-99."""
    m = _QUANTITY.search(text)
    n = int(m.group(1) or m.group(2)) if m else None
    return n if n and 1 <= n <= 99 else None


def return_kind(text: str) -> str:
    return "return" if _RETURN.search(text) else "refund"


def line_named(text: str, lines: list) -> object | None:
    """The order line whose title shares the most words with the message (None when no word matches)."""
    words = {w for w in re.findall(r"[a-z]{3,}", text.lower())} - {"the", "and", "from", "order", "remove", "item"}
    best, best_score = None, 0
    for line in lines:
        score = len(words & set(re.findall(r"[a-z]{3,}", line.title.lower())))
        if score > best_score:
            best, best_score = line, score
    return best
