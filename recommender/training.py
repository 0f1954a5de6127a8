"""Train an ItemScorer: behaviour neighbours and popularity from interactions, text vectors from the
embedding function, and fusion weights fitted on a validation split of the training data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.config import RecommenderConfig
from recommender.data import Interactions, ItemCatalogue, NextItemRows
from recommender.fusion import build_candidate_lists, fit_weights
from recommender.lambdamart import TreeRanker, cut_rows, fit_lambdamart
from recommender.neighbours import (
    AlsNeighbours,
    Ease,
    SequentialCooccurrence,
    item_counts,
    lexical_neighbours,
    vector_neighbours,
)
from recommender.reranker import Reranker, fit_reranker, pool_of
from recommender.scoring import FEATURES, ItemScorer
from recommender.sequence import SequenceModel, TrainedSequence, train_sequence_model

EmbedFunction = Callable[[Sequence[str]], np.ndarray]
Progress = Callable[[str], None]
FIT_CUTOFF = 10
MIN_ITEMS_TO_CARVE = 2


def quiet(_: str) -> None:
    pass


@dataclass
class BehaviourArrays:
    """Interactions mapped to catalogue indices (unknown items dropped)."""

    users: np.ndarray
    items: np.ndarray


def to_catalogue_indices(interactions: Interactions, item_ids: np.ndarray) -> BehaviourArrays:
    order = np.argsort(item_ids)
    positions = np.searchsorted(item_ids, interactions.items, sorter=order)
    positions = np.minimum(positions, len(item_ids) - 1)
    indices = order[positions]
    known = item_ids[indices] == interactions.items
    return BehaviourArrays(interactions.users[known], indices[known])


def behaviour_neighbours(behaviour: BehaviourArrays, n_items: int, config: RecommenderConfig) -> sp.csr_matrix:
    if config.cf_model == "ease":
        return Ease(l2=config.ease_l2, k=config.neighbours_k).fit(behaviour.users, behaviour.items, n_items)
    if config.cf_model == "als":
        return AlsNeighbours(factors=config.als_factors, k=config.neighbours_k).fit(
            behaviour.users, behaviour.items, n_items)
    params = config.cooccurrence
    model = SequentialCooccurrence(window=params.window, distance_decay=params.distance_decay,
                                   backward_weight=params.backward_weight, pop_damping=params.pop_damping,
                                   k=params.k, source_blocks=params.source_blocks,
                                   max_pairs_per_block=params.max_pairs_per_block)
    return model.fit(behaviour.users, behaviour.items, n_items)


def popularity(behaviour: BehaviourArrays, n_items: int, recency_decay: float = 1.0) -> np.ndarray:
    """log(1 + count) scaled to [0, 1]; with recency_decay < 1 an event counts decay ** (its user's later events),
    which favours what is bought lately when sequences are in time order."""
    if not behaviour.users.size:
        return np.zeros(n_items, dtype=np.float32)
    ends = np.flatnonzero(np.r_[behaviour.users[1:] != behaviour.users[:-1], True])
    later_events = np.repeat(ends, np.diff(np.r_[-1, ends])) - np.arange(behaviour.users.size)
    weights = np.power(recency_decay, later_events.astype(np.float64))
    logs = np.log1p(item_counts(behaviour.items, n_items, weights))
    return (logs / max(float(logs.max(initial=0.0)), 1e-12)).astype(np.float32)


def carve_validation(interactions: Interactions, history_length: int, max_rows: int) -> NextItemRows:
    """Each user's last item as the target of a row whose history is the items before it.

    Users are taken evenly spaced when there are more than `max_rows`, so fitting stays fast.
    """
    if not len(interactions):
        return NextItemRows([], [], np.zeros(0, dtype=np.int64))
    ends = np.flatnonzero(np.r_[interactions.users[1:] != interactions.users[:-1], True])
    starts = np.r_[0, ends[:-1] + 1]
    eligible = np.flatnonzero(ends - starts >= MIN_ITEMS_TO_CARVE - 1)
    if eligible.size > max_rows:
        eligible = eligible[np.linspace(0, eligible.size - 1, max_rows).astype(np.int64)]
    items = interactions.items
    histories = [items[max(start, end - history_length):end].tolist()
                 for start, end in zip(starts[eligible].tolist(), ends[eligible].tolist(), strict=True)]
    keys = [interactions.user_keys[int(u)] for u in interactions.users[ends[eligible]].tolist()]
    return NextItemRows(keys, histories, items[ends[eligible]].astype(np.int64))


def build_scorer(catalogue: ItemCatalogue, interactions: Interactions, text: np.ndarray | None,
                 config: RecommenderConfig, weights: np.ndarray | None = None,
                 same_catalogue: ItemScorer | None = None, sequence: SequenceModel | None = None) -> ItemScorer:
    """A scorer whose behaviour parts come from `interactions`; the text and word neighbours depend on the
    catalogue only and are taken from `same_catalogue` when given (a refit on more behaviour)."""
    behaviour = to_catalogue_indices(interactions, catalogue.ids)
    n_items = len(catalogue.ids)
    if weights is None:
        weights = np.zeros(len(FEATURES), dtype=np.float32)
    if same_catalogue is not None:
        text_neighbours, lexical = same_catalogue.text_neighbours, same_catalogue.lexical
    else:
        text_neighbours = None if text is None else vector_neighbours(text, config.neighbours_k)
        lexical = word_neighbours(catalogue, config)
    return ItemScorer(item_ids=catalogue.ids, cf=behaviour_neighbours(behaviour, n_items, config),
                      popularity=popularity(behaviour, n_items),
                      recent_popularity=popularity(behaviour, n_items, config.popularity_recency_decay),
                      text=text, text_neighbours=text_neighbours,
                      brand_codes=brand_codes(catalogue.brands, n_items), weights=weights,
                      history_decay=config.history_decay, dense_max_items=config.dense_max_items,
                      popular_candidates=config.popular_candidates, lexical=lexical, sequence=sequence)


def word_neighbours(catalogue: ItemCatalogue, config: RecommenderConfig) -> sp.csr_matrix | None:
    """Lexical neighbours on catalogues small enough: shared words make the sparse products grow faster than items."""
    if len(catalogue.ids) > config.lexical_max_items:
        return None
    return lexical_neighbours(catalogue.texts, config.neighbours_k)


def brand_codes(brands: list[str], n_items: int) -> np.ndarray:
    """A number per distinct non-empty brand (case-insensitive), -1 for unknown."""
    if not brands:
        return np.full(n_items, -1, dtype=np.int32)
    code_of: dict[str, int] = {}
    return np.array([code_of.setdefault(b.lower(), len(code_of)) if b else -1 for b in brands], dtype=np.int32)


def embed_catalogue(catalogue: ItemCatalogue, embed: EmbedFunction | None) -> np.ndarray | None:
    if embed is None:
        return None
    return np.ascontiguousarray(embed(catalogue.texts), dtype=np.float32)


def validation_split(interactions: Interactions, validation: NextItemRows | None,
                     config: RecommenderConfig) -> tuple[Interactions, NextItemRows]:
    """Behaviour to fit the neighbours on, and the rows to fit fusion weights on (their targets held out)."""
    if validation is None:
        validation = carve_validation(interactions, config.history_length, config.validation_max_rows)
    base = interactions.without_pairs(validation.user_keys, validation.targets.tolist())
    return base, validation


def train_scorer(catalogue: ItemCatalogue, interactions: Interactions, embed: EmbedFunction | None,
                 config: RecommenderConfig, validation: NextItemRows | None = None,
                 progress: Progress = quiet, text: np.ndarray | None = None) -> ItemScorer:
    """Fit neighbours on the training part, fusion weights on the validation rows, then refit on all."""
    if text is None:
        progress(f"embedding {len(catalogue.ids)} item texts")
        text = embed_catalogue(catalogue, embed)
    base, validation = validation_split(interactions, validation, config)
    progress(f"fitting {config.cf_model} neighbours on {len(base)} interactions")
    scorer = build_scorer(catalogue, base, text, config)
    sequence = fit_sequence(scorer, base, validation, text, config, progress)
    scorer.sequence = None if sequence is None else sequence.model
    lists = fusion_candidates(scorer, validation, config)
    if lists.n_rows >= config.min_validation_rows:
        progress(f"fitting fusion weights on {lists.n_rows} validation rows")
        weights = fit_weights(lists, FIT_CUTOFF, config.fit_passes, progress)
    else:
        progress(f"only {lists.n_rows} validation rows: using the default fusion weights")
        weights = np.array([config.default_weights.get(name, 0.0) for name in FEATURES], dtype=np.float32)
    scorer.weights = weights
    if config.rerank.kind == "trees":
        scorer.reranker = fit_tree_stage(catalogue, base, scorer, validation, text,
                                         None if sequence is None else sequence.epochs, config, progress)
    else:
        scorer.reranker = fit_second_stage(scorer, validation, config, progress)
    if not config.refit_on_all:
        return scorer
    progress(f"refitting neighbours on all {len(interactions)} interactions")
    refitted = None
    if sequence is not None:
        behaviour = to_catalogue_indices(interactions, catalogue.ids)
        refitted = train_sequence_model(behaviour.users, behaviour.items, len(catalogue.ids), text, config.sequence,
                                        epochs=sequence.epochs, log=progress).model
    final = build_scorer(catalogue, interactions, text, config, weights, same_catalogue=scorer, sequence=refitted)
    final.reranker = scorer.reranker
    return final


def fit_second_stage(scorer: ItemScorer, validation: NextItemRows, config: RecommenderConfig,
                     progress: Progress) -> Reranker | None:
    """The second stage on the validation rows (training period) whose target is in the fused score's pool;
    only on catalogues where fitting ranks every item."""
    params = config.rerank
    if not params.enabled or scorer.n_items > config.fit_dense_max_items:
        return None
    found = pooled_rows(scorer, validation, config, "mlp")
    if not found:
        return None
    inputs, positions = [x for _, x, _ in found], [p for _, _, p in found]
    return fit_reranker(np.stack(inputs), np.array(positions, dtype=np.int64), params, progress)


def pooled_rows(scorer: ItemScorer, rows: NextItemRows, config: RecommenderConfig, kind: str):
    """(user key, second-stage inputs of the fused score's pool, the target's position in it) of each row whose
    target is in the pool."""
    everything, found_rows = np.arange(scorer.n_items), []
    for key, history_ids, target in zip(rows.user_keys, rows.histories, rows.targets.tolist(), strict=True):
        history = scorer.to_history(history_ids[-config.history_length:])
        if target not in scorer.index_of or history.is_empty:
            continue
        feats = scorer.features(history, everything)
        fused = np.einsum("ij,j->i", feats, scorer.weights)
        pool = pool_of(fused, config.rerank.pool)
        found = np.flatnonzero(pool == scorer.index_of[target])
        if found.size:
            found_rows.append((key, scorer.rerank_inputs(history, pool, feats[pool], fused[pool], kind),
                               int(found[0])))
    return found_rows


def fit_tree_stage(catalogue: ItemCatalogue, base: Interactions, scorer: ItemScorer, validation: NextItemRows,
                   text: np.ndarray | None, sequence_epochs: int | None, config: RecommenderConfig,
                   progress: Progress) -> TreeRanker | None:
    """LambdaMART over the fused score's pool, fitted on the fit rows (scored by `scorer`, fitted on `base`) and
    on those rows cut 1..cuts items earlier, scored by generators refitted without every such row's target."""
    params = config.rerank
    if not params.enabled or scorer.n_items > config.fit_dense_max_items:
        return None
    found = pooled_rows(scorer, validation, config, "trees") if params.fit_rows else []
    if params.cuts > 0:
        rows, pairs = cut_rows(validation, params.cuts)
        earlier = base.without_pairs([key for key, _ in pairs], [item for _, item in pairs])
        progress(f"second stage: {len(rows)} rows on generators refitted on {len(earlier)} interactions")
        sequence = None
        if sequence_epochs is not None:
            behaviour = to_catalogue_indices(earlier, catalogue.ids)
            sequence = train_sequence_model(behaviour.users, behaviour.items, len(catalogue.ids), text,
                                            config.sequence, epochs=sequence_epochs).model
        cut_scorer = build_scorer(catalogue, earlier, text, config, scorer.weights, same_catalogue=scorer,
                                  sequence=sequence)
        found += pooled_rows(cut_scorer, rows, config, "trees")
    if not found:
        return None
    keys = {key: i for i, key in enumerate(sorted({key for key, _, _ in found}))}
    return fit_lambdamart([inputs for _, inputs, _ in found], np.array([p for _, _, p in found], dtype=np.int64),
                          np.array([keys[key] for key, _, _ in found], dtype=np.int64), params, progress)


def sequence_model_fits(n_items: int, n_interactions: int, config: RecommenderConfig) -> bool:
    """Whether a sequence model is trained: enabled, and the shop small enough for its full softmax and time."""
    params = config.sequence
    return params.enabled and n_items <= params.max_items and n_interactions <= params.max_interactions


def fit_sequence(scorer: ItemScorer, base: Interactions, validation: NextItemRows, text: np.ndarray | None,
                 config: RecommenderConfig, progress: Progress) -> TrainedSequence | None:
    """The sequence model on the training part, stopped early on the validation rows (training period)."""
    if not sequence_model_fits(scorer.n_items, len(base), config):
        return None
    behaviour = to_catalogue_indices(base, scorer.item_ids)
    histories, targets = [], []
    for history_ids, target in zip(validation.histories, validation.targets.tolist(), strict=True):
        history = scorer.to_history(history_ids[-config.history_length:])
        if target in scorer.index_of and not history.is_empty:
            histories.append(history.indices)
            targets.append(scorer.index_of[target])
    holdout = (histories, np.array(targets, dtype=np.int64)) if histories else None
    progress(f"training the sequence model on {len(base)} interactions")
    return train_sequence_model(behaviour.users, behaviour.items, scorer.n_items, text, config.sequence,
                                holdout=holdout, log=progress)


def fusion_candidates(scorer: ItemScorer, validation: NextItemRows, config: RecommenderConfig):
    histories, targets = [], []
    for history_ids, target in zip(validation.histories, validation.targets.tolist(), strict=True):
        if target in scorer.index_of:
            histories.append(scorer.to_history(history_ids[-config.history_length:]))
            targets.append(scorer.index_of[target])
    return build_candidate_lists(scorer, histories, np.array(targets, dtype=np.int64),
                                 config.fit_candidates_per_feature, config.fit_dense_max_items)
