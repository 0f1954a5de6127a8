"""Second stage by LambdaMART: gradient-boosted trees (LightGBM, lambdarank objective) re-order the fused score's
best candidates, fitted on many training-period rows and served in numpy.

Rows: besides the fusion fit's rows (each user's last training-period row, scored by generators fitted without
that row's pair), each such row yields rows cut one, two, ... items earlier, all scored by generators fitted
without any of those rows' pairs (`cut_rows`), so no feature has seen the row's target. Those rows also show what
valid rows look like after a user's first one: the history holds items the generators never saw for that user.

Inputs per pooled candidate (`tree_inputs`): every generator's raw feature and its rank in the pool, the fused
score and rank, exact text cosines to the last and to the closest history item and how far back that closest
item lies, where the candidate sits in the history and how often, history length, the candidate's and the last
item's popularity, popularity trend and whether they have no behaviour (cold).

LightGBM trains the trees; serving walks them as flat numpy arrays (all trees at once, one step per level),
which is several times faster than LightGBM's own predict for a pool of 100 and needs no LightGBM at serving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.config import RerankParams
from recommender.data import NextItemRows

TREE_ARRAYS = ("feature", "threshold", "left", "right", "value", "roots", "depth")


@dataclass
class TreeRanker:
    """Trees as flat arrays: node -> feature, threshold, left and right child (leaves point at themselves)."""

    weights: dict[str, np.ndarray]  # TREE_ARRAYS
    pool: int
    kind: str = "trees"

    def __post_init__(self) -> None:
        w = self.weights
        # node 2n: left child, 2n + 1: right; native-size indices, so `take` converts nothing per call
        self._children = np.stack([w["left"], w["right"]], axis=1).ravel().astype(np.intp)
        self._feature, self._roots = w["feature"].astype(np.intp), w["roots"].astype(np.intp)
        # the inputs are float32: x > t holds for a float32 x exactly when x > the largest float32 <= t, so the
        # walk compares in float32 (no float64 copy of the inputs) and still splits as LightGBM's doubles do
        below = w["threshold"].astype(np.float32)
        self._threshold = np.where(below > w["threshold"], np.nextafter(below, np.float32(-np.inf)), below)

    def scores(self, inputs: np.ndarray) -> np.ndarray:
        x = np.asarray(inputs, dtype=np.float32)
        flat, starts = x.ravel(), (np.arange(x.shape[0]) * x.shape[1])[:, None]
        nodes = np.broadcast_to(self._roots, (x.shape[0], self._roots.size))
        for _ in range(int(self.weights["depth"][0])):
            right = flat.take(starts + self._feature.take(nodes)) > self._threshold.take(nodes)
            nodes = self._children.take(2 * nodes + right)
        return self.weights["value"].take(nodes).sum(axis=1)


def from_booster(booster, pool: int) -> TreeRanker:
    """Flatten a LightGBM booster (numerical splits, `<=`, no missing values in the inputs)."""
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    depth = 0

    def add(node: dict, level: int) -> int:
        nonlocal depth
        index = len(feature)
        feature.append(0)
        threshold.append(np.inf)
        left.append(index)
        right.append(index)
        value.append(0.0)
        if "leaf_value" in node and "split_feature" not in node:
            value[index] = float(node["leaf_value"])
            depth = max(depth, level)
            return index
        feature[index] = int(node["split_feature"])
        threshold[index] = float(node["threshold"])
        left[index] = add(node["left_child"], level + 1)
        right[index] = add(node["right_child"], level + 1)
        return index

    for tree in booster.dump_model()["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    arrays = {"feature": np.array(feature, dtype=np.int32), "threshold": np.array(threshold, dtype=np.float64),
              "left": np.array(left, dtype=np.int32), "right": np.array(right, dtype=np.int32),
              "value": np.array(value, dtype=np.float64), "roots": np.array(roots, dtype=np.int32),
              "depth": np.array([depth], dtype=np.int32)}
    return TreeRanker(arrays, pool)


def _pool_ranks(columns: np.ndarray) -> np.ndarray:
    """log(1 + rank) of each value in its column of the pool, largest first; log(1 + pool size) where it is 0."""
    n = columns.shape[0]
    order = np.argsort(-columns, axis=0, kind="stable")
    rank = np.empty(columns.shape, dtype=np.float32)
    np.put_along_axis(rank, order, np.arange(n, dtype=np.float32)[:, None], axis=0)
    return np.where(columns > 0, np.log1p(rank), np.float32(np.log1p(n)))


def tree_inputs(feats: np.ndarray, fused: np.ndarray, history: np.ndarray, pooled: np.ndarray,
                text: np.ndarray | None, popularity: np.ndarray, recent_popularity: np.ndarray) -> np.ndarray:
    """The trees' inputs for a pool (rows best fused score first); `history` as catalogue indices, oldest first."""
    n, length = pooled.size, history.size
    columns = [feats, _pool_ranks(feats)]
    fused_rank = np.log1p(np.arange(n, dtype=np.float32))
    if text is not None and length:
        cosines = text[pooled] @ text[history].T
        closest = np.argmax(cosines, axis=1)
        text_part = [cosines[:, -1], cosines.max(axis=1), (length - 1 - closest).astype(np.float32)]
    else:
        text_part = [np.zeros(n, np.float32), np.zeros(n, np.float32), np.full(n, -1.0, np.float32)]
    matches = pooled[:, None] == history[None, :]
    in_history = matches.any(axis=1)
    steps_back = np.where(in_history, length - 1 - np.where(matches, np.arange(length), -1).max(axis=1), -1)
    last = history[-1] if length else -1
    history_cold = float(np.mean(popularity[history] == 0)) if length else 0.0
    per_row = [fused - fused[0], fused_rank, *text_part, steps_back.astype(np.float32),
               matches.sum(axis=1).astype(np.float32), popularity[pooled], recent_popularity[pooled] -
               popularity[pooled], (popularity[pooled] == 0).astype(np.float32),
               np.full(n, np.log1p(length), np.float32), np.full(n, len(set(history.tolist())), np.float32),
               np.full(n, popularity[last] if length else 0.0, np.float32),
               np.full(n, float(length and popularity[last] == 0), np.float32), np.full(n, history_cold, np.float32)]
    return np.hstack([*columns, np.stack(per_row, axis=1)]).astype(np.float32)


