"""`shopassist eval-intents` prints a table, a confusion-matrix path and one JSON summary as its last line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import get_settings

ROWS = [
    {"text": "I want to cancel my order", "intent": "cancel_order"},
    {"text": "hello there", "intent": "greeting"},
    {"text": "thanks a lot", "intent": "thanks"},
    {"text": "how tall is mount everest", "intent": "out_of_scope"},
]
SUMMARY_KEYS = {"n", "accuracy", "macro_f1", "fallback_rate", "oos_recall", "answered_accuracy"}


@pytest.fixture()
def small_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def _run(args, monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()


def test_eval_intents_locally_ends_with_one_json_summary(small_file, tiny_model_dir, tmp_path, monkeypatch):
    result = _run(["eval-intents", str(small_file)], monkeypatch, SHOPASSIST_INTENT_MODEL_DIR=tiny_model_dir,
                  SHOPASSIST_STATE_DIR=tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == SUMMARY_KEYS and summary["n"] == 4
    assert any(line.startswith("cancel_order") for line in lines)
    png = next(line for line in lines if line.startswith("confusion matrix: ")).split(": ", 1)[1]
    assert (tmp_path / "eval").exists() and png.endswith(".png")


def test_eval_intents_through_the_chat_server(small_file, sqlite_server, tmp_path, monkeypatch):
    result = _run(["eval-intents", str(small_file), "--through-server", sqlite_server.url], monkeypatch,
                  SHOPASSIST_STATE_DIR=tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) == SUMMARY_KEYS and summary["n"] == 4
    assert summary["accuracy"] is not None
