"""Training-time augmentation: paraphrase by the project's synonym lists, colloquial forms, coordination with
openers and closers, long messages (a neutral sentence of context around the request), annoyed or rude words,
typos, casing and dropped punctuation; deterministic for a given seed."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.intent.data import SHOP_LINES_DIR, Example

# a greeting or a thanks with a sentence of context or an oath around it is no longer only that
SMALL_TALK = frozenset({"greeting", "thanks", "goodbye"})
KEYBOARD_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji", "v": "cfgb",
    "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


@dataclass(frozen=True)
class ParaphraseMaterial:
    synonyms: dict[str, list[str]]
    intent_synonyms: dict[str, dict[str, list[str]]]  # substitutions that keep their meaning in one intent only
    colloquial: dict[str, list[str]]
    openers: list[str]
    closers: list[str]
    contexts: list[str]
    frustration: list[str]


@lru_cache(maxsize=1)
def paraphrase_material() -> ParaphraseMaterial:
    raw = json.loads((SHOP_LINES_DIR / "paraphrases.json").read_text(encoding="utf-8"))
    return ParaphraseMaterial(raw["synonyms"], raw.get("intent_synonyms", {}), raw["colloquial"], raw["openers"],
                              raw["closers"], raw.get("contexts", []), raw.get("frustration", []))


def _substitute(text: str, table: dict[str, list[str]], rng: random.Random, max_swaps: int) -> str:
    """Replace up to `max_swaps` phrases of `table`, in one pass over the text so that a replacement is never
    rewritten again; longer phrases win ("payment methods" before "payment")."""
    lowered = text.lower()
    keys = sorted((k for k in table if k in lowered), key=len, reverse=True)
    if not keys:
        return text
    matches = list(re.finditer("|".join(rf"\b{re.escape(k)}\b" for k in keys), lowered))
    chosen = set(rng.sample(range(len(matches)), min(max_swaps, len(matches))))
    if not chosen:
        return text
    pieces, last = [], 0
    for i, match in enumerate(matches):
        if i in chosen:
            pieces += [lowered[last:match.start()], rng.choice(table[match.group(0)])]
            last = match.end()
    return "".join(pieces) + lowered[last:]


def paraphrase(text: str, rng: random.Random, intent: str = "") -> str:
    """Swap phrases for synonyms; an intent's own synonyms take precedence over the shared ones."""
    material = paraphrase_material()
    return _substitute(text, material.synonyms | material.intent_synonyms.get(intent, {}), rng, max_swaps=2)


def colloquial(text: str, rng: random.Random) -> str:
    return _substitute(text, paraphrase_material().colloquial, rng, max_swaps=3)


def wrap_with_small_talk(text: str, rng: random.Random) -> str:
    """Coordinate the request with an opener and/or a closer ("hi, ... thanks")."""
    material = paraphrase_material()
    if rng.random() < 0.6:
        text = f"{rng.choice(material.openers)}{rng.choice([', ', ' ', '. '])}{text}"
    if rng.random() < 0.6:
        text = f"{text.rstrip('?.! ')}{rng.choice([', ', ' ', '. '])}{rng.choice(material.closers)}"
    return text


def wrap_with_context(text: str, rng: random.Random) -> str:
    """A long message: a neutral sentence of context before or after the request."""
    context = rng.choice(paraphrase_material().contexts)
    if rng.random() < 0.6:
        return f"{context}{rng.choice(['. ', ', ', ' - ', '... '])}{text}"
    return f"{text.rstrip('?.! ')}{rng.choice(['. ', ', ', ' - '])}{context}"


def add_frustration(text: str, rng: random.Random) -> str:
    """Annoyed or rude words before or after the request (they must not change the reading)."""
    words = rng.choice(paraphrase_material().frustration)
    if rng.random() < 0.5:
        return f"{words}{rng.choice([', ', ' ', '!! ', '. '])}{text}"
    return f"{text.rstrip('?.! ')}{rng.choice([', ', ' ', '. '])}{words}"


def add_typos(text: str, rng: random.Random, n_typos: int = 1) -> str:
    chars = list(text)
    for _ in range(n_typos):
        letters = [i for i, c in enumerate(chars) if c.isalpha()]
        if len(letters) < 4:
            break
        i = rng.choice(letters)
        kind = rng.randrange(4)
        if kind == 0:  # swap with the next letter
            if i + 1 < len(chars):
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif kind == 1:  # drop
            del chars[i]
        elif kind == 2:  # double
            chars.insert(i, chars[i])
        else:  # hit a neighbouring key
            chars[i] = rng.choice(KEYBOARD_NEIGHBOURS.get(chars[i].lower(), chars[i]))
    return "".join(chars)


def change_casing(text: str, rng: random.Random) -> str:
    return rng.choice([str.lower, str.upper, str.capitalize, str.title])(text)


def drop_punctuation(text: str, rng: random.Random) -> str:
    return re.sub(r"[?.!,;:']", "", text)


NOISE: tuple[Callable[[str, random.Random], str], ...] = (add_typos, change_casing, drop_punctuation, colloquial)


def augmented_variant(text: str, rng: random.Random, intent: str = "") -> str:
    """One variant: a paraphrase (often), then one or two kinds of surface noise."""
    if rng.random() < 0.7:
        text = paraphrase(text, rng, intent)
    if rng.random() < 0.3:
        text = wrap_with_small_talk(text, rng)
    if intent not in SMALL_TALK and rng.random() < 0.2:
        text = wrap_with_context(text, rng)
    if intent not in SMALL_TALK and rng.random() < 0.15:
        text = add_frustration(text, rng)
    for noise in rng.sample(NOISE, rng.choice([1, 1, 2])):
        text = noise(text, rng)
    return text.strip() or text


def augment_examples(examples: Sequence[Example], copies: float, seed: int) -> list[Example]:
    """`copies` extra variants per example on average (fractions sample a share of the examples)."""
    rng = random.Random(seed)
    extra = []
    for example in examples:
        n = int(copies) + (1 if rng.random() < copies - int(copies) else 0)
        for _ in range(n):
            variant = augmented_variant(example.text, rng, example.intent)
            extra.append(Example(variant, example.intent, "aug", example.source))
    return extra
