"""Bulk FAQ import and export (JSON and CSV): parse with line numbers, plan the changes, apply them at once.

An import file is the whole corpus (`mode="sync"`: entries missing from it are deleted) or a set of
additions and edits (`mode="merge"`). Rows are matched to entries by `id`, else by the same question.
A file with any problem is refused whole, with the line of each problem, and changes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from json.decoder import scanstring
from typing import Any

from pydantic import ValidationError

from assistant.admin.faq_service import Change, FaqInput, FaqService, snapshot
from assistant.config import Settings
from assistant.store.models import FaqEntry, utcnow

FORMATS = ("json", "csv")
MODES = ("sync", "merge")
CSV_COLUMNS = ("id", "question", "answer", "intents")
TAG_SEPARATORS = re.compile(r"[;|,]")
WHITESPACE = re.compile(r"\s*")


class ImportRefused(ValueError):
    """The file has problems; nothing was changed. `problems` holds {line, field?, error} dicts."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the file")
        self.problems = problems


@dataclass(frozen=True)
class ImportRow:
    line: int
    faq_id: int | None
    data: FaqInput


@dataclass
class ImportPlan:
    added: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def report(self, applied: bool) -> dict[str, Any]:
        return {"applied": applied,
                "counts": {"added": len(self.added), "updated": len(self.updated), "deleted": len(self.deleted),
                           "unchanged": len(self.unchanged)},
                "added": self.added, "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged}


# ---- reading files ----
def detect_format(name_or_type: str | None) -> str | None:
    text = (name_or_type or "").lower()
    if "csv" in text:
        return "csv"
    if "json" in text:
        return "json"
    return None


def parse_faq_file(content: bytes, fmt: str, settings: Settings) -> list[ImportRow]:
    """Validated rows of a JSON or CSV FAQ file; raises ImportRefused listing every problem."""
    if len(content) > settings.faq_import_max_bytes:
        raise ImportRefused([{"line": 0, "error": f"the file is over {settings.faq_import_max_bytes} bytes"}])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportRefused([{"line": content[: e.start].count(b"\n") + 1, "error": "not UTF-8 text"}]) from e
    raw_rows = _json_rows(text) if fmt == "json" else _csv_rows(text)
    if not raw_rows:  # most likely the wrong file; in sync mode it would delete the whole FAQ
        raise ImportRefused([{"line": 1, "error": "the file has no entries"}])
    problems: list[dict[str, Any]] = []
    rows = [row for line, raw in raw_rows if (row := _validated(line, raw, settings, problems)) is not None]
    problems += _duplicates(rows)
    if problems:
        raise ImportRefused(sorted(problems, key=lambda p: p["line"]))
    return rows


def _json_rows(text: str) -> list[tuple[int, Any]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportRefused([{"line": e.lineno, "error": f"not valid JSON: {e.msg}"}]) from e
    start = _skip(text, 0)
    if isinstance(doc, dict) and isinstance(doc.get("entries"), list):
        start = _member_start(text, start, "entries")
    elif not isinstance(doc, list):
        raise ImportRefused([{"line": 1, "error": 'expected a list of entries or {"entries": [...]}'}])
    return _array_items(text, start)


def _skip(text: str, pos: int) -> int:
    return WHITESPACE.match(text, pos).end()


def _member_start(text: str, pos: int, key: str) -> int:
    """Where the value of `key` starts in the (already validated) JSON object at `pos`."""
    decoder, found, pos = json.JSONDecoder(), pos, _skip(text, pos + 1)
    while text[pos] != "}":
        name, pos = scanstring(text, pos + 1)
        pos = _skip(text, _skip(text, pos) + 1)  # past the colon
        if name == key:
            found = pos
        pos = _skip(text, decoder.raw_decode(text, pos)[1])
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return found


def _array_items(text: str, pos: int) -> list[tuple[int, Any]]:
    """(line, value) of each element of the (already validated) JSON array at `pos`."""
    decoder, items, pos = json.JSONDecoder(), [], _skip(text, pos + 1)
    line, counted = 1, 0
    while text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        value, end = decoder.raw_decode(text, pos)
        items.append((line, value))
        pos = _skip(text, end)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return items


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in CSV_COLUMNS[1:] if c not in header]
        if missing:
            raise ImportRefused([{"line": 1, "error": f"missing columns: {', '.join(missing)}"}])
        rows, start = [], reader.line_num + 1
        for record in reader:
            if None in record:
                rows.append((start, {"__error__": "more fields than columns"}))
            elif any((v or "").strip() for v in record.values()):
                rows.append((start, {k: v for k, v in record.items() if k in CSV_COLUMNS}))
            start = reader.line_num + 1
        return rows
    except csv.Error as e:
        raise ImportRefused([{"line": reader.line_num, "error": f"not valid CSV: {e}"}]) from e


def _validated(line: int, raw: Any, settings: Settings, problems: list[dict[str, Any]]) -> ImportRow | None:
    if not isinstance(raw, dict):
        problems.append({"line": line, "error": "an entry must be an object with question, answer, intents"})
        return None
    if "__error__" in raw:
        problems.append({"line": line, "error": raw["__error__"]})
        return None
    faq_id, id_ok = _faq_id(raw.get("id"))
    if not id_ok:
        problems.append({"line": line, "field": "id", "error": "id must be a positive whole number"})
    intents = raw.get("intents", [])
    if isinstance(intents, str):
        intents = TAG_SEPARATORS.split(intents)
    try:
        data = FaqInput(question=raw.get("question") or "", answer=raw.get("answer") or "", intents=intents)
    except ValidationError as e:
        problems += [{"line": line, "field": ".".join(map(str, err["loc"])), "error": err["msg"]} for err in e.errors()]
        return None
    found = [{"line": line, **p} for p in data.problems(settings)]
    problems += found
    return None if found or not id_ok else ImportRow(line, faq_id, data)


def _faq_id(value: Any) -> tuple[int | None, bool]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, True
    if isinstance(value, bool):
        return None, False
    try:
        number = int(str(value).strip())
    except ValueError:
        return None, False
    return (number, True) if number > 0 else (None, False)


def _key(question: str) -> str:
    return " ".join(question.casefold().split())


def _duplicates(rows: list[ImportRow]) -> list[dict[str, Any]]:
    problems, ids, questions = [], {}, {}
    for row in rows:
        if row.faq_id is not None:
            if row.faq_id in ids:
                problems.append({"line": row.line, "field": "id",
                                 "error": f"id {row.faq_id} is also on line {ids[row.faq_id]}"})
            ids.setdefault(row.faq_id, row.line)
        key = _key(row.data.question)
        if key in questions:
            problems.append({"line": row.line, "field": "question",
                             "error": f"the same question is on line {questions[key]}"})
        questions.setdefault(key, row.line)
    return problems


# ---- planning and applying ----
def plan_import(rows: list[ImportRow], current: list[dict[str, Any]], mode: str) -> ImportPlan:
    """What applying `rows` to the `current` entries (entry views) would change."""
    by_id = {e["id"]: e for e in current}
    by_question = {_key(e["question"]): e for e in current}
    plan, matched = ImportPlan(), set()
    for row in rows:
        entry = by_id.get(row.faq_id) if row.faq_id is not None else None
        if entry is None:
            candidate = by_question.get(_key(row.data.question))
            entry = candidate if candidate is not None and candidate["id"] not in matched else None
        after = row.data.model_dump()
        if entry is None:
            plan.added.append({"line": row.line, **after})
            continue
        matched.add(entry["id"])
        before = {k: entry[k] for k in after}
        if before == after:
            plan.unchanged.append(entry["id"])
        else:
            plan.updated.append({"line": row.line, "id": entry["id"], "before": before, "after": after})
    if mode == "sync":
        plan.deleted = [{"id": e["id"], "question": e["question"]} for e in current if e["id"] not in matched]
    return plan


async def apply_import(service: FaqService, plan: ImportPlan, actor: int | None) -> None:
    """Apply a plan in one transaction, to SQL and the index together (all or nothing)."""
    async with service.sessions() as db:
        changes: list[Change] = []
        for row in plan.updated:
            entry = await db.get(FaqEntry, row["id"])
            entry.question, entry.answer, entry.intents = (row["after"]["question"], row["after"]["answer"],
                                                           row["after"]["intents"])
            entry.updated_at = utcnow()
            changes.append(Change(entry.id, "import-update", row["before"], snapshot(entry)))
        for row in plan.deleted:
            entry = await db.get(FaqEntry, row["id"])
            changes.append(Change(entry.id, "import-delete", snapshot(entry), None))
            await db.delete(entry)
        new = [FaqEntry(question=r["question"], answer=r["answer"], intents=r["intents"]) for r in plan.added]
        db.add_all(new)
        await db.flush()
        changes += [Change(entry.id, "import-create", None, snapshot(entry)) for entry in new]
        await service.commit(db, changes, actor)


async def import_faq(service: FaqService, content: bytes, fmt: str, mode: str, dry_run: bool,
                     actor: int | None) -> dict[str, Any]:
    """Parse, plan and (unless `dry_run`) apply an import; returns the report of what (would have) changed."""
    rows = parse_faq_file(content, fmt, service.settings)
    plan = plan_import(rows, await service.all_entries(), mode)
    if not dry_run:
        await apply_import(service, plan, actor)
    return plan.report(applied=not dry_run)


# ---- export ----
def export_faq(entries: list[dict[str, Any]], fmt: str) -> str:
    rows = [{"id": e["id"], "question": e["question"], "answer": e["answer"], "intents": e["intents"]}
            for e in entries]
    if fmt == "json":
        return json.dumps({"entries": rows}, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "intents": ";".join(r["intents"])} for r in rows)
    return out.getvalue()




