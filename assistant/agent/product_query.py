"""Reads a product question: price limits ("a black stapler under $20") for the product search, and whether it
names a kind of product to search for or asks for advice (a recommendation)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"\$?\s*(\d+(?:[.,]\d{1,2})?)\s*(?:\$|dollars?|bucks|usd)?"
_MAX = re.compile(rf"\b(?:under|below|less than|cheaper than|up to|max(?:imum)?|at most|<)\s*{_NUM}", re.I)
_MIN = re.compile(rf"\b(?:over|above|more than|at least|min(?:imum)?|>)\s*{_NUM}", re.I)
# how shoppers open a product question; not part of what they look for
_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|please|pls|so|ok(?:ay)?)[,!.]?\s+)*"
    r"(?:do you (?:have|sell|carry|stock)|have you got|got any|is there|are there|i(?:'m| am) looking for|"
    r"i (?:need|want|would like)|looking for|search(?: for)?|find(?: me)?|show me|can you find(?: me)?|"
    r"(?:can|could|would) you (?:please )?show me|"
    r"where can i (?:find|buy)|i'd like)\s+(?:(?:some|any|an?|the)\s+)?",
    re.I,
)
# advice asked for in so many words: a recommendation, whatever the product named
_ADVICE = re.compile(r"\b(?:recommend\w*|suggest\w*|advi[cs]e|what should i (?:buy|get|choose|pick))\b", re.I)
# what follows "show me" / "do you have" when it is no kind of product: a vague wish, the shop's picks, more
_NOT_A_KIND = re.compile(r"\b(?:something|anything|stuff|things?|ideas?|gifts?|presents?|best|popular|trending"
                         r"|best-?sellers?|new|more|else|help|my|it|them|that|this|these|those|for me)\b", re.I)
_BETWEEN = re.compile(rf"\bbetween\s*{_NUM}\s*(?:and|-|to)\s*{_NUM}", re.I)


@dataclass(frozen=True)
class ProductQuery:
    text: str
    max_price: float | None = None
    min_price: float | None = None


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def parse_product_query(message: str) -> ProductQuery:
    text, lo, hi = message, None, None
    if m := _BETWEEN.search(text):
        lo, hi = sorted((_num(m.group(1)), _num(m.group(2))))
        text = text.replace(m.group(0), " ")
    if m := _MAX.search(text):
        hi = _num(m.group(1))
        text = text.replace(m.group(0), " ")
    if m := _MIN.search(text):
        lo = _num(m.group(1))
        text = text.replace(m.group(0), " ")
    text = _FILLER.sub("", " ".join(text.split()).strip(" ?.!,"))
    return ProductQuery(text.strip(" ?.!,") or message, hi, lo)


def asks_for_advice(message: str) -> bool:
    """"what do you recommend?", "can you suggest a pen?": the shopper wants the shop's suggestions."""
    return bool(_ADVICE.search(message))


def names_a_kind(message: str) -> bool:
    """"show me notebooks", "do you have binders?": a search phrase naming what to look for (no advice asked;
    "show me something nice", "show me your best sellers" name no kind)."""
    if asks_for_advice(message):
        return False
    text = " ".join(message.split()).strip(" ?.!,")
    opening = _FILLER.match(text)
    rest = text[opening.end():].strip(" ?.!,") if opening else ""
    return bool(rest) and not _NOT_A_KIND.search(rest)
