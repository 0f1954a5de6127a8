"""Model selection for the recommender on training-period data only (never on the test rows).

On a data-set folder (e.g. a `shopassist holdout-valid` copy), its valid.csv rows are split in two
halves: fusion weights are fitted on one half, and the other half is ranked over ALL items. Each
variant changes one setting (CF model, co-occurrence window, text on/off, ...).

    .venv/bin/python bench/recs_compare.py .state/recs_holdout/amazon_office base cf_model=ease cf_model=als no_text \
        --text-cache .state/recs_text_vectors.npz
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from recommender.config import CooccurrenceParams, RecommenderConfig
from recommender.data import NextItemRows, read_dataset
from recommender.evaluation import full_ranks
from recommender.fusion import fit_weights
from recommender.metrics import ranking_report
from recommender.training import FIT_CUTOFF, build_scorer, embed_catalogue, fusion_candidates, validation_split

COOCCURRENCE_FIELDS = set(CooccurrenceParams.__dataclass_fields__)


def half(rows: NextItemRows, parity: int) -> NextItemRows:
    picked = [i for i in range(len(rows)) if i % 2 == parity]
    return NextItemRows([rows.user_keys[i] for i in picked], [rows.histories[i] for i in picked],
                        rows.targets[picked])


def variant_config(spec: str, base: RecommenderConfig) -> RecommenderConfig:
    """'base', 'no_text', 'cf_model=ease', 'window=3' (co-occurrence) or any RecommenderConfig field."""
    if spec in ("base", "no_text"):
        return base
    name, _, raw = spec.partition("=")
    value = raw if name == "cf_model" else float(raw) if "." in raw else int(raw)
    if name in COOCCURRENCE_FIELDS:
        return replace(base, cooccurrence=replace(base.cooccurrence, **{name: value}))
    return replace(base, **{name: value})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--text", action=argparse.BooleanOptionalAction, default=True, help="MiniLM item vectors")
    parser.add_argument("--text-cache", type=Path, help="a text-vector cache file (e.g. .state/recs_text_vectors.npz)")
    args = parser.parse_args()
    base = RecommenderConfig()
    data = read_dataset(args.dataset, base.description_chars)
    text = None
    if args.text:
        from recommender.text_vectors import CachedEmbedder
        from retrieval.embeddings import get_embedder

        def encode(texts):
            return get_embedder().encode(texts)

        text = embed_catalogue(data.items, CachedEmbedder(encode, args.text_cache) if args.text_cache else encode)
    training, validation = validation_split(data.interactions, data.validation, base)
    fit_rows, test_rows = half(validation, 0), half(validation, 1)
    for spec in args.variants:
        config = variant_config(spec, base)
        scorer = build_scorer(data.items, training, None if spec == "no_text" else text, config)
        scorer.weights = fit_weights(fusion_candidates(scorer, fit_rows, config), FIT_CUTOFF, config.fit_passes)
        ranks = full_ranks(scorer, test_rows, config.history_length, {"fused": scorer.weights})["fused"]
        report = {key: round(value, 4) for key, value in ranking_report(ranks, (10,)).items()}
        print(json.dumps({"variant": spec, "rows": len(test_rows), **report}), flush=True)


if __name__ == "__main__":
    main()
