"""The written dialogues (tests/dialogue/dialogues.yaml) run through the test server with the real runner
of `shopassist eval-dialogues`, signed-in ones with the shop's proof of the customer id."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from assistant.agent.dialogue_eval import Turn, load_dialogues, run_dialogue_evaluation, turn_failures

DIALOGUES = Path(__file__).parent / "dialogues.yaml"
# measured on the test shop (quick intent model, 300 items); the full model does better (BENCHMARKS.md)
MIN_TURN_ACCURACY = 0.8


def test_the_shipped_file_covers_signed_in_and_anonymous_shoppers():
    dialogues = load_dialogues(DIALOGUES)
    assert len(dialogues) >= 60
    assert any(d.customer is None for d in dialogues) and any(d.customer for d in dialogues)
    routes = {t.route for d in dialogues for t in d.turns}
    assert {"item_detail", "refine_products", "change_address", "change_item", "start_return", "track_refund",
            "payment_issue", "choose_order"} <= routes


def test_a_turn_is_right_only_when_every_expectation_holds():
    turn = Turn(say="x", route="track_order", options=2, reply_contains=["#{order}"])
    reply = {"text": "Your order #12 shipped", "options": [{}, {}], "reading": {"route": "track_order"}}
    assert turn_failures(turn, reply, {"order": "12"}) == []
    assert turn_failures(turn, {**reply, "options": [{}]}, {"order": "12"}) == ["1 options < 2"]
    assert turn_failures(turn, reply, {"order": "13"}) == ["reply lacks '#13'"]


def test_the_dialogues_run_through_the_server(sqlite_server, tmp_path):
    lines = list(run_dialogue_evaluation(sqlite_server.settings, DIALOGUES, sqlite_server.url))
    summary = json.loads(lines[-1])
    assert set(summary) == {"dialogues", "turns", "turn_accuracy", "dialogue_success"}
    assert summary["dialogues"] == len(yaml.safe_load(DIALOGUES.read_text()))
    print("\n".join(lines))
    assert summary["turn_accuracy"] >= MIN_TURN_ACCURACY, "\n".join(line for line in lines if line.startswith("MISS"))


def test_the_command_prints_a_line_per_dialogue_and_the_summary_last(sqlite_server, tmp_path, monkeypatch):
    """`shopassist eval-dialogues FILE --through-server URL` itself (the runner alone was tested before)."""
    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.config import get_settings

    picked = [d for d in yaml.safe_load(DIALOGUES.read_text())
              if d["name"] in ("the order's number typed alone answers which order", "greeting")]
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(picked), encoding="utf-8")
    monkeypatch.setenv("SHOPASSIST_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPASSIST_DATABASE_URL", sqlite_server.settings.resolved_database_url)
    monkeypatch.setenv("SHOPASSIST_IDENTITY_SECRET", sqlite_server.settings.identity_secret or "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval-dialogues", str(path), "--through-server", sqlite_server.url])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert json.loads(lines[-1]) == {"dialogues": 2, "turns": 3, "turn_accuracy": 1.0, "dialogue_success": 1.0}, lines
