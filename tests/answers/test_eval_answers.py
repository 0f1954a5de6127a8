"""`shopassist eval-answers` judges the answer each labelled message gets, one fresh session per row."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from assistant.agent.answer_evaluation import judge
from assistant.agent.person_request import PERSON_OPTION
from assistant.cli import app
from assistant.config import get_settings

ROWS = [
    {"text": "hello there", "intent": "greeting"},
    {"text": "what payment methods do you accept?", "intent": "check_payment_methods"},
    {"text": "I want to talk to a human", "intent": "contact_human_agent"},
    {"text": "how tall is mount everest", "intent": "out_of_scope"},
]
SUMMARY_KEYS = {"n", "right", "needless_handoff", "explicit_handoff_honoured", "wrong_entry", "p50_ms"}


def frame(route: str, handoff: bool = False, faq_intents: list[list[str]] | None = None) -> dict:
    faq_intents = faq_intents or []
    return {"handoff": handoff, "faq_ids": list(range(len(faq_intents))),
            "reading": {"route": route, "faq_intents": faq_intents}}


def test_a_reply_is_right_from_an_entry_for_the_intent_or_the_route_that_owns_it():
    assert judge("get_refund", frame("faq", faq_intents=[["get_refund", "check_refund_policy"]])).right
    wrong = judge("get_refund", frame("faq", faq_intents=[["check_refund_policy"]]))
    assert not wrong.right and wrong.wrong_entry
    assert judge("track_order", frame("track_order")).right
    assert not judge("track_order", frame("smalltalk")).right
    assert judge("out_of_scope", frame("out_of_scope")).right
    needless = judge("get_invoice", frame("handoff", handoff=True))
    assert needless.needless_handoff and not needless.right
    by_design = judge("payment_issue", frame("payment_issue", handoff=True))  # a payment problem goes to a person
    assert by_design.right and not by_design.needless_handoff
    assert judge("contact_human_agent", frame("handoff", handoff=True)).right
    assert not judge("contact_human_agent", frame("faq", faq_intents=[["get_invoice"]])).right
    offered = frame("faq", faq_intents=[["get_invoice"]]) | {"options": [PERSON_OPTION]}
    assert judge("contact_human_agent", offered).right  # the task answered, a person offered
    assert not judge("greeting", None).right


def test_eval_answers_through_the_chat_server(tmp_path, sqlite_server, monkeypatch):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    monkeypatch.setenv("SHOPASSIST_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval-answers", str(path), "--through-server", sqlite_server.url])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == SUMMARY_KEYS and summary["n"] == 4
    assert summary["explicit_handoff_honoured"] == 1.0
    assert summary["p50_ms"] > 0
    assert any(line.startswith("greeting ") for line in lines)
