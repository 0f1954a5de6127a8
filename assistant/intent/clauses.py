"""Split a coordinated message into clauses, so a second request in it can be recognised on its own."""

from __future__ import annotations

import re

CLAUSE_BREAK = re.compile(
    r"\s*(?:[.;!?]+\s+|,\s*(?:and\s+)?(?:also\s+)?|\s+(?:and also|and then|also|plus|as well as|btw|"
    r"by the way|and|but)\s+)\s*",
    re.IGNORECASE,
)
MIN_CLAUSE_WORDS = 3


def split_clauses(text: str) -> list[str]:
    """The clauses of `text` with at least MIN_CLAUSE_WORDS words; [] when there are fewer than two."""
    parts = [p.strip(" ,.;!?") for p in CLAUSE_BREAK.split(text)]
    clauses = [p for p in parts if len(p.split()) >= MIN_CLAUSE_WORDS]
    return clauses if len(clauses) >= 2 else []
