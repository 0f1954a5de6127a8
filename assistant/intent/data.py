"""Training and evaluation examples: Bitext, CLINC out-of-scope, the project's own lines and agent feedback."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.intent.labels import LABELS, OUT_OF_SCOPE, SHOP_INTENTS

SHOP_LINES_DIR = Path(__file__).resolve().parent.parent / "data" / "intents"

# Bitext variation flags of the "shift split": lexical variation, coordination, colloquial, typos
SHIFT_FLAGS = frozenset("LCQZ")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    flags: str = ""
    source: str = ""


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_bitext(data_dir: Path, split: str) -> list[Example]:
    rows = read_jsonl(Path(data_dir) / "bitext" / f"{split}.jsonl")
    return [Example(r["text"], r["intent"], r.get("flags", ""), f"bitext/{split}") for r in rows]


def load_clinc_oos(data_dir: Path) -> list[Example]:
    rows = read_jsonl(Path(data_dir) / "clinc_oos" / "oos_dev.jsonl")
    return [Example(r["text"], OUT_OF_SCOPE, "", "clinc") for r in rows]


def shop_line_files() -> list[Path]:
    return [SHOP_LINES_DIR / f"{intent}.txt" for intent in (*SHOP_INTENTS, OUT_OF_SCOPE)]


PHRASINGS_FILE = SHOP_LINES_DIR / "phrasings.jsonl"
# off-topic questions about other businesses in the shop's own words (a bank card, an airline refund, an energy
# bill): the neighbours of the shop's intents that plain off-topic lines do not cover
NEAR_SHOP_FILE = SHOP_LINES_DIR / "near_shop_off_topic.txt"
NEAR_SHOP_SOURCE = "shop/near_shop"
# everyday phrasings of the Bitext intents that the calibration phase never trains on: with the project's
# held-out lines they are the "how shoppers write" group the fallback budget is measured on (the final
# phase trains on them)
CALIBRATION_PHRASINGS_FILE = SHOP_LINES_DIR / "calibration_phrasings.jsonl"


def load_shop_lines() -> list[Example]:
    """The project's own lines: the intents Bitext lacks, off-topic lines, and everyday phrasings of the
    Bitext intents in words Bitext does not use."""
    examples = []
    for path in shop_line_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                examples.append(Example(line.strip(), path.stem, "", "shop"))
    if PHRASINGS_FILE.exists():
        examples += [Example(r["text"], r["intent"], "", "shop") for r in read_jsonl(PHRASINGS_FILE)]
    if NEAR_SHOP_FILE.exists():
        examples += [Example(line.strip(), OUT_OF_SCOPE, "", NEAR_SHOP_SOURCE)
                     for line in NEAR_SHOP_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return examples


def load_calibration_phrasings() -> list[Example]:
    """Everyday in-scope phrasings held out from the whole calibration phase (see CALIBRATION_PHRASINGS_FILE)."""
    if not CALIBRATION_PHRASINGS_FILE.exists():
        return []
    return [Example(r["text"], r["intent"], "", "shop/calibration") for r in read_jsonl(CALIBRATION_PHRASINGS_FILE)]


def feedback_examples(feedback: Iterable[tuple[str, str]]) -> list[Example]:
    return [Example(text, intent, "", "feedback") for text, intent in feedback if intent in LABELS]


def is_shift_row(example: Example) -> bool:
    return bool(SHIFT_FLAGS & set(example.flags))


def stable_fraction(text: str) -> float:
    """A deterministic number in [0, 1) from the text, for splits that never change between runs."""
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def split_by_hash(examples: Sequence[Example], held_out_share: float) -> tuple[list[Example], list[Example]]:
    kept = [e for e in examples if stable_fraction(e.text) >= held_out_share]
    held_out = [e for e in examples if stable_fraction(e.text) < held_out_share]
    return kept, held_out


def cap_per_intent(examples: Sequence[Example], max_per_intent: int | None, seed: int) -> list[Example]:
    if max_per_intent is None:
        return list(examples)
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        by_intent[e.intent].append(e)
    rng = random.Random(seed)
    capped = []
    for intent in sorted(by_intent):
        group = by_intent[intent]
        capped.extend(rng.sample(group, min(max_per_intent, len(group))))
    return capped


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def data_hashes(data_dir: Path) -> dict[str, str]:
    """Content hashes of every file the model is trained on, for the model card."""
    data_dir = Path(data_dir)
    paths = {
        "bitext/train.jsonl": data_dir / "bitext" / "train.jsonl",
        "bitext/dev.jsonl": data_dir / "bitext" / "dev.jsonl",
        "clinc_oos/oos_dev.jsonl": data_dir / "clinc_oos" / "oos_dev.jsonl",
    }
    paths.update({f"assistant/data/intents/{p.name}": p for p in shop_line_files()})
    paths["assistant/data/intents/paraphrases.json"] = SHOP_LINES_DIR / "paraphrases.json"
    paths["assistant/data/intents/phrasings.jsonl"] = PHRASINGS_FILE
    paths["assistant/data/intents/near_shop_off_topic.txt"] = NEAR_SHOP_FILE
    paths["assistant/data/intents/calibration_phrasings.jsonl"] = CALIBRATION_PHRASINGS_FILE
    return {name: file_sha256(p) for name, p in paths.items() if p.exists()}
