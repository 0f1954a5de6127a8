"""`fit-oos-distance`: calibrate the in-scope distance of a trained model and report it on off-topic sets.

The threshold comes from in-scope messages only: Bitext training rows with variation flags that the model
did not store (a stored row is its own nearest neighbour), up to `per_intent` per intent. Every off-topic
set is therefore held out from the distance, including the off-topic lines the classifier trained on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.intent.data import (
    Example,
    cap_per_intent,
    is_shift_row,
    load_bitext,
    load_clinc_oos,
    load_shop_lines,
    read_jsonl,
    split_by_hash,
)
from assistant.intent.in_scope_distance import InScopeDistanceCard, fit_threshold
from assistant.intent.labels import OUT_OF_SCOPE
from assistant.intent.model_card import ModelCard

STORED_SIMILARITY = 0.9999  # a row this close to a stored embedding is the stored row itself


def _unseen_in_scope(classifier, data_dir: Path, per_intent: int, seed: int) -> list[str]:
    rows = cap_per_intent([e for e in load_bitext(data_dir, "train") if is_shift_row(e)], per_intent * 3, seed)
    _, embeddings = classifier.backend.run([e.text for e in rows])
    stored = classifier.neighbours.embeddings
    nearest = (embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)) @ (
        stored / np.linalg.norm(stored, axis=1, keepdims=True)).T
    unseen = [e for e, sim in zip(rows, nearest.max(axis=1), strict=True) if sim < STORED_SIMILARITY]
    return [e.text for e in cap_per_intent(unseen, per_intent, seed)]


def evaluation_sets(data_dir: Path, probes: list[Path]) -> dict[str, tuple[list[str], bool]]:
    """name -> (texts, off_topic): the off-topic sets and in-scope sets the figures are printed for."""
    written = [e.text for e in load_shop_lines() if e.intent == OUT_OF_SCOPE]
    clinc_a, clinc_b = split_by_hash(load_clinc_oos(data_dir), 0.5)
    sets = {"written off-topic lines": (written, True), "clinc half A": ([e.text for e in clinc_a], True),
            "clinc half B (held out in training)": ([e.text for e in clinc_b], True),
            "bitext dev (in scope)": ([e.text for e in load_bitext(data_dir, "dev")], False)}
    for probe in probes:
        rows = [Example(r["text"], r["intent"]) for r in read_jsonl(probe)]
        sets[f"{probe.name} off-topic"] = ([e.text for e in rows if e.intent == OUT_OF_SCOPE], True)
        sets[f"{probe.name} in scope"] = ([e.text for e in rows if e.intent != OUT_OF_SCOPE], False)
    return {name: value for name, value in sets.items() if value[0]}


def run_oos_fitting(settings, k: int, max_flagged: float, per_intent: int, seed: int, probes: list[Path],
                    save: bool) -> Iterator[str]:
    from assistant.intent.classifier import IntentClassifier
    from assistant.intent.in_scope_distance import InScopeDistance

    model_dir = settings.resolved_intent_model_dir
    classifier = IntentClassifier.from_settings(settings)
    classifier.in_scope_distance = InScopeDistance.from_neighbours(
        classifier.neighbours.embeddings, classifier.neighbours.label_ids, classifier.labels.index(OUT_OF_SCOPE), k)
    calibration = _unseen_in_scope(classifier, settings.data_dir, per_intent, seed)
    threshold = fit_threshold(classifier.probabilities_and_distances(calibration)[1], max_flagged)
    yield f"threshold {threshold:.4f} (k={k}) flags {max_flagged:.1%} of {len(calibration)} unseen in-scope rows"
    yield f"{'set':<44} {'n':>5} {'classifier':>10} {'distance':>9} {'either':>7}   (share read as out of scope)"
    for name, (texts, off_topic) in evaluation_sets(settings.data_dir, probes).items():
        classifier.card = classifier.card.model_copy(update={"in_scope_distance": None})
        by_classifier = np.array([r.intent == OUT_OF_SCOPE for r in classifier.predict(texts)])
        far = classifier.probabilities_and_distances(texts)[1] > threshold
        yield (f"{name:<44} {len(texts):>5} {by_classifier.mean():>10.3f} {far.mean():>9.3f} "
               f"{(by_classifier | far).mean():>7.3f}   {'recall' if off_topic else 'in-scope fallback'}")
    if save:
        card = ModelCard.load(model_dir)
        card.in_scope_distance = InScopeDistanceCard(k=k, threshold=round(threshold, 4), calibration={
            "rows": len(calibration), "max_flagged": max_flagged, "source": "bitext train, variation flags, unstored"})
        card.save(model_dir)
        yield f"saved into {model_dir / 'model_card.json'}"
