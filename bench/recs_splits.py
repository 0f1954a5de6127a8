"""The recommender against MiniOneRec on two splits per data set, with 95 % bootstrap intervals.

- valid: trained on a `holdout-valid` copy of the data set, ranked on the data set's own valid.csv;
- training period: trained on a `holdout-valid` copy of that copy, ranked on the first copy's valid.csv
  (each user's last training-period row), so nothing here is tuned on valid.csv.

Each variant changes RecommenderConfig fields (`history_length=5`, `refit_on_all=0`, ...); `base` is the served
configuration. Every row is ranked over ALL items, history items not excluded (the published protocol).

    .venv/bin/shopassist holdout-valid ../shared/data/amazon_office .state/recs_holdout/amazon_office
    .venv/bin/shopassist holdout-valid .state/recs_holdout/amazon_office .state/recs_train_split/amazon_office
    nice -n 10 .venv/bin/python bench/recs_splits.py amazon_office amazon_industrial --variants base \
        --text-cache .state/recs_text_vectors.npz
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from recommender.config import RecommenderConfig
from recommender.data import read_dataset, read_next_item_rows
from recommender.evaluation import full_ranks
from recommender.metrics import bootstrap_intervals, ranking_report
from recommender.service import Recommender

MINIONEREC = {"amazon_office": {"hr@10": .1634, "ndcg@10": .1242},
              "amazon_industrial": {"hr@10": .1586, "ndcg@10": .1167}}  # published, test split
TARGET_LEAD = {"hr@10": 0.15, "ndcg@10": 0.12}


def variant_config(spec: str) -> RecommenderConfig:
    """`base`, or `field=value` pairs joined by `+` (`sequence.dropout=0.3+history_length=5`)."""
    config = RecommenderConfig()
    if spec == "base":
        return config
    for change in spec.split("+"):
        config = _changed(config, *change.partition("=")[::2])
    return config


def _changed(settings, dotted: str, raw: str):
    """A copy of a (nested) dataclass with one field, named like `sequence.dropout`, set from text."""
    name, _, rest = dotted.partition(".")
    if rest:
        return replace(settings, **{name: _changed(getattr(settings, name), rest, raw)})
    kind = type(getattr(settings, name))
    return replace(settings, **{name: bool(int(raw)) if kind is bool else kind(raw)})


def splits(state: Path, data_dir: Path, name: str) -> dict[str, tuple[Path, Path]]:
    """Split name -> (folder to train on, rows to rank)."""
    return {"valid": (state / "recs_holdout" / name, data_dir / name / "valid.csv"),
            "training period": (state / "recs_train_split" / name, state / "recs_holdout" / name / "valid.csv")}


def measure(folder: Path, test_path: Path, config: RecommenderConfig, embed) -> dict:
    data = read_dataset(folder, config.description_chars)
    rows = read_next_item_rows(test_path)
    start = time.perf_counter()
    model = Recommender.fit(data.items, data.interactions, embed, config, data.validation)
    train_s = time.perf_counter() - start
    scorer = model.current_scorer
    ranks = full_ranks(scorer, rows, config.history_length, {"fused": scorer.weights})["fused"]
    report = ranking_report(ranks, (10,))
    intervals = bootstrap_intervals(ranks, (10,))
    return {"n": len(rows), **{key: round(value, 4) for key, value in report.items()},
            **{f"{key}_ci95": [round(b, 4) for b in bounds] for key, bounds in intervals.items()},
            "train_s": round(train_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="data-set names, e.g. amazon_office amazon_industrial")
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--splits", nargs="+", default=["valid", "training period"], help="valid, training period")
    parser.add_argument("--state", type=Path, default=Path(".state"))
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--text-cache", type=Path, help="a text-vector cache (e.g. .state/recs_text_vectors.npz)")
    args = parser.parse_args()
    from recommender.text_vectors import CachedEmbedder
    from retrieval.embeddings import get_embedder

    def encode(texts):
        return get_embedder().encode(texts)

    embed = CachedEmbedder(encode, args.text_cache) if args.text_cache else encode
    for name in args.datasets:
        for split, (folder, test_path) in splits(args.state, args.data_dir, name).items():
            if split not in args.splits:
                continue
            for spec in args.variants:
                result = measure(folder, test_path, variant_config(spec), embed)
                lead = {f"{key}_lead": round(result[key] / MINIONEREC[name][key] - 1, 3) for key in TARGET_LEAD}
                print(json.dumps({"data": name, "split": split, "variant": spec, **result, **lead}), flush=True)
    if args.text_cache:
        embed.save()


if __name__ == "__main__":
    main()
