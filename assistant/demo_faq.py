"""The demo shop's FAQ corpus: a versioned data file (`data/faq.json`) read into validated seeds.

`shopassist setup` loads these seeds into the SQL store and the FAQ Chroma collection. Every entry
carries at least one intent tag (Bitext intents, or product_search / recommendation / greeting /
thanks / goodbye) so the agent can route and filter retrieval by intent.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

DEFAULT_PATH = Path(__file__).parent / "data" / "faq.json"


class FaqSeed(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    intents: list[str]

    @field_validator("intents")
    @classmethod
    def _non_empty(cls, intents: list[str]) -> list[str]:
        if not intents or any(not i.strip() for i in intents):
            raise ValueError("each FAQ entry needs at least one non-empty intent tag")
        return intents


def load_faq_corpus(path: Path | None = None) -> list[FaqSeed]:
    """Read and validate the FAQ file (default: the demo shop's `data/faq.json`); keys must be unique."""
    doc = json.loads((path or DEFAULT_PATH).read_text(encoding="utf-8"))
    seeds = [FaqSeed.model_validate(entry) for entry in doc["entries"]]
    keys = [s.key for s in seeds]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate FAQ keys in " + str(path or DEFAULT_PATH))
    return seeds
