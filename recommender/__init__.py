"""Recommender: behaviour collaborative filtering fused with item text embeddings, over the SQL store.

The chat server uses `Recommender` (fit / fit_from_sql / load, recommend, observe, add_item) and
`recommender.ab` (assign_variant, VariantSettings, ab_report); everything else is its machinery.
"""

from recommender.config import RecommenderConfig
from recommender.service import Recommendation, Recommender

__all__ = ["Recommendation", "Recommender", "RecommenderConfig"]
