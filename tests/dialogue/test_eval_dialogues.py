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
