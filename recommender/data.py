"""Plain-array inputs of the recommender (catalogue, behaviour, next-item rows) and the data-set folder format.

A data-set folder holds `items.jsonl`, `interactions.csv` (user_id,item_id per user in first-seen order)
and `valid.csv` (user_id, history_item_id as a JSON list oldest first, item_id = the next item).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ITEMS_FILE = "items.jsonl"
INTERACTIONS_FILE = "interactions.csv"
VALID_FILE = "valid.csv"


@dataclass
class ItemCatalogue:
    """Items by external id, with the text that describes them and a category label."""

    ids: np.ndarray  # int64 external item ids
    titles: list[str]
    texts: list[str]  # what gets embedded: title, brand, start of the description
    categories: list[str]  # "" when unknown
    brands: list[str] = field(default_factory=list)  # "" when unknown; may be empty (no brands at all)


@dataclass
class Interactions:
    """Behaviour as parallel arrays, grouped by user and in time order within each user."""

    users: np.ndarray  # int64 user index 0..n_users-1
    items: np.ndarray  # int64 external item ids
    weights: np.ndarray  # float32 strength of each event (purchase > add_to_cart > click > view)
    user_keys: list[str]  # user index -> external key (customer id, session id, data-set user id)

    def __len__(self) -> int:
        return len(self.items)

    def without_pairs(self, user_keys: Sequence[str], items: Sequence[int]) -> Interactions:
        """A copy without the given (user key, item) pairs (e.g. held-out validation targets)."""
        index_of_key = {key: i for i, key in enumerate(self.user_keys)}
        held_users = np.array([index_of_key.get(key, -1) for key in user_keys], dtype=np.int64)
        held_items = np.asarray(items, dtype=np.int64)
        span = int(max(self.items.max(initial=0), held_items.max(initial=0))) + 1
        held = held_users[held_users >= 0] * span + held_items[held_users >= 0]
        keep = ~np.isin(self.users * span + self.items, held)
        return Interactions(self.users[keep], self.items[keep], self.weights[keep], self.user_keys)


@dataclass
class NextItemRows:
    """Evaluation or validation rows: a user's history (oldest first) and the item that came next."""

    user_keys: list[str]
    histories: list[list[int]]
    targets: np.ndarray  # int64 external item ids

    def __len__(self) -> int:
        return len(self.targets)


def item_text(record: dict, description_chars: int) -> str:
    """The text embedded for an item: title, brand and the start of its description."""
    parts = [record.get("title") or "", record.get("brand") or "", (record.get("description") or "")]
    parts[2] = parts[2][:description_chars]
    return ". ".join(part for part in parts if part)


def read_items(path: Path, description_chars: int) -> ItemCatalogue:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return ItemCatalogue(
        ids=np.array([int(r["item_id"]) for r in records], dtype=np.int64),
        titles=[r.get("title") or f"item {r['item_id']}" for r in records],
        texts=[item_text(r, description_chars) for r in records],
        categories=[_first_category(r.get("categories")) for r in records],
        brands=[(r.get("brand") or "").strip() for r in records],
    )


def _first_category(value: object) -> str:
    if isinstance(value, list):
        return str(value[-1]) if value else ""
    return str(value or "").split(",")[0].strip()


def read_interactions(path: Path) -> Interactions:
    """Rows of user_id,item_id grouped by user, keeping each user's first-seen order."""
    with path.open() as f:
        rows = [(r["user_id"], int(r["item_id"])) for r in csv.DictReader(f)]
    index_of_key: dict[str, int] = {}
    users = np.array([index_of_key.setdefault(key, len(index_of_key)) for key, _ in rows], dtype=np.int64)
    items = np.array([item for _, item in rows], dtype=np.int64)
    order = np.argsort(users, kind="stable")
    return Interactions(users[order], items[order], np.ones(len(rows), dtype=np.float32), list(index_of_key))


def read_next_item_rows(path: Path) -> NextItemRows:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return NextItemRows(
        user_keys=[r["user_id"] for r in rows],
        histories=[[int(x) for x in json.loads(r["history_item_id"])] for r in rows],
        targets=np.array([int(r["item_id"]) for r in rows], dtype=np.int64),
    )


def write_next_item_rows(path: Path, rows: NextItemRows) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "history_item_id", "item_id"])
        for key, history, target in zip(rows.user_keys, rows.histories, rows.targets.tolist(), strict=True):
            writer.writerow([key, json.dumps(history), target])


@dataclass
class DatasetFolder:
    """One data set in the shared folder format."""

    items: ItemCatalogue
    interactions: Interactions
    validation: NextItemRows | None


def read_dataset(folder: Path, description_chars: int) -> DatasetFolder:
    valid_path = folder / VALID_FILE
    validation = read_next_item_rows(valid_path) if valid_path.exists() else None
    if validation is not None and not len(validation):
        validation = None
    return DatasetFolder(read_items(folder / ITEMS_FILE, description_chars),
                         read_interactions(folder / INTERACTIONS_FILE), validation)


def earliest_rows_per_user(rows: NextItemRows) -> list[int]:
    """Index of each user's first row (rows are in target-time order)."""
    seen: dict[str, int] = {}
    for index, key in enumerate(rows.user_keys):
        seen.setdefault(key, index)
    return sorted(seen.values())


def rows_before_holdout(rows: NextItemRows, min_history: int) -> NextItemRows:
    """For each user, the last row that lies wholly before their held-out rows.

    A user's first held-out row has a history of earlier items only; its last history item is the
    target of the row before, and the items before it are that row's history.
    """
    keys, histories, targets = [], [], []
    for index in earliest_rows_per_user(rows):
        history = rows.histories[index]
        if len(history) > min_history:
            keys.append(rows.user_keys[index])
            histories.append(history[:-1])
            targets.append(history[-1])
    return NextItemRows(keys, histories, np.array(targets, dtype=np.int64))


def write_holdout_copy(source: Path, destination: Path, min_history: int) -> dict[str, int]:
    """Copy a data set without its valid (user, item) pairs; its valid.csv becomes the rows just before.

    The copy's valid.csv holds only training-period rows, so a model trained on the copy never sees a
    held-out target, and the source's valid.csv can be used as the test file.
    """
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / ITEMS_FILE, destination / ITEMS_FILE)
    held_out = read_next_item_rows(source / VALID_FILE)
    held = {(key, int(item)) for key, item in zip(held_out.user_keys, held_out.targets.tolist(), strict=True)}
    kept = 0
    with (source / INTERACTIONS_FILE).open() as src, (destination / INTERACTIONS_FILE).open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["user_id", "item_id"])
        for row in csv.DictReader(src):
            if (row["user_id"], int(row["item_id"])) not in held:
                writer.writerow([row["user_id"], row["item_id"]])
                kept += 1
    earlier = rows_before_holdout(held_out, min_history)
    write_next_item_rows(destination / VALID_FILE, earlier)
    return {"interactions": kept, "removed_pairs": len(held), "validation_rows": len(earlier)}
