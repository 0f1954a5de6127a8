"""Scrub: mask secrets (cards, IBANs, passwords) in rows stored before redaction existed, and contact data in
training rows; `shopassist privacy-scrub` runs it once after an upgrade (new rows are redacted as they come)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.privacy.redaction import mask_contacts, mask_personal, redact_secrets
from assistant.store.models import FaqSuggestion, LabelledFeedback, LeftMessage, Message


def _secrets(text: str) -> str:
    return redact_secrets(text).text


# (table, text column, masking): transcripts keep contact data for the agent; training data loses it
SCRUBBED: tuple[tuple[type, str, Callable[[str], str]], ...] = (
    (Message, "text", _secrets),
    (LeftMessage, "text", _secrets),
    (LabelledFeedback, "text", mask_personal),
    (FaqSuggestion, "question", lambda text: mask_contacts(_secrets(text))),
    (FaqSuggestion, "answer", lambda text: mask_contacts(_secrets(text))),
)


async def scrub_stored(db: AsyncSession, batch: int = 1000) -> dict[str, int]:
    """Rewrite every stored text that still holds what redaction masks (the caller commits); rows changed per table."""
    changed: dict[str, int] = {}
    for model, column, mask in SCRUBBED:
        attr = getattr(model, column)
        last_id = 0
        while True:
            rows = (await db.execute(select(model.id, attr).where(model.id > last_id).order_by(model.id)
                                     .limit(batch))).all()
            if not rows:
                break
            for row_id, text in rows:
                masked = mask(text or "")
                if masked != (text or ""):
                    row = await db.get(model, row_id)
                    setattr(row, column, masked)
                    changed[model.__tablename__] = changed.get(model.__tablename__, 0) + 1
            last_id = rows[-1][0]
            await db.flush()
    return changed
