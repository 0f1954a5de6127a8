"""Training lines that name products: shopper templates filled with product phrases from the catalogue.

The written lines of the shop's own intents are few (about 90 per intent against 548 off-topic lines), and
hardly any of them names a product, so "is the blue 40l backpack in stock" or "i want to buy two of the
ergonomic chairs" read as off-topic. The templates of `product_templates.json` (product search, orders,
recommendations, reviews, delivery, payment, refunds) are filled with short product phrases cut from the item
titles of the data dir's catalogues and with everyday products, so that naming a product is in-scope wording
for every intent that can name one. Deterministic for a given seed; no catalogue, everyday products only.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from assistant.intent.data import SHOP_LINES_DIR, Example

TEMPLATES_FILE = SHOP_LINES_DIR / "product_templates.json"
CATALOGUES = ("amazon_office", "amazon_industrial")
SOURCE = "catalogue"
# lines per intent at scale 1.0: the shop's own intents need the most, the others a product mention or two
LINES_PER_INTENT = {"product_search": 120, "place_order": 100, "recommendation": 60, "review": 40}
DEFAULT_LINES = 20
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_FILLER = frozenset({"and", "for", "with", "of", "the", "a", "in", "to", "by", "or", "&", "x", "pack", "count",
                     "set", "inch", "inches", "pcs", "pieces", "genuine", "original", "new", "ct"})


@lru_cache(maxsize=1)
def templates() -> dict:
    return json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))


def product_phrase(title: str, brand: str, rng: random.Random) -> str | None:
    """A shopper's name for an item: the last two or three plain words of the title's first clause
    ("Brother Genuine TN330 Mono Laser Toner Cartridge" -> "laser toner cartridge"), sometimes after the brand."""
    clause = re.split(r"[,(\[|;]| - | – ", title.lower(), maxsplit=1)[0]
    brand_words = set(brand.lower().split())
    words = [w for w in clause.split() if _WORD.fullmatch(w) and w not in brand_words]
    while words and words[-1] in _FILLER:
        words.pop()
    words = words[-rng.choice((2, 3, 3)):]
    while words and words[0] in _FILLER:
        words.pop(0)
    if not words or len(" ".join(words)) < 4:
        return None
    first_brand = brand.split()[0].lower() if brand.split() else ""
    if first_brand.isalpha() and len(first_brand) > 2 and rng.random() < 0.25:
        words.insert(0, first_brand)
    return " ".join(words)


def catalogue_products(data_dir: Path, rng: random.Random) -> list[str]:
    """Product phrases from every catalogue under the data dir (none when it has no catalogue)."""
    phrases = []
    for name in CATALOGUES:
        path = Path(data_dir) / name / "items.jsonl"
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                item = json.loads(line)
                phrase = product_phrase(item.get("title", ""), item.get("brand") or "", rng)
                if phrase:
                    phrases.append(phrase)
    return sorted(set(phrases))


def _fill(template: str, product: str, rng: random.Random, material: dict) -> str:
    return template.format(p=product, n=rng.choice(["two", "3", "a couple", "5", "10", "one"]),
                           c=rng.choice(material["colours"]), s=rng.choice(material["sizes"]),
                           price=rng.choice(material["prices"]), place=rng.choice(material["places"]))


def catalogue_lines(data_dir: Path, scale: float, seed: int, intents: Sequence[str] | None = None) -> list[Example]:
    """`scale` x LINES_PER_INTENT lines per templated intent, half naming catalogue items, half everyday products."""
    if scale <= 0:
        return []
    rng = random.Random(seed)
    material = templates()
    catalogue = catalogue_products(data_dir, rng)
    everyday = material["everyday_products"]
    examples = []
    for intent, intent_templates in material["templates"].items():
        if intents is not None and intent not in intents:
            continue
        seen: set[str] = set()
        wanted = round(scale * LINES_PER_INTENT.get(intent, DEFAULT_LINES))
        for _ in range(wanted * 3):  # a few tries more than wanted, for the duplicates
            if len(seen) >= wanted:
                break
            products = catalogue if catalogue and rng.random() < 0.5 else everyday
            text = _fill(rng.choice(intent_templates), rng.choice(products), rng, material)
            if text not in seen:
                seen.add(text)
                examples.append(Example(text, intent, "", SOURCE))
    return examples
