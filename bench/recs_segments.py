"""Where the recommender's NDCG@10 comes from: the test rows split by what their target is.

Segments: the target is the last history item (a repeat), elsewhere in the history, cold (no interaction in the
training folder) or warm and outside the history; and the rows whose history holds an item never trained on
against the rest. Per segment: rows, share, HR@10, NDCG@10 and its share of the
total NDCG@10 points; also where the last history item ranks. Trains like `recs_splits.py` (same splits).

    nice -n 19 .venv/bin/python bench/recs_segments.py amazon_industrial --splits "training period" \
        --text-cache .state/recs_text_vectors.npz
    nice -n 19 .venv/bin/python bench/recs_segments.py amazon_industrial amazon_office --shares-only
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.recs_splits import splits, variant_config
from recommender.data import read_dataset, read_next_item_rows
from recommender.metrics import ranking_report
from recommender.scoring import FEATURES
from recommender.service import Recommender

SEGMENTS = ("last item", "earlier history item", "cold", "warm, not in history")


def segment_of(history: list[int], target: int, trained: set[int]) -> str:
    if history and history[-1] == target:
        return SEGMENTS[0]
    if target in history:
        return SEGMENTS[1]
    return SEGMENTS[2] if target not in trained else SEGMENTS[3]


def ranks_of(scorer, rows, history_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Full ranks (ties against the item) of each row's target and of its last history item."""
    everything = np.arange(scorer.n_items)
    big = np.iinfo(np.int32).max
    target_ranks, last_ranks = np.full(len(rows), big, np.int64), np.full(len(rows), big, np.int64)
    for row, (history_ids, target) in enumerate(zip(rows.histories, rows.targets.tolist(), strict=True)):
        history = scorer.to_history(history_ids[-history_length:])
        feats = scorer.features(history, everything)
        scores = scorer.final_scores(history, everything, feats)
        if target in scorer.index_of:
            target_ranks[row] = np.count_nonzero(scores >= scores[scorer.index_of[target]])
        if not history.is_empty:
            last_ranks[row] = np.count_nonzero(scores >= scores[history.indices[-1]])
    return target_ranks, last_ranks


def breakdown(rows, target_ranks: np.ndarray, trained: set[int]) -> dict:
    labels = np.array([segment_of(h, int(t), trained) for h, t in zip(rows.histories, rows.targets.tolist(),
                                                                       strict=True)])
    gains = np.where(target_ranks <= 10, 1.0 / np.log2(target_ranks + 1.0), 0.0)
    out = {}
    for name in SEGMENTS:
        mask = labels == name
        if mask.any():
            report = ranking_report(target_ranks[mask], (10,))
            out[name] = {"n": int(mask.sum()), "share": round(float(mask.mean()), 4),
                         "hr@10": round(report["hr@10"], 4), "ndcg@10": round(report["ndcg@10"], 4),
                         "points": round(float(gains[mask].sum() / len(rows)), 4),
                         "rank1": round(float(np.mean(target_ranks[mask] == 1)), 3)}
    untrained = np.array([any(i not in trained for i in h) for h in rows.histories], dtype=bool)
    for name, mask in (("history with an untrained item", untrained), ("history all trained", ~untrained)):
        if mask.any():
            report = ranking_report(target_ranks[mask], (10,))
            out[name] = {"n": int(mask.sum()), "hr@10": round(report["hr@10"], 4),
                         "ndcg@10": round(report["ndcg@10"], 4)}
    return out


def shares(rows, trained: set[int]) -> dict:
    """Segment shares of some rows (no model needed), and the share whose history holds an item never trained on."""
    labels = [segment_of(h, int(t), trained) for h, t in zip(rows.histories, rows.targets.tolist(), strict=True)]
    out = {name: round(labels.count(name) / max(len(rows), 1), 4) for name in SEGMENTS}
    out["history with an untrained item"] = round(
        sum(any(i not in trained for i in h) for h in rows.histories) / max(len(rows), 1), 4)
    return {"n": len(rows), **out}


def print_shares(name: str, split: str, folder: Path, test_path: Path) -> None:
    """Test rows against the folder's behaviour; fit rows (its valid.csv) against it without their own pairs."""
    data = read_dataset(folder, 0)
    rows = read_next_item_rows(test_path)
    fit = data.validation
    trained = set(data.interactions.items.tolist())
    base = data.interactions.without_pairs(fit.user_keys, fit.targets.tolist())
    print(json.dumps({"data": name, "split": split, "test rows": shares(rows, trained),
                      "fit rows": shares(fit, set(base.items.tolist()))}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--variant", default="base")
    parser.add_argument("--splits", nargs="+", default=["valid", "training period"])
    parser.add_argument("--state", type=Path, default=Path(".state"))
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--text-cache", type=Path)
    parser.add_argument("--shares-only", action="store_true", help="segment shares of test and fit rows, no model")
    parser.add_argument("--save", type=Path, help="folder to keep the model and ranks in (per data set and split)")
    args = parser.parse_args()
    from recommender.text_vectors import CachedEmbedder
    from retrieval.embeddings import get_embedder

    def encode(texts):
        return get_embedder().encode(texts)

    embed = CachedEmbedder(encode, args.text_cache) if args.text_cache else encode
    config = variant_config(args.variant)
    for name in args.datasets:
        for split, (folder, test_path) in splits(args.state, args.data_dir, name).items():
            if split not in args.splits:
                continue
            if args.shares_only:
                print_shares(name, split, folder, test_path)
                continue
            data = read_dataset(folder, config.description_chars)
            rows = read_next_item_rows(test_path)
            start = time.perf_counter()
            model = Recommender.fit(data.items, data.interactions, embed, config, data.validation)
            if args.text_cache:
                embed.save()
            train_s = time.perf_counter() - start
            scorer = model.current_scorer
            target_ranks, last_ranks = ranks_of(scorer, rows, config.history_length)
            trained = set(data.interactions.items.tolist())
            weights = dict(zip(FEATURES, [round(float(w), 4) for w in scorer.weights], strict=True))
            print(json.dumps({"data": name, "split": split, "variant": args.variant, "n": len(rows),
                              **{k: round(v, 4) for k, v in ranking_report(target_ranks, (10,)).items()},
                              "segments": breakdown(rows, target_ranks, trained),
                              "last item rank: share at 1 / in top 3": [
                                  round(float(np.mean(last_ranks == 1)), 3), round(float(np.mean(last_ranks <= 3)), 3)],
                              "reranker": scorer.reranker is not None, "weights": weights,
                              "train_s": round(train_s, 1)}), flush=True)
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                model.save(args.save / f"{name}_{split.replace(' ', '_')}_{args.variant}_model.npz")
                np.savez(args.save / f"{name}_{split.replace(' ', '_')}_{args.variant}.npz",
                         target_ranks=target_ranks, last_ranks=last_ranks)


if __name__ == "__main__":
    main()
