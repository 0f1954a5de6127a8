"""FAQ maintenance: every change goes to SQL and to the Chroma collection together, with a revision.

A change is applied in three steps inside one SQL transaction: the entry rows are flushed, the
index is written, then the revisions are added and the transaction commits. When the index write
fails the transaction is rolled back; when the commit fails the index write is undone. Either way
the SQL store and the collection keep saying the same thing, and the next chat message retrieves
exactly what SQL holds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.chat.frames import normalise_text
from assistant.config import Settings
from assistant.intent.labels import LABELS
from assistant.store.models import FaqEntry, FaqRevision, utcnow
from retrieval.faq_index import FaqDocument, FaqIndex

log = logging.getLogger(__name__)


class FaqNotFound(LookupError):
    """No FAQ entry (or revision of it) with that id."""


class IndexWriteFailed(RuntimeError):
    """The Chroma collection refused the change; the SQL change was rolled back."""


class StoreWriteFailed(RuntimeError):
    """The SQL commit failed; the index change was undone."""


class FaqInput(BaseModel):
    """What an admin writes: the question, the answer and the intents it answers (bounds come from Settings)."""

    question: str
    answer: str
    intents: list[str] = Field(default_factory=list)

    # every way in (the API, a CSV or JSON import, the CLI) is cleaned here: no NUL (which PostgreSQL
    # refuses), control or invisible characters reach the store, the index or a shopper
    @field_validator("question", "answer")
    @classmethod
    def _stripped(cls, text: str) -> str:
        return normalise_text(text).strip()

    @field_validator("intents")
    @classmethod
    def _tags(cls, intents: list[str]) -> list[str]:
        return list(dict.fromkeys(t for t in (normalise_text(t).strip() for t in intents) if t))

    def problems(self, settings: Settings) -> list[dict[str, str]]:
        """What is wrong with this input, as {field, error} pairs (empty when it is valid)."""
        found = []
        for name, limit in (("question", settings.faq_question_max_chars), ("answer", settings.faq_answer_max_chars)):
            text = getattr(self, name)
            if not text:
                found.append({"field": name, "error": f"{name} is empty"})
            elif len(text) > limit:
                found.append({"field": name, "error": f"{name} is over {limit} characters"})
        if not self.intents:
            found.append({"field": "intents", "error": "at least one intent tag is needed"})
        elif len(self.intents) > settings.faq_max_intents:
            found.append({"field": "intents", "error": f"at most {settings.faq_max_intents} intent tags"})
        unknown = [t for t in self.intents if t not in LABELS]
        if unknown:
            found.append({"field": "intents", "error": f"unknown intent tags: {', '.join(unknown)}"})
        return found


def snapshot(entry: FaqEntry) -> dict[str, Any]:
    return {"question": entry.question, "answer": entry.answer, "intents": list(entry.intents or [])}


def entry_view(entry: FaqEntry) -> dict[str, Any]:
    return {"id": entry.id, **snapshot(entry), "created_at": _iso(entry.created_at),
            "updated_at": _iso(entry.updated_at)}


def revision_view(rev: FaqRevision) -> dict[str, Any]:
    return {"id": rev.id, "faq_id": rev.faq_id, "agent_id": rev.agent_id, "action": rev.action,
            "before": rev.before, "after": rev.after, "at": _iso(rev.at)}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() + "Z" if at else None


@dataclass(frozen=True)
class Change:
    """One entry's change: its state before and after (None = absent) and what the admin did."""

    faq_id: int
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class FaqService:
    def __init__(self, sessions: async_sessionmaker, index: FaqIndex, settings: Settings) -> None:
        self.sessions = sessions
        self.index = index
        self.settings = settings

    # ---- reading ----
    async def list(self, query: str = "", limit: int | None = None, offset: int = 0) -> dict[str, Any]:
        stmt = select(FaqEntry)
        if query.strip():
            pattern = "%" + query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(func.lower(FaqEntry.question).like(pattern, escape="\\"),
                                  func.lower(FaqEntry.answer).like(pattern, escape="\\")))
        async with self.sessions() as db:
            total = await db.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = await db.scalars(stmt.order_by(FaqEntry.id).offset(offset)
                                    .limit(limit or self.settings.admin_page_size))
            return {"total": total, "entries": [entry_view(e) for e in rows]}

    async def get(self, faq_id: int) -> dict[str, Any]:
        async with self.sessions() as db:
            return entry_view(await self._entry(db, faq_id))

    async def revisions(self, faq_id: int) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            revs = list(await db.scalars(select(FaqRevision).where(FaqRevision.faq_id == faq_id)
                                         .order_by(FaqRevision.id.desc())))
        if not revs:
            await self.get(faq_id)  # 404 for an id that never existed
        return [revision_view(r) for r in revs]

    async def recent_changes(self, limit: int | None = None) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            revs = await db.scalars(select(FaqRevision).order_by(FaqRevision.id.desc())
                                    .limit(limit or self.settings.admin_page_size))
            return [revision_view(r) for r in revs]

    async def all_entries(self) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            return [entry_view(e) for e in await db.scalars(select(FaqEntry).order_by(FaqEntry.id))]

    # ---- changing ----
    async def create(self, data: FaqInput, actor: int | None) -> dict[str, Any]:
        async with self.sessions() as db:
            entry = FaqEntry(question=data.question, answer=data.answer, intents=data.intents)
            db.add(entry)
            await db.flush()
            await self.commit(db, [Change(entry.id, "create", None, snapshot(entry))], actor)
            return entry_view(entry)

    async def update(self, faq_id: int, data: FaqInput, actor: int | None) -> dict[str, Any]:
        async with self.sessions() as db:
            entry = await self._entry(db, faq_id)
            before = snapshot(entry)
            if before == data.model_dump():
                return entry_view(entry)  # nothing to change: no write, no revision
            entry.question, entry.answer, entry.intents = data.question, data.answer, data.intents
            entry.updated_at = utcnow()
            await db.flush()
            await self.commit(db, [Change(faq_id, "update", before, snapshot(entry))], actor)
            return entry_view(entry)

    async def delete(self, faq_id: int, actor: int | None) -> None:
        async with self.sessions() as db:
            entry = await self._entry(db, faq_id)
            before = snapshot(entry)
            await db.delete(entry)
            await db.flush()
            await self.commit(db, [Change(faq_id, "delete", before, None)], actor)

    async def restore(self, faq_id: int, revision_id: int, actor: int | None, side: str = "after") -> dict[str, Any]:
        """Make the entry what `revision_id` left it as (`side="before"`: what it was before that revision,
        e.g. the text an entry had before its first edit). A deleted entry comes back with its id."""
        async with self.sessions() as db:
            rev = await db.get(FaqRevision, revision_id)
            if rev is None or rev.faq_id != faq_id:
                raise FaqNotFound(f"no revision {revision_id} of FAQ entry {faq_id}")
            target = (rev.before or rev.after) if side == "before" else (rev.after or rev.before)
            entry = await db.get(FaqEntry, faq_id)
            before = snapshot(entry) if entry else None
            if entry is None:
                entry = FaqEntry(id=faq_id, question="", answer="", intents=[])
                db.add(entry)
            entry.question, entry.answer, entry.intents = target["question"], target["answer"], target["intents"]
            entry.updated_at = utcnow()
            await db.flush()
            await self.commit(db, [Change(faq_id, "restore", before, snapshot(entry))], actor)
            return entry_view(entry)

    async def commit(self, db: AsyncSession, changes: list[Change], actor: int | None) -> None:
        """Write `changes` (already flushed in `db`) to the index, then add their revisions and commit."""
        if not changes:
            return
        try:
            await asyncio.to_thread(self._write_index, changes, "after")
        except Exception as e:
            await db.rollback()
            await self._undo_index(changes)
            raise IndexWriteFailed(f"the FAQ index refused the change ({e}); nothing was saved") from e
        try:
            db.add_all([FaqRevision(faq_id=c.faq_id, agent_id=actor, action=c.action, before=c.before,
                                    after=c.after) for c in changes])
            await db.commit()
        except SQLAlchemyError as e:
            await db.rollback()
            await self._undo_index(changes)
            raise StoreWriteFailed(f"the change could not be stored ({type(getattr(e, 'orig', None) or e).__name__}); "
                                   "nothing was saved") from e

    async def _undo_index(self, changes: list[Change]) -> None:
        try:
            await asyncio.to_thread(self._write_index, changes, "before")
        except Exception:
            # the collection is out of reach: it is rebuilt from SQL at the next start (sync_faq_index)
            log.exception("could not undo a FAQ index change of entries %s", [c.faq_id for c in changes])

    def _write_index(self, changes: list[Change], side: str) -> None:
        states = {c.faq_id: getattr(c, side) for c in changes}
        self.index.delete([i for i, state in states.items() if state is None])
        self.index.upsert([FaqDocument(i, s["question"], s["answer"], tuple(s["intents"]))
                           for i, s in states.items() if s is not None])

    @staticmethod
    async def _entry(db: AsyncSession, faq_id: int) -> FaqEntry:
        entry = await db.get(FaqEntry, faq_id)
        if entry is None:
            raise FaqNotFound(f"no FAQ entry {faq_id}")
        return entry
