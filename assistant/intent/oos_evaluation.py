"""`eval-oos`: off-topic recall and in-scope fallback of the trained model, set by set, by the policy alone, the
out-of-scope score alone (in_scope_distance.py) and either (what the server does).

The score was fitted during training on held-out in-scope rows only; the model trains on none of the CLINC
sample and not on the held-out share of the written off-topic lines, so every off-topic set printed here is
held out from the model except "written off-topic lines (trained)".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.intent.data import (
    NEAR_SHOP_SOURCE,
    load_bitext,
    load_clinc_oos,
    load_shop_lines,
    read_jsonl,
    split_by_hash,
)
from assistant.intent.labels import OUT_OF_SCOPE


def evaluation_sets(data_dir: Path, probes: list[Path], held_out_share: float) -> dict[str, tuple[list[str], bool]]:
    """name -> (texts, off_topic): the off-topic sets and in-scope sets the figures are printed for."""
    trained, held = split_by_hash([e for e in load_shop_lines() if e.intent == OUT_OF_SCOPE], held_out_share)
    clinc_a, clinc_b = split_by_hash(load_clinc_oos(data_dir), 0.5)
    # the near-shop lines (a bank card, an airline refund) apart, so that the other written lines stay the set
    # earlier models were measured on
    sets = {"written off-topic lines (held out)": ([e.text for e in held if e.source != NEAR_SHOP_SOURCE], True),
            "near-shop off-topic lines (held out)": ([e.text for e in held if e.source == NEAR_SHOP_SOURCE], True),
            "written off-topic lines (trained)": ([e.text for e in trained], True),
            "clinc half A": ([e.text for e in clinc_a], True), "clinc half B": ([e.text for e in clinc_b], True),
            "bitext dev (in scope)": ([e.text for e in load_bitext(data_dir, "dev")], False)}
    for probe in probes:
        rows = read_jsonl(probe)
        sets[f"{probe.name} off-topic"] = ([r["text"] for r in rows if r["intent"] == OUT_OF_SCOPE], True)
        sets[f"{probe.name} in scope"] = ([r["text"] for r in rows if r["intent"] != OUT_OF_SCOPE], False)
    return {name: value for name, value in sets.items() if value[0]}


def _read_as_out_of_scope(classifier, texts: list[str]) -> np.ndarray:
    return np.array([r.fallback or r.intent == OUT_OF_SCOPE for r in classifier.predict(texts)])


def run_oos_evaluation(settings, probes: list[Path]) -> Iterator[str]:
    from assistant.intent.classifier import IntentClassifier

    classifier = IntentClassifier.from_settings(settings)
    held_out_share = classifier.card.training.get("plan", {}).get("held_out_share", 0.2)
    card = classifier.card.in_scope_distance
    yield (f"out-of-scope score: threshold {card.threshold:.4f}, k={card.k}" if card else
           "this model has no out-of-scope score: the policy alone")
    yield f"{'set':<44} {'n':>5} {'policy':>7} {'score':>7} {'either':>7}   (share read as out of scope)"
    summary = {}
    for name, (texts, off_topic) in evaluation_sets(settings.data_dir, probes, held_out_share).items():
        either = _read_as_out_of_scope(classifier, texts)
        far = np.array([classifier.is_far_from_scope(s) for s in classifier.probabilities_and_oos_scores(texts)[1]])
        distance, classifier.in_scope_distance = classifier.in_scope_distance, None
        policy = _read_as_out_of_scope(classifier, texts)
        classifier.in_scope_distance = distance
        kind = "recall" if off_topic else "in-scope fallback"
        yield (f"{name:<44} {len(texts):>5} {policy.mean():>7.3f} {far.mean():>7.3f} {either.mean():>7.3f}   {kind}")
        summary[name] = {"n": len(texts), kind.replace(" ", "_").replace("-", "_"): round(float(either.mean()), 4)}
    yield json.dumps(summary)
