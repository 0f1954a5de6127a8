"""Lines that name products: catalogue titles cut to a shopper's words, filled into the templates of the shop's
intents, and trained on (never held out, so no figure is measured on templates)."""

from __future__ import annotations

import random
from dataclasses import replace

from assistant.intent.catalogue_lines import SOURCE, catalogue_lines, catalogue_products, product_phrase
from assistant.intent.labels import LABELS
from assistant.intent.training import QUICK_PLAN, build_splits


def test_training_rows_name_catalogue_products_for_the_shops_intents(data_dir):
    """Failed before catalogue_lines.py: the 91 product_search lines named hardly a product, so a message
    naming one ("is the blue 40l backpack in stock") read as off-topic."""
    splits = build_splits(data_dir, replace(QUICK_PLAN, catalogue_scale=0.5), feedback=(), seed=13)
    named = [e for e in splits.calibration_train if e.source == SOURCE]
    assert {"product_search", "place_order", "recommendation", "review"} <= {e.intent for e in named}
    products = catalogue_products(data_dir, random.Random(13))
    assert any(p in e.text for e in named[:50] for p in products)
    assert {e.text for e in named} <= {e.text for e in splits.everything}
    held_out = splits.hard_in_scope + splits.oos_tune + splits.oos_test + splits.dev
    assert not any(e.source == SOURCE for e in held_out)


def test_a_title_is_cut_to_the_words_a_shopper_would_use():
    rng = random.Random(0)
    phrases = {product_phrase("Brother Genuine TN330 Mono Laser Toner Cartridge", "Brother Reseller", rng)
               for _ in range(30)}
    assert all(p.endswith("toner cartridge") and not any(c.isdigit() for c in p) for p in phrases)
    assert product_phrase("3M 1-1/2 (Pack of 12)", "3M", rng) is None


def test_lines_are_deterministic_and_need_no_catalogue(tmp_path):
    first = catalogue_lines(tmp_path, 0.5, seed=3)
    assert first == catalogue_lines(tmp_path, 0.5, seed=3)
    assert first and {e.intent for e in first} <= set(LABELS)
    assert catalogue_lines(tmp_path, 0.0, seed=3) == []
