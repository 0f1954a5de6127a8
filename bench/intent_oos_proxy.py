"""A fast proxy for intent-model choices: the frozen-encoder member alone (a logistic regression on frozen MiniLM
vectors) and out-of-scope scores, fitted on the calibration phase's rows and scored on training-derived held-out
sets and on bench/data/shopper_validation.jsonl. Never on a blind probe.

    .venv/bin/python bench/intent_oos_proxy.py [--cache .state/proxy_vectors.npz]

For each out-of-scope rule the threshold is chosen like training.py chooses it: at most 2 % of the held-out
in-scope rows of the calibration phase fall back (Bitext variation rows and the project's held-out lines
weighted as two equal groups). Prints off-topic recall and in-scope fallback set by set.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.config import Settings  # noqa: E402
from assistant.intent.data import NEAR_SHOP_SOURCE, Example, load_clinc_oos, read_jsonl, split_by_hash  # noqa: E402
from assistant.intent.frozen_member import FrozenHead  # noqa: E402
from assistant.intent.labels import LABEL_TO_ID, LABELS, OUT_OF_SCOPE  # noqa: E402
from assistant.intent.training import FULL_PLAN, _with_augmentation, build_splits  # noqa: E402

SMALL_TALK = ("greeting", "thanks", "goodbye")
VALIDATION = Path(__file__).resolve().parent / "data" / "shopper_validation.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="npz of text -> vector, reused between runs")
    parser.add_argument("--without-near-shop", action="store_true", help="train on no near-shop off-topic line")
    parser.add_argument("--without-calibration-phrasings", action="store_true")
    args = parser.parse_args()
    from retrieval.embeddings import get_embedder

    data_dir = Settings().data_dir
    plan, seed = replace(FULL_PLAN, calibration_phrasings=not args.without_calibration_phrasings), 13
    splits = build_splits(data_dir, plan, [], seed)
    if args.without_near_shop:
        splits.calibration_train = [e for e in splits.calibration_train if e.source != NEAR_SHOP_SOURCE]
    from assistant.intent.augment import augment_examples

    train = list(splits.calibration_train) + augment_examples(splits.calibration_train, plan.frozen_augment_copies,
                                                              seed + 7)
    in_scope_store = [e for e in _with_augmentation(splits.calibration_train, plan, seed) if e.intent != OUT_OF_SCOPE]
    clinc_a, clinc_b = split_by_hash(load_clinc_oos(data_dir), 0.5)
    validation = [Example(r["text"], r["intent"]) for r in read_jsonl(VALIDATION)]
    sets = {"cal in-scope (fit)": splits.hard_in_scope,
            "written held-out": [e for e in splits.oos_tune if e.source != NEAR_SHOP_SOURCE],
            "near-shop held-out": [e for e in splits.oos_tune if e.source == NEAR_SHOP_SOURCE], "clinc A": clinc_a,
            "clinc B": clinc_b, "val off-topic": [e for e in validation if e.intent == OUT_OF_SCOPE],
            "val in scope": [e for e in validation if e.intent != OUT_OF_SCOPE], "dev": splits.dev}
    texts = sorted({e.text for e in train + in_scope_store} | {e.text for s in sets.values() for e in s})
    cache = {}
    if args.cache and args.cache.exists():
        data = np.load(args.cache, allow_pickle=True)
        cache = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
    missing = [t for t in texts if t not in cache]
    if missing:
        cache.update(zip(missing, get_embedder().encode(missing), strict=True))
        if args.cache:
            np.savez(args.cache, texts=np.array(list(cache), dtype=object), vectors=np.vstack(list(cache.values())))

    def vec(examples):
        return np.vstack([cache[e.text] for e in examples])

    def ids(examples):
        return np.array([LABEL_TO_ID[e.intent] for e in examples])

    head = FrozenHead.fit(vec(train), ids(train), len(LABELS), plan.frozen_inverse_regularisation, seed)
    report(head, vec(in_scope_store), ids(in_scope_store), {n: (vec(s), ids(s)) for n, s in sets.items()},
           np.array([e.source.startswith("bitext") for e in splits.hard_in_scope]))


def report(head, store, store_ids, sets, bitext_mask) -> None:
    from assistant.intent.in_scope_distance import InScopeDistance, fit_threshold, in_scope_confidence
    from assistant.intent.policy import group_weights

    oos = LABEL_TO_ID[OUT_OF_SCOPE]
    knn = InScopeDistance(store, 10)
    gauss = ClassGaussians(store, store_ids)
    weights = group_weights(bitext_mask)
    signals = {}
    for name, (v, y) in sets.items():
        p = head.probabilities(v)
        signals[name] = {"argmax_oos": p.argmax(1) == oos, "doubt": 1 - in_scope_confidence(p, oos),
                         "p_oos": p[:, oos], "knn": knn.distances(v), "maha": gauss.min_distance(v),
                         "rel_maha": gauss.relative(v), "acc": float((p.argmax(1) == y).mean()),
                         "small_talk": np.isin(p.argmax(1), [LABEL_TO_ID[i] for i in SMALL_TALK])}
    fit = signals["cal in-scope (fit)"]

    def z(name, key):
        return (signals[name][key] - fit[key].mean()) / max(fit[key].std(), 1e-9)

    rules = {
        "policy argmax only": lambda n: signals[n]["argmax_oos"].astype(float) * 1e9,
        "knn + doubt": lambda n: z(n, "knn") + z(n, "doubt"),
        "knn": lambda n: z(n, "knn"),
        "maha": lambda n: z(n, "maha"),
        "rel_maha": lambda n: z(n, "rel_maha"),
        "maha + doubt": lambda n: z(n, "maha") + z(n, "doubt"),
        "rel_maha + doubt": lambda n: z(n, "rel_maha") + z(n, "doubt"),
        "knn + maha + doubt": lambda n: z(n, "knn") + z(n, "maha") + z(n, "doubt"),
        "knn + rel_maha + doubt": lambda n: z(n, "knn") + z(n, "rel_maha") + z(n, "doubt"),
        "knn + doubt + p_oos": lambda n: z(n, "knn") + z(n, "doubt") + z(n, "p_oos"),
    }
    names = [n for n in sets if n != "dev"] + ["dev"]
    print(f"{'rule':<40}" + "".join(f"{n[:16]:>18}" for n in names))
    print(f"{'frozen LR accuracy':<40}" + "".join(f"{signals[n]['acc']:>18.3f}" for n in names))
    for exempt in (False, True):
        for rule, score in rules.items():
            def scored(n, score=score, exempt=exempt):
                return np.where(signals[n]["small_talk"], -np.inf, score(n)) if exempt else score(n)
            threshold = fit_threshold(scored("cal in-scope (fit)"), fit["argmax_oos"], 0.02, weights)
            row = [(signals[n]["argmax_oos"] | (scored(n) > threshold)).mean() for n in names]
            label = ("small talk exempt: " if exempt else "") + rule
            print(f"{label[:40]:<40}" + "".join(f"{r:>18.3f}" for r in row))


class ClassGaussians:
    """Class-conditional Gaussians with a shared covariance (Lee et al. 2018) and a background Gaussian over all
    in-scope rows (relative Mahalanobis, Ren et al. 2021), fitted on in-scope vectors only."""

    def __init__(self, vectors: np.ndarray, label_ids: np.ndarray, shrinkage: float = 0.1) -> None:
        self.classes = np.unique(label_ids)
        self.means = np.vstack([vectors[label_ids == c].mean(0) for c in self.classes])
        centred = vectors - self.means[np.searchsorted(self.classes, label_ids)]
        self.precision = _shrunk_precision(centred, shrinkage)
        self.mean = vectors.mean(0)
        self.background_precision = _shrunk_precision(vectors - self.mean, shrinkage)

    def _class_distances(self, v: np.ndarray) -> np.ndarray:
        d = v[:, None, :] - self.means[None]
        return np.einsum("ncd,de,nce->nc", d, self.precision, d)

    def min_distance(self, v: np.ndarray) -> np.ndarray:
        return self._class_distances(v).min(1)

    def relative(self, v: np.ndarray) -> np.ndarray:
        d = v - self.mean
        background = np.einsum("nd,de,ne->n", d, self.background_precision, d)
        return (self._class_distances(v) - background[:, None]).min(1)


def _shrunk_precision(centred: np.ndarray, shrinkage: float) -> np.ndarray:
    cov = np.cov(centred, rowvar=False)
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / len(cov) * np.eye(len(cov))
    return np.linalg.inv(cov)


if __name__ == "__main__":
    main()
