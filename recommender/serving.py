"""Serving settings: what a shop (or an A/B variant) may change in how a trained model serves suggestions.

One typed object, built by the assistant from its settings (the default) or from an A/B variant, and
applied to a trained Recommender without retraining: diversity re-ranking, the per-category cap, the
weight of the chat text, the candidate pool the re-ranking looks at, a fusion weights preset, and how
long a bought item stays out of the suggestions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from recommender.config import RecommenderConfig
from recommender.scoring import FEATURES

# a preset multiplies the fitted weights of one group of features; "fitted" keeps them as learned
FEATURE_GROUPS = {
    "behaviour": ("cf_last", "cf_earlier", "repeat_last", "repeat_earlier"),
    "text": ("text_last", "text_earlier", "text_max", "lexical_max"),
    "popularity": ("popularity", "recent_popularity"),
}
PRESET_BOOST = 2.0
FUSION_PRESETS = ("fitted", "more_behaviour", "more_text", "more_popular")


class ServingSettingsError(ValueError):
    """A serving setting out of its range (the message names the setting)."""


@dataclass(frozen=True)
class ServingSettings:
    diversity: float = 0.0  # MMR trade-off: 0 = pure relevance, 1 = pure novelty
    category_cap: int = 0  # at most this many items of one category in a list (0 = no cap)
    context_weight: float = 1.0  # weight of the chat text's similarity, relative to the largest fitted weight
    candidate_pool: int = 50  # how many top items the re-ranking considers
    fusion_preset: str = "fitted"  # one of FUSION_PRESETS
    exclude_bought_days: int = 90  # items bought this recently are not suggested (unless consumable); 0 = off

    def __post_init__(self) -> None:
        checks = {
            "diversity": 0.0 <= self.diversity <= 1.0,
            "category_cap": self.category_cap >= 0,
            "context_weight": 0.0 <= self.context_weight <= 10.0,
            "candidate_pool": 1 <= self.candidate_pool <= 1000,
            "fusion_preset": self.fusion_preset in FUSION_PRESETS,
            "exclude_bought_days": self.exclude_bought_days >= 0,
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise ServingSettingsError(f"serving setting out of range: {', '.join(wrong)} "
                                       f"(fusion_preset is one of {', '.join(FUSION_PRESETS)})")

    def apply(self, config: RecommenderConfig) -> RecommenderConfig:
        """The model's config with these serving options (the fitted parts stay as they are)."""
        return replace(config, diversity=self.diversity, category_cap=self.category_cap,
                       context_weight=self.context_weight, rerank_pool=self.candidate_pool)

    def weights(self, fitted: np.ndarray) -> np.ndarray:
        """The fusion weights this preset serves, from the fitted ones."""
        if self.fusion_preset == "fitted":
            return fitted
        group = FEATURE_GROUPS[self.fusion_preset.removeprefix("more_")]
        boost = np.array([PRESET_BOOST if name in group else 1.0 for name in FEATURES], dtype=np.float32)
        return (fitted * boost[: fitted.size]).astype(np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict, base: ServingSettings | None = None) -> ServingSettings:
        """Settings from a partial dict (e.g. a variant that changes only diversity) over `base`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ServingSettingsError(f"unknown serving setting(s): {', '.join(unknown)}; "
                                       f"expected some of {', '.join(sorted(known))}")
        return replace(base or cls(), **values)
