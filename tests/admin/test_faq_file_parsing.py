"""Reading FAQ import files: every problem is reported with the line where its entry starts."""

from __future__ import annotations

import json

import pytest

from assistant.admin.faq_bulk import ImportRefused, export_faq, parse_faq_file, plan_import
from assistant.config import Settings

SETTINGS = Settings(faq_import_max_bytes=10_000)


def problems(content: str | bytes, fmt: str) -> list[tuple[int, str | None]]:
    with pytest.raises(ImportRefused) as refused:
        parse_faq_file(content.encode() if isinstance(content, str) else content, fmt, SETTINGS)
    return [(p["line"], p.get("field")) for p in refused.value.problems]


def test_json_lines_are_those_where_each_entry_starts_even_after_other_keys():
    text = ('{"version": 2, "notes": {"entries": "not these"},\n'
            ' "entries": [\n'
            '  {"question": "ok?", "answer": "yes", "intents": ["review"]},\n'
            '  {"question": "ok?", "answer": "dup", "intents": ["review"]},\n'
            '\n'
            '  {"id": "x", "question": "q", "answer": "a", "intents": "review"},\n'
            '  {"question": "q2", "answer": "a", "intents": ["review"]}, "oops"\n'
            ']}')
    assert problems(text, "json") == [(4, "question"), (6, "id"), (7, None)]


def test_csv_lines_count_multi_line_answers_and_report_extra_fields():
    text = 'id,question,answer,intents\n,"q1?","line one\nline two",review\n,q2?,,review\n,q3?,a,review,extra\n'
    assert problems(text, "csv") == [(4, "answer"), (5, None)]
    assert problems("question,answer\nq,a\n", "csv") == [(1, None)]


def test_empty_oversized_malformed_and_non_utf8_files_are_refused():
    assert problems('{"entries": []}', "json") == [(1, None)]
    assert problems('[{"question": "q",\n "answer": }]', "json") == [(2, None)]
    assert problems(b'[{"question": "\xff"}]', "json") == [(1, None)]
    assert problems("x" * 20_000, "csv") == [(0, None)]


def test_a_round_trip_through_export_plans_no_change():
    entries = [{"id": 1, "question": "Where is my order?", "answer": "See your account.", "intents": ["track_order"]},
               {"id": 2, "question": "Refunds?", "answer": "Within 5 days.", "intents": ["get_refund", "track_refund"]}]
    for fmt in ("json", "csv"):
        rows = parse_faq_file(export_faq(entries, fmt).encode(), fmt, SETTINGS)
        plan = plan_import(rows, entries, "sync")
        assert plan.report(False)["counts"] == {"added": 0, "updated": 0, "deleted": 0, "unchanged": 2}


def test_rows_match_by_id_then_by_question_and_sync_deletes_the_rest():
    current = [{"id": 1, "question": "Where is my order?", "answer": "a", "intents": ["track_order"]},
               {"id": 2, "question": "Refunds?", "answer": "b", "intents": ["get_refund"]},
               {"id": 3, "question": "Gift wrap?", "answer": "c", "intents": ["place_order"]}]
    body = json.dumps([{"question": "  where IS my order? ", "answer": "new", "intents": ["track_order"]},
                       {"id": 2, "question": "Refunds, how long?", "answer": "b", "intents": ["get_refund"]},
                       {"question": "New one?", "answer": "d", "intents": ["review"]}])
    rows = parse_faq_file(body.encode(), "json", SETTINGS)
    plan = plan_import(rows, current, "sync")
    assert [u["id"] for u in plan.updated] == [1, 2]
    assert [d["id"] for d in plan.deleted] == [3] and len(plan.added) == 1
    assert plan_import(rows, current, "merge").deleted == []
