"""A tiny training run gives a loadable model, a complete model card and readings of the agreed shape."""

from __future__ import annotations

from dataclasses import replace

from assistant.intent.classifier import IntentClassifier
from assistant.intent.data import Example, is_shift_row
from assistant.intent.labels import LABELS
from assistant.intent.model_card import ModelCard
from assistant.intent.reading import IntentReading
from assistant.intent.training import QUICK_PLAN, build_splits


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
