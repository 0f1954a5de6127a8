"""Split a coordinated message into its requests, so a second request in it can be recognised on its own.

Strong breaks ("also", "btw", a new sentence) separate requests; weak ones ("and", "but", a comma) may
only separate parts of one request ("I was charged twice and want my money back"), so they are used
only when a message has no strong break.
"""

from __future__ import annotations

import re

CLAUSE_BREAK = re.compile(
    r"\s*(?:[.;!?]+\s+|,\s*(?:and\s+)?(?:also\s+)?|\s+(?:and also|and then|also|plus|as well as|btw|"
    r"by the way|and|but)\s+)\s*",
    re.IGNORECASE,
)
_MARKER = r"(?:and also|also|plus|as well as|btw|by the way|on top of that)"
REQUEST_BREAK = re.compile(rf"\s*(?:[.;!?]+\s+(?:{_MARKER},?\s+)?|,?\s+{_MARKER},?\s+)\s*", re.IGNORECASE)
MIN_CLAUSE_WORDS = 3


def _parts(pattern: re.Pattern, text: str) -> list[str]:
    parts = [p.strip(" ,.;!?") for p in pattern.split(text)]
    kept = [p for p in parts if len(p.split()) >= MIN_CLAUSE_WORDS]
    return kept if len(kept) >= 2 else []


def split_clauses(text: str) -> list[str]:
    """The clauses of `text` at any break, with at least MIN_CLAUSE_WORDS words; [] when fewer than two."""
    return _parts(CLAUSE_BREAK, text)


def split_at_strong_breaks(text: str) -> list[str]:
    """The parts of `text` between strong breaks, each a request of its own; [] when fewer than two."""
    return _parts(REQUEST_BREAK, text)


def split_requests(text: str) -> list[str]:
    """The parts of `text` between strong breaks if there are two or more, else its clauses."""
    return split_at_strong_breaks(text) or split_clauses(text)
