"""A tiny training run gives a loadable model, a complete model card and readings of the agreed shape."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.intent.classifier import IntentClassifier
from assistant.intent.data import (
    NEAR_SHOP_SOURCE,
    Example,
    is_shift_row,
    load_calibration_phrasings,
    load_shop_lines,
)
from assistant.intent.labels import LABELS, OUT_OF_SCOPE
from assistant.intent.model_card import ModelCard
from assistant.intent.oos_evaluation import evaluation_sets
from assistant.intent.reading import IntentReading
from assistant.intent.training import QUICK_PLAN, ScoredSet, _best_weights, build_splits


def test_tiny_training_writes_a_loadable_model_with_a_card(tiny_model_dir):
    card = ModelCard.load(tiny_model_dir)
    assert card.labels == list(LABELS)
    assert card.temperature > 0
    assert 0 <= card.policy.threshold <= 1
    assert {"shift_split", "dev", "oos_recall_held_out", "ece_after_temperature"} <= set(card.metrics)
    assert card.training["data_hashes"]["bitext/train.jsonl"]
    assert (tiny_model_dir / "reliability_diagram.png").stat().st_size > 0


def test_readings_have_the_agreed_shape(tiny_model_dir):
    classifier = IntentClassifier.load(tiny_model_dir, use_onnx=False)
    readings = classifier.predict(["where is my order", "hello", "I want a refund and also track my parcel"])
    assert len(readings) == 3
    for reading in readings:
        assert isinstance(reading, IntentReading)
        assert reading.intent in LABELS
        assert len(reading.alternatives) == 3
        assert reading.alternatives[0].intent == reading.intent
        assert reading.alternatives[0].confidence <= reading.confidence + 1e-9
        assert reading.secondary_intent is None or reading.secondary_intent in LABELS


def test_even_a_tiny_model_reads_plain_requests(tiny_model_dir):
    classifier = IntentClassifier.load(tiny_model_dir, use_onnx=False)
    texts = ["I want to cancel my order", "hello", "thank you so much"]
    assert [r.intent for r in classifier.predict(texts)] == ["cancel_order", "greeting", "thanks"]


def test_settings_override_the_calibrated_policy(tiny_model_dir):
    strict = IntentClassifier.load(tiny_model_dir, use_onnx=False, threshold=1.0)
    assert all(r.fallback for r in strict.predict(["where is my order", "hello"]))
    lenient = IntentClassifier.load(tiny_model_dir, use_onnx=False, threshold=0.0, margin=0.0)
    assert lenient.policy.threshold == 0.0


def test_shift_split_holds_out_lexical_coordinated_colloquial_and_typo_rows(data_dir):
    plan = replace(QUICK_PLAN, max_per_intent=None)
    splits = build_splits(data_dir, plan, feedback=(), seed=13)
    assert not any(is_shift_row(e) for e in splits.calibration_train)
    assert all(is_shift_row(e) for e in splits.hard_in_scope if e.source.startswith("bitext"))
    assert is_shift_row(Example("x", "track_order", "BLQ")) and not is_shift_row(Example("x", "track_order", "BIP"))
    held_out_oos = {e.text for e in splits.oos_test}
    assert held_out_oos and not held_out_oos & {e.text for e in splits.calibration_train}


def test_everyday_calibration_phrasings_are_held_out_until_the_final_phase(data_dir):
    splits = build_splits(data_dir, replace(QUICK_PLAN, max_per_intent=None, eval_per_intent=None), (), seed=13)
    everyday = {e.text for e in load_calibration_phrasings()}
    assert len(everyday) >= 100 and {e.intent for e in load_calibration_phrasings()} <= set(LABELS)
    assert not everyday & {e.text for e in splits.calibration_train}
    assert everyday <= {e.text for e in splits.hard_in_scope}  # the fallback budget is measured on them
    assert everyday <= {e.text for e in splits.everything}
    without = build_splits(data_dir, replace(QUICK_PLAN, max_per_intent=None, eval_per_intent=None,
                                             calibration_phrasings=False), (), seed=13)
    assert not everyday & {e.text for e in without.hard_in_scope + without.everything}


def test_near_shop_off_topic_lines_are_off_topic_and_partly_held_out(data_dir):
    splits = build_splits(data_dir, replace(QUICK_PLAN, max_per_intent=None), (), seed=13)
    near_shop = [e for e in load_shop_lines() if e.source == NEAR_SHOP_SOURCE]
    assert len(near_shop) >= 80 and all(e.intent == OUT_OF_SCOPE for e in near_shop)
    tuned = {e.text for e in splits.oos_tune if e.source == NEAR_SHOP_SOURCE}
    trained = {e.text for e in splits.calibration_train if e.source == NEAR_SHOP_SOURCE}
    assert tuned and trained and not tuned & trained
    assert not tuned & {e.text for e in splits.everything}  # held out in the final phase as well


def test_eval_oos_prints_the_near_shop_lines_apart_from_the_other_written_lines(data_dir):
    sets = evaluation_sets(data_dir, [], held_out_share=0.2)
    near_shop = {e.text for e in load_shop_lines() if e.source == NEAR_SHOP_SOURCE}
    held_near, off_topic = sets["near-shop off-topic lines (held out)"]
    assert off_topic and set(held_near) <= near_shop
    assert not set(sets["written off-topic lines (held out)"][0]) & near_shop


def _scored(targets, member_says):
    """Three rows of scores per set: the network (logits) reads one way, the neighbour votes another."""
    n_labels = len(LABELS)
    logits = np.full((len(targets), n_labels), -5.0)
    logits[np.arange(len(targets)), targets] = 5.0
    votes = np.full((len(targets), n_labels), 1e-6)
    votes[np.arange(len(targets)), member_says] = 1.0
    return ScoredSet(np.array(targets), logits, votes)


def test_ensemble_weights_count_the_held_out_off_topic_lines_as_much_as_the_hard_rows():
    oos, track, refund = LABELS.index(OUT_OF_SCOPE), LABELS.index("track_order"), LABELS.index("get_refund")
    # the votes are right on one more hard row than the network, but wrong on every off-topic line
    hard = _scored([track, track, refund, refund], [track, track, refund, refund])
    hard.logits[3, refund], hard.logits[3, track] = -5.0, 5.0  # the network misreads this row, the votes do not
    off_topic = _scored([oos, oos, oos], [track, track, track])
    grid = [(0.0, 0.0), (0.75, 0.0)]
    assert _best_weights(hard, grid) == (0.75, 0.0)  # on the hard rows alone the votes win
    assert _best_weights(hard, grid, off_topic) == (0.0, 0.0)
