"""One tiny intent model, trained once per test run on a small subset and shared by the intent tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.config import Settings

TINY_PER_INTENT = 6


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Settings().data_dir


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, data_dir) -> Path:
    """A quick-plan model (frozen MiniLM, linear probe, neighbours) on a few rows per intent, with ONNX."""
    from assistant.intent.training import QUICK_PLAN, train_intent_model

    out = tmp_path_factory.mktemp("tiny_intent_model")
    plan = replace(QUICK_PLAN, max_per_intent=TINY_PER_INTENT, augment_copies=0.0, export_onnx=True)
    train_intent_model(out, data_dir, plan=plan, progress=False)
    return out
