"""Tunable parameters of the recommender in one typed object (the caller builds it from its settings)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CooccurrenceParams:
    window: int = 5
    distance_decay: float = 1.0
    backward_weight: float = 0.5
    pop_damping: float = 0.5
    k: int = 100
    source_blocks: int = 1
    max_pairs_per_block: int = 10_000_000  # bounds peak memory of training (~60 bytes per pair of a block)


@dataclass
class SequenceParams:
    """The SASRec next-item model (recommender.sequence): a fused feature and, on large catalogues, candidates."""

    enabled: bool = True
    max_items: int = 50_000  # above this catalogue size no sequence model (full softmax, dense embeddings)
    max_interactions: int = 2_000_000  # nor above this much behaviour (training time)
    dim: int = 64
    max_length: int = 20
    dropout: float = 0.3
    epochs: int = 60
    patience: int = 6  # epochs without a better training-period NDCG@10 before stopping
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    text_init: bool = True  # start item embeddings from the text vectors' top principal components
    item_embedding: str = "text+id"  # "id": free; "text": a learned map of the text vectors; "text+id": both
    seed: int = 0


@dataclass
class RerankParams:
    """The second stage over the fused score's top candidates: LambdaMART trees (recommender.lambdamart) or an
    MLP (recommender.reranker)."""

    enabled: bool = True
    kind: str = "trees"  # "trees" (LightGBM lambdarank, served in numpy) or "mlp"
    cuts: int = 2  # trees: rows cut 1..cuts items earlier from each fit row, on generators fitted without them
    fit_rows: bool = True  # trees: also the fit rows scored by the fusion fit's generators
    leaves: int = 15
    max_depth: int = 5
    min_leaf: int = 50
    trees: int = 60  # per model (bounds serving time: ~0.5 ms for a pool of 100)
    tree_learning_rate: float = 0.1
    tree_patience: int = 30
    threads: int = 2
    bags: int = 3  # trees: models, each stopped early on its own third of the users, summed (1: one model)
    pool: int = 200  # candidates it re-orders (the fused score's best; 200 over 100: +.005 NDCG@10 on Industrial valid)
    hidden: int = 32
    dropout: float = 0.1
    epochs: int = 40
    patience: int = 5
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    min_rows: int = 200  # training-period rows with the target in the pool needed to fit it
    seed: int = 0


@dataclass
class RecommenderConfig:
    cf_model: str = "cooccurrence"  # "cooccurrence" | "ease" | "als"
    cooccurrence: CooccurrenceParams = field(default_factory=CooccurrenceParams)
    sequence: SequenceParams = field(default_factory=SequenceParams)
    rerank: RerankParams = field(default_factory=RerankParams)
    ease_l2: float = 200.0
    als_factors: int = 64
    neighbours_k: int = 100
    lexical_max_items: int = 300_000  # word (TF-IDF) neighbours up to this catalogue size; 0 = never
    history_length: int = 10  # most recent items of a profile that count
    popularity_recency_decay: float = 0.5  # recent popularity: an event counts this ** (its user's later events)
    history_decay: float = 0.7  # weight of an item = decay ** (steps before the most recent)
    description_chars: int = 0  # description characters embedded with the title and brand (cost: CPU time)
    dense_max_items: int = 300_000  # up to this catalogue size every item is scored (exact full ranking)
    popular_candidates: int = 200  # above it, candidates = behaviour neighbours + this many popular items
    fit_candidates_per_feature: int = 100  # candidate items per feature when fitting fusion weights
    fit_dense_max_items: int = 20_000  # up to this catalogue size fitting ranks each row among every item
    fit_passes: int = 3
    min_validation_rows: int = 30  # below this, default_weights are used instead of fitted ones
    default_weights: dict[str, float] = field(default_factory=lambda: {
        "cf_last": 1.0, "cf_earlier": 0.3, "text_last": 1.0, "text_earlier": 0.3, "popularity": 0.1,
        "repeat_last": 0.0, "repeat_earlier": 0.0, "recent_popularity": 0.1,
        "same_brand": 0.1, "same_brand_last": 0.1, "text_max": 0.3,
        "lexical_max": 0.3})
    validation_max_rows: int = 5000  # rows carved from the behaviour to fit fusion weights on
    refit_on_all: bool = True  # after fitting weights on the validation split, retrain on all behaviour
    context_weight: float = 1.0  # weight of the chat text's similarity, relative to the fitted text weight
    new_item_popularity: float = 0.0
    event_weights: dict[str, float] = field(default_factory=lambda: {
        "view": 0.5, "click": 0.7, "add_to_cart": 0.9, "purchase": 1.0})  # distinct: reasons read the kind back
    profile_max_events: int = 50
    diversity: float = 0.0  # MMR trade-off: 0 = pure relevance, 1 = pure novelty
    category_cap: int = 0  # at most this many items of one category in a list (0 = no cap)
    rerank_pool: int = 50  # how many top items the diversity re-ranking considers
    title_chars: int = 40  # title length quoted in reasons

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RecommenderConfig:
        values = dict(values)
        values["cooccurrence"] = CooccurrenceParams(**values.get("cooccurrence", {}))
        values["sequence"] = SequenceParams(**values.get("sequence", {}))
        values["rerank"] = RerankParams(**values.get("rerank", {}))
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in values.items() if key in known})
