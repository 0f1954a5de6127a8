"""`recommend` latency (p50 / p99 over a data set's test histories) of the served model, without its second
stage, and without the second stage and the sequence feature: what each part costs per call.

The model is trained with short sequence-model and second-stage runs (their length does not change the cost
of a call); the first line says whether the second stage beat the first on its held-out rows (else it is off).

    nice -n -10 .venv/bin/python bench/recs_latency.py .state/recs_holdout/amazon_office \
        ../shared/data/amazon_office/valid.csv --text-cache .state/recs_text_vectors.npz
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from recommender.config import RecommenderConfig, RerankParams, SequenceParams
from recommender.data import NextItemRows, read_dataset, read_next_item_rows
from recommender.evaluation import recommend_latency_ms
from recommender.service import Recommender


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="data-set folder to train on")
    parser.add_argument("test", type=Path, help="rows whose histories are the calls")
    parser.add_argument("--text-cache", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    from recommender.text_vectors import CachedEmbedder
    from retrieval.embeddings import get_embedder

    embed = CachedEmbedder(lambda texts: get_embedder().encode(texts), args.text_cache)
    config = RecommenderConfig(sequence=SequenceParams(epochs=2), rerank=RerankParams(epochs=3, min_rows=10))
    data = read_dataset(args.folder, config.description_chars)
    model = Recommender.fit(data.items, data.interactions, embed, config, data.validation)
    scorer = model.current_scorer
    print(json.dumps({"second stage used": scorer.reranker is not None}))
    test = read_next_item_rows(args.test)
    calls = NextItemRows(test.user_keys[: args.calls], test.histories[: args.calls], test.targets[: args.calls])
    state = model._state  # noqa: SLF001 (the same titles and categories, other scorer parts)
    for name, change in (("served", {}), ("without the second stage", {"reranker": None}),
                         ("without the second stage and the sequence feature", {"reranker": None, "sequence": None})):
        variant = Recommender(replace(scorer, **change), state.titles, state.categories, model.config, embed)
        timing = recommend_latency_ms(variant, calls, 10)
        print(json.dumps({"model": name, **{key: round(value, 3) for key, value in timing.items()}}), flush=True)


if __name__ == "__main__":
    main()
