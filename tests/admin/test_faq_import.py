"""Bulk FAQ import and export: the dry run reports without changing, a broken file is refused whole with
its line numbers, an applied import is answered in the next chat, and the CLI does the same."""

from __future__ import annotations

import csv
import io
import json
import uuid

from typer.testing import CliRunner

from assistant.cli import app as cli
from tests.admin.test_faq_roundtrip import ask


def export(admin_api, fmt: str) -> str:
    resp = admin_api.get("/api/admin/faq/export", params={"format": fmt})
    assert resp.status_code == 200
    return resp.text


def test_an_export_imports_back_unchanged(admin_api):
    for fmt, content_type in (("json", "application/json"), ("csv", "text/csv")):
        report = admin_api.post("/api/admin/faq/import?dry_run=true", content=export(admin_api, fmt),
                                headers={"Content-Type": content_type}).json()
        assert report["applied"] is False
        assert report["counts"]["added"] == report["counts"]["updated"] == report["counts"]["deleted"] == 0
        assert report["counts"]["unchanged"] > 50


def test_a_dry_run_reports_added_updated_deleted_and_changes_nothing(admin_api):
    before = export(admin_api, "json")
    entries = json.loads(before)["entries"]
    edited, dropped = entries[0], entries[1]
    edited["answer"] += " (edited)"
    new = {"question": f"Can I pay with seashells {uuid.uuid4().hex[:6]}?", "answer": "No.",
           "intents": ["check_payment_methods"]}
    body = json.dumps({"entries": [e for e in entries if e is not dropped] + [new]}, indent=2)
    report = admin_api.post("/api/admin/faq/import", params={"dry_run": "true"}, content=body,
                            headers={"Content-Type": "application/json"}).json()
    assert report["counts"] == {"added": 1, "updated": 1, "deleted": 1, "unchanged": len(entries) - 2}
    assert report["updated"][0]["id"] == edited["id"] and report["updated"][0]["after"]["answer"] == edited["answer"]
    assert report["deleted"][0]["id"] == dropped["id"]
    assert report["added"][0]["question"] == new["question"]
    assert export(admin_api, "json") == before


def test_a_broken_file_is_refused_whole_with_line_numbers(admin_api):
    before = export(admin_api, "json")
    good = {"question": f"Is this fine {uuid.uuid4().hex[:6]}?", "answer": "Yes.", "intents": ["review"]}
    broken_json = json.dumps({"entries": [good, {"question": "", "answer": "x", "intents": ["review"]},
                                          {"question": "q2?", "answer": "a", "intents": ["nope"]}]}, indent=2)
    resp = admin_api.post("/api/admin/faq/import?mode=merge", content=broken_json,
                          headers={"Content-Type": "application/json"})
    assert resp.status_code == 422
    problems = resp.json()["detail"]["problems"]
    assert [(p["line"], p["field"]) for p in problems] == [(10, "question"), (17, "intents")]
    assert broken_json.splitlines()[9].strip() == "{"  # line 10 is where the second entry starts

    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerows([["question", "answer", "intents"], [good["question"], "multi\nline answer", "review"],
                      ["ok?", "", "review"], ["also ok?", "fine", "review;get_refund"], ["x?", "y", "unknown_tag"]])
    resp = admin_api.post("/api/admin/faq/import?mode=merge&format=csv", content=rows.getvalue())
    assert resp.status_code == 422
    assert [p["line"] for p in resp.json()["detail"]["problems"]] == [4, 6]

    json_type, text_type = {"Content-Type": "application/json"}, {"Content-Type": "text/plain"}
    resp = admin_api.post("/api/admin/faq/import", content='{"entries": [', headers=json_type)
    assert resp.status_code == 422 and resp.json()["detail"]["problems"][0]["line"] == 1
    assert admin_api.post("/api/admin/faq/import", content="x", headers=text_type).status_code == 415
    assert export(admin_api, "json") == before


async def test_an_applied_import_is_answered_in_the_next_chat(admin_api, admin_server):
    token = uuid.uuid4().hex[:8]
    rows = f'question,answer,intents\n"What is your return policy for violet hammocks?","Violet hammocks: 30 days, ' \
           f'code {token}.",check_refund_policy\n'
    report = admin_api.post("/api/admin/faq/import?mode=merge", content=rows,
                            headers={"Content-Type": "text/csv"}).json()
    assert report["applied"] and report["counts"]["added"] == 1 and report["counts"]["deleted"] == 0
    reply = await ask(admin_server, "what is your return policy for violet hammocks?")
    assert token in reply["text"]
    changes = admin_api.get("/api/admin/faq/changes", params={"limit": 1}).json()
    assert changes[0]["action"] == "import-create" and reply["faq_ids"] == [changes[0]["faq_id"]]


def test_an_imported_file_is_stored_without_nul_or_invisible_characters(admin_api):
    """On the old main a CSV import stored NUL and invisible characters as they came (only JSON bodies were
    cleaned), and PostgreSQL refuses a NUL."""
    token = uuid.uuid4().hex[:8]
    rows = f'question,answer,intents\n"Do you ship\x00 to the moon {token}?","No\u200b, sorry.",delivery_options\n'
    report = admin_api.post("/api/admin/faq/import?mode=merge", content=rows.encode(),
                            headers={"Content-Type": "text/csv"})
    assert report.status_code == 200 and report.json()["counts"]["added"] == 1, report.text
    entry = next(e for e in json.loads(export(admin_api, "json"))["entries"] if token in e["question"])
    assert (entry["question"], entry["answer"]) == (f"Do you ship to the moon {token}?", "No, sorry.")


def test_the_cli_exports_dry_runs_and_refuses_broken_files(admin_settings, tmp_path, monkeypatch):
    from assistant.config import get_settings

    monkeypatch.setenv("SHOPASSIST_STATE_DIR", str(admin_settings.state_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = tmp_path / "faq.csv"
        done = runner.invoke(cli, ["faq", "export", str(out)])
        assert done.exit_code == 0, done.output
        assert out.read_text().startswith("id,question,answer,intents")
        dry = runner.invoke(cli, ["faq", "import", str(out), "--dry-run"])
        assert dry.exit_code == 0 and "0 added, 0 updated, 0 deleted" in dry.output, dry.output
        bad = tmp_path / "bad.json"
        bad.write_text('[\n  {"question": "q?", "answer": "a", "intents": ["get_refund"]},\n'
                       '  {"question": "q3?", "answer": "", "intents": ["get_refund"]}\n]\n')
        refused = runner.invoke(cli, ["faq", "import", str(bad)])
        assert refused.exit_code == 1
        assert "line 3: answer: answer is empty" in refused.output
    finally:
        get_settings.cache_clear()