# ---- outside the server (the `shopassist faq import|export` commands) ----
@asynccontextmanager
async def standalone_faq_service(settings: Settings) -> AsyncIterator[FaqService]:
    """A FaqService over the configured store and collection, for commands run beside (or without) a server."""
    from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema
    from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
    from retrieval.faq_index import FaqIndex

    await asyncio.to_thread(upgrade_schema, settings.resolved_database_url)
    engine = make_async_engine(settings.resolved_database_url)
    client = make_chroma_client(settings.resolved_chroma_path, settings.chroma_url)
    try:
        yield FaqService(async_session_factory(engine), FaqIndex(client, MiniLMEmbeddingFunction()), settings)
    finally:
        await engine.dispose()


def describe_report(report: dict[str, Any]) -> list[str]:
    """Human-readable lines of an import report."""
    verb = "changed" if report["applied"] else "would change (dry run)"
    lines = [f"FAQ import {verb}: " + ", ".join(f"{n} {k}" for k, n in report["counts"].items())]
    lines += [f"  + line {r['line']}: {r['question']}" for r in report["added"]]
    lines += [f"  ~ #{r['id']} (line {r['line']}): {r['after']['question']}" for r in report["updated"]]
    lines += [f"  - #{r['id']}: {r['question']}" for r in report["deleted"]]
    return lines


def describe_problems(problems: list[dict[str, Any]]) -> list[str]:
    return [f"line {p['line']}: " + (f"{p['field']}: " if p.get("field") else "") + p["error"] for p in problems]
