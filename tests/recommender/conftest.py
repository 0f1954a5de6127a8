"""Small synthetic shops for recommender tests: a hashed bag-of-words embedder and a data-set folder."""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from recommender.config import RecommenderConfig, RerankParams, SequenceParams
from recommender.data import Interactions, ItemCatalogue, NextItemRows

HASH_DIM = 64
KINDS = ("pen", "paper", "ink", "stapler", "folder")
COLOURS = ("red", "blue", "green", "black", "white", "yellow")


def hashed_bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """A cheap deterministic stand-in for sentence vectors: L2-normalised hashed word counts."""
    vectors = np.zeros((len(texts), HASH_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            vectors[row, zlib.crc32(word.encode()) % HASH_DIM] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def synthetic_titles() -> list[str]:
    return [f"{colour} {kind}" for kind in KINDS for colour in COLOURS]


def synthetic_sequences(n_users: int, seed: int = 0) -> list[list[int]]:
    """Shoppers walk through one kind's colours in order (item i is followed by item i+1)."""
    rng = np.random.default_rng(seed)
    n_colours = len(COLOURS)
    sequences = []
    for _ in range(n_users):
        kind = int(rng.integers(len(KINDS)))
        start = int(rng.integers(n_colours - 3))
        length = int(rng.integers(3, n_colours - start + 1))
        sequences.append([kind * n_colours + start + step for step in range(length)])
    return sequences


@pytest.fixture
def embed():
    return hashed_bag_of_words


@pytest.fixture
def catalogue() -> ItemCatalogue:
    titles = synthetic_titles()
    return ItemCatalogue(ids=np.arange(len(titles), dtype=np.int64), titles=titles, texts=titles,
                         categories=[title.split()[1] for title in titles])


@pytest.fixture
def interactions() -> Interactions:
    sequences = synthetic_sequences(200)
    users = np.concatenate([np.full(len(s), u) for u, s in enumerate(sequences)]).astype(np.int64)
    items = np.concatenate(sequences).astype(np.int64)
    return Interactions(users, items, np.ones(items.size, np.float32), [f"u{u}" for u in range(len(sequences))])


@pytest.fixture
def small_config() -> RecommenderConfig:
    # few epochs of the sequence model: enough to rank, short enough for the suite
    return RecommenderConfig(neighbours_k=20, fit_candidates_per_feature=5, rerank_pool=20,
                             sequence=SequenceParams(epochs=6, patience=2), rerank=RerankParams(epochs=5))


def write_dataset_folder(folder: Path, n_users: int) -> NextItemRows:
    """items.jsonl, interactions.csv and valid.csv (each user's last step) in the shared format."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = synthetic_titles()
    with (folder / "items.jsonl").open("w") as f:
        for item_id, title in enumerate(titles):
            f.write(json.dumps({"item_id": item_id, "title": title, "description": "", "brand": "",
                                "categories": ""}) + "\n")
    sequences = synthetic_sequences(n_users, seed=1)
    with (folder / "interactions.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "item_id"])
        writer.writerows([f"u{u}", item] for u, seq in enumerate(sequences) for item in seq)
    rows = NextItemRows([f"u{u}" for u in range(n_users)], [s[:-1] for s in sequences],
                        np.array([s[-1] for s in sequences]))
    with (folder / "valid.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "history_item_id", "item_id"])
        writer.writerows([key, json.dumps(h), t] for key, h, t in zip(rows.user_keys, rows.histories,
                                                                       rows.targets.tolist(), strict=True))
    return rows
