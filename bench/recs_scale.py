"""Scale benchmark of the recommender: a synthetic power-law shop (default 1M items, 20M interactions).

Prints training time, peak memory (max RSS), the size of the neighbour matrix and p50/p99 latency of
`recommend`. Behaviour only (no item texts): the neighbour matrix holds at most k entries per item,
so memory grows with interactions and items x k, never items squared.

    .venv/bin/python bench/recs_scale.py --items 1000000 --interactions 20000000
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from recommender.config import CooccurrenceParams, RecommenderConfig
from recommender.data import Interactions, ItemCatalogue
from recommender.service import Recommender


def power_law_shop(n_items: int, n_interactions: int, mean_length: int, exponent: float, locality: float,
                   seed: int) -> Interactions:
    """Users with geometric sequence lengths; each step is a popular draw (Zipf) or a near neighbour
    of the previous item (a random walk over item ids), so there is behaviour to learn."""
    rng = np.random.default_rng(seed)
    lengths = rng.geometric(1.0 / mean_length, size=n_interactions // mean_length + 1)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_interactions) + 1]
    users = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)[:n_interactions]
    weights = 1.0 / np.power(np.arange(1, n_items + 1, dtype=np.float64), exponent)
    cumulative = np.cumsum(weights / weights.sum())
    popular = np.minimum(np.searchsorted(cumulative, rng.random(users.size)), n_items - 1)
    steps = rng.integers(1, 4, size=users.size)
    starts = np.r_[0, np.flatnonzero(users[1:] != users[:-1]) + 1]
    walk = np.cumsum(steps) - np.repeat(np.cumsum(steps)[starts] - steps[starts], np.diff(np.r_[starts,
                                                                                               users.size]))
    anchors = np.repeat(popular[starts], np.diff(np.r_[starts, users.size]))
    items = np.where(rng.random(users.size) < locality, (anchors + walk) % n_items, popular)
    return Interactions(users, items.astype(np.int64), np.ones(users.size, np.float32),
                        [str(u) for u in range(lengths.size)])


def synthetic_catalogue(n_items: int) -> ItemCatalogue:
    return ItemCatalogue(ids=np.arange(n_items, dtype=np.int64), titles=[""] * n_items, texts=[""] * n_items,
                         categories=[""] * n_items)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def progress_with_memory(message: str) -> None:
    print(f"[peak rss {peak_rss_mb():,.0f} MB] {message}", flush=True)


def latency_ms(model: Recommender, interactions: Interactions, calls: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    ends = np.flatnonzero(np.r_[interactions.users[1:] != interactions.users[:-1], True])
    timings = []
    for end in rng.choice(ends, size=calls).tolist():
        history = interactions.items[max(0, end - 9):end + 1].tolist()
        start = time.perf_counter()
        model.recommend(history, k=10)
        timings.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(timings, 50)), "p99_ms": float(np.percentile(timings, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--mean-length", type=int, default=20)
    parser.add_argument("--exponent", type=float, default=1.0, help="Zipf exponent of item popularity")
    parser.add_argument("--locality", type=float, default=0.5, help="share of steps that follow the walk")
    parser.add_argument("--source-blocks", type=int, default=16, help="neighbour matrix built in row blocks")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    interactions = power_law_shop(args.items, args.interactions, args.mean_length, args.exponent, args.locality,
                                  args.seed)
    catalogue = synthetic_catalogue(args.items)
    generate_s, data_rss = time.perf_counter() - start, peak_rss_mb()
    config = RecommenderConfig(cooccurrence=CooccurrenceParams(source_blocks=args.source_blocks))
    start = time.perf_counter()
    model = Recommender.fit(catalogue, interactions, None, config, progress=progress_with_memory)
    train_s = time.perf_counter() - start
    cf = model.current_scorer.cf
    report = {"items": args.items, "interactions": len(interactions), "users": len(interactions.user_keys),
              "generate_s": round(generate_s, 1), "rss_after_data_mb": round(data_rss),
              "train_s": round(train_s, 1), "peak_rss_mb": round(peak_rss_mb()),
              "neighbour_nnz": int(cf.nnz),
              "neighbour_mb": round((cf.data.nbytes + cf.indices.nbytes + cf.indptr.nbytes) / 2**20),
              **{key: round(value, 3) for key, value in latency_ms(model, interactions, args.calls,
                                                                    args.seed).items()}}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
