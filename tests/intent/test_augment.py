"""Augmentation: an intent's own synonyms apply only inside that intent, and one pass never rewrites a replacement."""

from __future__ import annotations

import random

from assistant.intent.augment import _substitute, augment_examples, paraphrase, paraphrase_material
from assistant.intent.data import Example


def test_every_intent_synonym_table_names_a_known_intent():
    from assistant.intent.labels import LABELS

    tables = paraphrase_material().intent_synonyms
    assert tables and set(tables) <= set(LABELS)
    assert all(phrases for table in tables.values() for phrases in table.values())


def test_intent_synonyms_apply_only_to_their_intent():
    own = set(paraphrase_material().intent_synonyms["create_account"]["an account"])
    rng = random.Random(0)
    as_create = {paraphrase("i want to open an account", rng, "create_account") for _ in range(200)}
    as_other = {paraphrase("i want to open an account", rng, "edit_account") for _ in range(200)}
    assert any(phrase in text for text in as_create for phrase in own)
    assert not any(phrase in text for text in as_other for phrase in own)


def test_a_replacement_is_never_rewritten():
    table = {"shipping address": ["delivery address"], "address": ["location"], "delivery": ["dispatch"]}
    for seed in range(50):
        out = _substitute("change my shipping address", table, random.Random(seed), max_swaps=2)
        assert out == "change my delivery address"


def test_augmentation_is_deterministic_and_keeps_labels():
    examples = [Example("how do i file a complaint", "complaint"), Example("track my order", "track_order")]
    first = augment_examples(examples, 3.0, seed=7)
    assert first == augment_examples(examples, 3.0, seed=7)
    assert len(first) == 6 and [e.intent for e in first] == ["complaint"] * 3 + ["track_order"] * 3


def test_long_and_rude_variants_wrap_requests_but_never_small_talk():
    from assistant.intent.augment import augmented_variant

    contexts = paraphrase_material().contexts
    rng = random.Random(5)
    requests = [augmented_variant("where is my order", rng, "track_order") for _ in range(200)]
    small_talk = [augmented_variant("thank you so much", rng, "thanks") for _ in range(200)]
    assert any(c in v.lower() for v in requests for c in contexts)
    assert not any(c in v.lower() for v in small_talk for c in contexts)
