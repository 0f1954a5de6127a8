"""Offline evaluation on a data-set folder: train on it, rank ALL items for each test row, report HR/NDCG.

History items are not excluded from the ranking (the published protocol). Variants share one trained
model and differ only in which fused features count: popularity, behaviour CF alone, text alone, fused.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from recommender.config import RecommenderConfig
from recommender.data import NextItemRows, read_dataset, read_next_item_rows
from recommender.metrics import bootstrap_intervals, intra_list_similarity, ranking_report
from recommender.scoring import FEATURES, ItemScorer
from recommender.service import Recommender
from recommender.training import EmbedFunction, Progress, quiet

CUTOFFS = (5, 10, 20)
TIE_BREAK = 1e-3  # popularity weight that orders the items a single-signal variant cannot tell apart
VARIANT_FEATURES = {
    "popularity": ("popularity",),
    "cf": ("cf_last", "cf_earlier"),
    "text": ("text_last", "text_earlier", "text_max", "lexical_max"),
}


def variant_weights(scorer: ItemScorer) -> dict[str, np.ndarray]:
    """Fusion weights of each reported variant: single signals (popularity breaks their ties) and fused."""
    variants = {}
    for name, features in VARIANT_FEATURES.items():
        mask = np.array([feature in features for feature in FEATURES], dtype=np.float32)
        weights = np.maximum(scorer.weights, 0.0) * mask  # a signal alone ranks by itself, whatever its fused sign
        if not weights.any():
            weights = mask
        tie_break = TIE_BREAK * max(float(weights.max()), 1e-6) * (np.array(FEATURES) == "popularity")
        variants[name] = (weights + tie_break).astype(np.float32)
    variants["fused"] = scorer.weights
    return variants


def full_ranks(scorer: ItemScorer, rows: NextItemRows, history_length: int,
               variants: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """1-based rank of each row's target among ALL items, per variant (unknown targets rank past any cutoff).

    History items stay in the ranking. Ties count against the target.
    """
    ranks = {name: np.full(len(rows), np.iinfo(np.int32).max, dtype=np.int64) for name in variants}
    everything = np.arange(scorer.n_items)
    for row, (history_ids, target) in enumerate(zip(rows.histories, rows.targets.tolist(), strict=True)):
        if target not in scorer.index_of:
            continue
        history = scorer.to_history(history_ids[-history_length:])
        feats = scorer.features(history, everything)
        for name, weights in variants.items():
            scores = scorer.final_scores(history, everything, feats, None if weights is scorer.weights else weights)
            ranks[name][row] = np.count_nonzero(scores >= scores[scorer.index_of[target]])
    return ranks


def recommend_latency_ms(recommender: Recommender, rows: NextItemRows, k: int) -> dict[str, float]:
    timings = []
    for history in rows.histories:
        start = time.perf_counter()
        recommender.recommend(history, k=k)
        timings.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(timings, 50)), "p99_ms": float(np.percentile(timings, 99))}


def mean_intra_list_similarity(recommender: Recommender, rows: NextItemRows, k: int, limit: int) -> float:
    text = recommender.current_scorer.text
    if text is None:
        return float("nan")
    index_of = recommender.current_scorer.index_of
    values = [intra_list_similarity(text[[index_of[r.item_id] for r in recommender.recommend(h, k=k)]])
              for h in rows.histories[:limit]]
    return float(np.mean(values))


def evaluate_folder(folder: Path, test_path: Path, embed: EmbedFunction | None, config: RecommenderConfig,
                    progress: Progress = quiet, diversity_levels: Sequence[float] = (),
                    ils_rows: int = 500) -> dict:
    """Train on the folder, then report every variant on the test rows; 'fused' is what the server uses."""
    dataset = read_dataset(folder, config.description_chars)
    test = read_next_item_rows(test_path)
    start = time.perf_counter()
    fused = Recommender.fit(dataset.items, dataset.interactions, embed, config, dataset.validation, progress)
    train_s = time.perf_counter() - start
    scorer = fused.current_scorer
    ranks = full_ranks(scorer, test, config.history_length, variant_weights(scorer))
    report: dict = {"variants": {name: ranking_report(r, CUTOFFS) for name, r in ranks.items()}, "train_s": train_s}
    report["intervals"] = bootstrap_intervals(ranks["fused"], (10,))  # 95 % over the test rows
    report["latency"] = recommend_latency_ms(fused, test, k=10)
    report["diversity"] = {str(level): _diversity_row(fused, test, level, ils_rows) for level in diversity_levels}
    report["n"] = len(test)
    return report


def _diversity_row(fused: Recommender, test: NextItemRows, level: float, ils_rows: int) -> dict:
    diverse = fused.with_config(replace(fused.config, diversity=level))
    subset = NextItemRows(test.user_keys[:ils_rows], test.histories[:ils_rows], test.targets[:ils_rows])
    ranks = _top_list_ranks(diverse, subset)
    return {"ils@10": mean_intra_list_similarity(diverse, subset, 10, ils_rows), **ranking_report(ranks, (10,))}


def _top_list_ranks(recommender: Recommender, rows: NextItemRows) -> np.ndarray:
    """Rank of the target inside the (re-ranked) top-10 list, or past the cutoff."""
    ranks = []
    for history, target in zip(rows.histories, rows.targets.tolist(), strict=True):
        ids = [r.item_id for r in recommender.recommend(history, k=10)]
        ranks.append(ids.index(target) + 1 if target in ids else 10**9)
    return np.array(ranks)


def summary_line(report: dict) -> dict:
    """The one JSON object printed last by `shopassist eval-recs` (the fused model)."""
    fused = report["variants"]["fused"]
    intervals = {f"{key}_ci95": [round(bound, 4) for bound in bounds] for key, bounds in report["intervals"].items()}
    return {"n": report["n"], **{key: round(fused[key], 4) for key in
                                 ("hr@5", "ndcg@5", "hr@10", "ndcg@10", "hr@20", "ndcg@20")}, **intervals,
            "train_s": round(report["train_s"], 2), "p50_ms": round(report["latency"]["p50_ms"], 3)}