def cut_rows(rows: NextItemRows, cuts: int) -> tuple[NextItemRows, list[tuple[str, int]]]:
    """Each row, and the rows cut 1..`cuts` items earlier (history[:-j] -> history[-j]), with every (user, item)
    pair those rows' targets form: generators fitted without these pairs have seen none of the targets."""
    keys, histories, targets, pairs = [], [], [], []
    for key, history, target in zip(rows.user_keys, rows.histories, rows.targets.tolist(), strict=True):
        keys.append(key)
        histories.append(list(history))
        targets.append(int(target))
        pairs.append((key, int(target)))
        for j in range(1, cuts + 1):
            if len(history) - j < 1:
                break
            keys.append(key)
            histories.append(list(history[:-j]))
            targets.append(int(history[-j]))
            pairs.append((key, int(history[-j])))
    return NextItemRows(keys, histories, np.array(targets, dtype=np.int64)), pairs


def merged(rankers: list[TreeRanker]) -> TreeRanker:
    """One ranker whose score is the sum of the given rankers' scores (their trees side by side)."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in TREE_ARRAYS}
    offset = 0
    for ranker in rankers:
        w = ranker.weights
        for name in ("feature", "threshold", "value"):
            parts[name].append(w[name])
        for name in ("left", "right", "roots"):
            parts[name].append(w[name] + offset)
        parts["depth"].append(w["depth"])
        offset += w["feature"].size
    arrays = {name: np.concatenate(values) for name, values in parts.items()}
    arrays["depth"] = np.array([int(arrays["depth"].max())], dtype=np.int32)
    return TreeRanker(arrays, rankers[0].pool)


def fit_lambdamart(inputs: list[np.ndarray], positions: np.ndarray, groups: np.ndarray, params: RerankParams,
                   log: Callable[[str], None] = lambda _: None, gate: bool = True) -> TreeRanker | None:
    """Fit on pools (each best fused score first) and the target's position in each: `params.bags` models, each
    stopped early on its own fold of the `groups` (e.g. users), their trees summed. None when there are too few
    rows or the models do not beat the first stage on their held-out folds (pooled)."""
    import lightgbm as lgb

    if len(positions) < params.min_rows:
        log(f"second stage: only {len(positions)} rows with the target in the pool, not fitted")
        return None
    rng = np.random.default_rng(params.seed)
    unique = np.unique(groups)
    bags = max(2, params.bags)
    fold_of = dict(zip(rng.permutation(unique).tolist(), (np.arange(unique.size) % bags).tolist(), strict=True))
    folds = np.array([fold_of[g] for g in groups.tolist()])

    def dataset(chosen: np.ndarray, reference=None):
        x = np.vstack([inputs[i] for i in chosen.tolist()])
        labels = np.concatenate([np.arange(inputs[i].shape[0]) == positions[i] for i in chosen.tolist()])
        return lgb.Dataset(x, labels.astype(np.float32), group=[inputs[i].shape[0] for i in chosen.tolist()],
                           reference=reference, free_raw_data=False)

    settings = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10],
                "learning_rate": params.tree_learning_rate, "num_leaves": params.leaves,
                "max_depth": params.max_depth, "min_data_in_leaf": params.min_leaf,
                "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
                "num_threads": params.threads, "seed": params.seed, "verbose": -1, "deterministic": True,
                "force_row_wise": True}
    rankers, first_ranks, second_ranks, counts = [], [], [], []
    for fold in range(bags if params.bags > 1 else 1):
        held_rows, fitted_rows = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        if not held_rows.size or not fitted_rows.size:
            continue
        train = dataset(fitted_rows)
        booster = lgb.train(settings, train, num_boost_round=params.trees, valid_sets=[dataset(held_rows, train)],
                            callbacks=[lgb.early_stopping(params.tree_patience, verbose=False)])
        ranker = from_booster(booster, params.pool)
        rankers.append(ranker)
        counts.append(booster.best_iteration)
        first_ranks.append(positions[held_rows] + 1)
        for i in held_rows.tolist():
            scores = ranker.scores(inputs[i])
            second_ranks.append(int(np.count_nonzero(scores >= scores[positions[i]])))
    if not rankers:
        return None
    first_stage, second = _ndcg(np.concatenate(first_ranks)), _ndcg(np.array(second_ranks))
    used = second > first_stage or not gate
    log(f"second stage (trees): {len(positions)} rows, {len(rankers)} models of {counts} trees, held-out "
        f"ndcg@10 {second:.4f} (first stage {first_stage:.4f}){'' if used else ': not used'}")
    return merged(rankers) if used else None


def _ndcg(ranks: np.ndarray, k: int = 10) -> float:
    ranks = np.asarray(ranks, dtype=np.float64)
    return float(np.mean(np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)))
