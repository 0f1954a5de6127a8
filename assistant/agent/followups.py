"""Follow-up resolution: a short message that only makes sense against the dialogue context.

One table, like routing.py: each row says what the message looks like, what context it needs
(an order in focus, items shown, a signed-in shopper) and which graph node answers it.
`resolve_followup` is the only place a follow-up is recognised; the nodes read the context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.agent.dialogue import DialogueContext

ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "fifth": 5, "5th": 5, "last": -1}
COLOURS = ("black", "blue", "red", "green", "white", "yellow", "pink", "purple", "orange", "grey", "gray",
           "silver", "gold", "brown", "clear")
_ORDINAL = re.compile(r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")(?:\s+(?:one|item|order|option))?\b", re.I)
# a pick from the item cards: "the second one", "the first item", or the ordinal alone ("the last one", "2nd");
# never "my last order" or "last week"
_ITEM_ORDINAL = re.compile(r"\b(?:the\s+)?(?:" + "|".join(ORDINALS) + r")\s+(?:one|item|product)s?\b"
                           r"|^\s*(?:the\s+)?(?:" + "|".join(ORDINALS) + r")[\s.!?]*$", re.I)
_COLOUR = re.compile(r"\b(" + "|".join(COLOURS) + r")\b", re.I)


@dataclass(frozen=True)
class FollowUp:
    name: str
    pattern: re.Pattern[str]
    needs: Literal["order", "order_shown_last", "items", "orders_offered", "customer", "nothing"]
    route: str


def _p(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.I)


_IT = r"(?:it|that|this|they|them|one)"

# first match wins; a row applies only when its context is there
FOLLOW_UPS: tuple[FollowUp, ...] = (
    FollowUp("pick_offered_order", _ORDINAL, "orders_offered", "choose_order"),
    FollowUp("other_order", _p(r"(?<!place )(?<!make )(?<!put in )\b(?:my\s+)?(?:other|another|previous|older|next)"
                               r"\s+order\b"),
             "customer", "choose_order"),
    FollowUp("when_arrive", _p(r"\bwhen\b.*\b(?:arriv\w*|come|get here|deliver\w*|ship\w*)\b"
                               r"|\bwhere is (?:it|that)\b|\bany news\b|\bstatus of (?:it|that)\b"),
             "order", "track_order"),
    FollowUp("cancel_it", _p(r"\bcancel (?:it|that|this)\b"), "order", "cancel_order"),
    FollowUp("return_it", _p(r"\breturn (?:it|that|this)\b|\bsend (?:it|that|this|them) back\b"
                             r"|\b(?:refund|money back) for (?:it|that)\b"),
             "order", "start_return"),
    FollowUp("cheaper", _p(r"\bcheaper\b|\bless expensive\b|\blower price\b"), "items", "refine_products"),
    # "in blue (please)", or a colour as the whole message ("blue ones?", "what about blue?", "any red ones?");
    # a colour inside a longer sentence ("blue pens under $5") is a request of its own
    FollowUp("in_colour", _p(r"^\s*(?:and\s+|what about\s+|how about\s+|any\s+|do you have (?:it|one|them)\s+|"
                             r"is there (?:one\s+)?|got (?:it|one)\s+)?(?:in\s+(?:" + "|".join(COLOURS) + r")\b"
                             r"|(?:any\s+|the\s+)?(?:" + "|".join(COLOURS) + r")(?:\s+ones?)?[\s.!?]*$)"),
             "items", "refine_products"),
    FollowUp("pick_item", _ITEM_ORDINAL, "items", "item_detail"),
    # "how much is it?" right after an order was shown is about the order (its card carries the total)
    FollowUp("order_cost", _p(rf"\bhow much (?:is|was|did|does) {_IT}\b|\bwhat (?:does|did) {_IT} cost\b"
                              r"|\bwhat(?:'s| is| was) the total\b"),
             "order_shown_last", "track_order"),
    FollowUp("how_much", _p(rf"\bhow much (?:is|are|does|do|for) {_IT}\b|\bwhat does {_IT} cost\b"
                            rf"|\b(?:is|are) {_IT} (?:in stock|available)\b"
                            rf"|^\s*(?:please\s+)?tell me more[\s.!?]*$|\bmore about {_IT}\b"),
             "items", "item_detail"),
    # requests worded so plainly that no context is needed (a rule layer under the intent model)
    # (an e-mail or billing address is the account's, answered from the FAQ)
    FollowUp("new_address", _p(r"\b(?:change|update|correct|new)\b"
                               r"(?!.*\b(?:e-?mail|billing|invoice|ip|web)\s+address\b)"
                               r".*\b(?:shipping|delivery)?\s*address\b"),
             "customer", "change_address"),
    FollowUp("change_quantity", _p(r"\b(?:quantity|qty)\b.*\bto\s+\d{1,2}\b"), "customer", "change_item"),
    FollowUp("remove_from_order", _p(r"\b(?:remove|delete|take out)\b.+\bfrom (?:my |the )?order\b"
                                     r"|\b(?:don'?t|do not) want (?!to\b).+\b(?:any ?more|after all)\b"),
             "customer", "change_item"),
    FollowUp("payment_problem", _p(r"\b(?:payment|card|charged|paid)\b.*\b(?:fail\w*|declin\w*|twice|double|wrong"
                                   r"|problem|issue|error)\b"), "customer", "payment_issue"),
    # a return asked for, not a question about the rules ("the return policy for my order", "how long do I have")
    FollowUp("return_order", _p(r"^(?!.*\b(?:policy|policies|window|how long|how many days|rules)\b)"
                                r".*\b(?:return|send back)\b.*\border\b"
                                r"|\b(?:want|like|need) to (?:return|send (?:\w+ )?back)\b"),
             "customer", "start_return"),
    # a yes when the bot asked nothing (a pending question is answered before this table is read)
    FollowUp("bare_yes", _p(r"^\s*(?:yes|yeah|yep|sure|ok(?:ay)?)(?: please)?[\s.!]*$"), "nothing", "smalltalk"),
    FollowUp("refund_status", _p(r"\b(?:where is|status of|track)\b.*\b(?:refund|return)\b"), "customer",
             "track_refund"),
)


def ordinal_in(text: str) -> int | None:
    m = _ORDINAL.search(text)
    return ORDINALS[m.group(1).lower()] if m else None


def colour_in(text: str) -> str | None:
    m = _COLOUR.search(text)
    return m.group(1).lower() if m else None


def _has(ctx: DialogueContext, needs: str, signed_in: bool) -> bool:
    return {
        "order": ctx.order_id is not None,
        "order_shown_last": ctx.order_id is not None and ctx.focus == "order",
        "items": bool(ctx.items),
        "orders_offered": bool(ctx.offered_orders),
        "customer": signed_in,
        "nothing": True,
    }[needs]


def resolve_followup(text: str, ctx: DialogueContext, signed_in: bool) -> FollowUp | None:
    """The follow-up row `text` matches with its context present, or None (a new request)."""
    if len(text) > 120:  # a long message states its own request
        return None
    for row in FOLLOW_UPS:
        if row.pattern.search(text) and _has(ctx, row.needs, signed_in):
            return row
    return None


def offered_number_in(text: str, offered: list[int]) -> int | None:
    """An offered order's number written alone ("27", "27 please"), as its quick reply's label shows it."""
    return next((int(n) for n in re.findall(r"(?<![\d.,$])\b\d{1,9}\b(?![.,]?\d)", text) if int(n) in offered),
                None)


def pick_by_ordinal(text: str, choices: list) -> object | None:
    n = ordinal_in(text)
    if n is None or not choices:
        return None
    if n == -1:
        return choices[-1]
    return choices[n - 1] if n <= len(choices) else None
