"""The recommender the chat server calls: ranked items with a score and a short reason for a shopper.

`Recommender` wraps a trained ItemScorer with item titles and categories, real-time shopper profiles,
cold-start items and diversity re-ranking. Its state is replaced as a whole (never edited in place),
so a worker thread may call `recommend` while another adds an item or the server swaps in a new model.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.config import RecommenderConfig
from recommender.data import Interactions, ItemCatalogue, NextItemRows
from recommender.diversity import cap_per_category, mmr_order
from recommender.lambdamart import TreeRanker
from recommender.profiles import ProfileStore
from recommender.reranker import Reranker
from recommender.scoring import FEATURES, History, ItemScorer, ScoredCandidates
from recommender.sequence import PARAMETER_NAMES, SequenceModel
from recommender.serving import ServingSettings
from recommender.training import EmbedFunction, Progress, quiet, train_scorer

COLD_START_NEIGHBOURS = 10
# what a feature's contribution means to a shopper: "bought" (behaviour after a history item), "similar" (its
# text or words are close to a history item's), "again" (it is in the history), "brand", "popular", "context"
FEATURE_REASON = {"cf_last": "bought", "cf_earlier": "bought", "text_last": "similar", "text_earlier": "similar",
                  "popularity": "popular", "repeat_last": "again", "repeat_earlier": "again",
                  "recent_popularity": "popular", "same_brand": "brand", "same_brand_last": "brand",
                  "text_max": "similar", "lexical_max": "similar", "sequence": "next"}
CONTEXT = "context"  # the chat text's similarity (not a fitted feature)
ORDERED = "purchase"  # the kind of the history items the caller passes (the shopper's orders)
VERBS = {"view": "viewed", "click": "looked at", "add_to_cart": "put in your cart", "purchase": "bought"}
NEUTRAL_VERB = "chose"


@dataclass(frozen=True)
class Recommendation:
    item_id: int
    score: float
    reason: str  # what a shopper reads: the behaviour or words behind the item
    because: str = "popularity"  # the feature (or "context") that contributed most to the score
    anchor_id: int | None = None  # the history item the reason names, if any


@dataclass(frozen=True)
class CatalogueState:
    """Everything `recommend` reads, swapped as one reference."""

    scorer: ItemScorer
    titles: list[str]
    categories: list[str]


class Recommender:
    """Behaviour neighbours fused with text similarity and popularity, per shopper history and chat text."""

    def __init__(self, scorer: ItemScorer, titles: list[str], categories: list[str], config: RecommenderConfig,
                 embed: EmbedFunction | None = None, profiles: ProfileStore | None = None,
                 catalogue_name: str = "the shop", embed_query: EmbedFunction | None = None,
                 max_profiles: int = 100_000) -> None:
        self.config = config
        self.catalogue_name = catalogue_name
        self._embed = embed  # item texts, in the space the catalogue's vectors were made in
        self._embed_query = embed_query or embed  # the shopper's chat text (may be a faster copy)
        self._state = CatalogueState(scorer, list(titles), list(categories))
        self._write_lock = threading.Lock()
        # `is None`, not `or`: an empty store is falsy (it has a length), and a shared one must be kept
        self.profiles = profiles if profiles is not None else ProfileStore(
            config.event_weights, config.profile_max_events, max_profiles)

    # construction ---------------------------------------------------------------------------------

    @classmethod
    def fit(cls, catalogue: ItemCatalogue, interactions: Interactions, embed: EmbedFunction | None,
            config: RecommenderConfig | None = None, validation: NextItemRows | None = None,
            progress: Progress = quiet, catalogue_name: str = "the shop") -> Recommender:
        config = config or RecommenderConfig()
        scorer = train_scorer(catalogue, interactions, embed, config, validation, progress)
        return cls(scorer, catalogue.titles, catalogue.categories, config, embed, catalogue_name=catalogue_name)

    @classmethod
    def fit_from_sql(cls, engine, embed: EmbedFunction | None, config: RecommenderConfig | None = None,
                     progress: Progress = quiet, catalogue_name: str = "the shop") -> Recommender:
        """Train on the SQL store's items, orders and behaviour events (an Engine or a URL)."""
        from recommender.sql_source import read_catalogue, read_interactions

        config = config or RecommenderConfig()
        catalogue = read_catalogue(engine, config.description_chars)
        interactions = read_interactions(engine, config.event_weights)
        return cls.fit(catalogue, interactions, embed, config, progress=progress, catalogue_name=catalogue_name)

    def with_config(self, config: RecommenderConfig) -> Recommender:
        """The same trained model and profiles with other serving options (e.g. diversity for a variant)."""
        state = self._state
        return Recommender(state.scorer, state.titles, state.categories, config, self._embed, self.profiles,
                           self.catalogue_name, self._embed_query)

    def with_serving(self, serving: ServingSettings) -> Recommender:
        """The same trained model and profiles served with other settings (the default, or an A/B variant)."""
        state = self._state
        scorer = state.scorer
        weights = serving.weights(scorer.weights)
        if weights is not scorer.weights:
            scorer = replace(scorer, weights=weights)
        return Recommender(scorer, state.titles, state.categories, serving.apply(self.config), self._embed,
                           self.profiles, self.catalogue_name, self._embed_query)

    # persistence ----------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        state = self._state
        scorer = state.scorer
        path.parent.mkdir(parents=True, exist_ok=True)
        text = scorer.text if scorer.text is not None else np.zeros((0, 0), dtype=np.float32)
        meta = {"config": self.config.to_dict(), "catalogue_name": self.catalogue_name,
                "has_text_neighbours": scorer.text_neighbours is not None, "has_lexical": scorer.lexical is not None,
                "has_sequence": scorer.sequence is not None,
                "reranker_pool": None if scorer.reranker is None else scorer.reranker.pool,
                "reranker_kind": getattr(scorer.reranker, "kind", "mlp")}
        sequence = {} if scorer.sequence is None else {f"sq_{name}": value
                                                          for name, value in scorer.sequence.weights.items()}
        reranker = {} if scorer.reranker is None else {f"rr_{name}": value
                                                          for name, value in scorer.reranker.weights.items()}
        sparse = {**_sparse_arrays("cf", scorer.cf), **_sparse_arrays("tn", scorer.text_neighbours),
                  **_sparse_arrays("lx", scorer.lexical)}
        with path.open("wb") as f:
            np.savez(f, item_ids=scorer.item_ids, popularity=scorer.popularity, brand_codes=scorer.brand_codes,
                     recent_popularity=scorer.recent_popularity, text=text, weights=scorer.weights,
                     titles=np.array(state.titles, dtype=str), categories=np.array(state.categories, dtype=str),
                     meta=np.array(json.dumps(meta)), **sparse, **sequence, **reranker)

    @classmethod
    def load(cls, path: Path, embed: EmbedFunction | None, profiles: ProfileStore | None = None,
             config: RecommenderConfig | None = None, embed_query: EmbedFunction | None = None,
             max_profiles: int = 100_000) -> Recommender:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
        meta = json.loads(str(arrays["meta"]))
        config = config or RecommenderConfig.from_dict(meta["config"])
        n = len(arrays["item_ids"])
        scorer = ItemScorer(
            item_ids=arrays["item_ids"], cf=_sparse_from(arrays, "cf", n), popularity=arrays["popularity"],
            recent_popularity=arrays["recent_popularity"], text=arrays["text"] if arrays["text"].size else None,
            text_neighbours=_sparse_from(arrays, "tn", n) if meta["has_text_neighbours"] else None,
            brand_codes=arrays["brand_codes"], weights=_padded_weights(arrays["weights"]),
            history_decay=config.history_decay, dense_max_items=config.dense_max_items,
            popular_candidates=config.popular_candidates,
            lexical=_sparse_from(arrays, "lx", n) if meta.get("has_lexical") else None,
            sequence=SequenceModel({name: arrays[f"sq_{name}"] for name in PARAMETER_NAMES})
            if meta.get("has_sequence") else None,
            reranker=None if meta.get("reranker_pool") is None else (
                TreeRanker if meta.get("reranker_kind") == "trees" else Reranker)(
                {name.removeprefix("rr_"): value for name, value in arrays.items() if name.startswith("rr_")},
                meta["reranker_pool"]))
        return cls(scorer, arrays["titles"].tolist(), arrays["categories"].tolist(), config, embed, profiles,
                   meta.get("catalogue_name", "the shop"), embed_query, max_profiles)

    def verb_of(self, strength: float) -> str:
        """What the shopper did to an item, read back from an event strength ("chose" when kinds share one)."""
        kinds = [kind for kind, weight in self.config.event_weights.items() if weight == strength]
        return VERBS.get(kinds[0], NEUTRAL_VERB) if len(kinds) == 1 else NEUTRAL_VERB

    # real time ------------------------------------------------------------------------------------

    def observe(self, profile_key: str, item_id: int, kind: str) -> None:
        """Record a behaviour event (view, click, add_to_cart, purchase); the next recommendation uses it."""
        self.profiles.observe(profile_key, item_id, kind)

    def add_item(self, item_id: int, text: str, title: str | None = None, category: str = "") -> None:
        """Add a new item with no behaviour: it borrows the behaviour neighbours of its text neighbours."""
        with self._write_lock:
            state = self._state
            if int(item_id) in state.scorer.index_of:
                return
            vector = self._embed_one(self._embed, text)
            scorer = _scorer_with_item(state.scorer, int(item_id), vector, self.config.new_item_popularity)
            self._state = CatalogueState(scorer, [*state.titles, title or text[: self.config.title_chars]],
                                         [*state.categories, category])

    def _embed_one(self, embed: EmbedFunction | None, text: str) -> np.ndarray | None:
        if embed is None or self._state.scorer.text is None:
            return None
        return np.asarray(embed([text]), dtype=np.float32)[0]

    # queries --------------------------------------------------------------------------------------

    @property
    def current_scorer(self) -> ItemScorer:
        """The trained arrays in use now (read-only; replaced as a whole when items are added)."""
        return self._state.scorer

    @property
    def item_ids(self) -> np.ndarray:
        return self._state.scorer.item_ids

    def score_all(self, history: Sequence[int]) -> np.ndarray:
        """Fused scores of every catalogue item (index order of `item_ids`) for a history; for evaluation."""
        scorer = self._state.scorer
        scored = scorer.score(scorer.to_history(list(history)[-self.config.history_length:]))
        full = np.zeros(scorer.n_items, dtype=np.float32)
        full[scored.indices] = scored.scores
        return full

    def recommend(self, history: Sequence[int], context_text: str | None = None, k: int = 10,
                  exclude: Iterable[int] = (), customer_id: str | None = None) -> list[Recommendation]:
        """Top k items for a history (the shopper's orders, oldest first), optionally merged with the live
        profile; `exclude` items are never suggested."""
        state = self._state
        scorer = state.scorer
        shopper, verbs = self._shopper_history(scorer, history, customer_id)
        context = self._embed_one(self._embed_query, context_text) if context_text else None
        scored = scorer.score(shopper, context, self._context_weight(scorer))
        scores = _without_excluded(scorer, scored, exclude)
        chosen = self._rerank(state, scored.indices, scores, k)
        explained = self._reasons(state, shopper, verbs, scored, chosen, context_text, context)
        return [Recommendation(int(scorer.item_ids[scored.indices[c]]), float(scores[c]), reason, because,
                               None if anchor is None else int(scorer.item_ids[anchor]))
                for c, (reason, because, anchor) in zip(chosen.tolist(), explained, strict=True)]

    def similar_items(self, item_id: int, k: int = 10) -> list[Recommendation]:
        """Items most like one item (behaviour and text), e.g. for a product card's "you may also like"."""
        return self.recommend([item_id], k=k, exclude=[item_id])

    def _shopper_history(self, scorer: ItemScorer, history: Sequence[int],
                         customer_id: str | None) -> tuple[History, dict[int, str]]:
        """The history as the scorer reads it, and what the shopper did to each item (for the reasons)."""
        ids, strengths = [int(i) for i in history], [self.config.event_weights.get(ORDERED, 1.0)] * len(history)
        verbs = dict.fromkeys(ids, VERBS[ORDERED])
        if customer_id is not None:
            for item_id, strength in self.profiles.events(customer_id):
                ids.append(item_id)
                strengths.append(strength)
                verbs[item_id] = self.verb_of(strength)
        keep = self.config.history_length
        shopper = scorer.to_history(ids[-keep:], strengths[-keep:])
        return shopper, {scorer.index_of[i]: verb for i, verb in verbs.items() if i in scorer.index_of}

    def _context_weight(self, scorer: ItemScorer) -> float:
        return self.config.context_weight * max(float(scorer.weights.max(initial=0.0)), 1e-3)

    def _rerank(self, state: CatalogueState, candidates: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        pool_size = min(max(self.config.rerank_pool, k), scores.size)
        pool = np.argpartition(-scores, pool_size - 1)[:pool_size] if pool_size < scores.size else np.arange(
            scores.size)
        pool = pool[np.argsort(-scores[pool], kind="stable")]
        pool = pool[np.isfinite(scores[pool])]
        text = state.scorer.text
        if self.config.diversity > 0 and text is not None:
            pool = pool[mmr_order(scores[pool], text[candidates[pool]], pool.size, self.config.diversity)]
        categories = [state.categories[i] for i in candidates[pool].tolist()]
        kept = cap_per_category(np.arange(pool.size), categories, k, self.config.category_cap)
        return pool[kept]

    def _reasons(self, state: CatalogueState, shopper: History, verbs: dict[int, str], scored: ScoredCandidates,
                 chosen: np.ndarray, context_text: str | None,
                 context: np.ndarray | None) -> list[tuple[str, str, int | None]]:
        """Per chosen item: the reason, the feature that contributed most to its score, and the history item
        the reason names (the one that links to it most through that feature)."""
        scorer = state.scorer
        items = scored.indices[chosen]
        contributions = scored.features[chosen] * scorer.weights
        context_part = (scorer.text[items] @ context * self._context_weight(scorer) if context is not None
                        else np.full(items.size, -np.inf))
        anchors = _anchors(scorer, shopper, items)
        explained = []
        for n, item in enumerate(items.tolist()):
            best = int(np.argmax(contributions[n]))
            if context_part[n] > max(contributions[n, best], 0.0):
                explained.append((f"matches '{context_text[: self.config.title_chars].strip()}'", CONTEXT, None))
                continue
            because = FEATURES[best] if contributions[n, best] > 0 else "popularity"
            kind = FEATURE_REASON[because]
            anchor = anchors[because][n] if because in anchors else None
            explained.append((self._reason_text(state, kind, because, item, anchor, verbs), because, anchor))
        return explained

    def _reason_text(self, state: CatalogueState, kind: str, because: str, item: int, anchor: int | None,
                     verbs: dict[int, str]) -> str:
        title = None if anchor is None else html.unescape(state.titles[anchor])[: self.config.title_chars].strip()
        verb = verbs.get(anchor, NEUTRAL_VERB) if anchor is not None else NEUTRAL_VERB
        if kind == "bought" and title:
            return f"often bought after '{title}'"
        if kind == "similar" and title:
            return f"similar to '{title}' you {verb}"
        if kind == "next" and title:
            return f"often bought next by shoppers who bought '{title}'"
        if kind == "brand" and title:
            return f"same brand as '{title}' you {verb}"
        if kind == "again":
            return f"you {verbs.get(item, NEUTRAL_VERB)} it recently"
        if because == "recent_popularity":
            return f"popular lately in {state.categories[item] or self.catalogue_name}"
        return f"popular in {state.categories[item] or self.catalogue_name}"


def _anchors(scorer: ItemScorer, shopper: History, items: np.ndarray) -> dict[str, list[int | None]]:
    """Per feature and item, the history item behind that feature's value: the last item for the `_last`
    features, else the history item whose link (behaviour, text, words, brand) gives the most."""
    if shopper.is_empty:
        return {}
    history, weights = shopper.indices, scorer.position_weights(shopper)[:, None]
    last = [int(history[-1])] * items.size
    earlier = np.arange(history.size) < history.size - 1

    def strongest(links: np.ndarray, rows: np.ndarray | None = None) -> list[int | None]:
        if rows is not None:
            links = np.where(rows[:, None], links, -np.inf)
        best = np.argmax(links, axis=0)
        found = np.take_along_axis(links, best[None, :], axis=0)[0] > 0
        return [int(history[b]) if ok else None for b, ok in zip(best.tolist(), found.tolist(), strict=True)]

    anchors: dict[str, list[int | None]] = {"cf_last": last, "text_last": last, "same_brand_last": last,
                                            "sequence": last}
    behaviour = scorer.cf[history][:, items].toarray()
    anchors["cf_earlier"] = strongest(behaviour * weights, earlier)
    if scorer.text_neighbours is not None:
        anchors["text_earlier"] = strongest((scorer.text[history] @ scorer.text[items].T) * weights, earlier)
        anchors["text_max"] = strongest(scorer.text_neighbours[history][:, items].toarray())
    if scorer.lexical is not None:
        anchors["lexical_max"] = strongest(scorer.lexical[history][:, items].toarray())
    brands = scorer.brand_codes
    same = (brands[history][:, None] == brands[items][None, :]) & (brands[items][None, :] >= 0)
    anchors["same_brand"] = strongest(same * np.arange(1, history.size + 1, dtype=np.float32)[:, None])
    return anchors


def _without_excluded(scorer: ItemScorer, scored: ScoredCandidates, exclude: Iterable[int]) -> np.ndarray:
    scores = scored.scores.astype(np.float32, copy=True)
    excluded = np.array([scorer.index_of[int(i)] for i in exclude if int(i) in scorer.index_of], dtype=np.int64)
    if excluded.size:
        positions = np.minimum(np.searchsorted(scored.indices, excluded), scored.indices.size - 1)
        scores[positions[scored.indices[positions] == excluded]] = -np.inf
    return scores


def _padded_weights(weights: np.ndarray) -> np.ndarray:
    """Weights of a model saved before later features were appended to FEATURES: those count zero."""
    return np.pad(weights.astype(np.float32), (0, max(len(FEATURES) - weights.size, 0)))


def _sparse_arrays(prefix: str, matrix: sp.csr_matrix | None) -> dict[str, np.ndarray]:
    if matrix is None:
        return {}
    return {f"{prefix}_data": matrix.data, f"{prefix}_indices": matrix.indices, f"{prefix}_indptr": matrix.indptr}


def _sparse_from(arrays: dict[str, np.ndarray], prefix: str, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
                         shape=(n, n))


def _with_new_item(matrix: sp.csr_matrix, column: sp.spmatrix, row: sp.spmatrix) -> sp.csr_matrix:
    return sp.bmat([[matrix, column], [row, None]], format="csr", dtype=np.float32)


def _scorer_with_item(scorer: ItemScorer, item_id: int, vector: np.ndarray | None,
                      popularity: float) -> ItemScorer:
    """A copy of the scorer with one more item: its text neighbours are computed, and its behaviour
    links are borrowed from those neighbours (weighted by text similarity)."""
    n = scorer.n_items
    column, row = sp.csr_matrix((n, 1), dtype=np.float32), sp.csr_matrix((1, n), dtype=np.float32)
    text, text_neighbours, sequence = scorer.text, scorer.text_neighbours, scorer.sequence
    if vector is not None and text is not None and text_neighbours is not None:
        sims = np.maximum(text @ vector, 0.0)
        width = int(np.diff(text_neighbours.indptr).max(initial=1))
        nearest = np.argsort(-sims)[:width]
        text_row = sp.csr_matrix((sims[nearest], (np.zeros(nearest.size), nearest)), shape=(1, n))
        text_neighbours = _with_new_item(text_neighbours, text_row.T, text_row)
        closest = nearest[:COLD_START_NEIGHBOURS]
        share = sims[closest] / max(float(sims[closest].sum()), 1e-12)
        column = sp.csr_matrix(scorer.cf[:, closest] @ share[:, None])
        row = sp.csr_matrix(share[None, :] @ scorer.cf[closest])
        text = np.vstack([text, vector[None, :]])
        if sequence is not None:
            sequence = sequence.with_item(share @ sequence.weights["items"][closest])
    elif sequence is not None:
        sequence = sequence.with_item(np.zeros(sequence.weights["items"].shape[1], dtype=np.float32))
    lexical = None if scorer.lexical is None else _with_new_item(  # no words of its own: no lexical links
        scorer.lexical, sp.csr_matrix((n, 1), dtype=np.float32), sp.csr_matrix((1, n), dtype=np.float32))
    return replace(scorer, item_ids=np.append(scorer.item_ids, item_id), cf=_with_new_item(scorer.cf, column, row),
                   lexical=lexical, sequence=sequence,
                   text=text, text_neighbours=text_neighbours,
                   popularity=np.append(scorer.popularity, np.float32(popularity)),
                   recent_popularity=np.append(scorer.recent_popularity, np.float32(popularity)),
                   brand_codes=np.append(scorer.brand_codes, np.int32(-1)))
