"""Reads price limits out of a product question ("a black stapler under $20") for the product search."""

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
    r"where can i (?:find|buy)|i'd like)\s+(?:(?:some|any|an?|the)\s+)?",
    re.I,
)
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
