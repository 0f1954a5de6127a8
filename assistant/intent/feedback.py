"""Agent corrections as training data: record a labelled message, read them all back for the next training."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from assistant.intent.labels import is_known_intent
from assistant.privacy.redaction import mask_personal
from assistant.store.models import LabelledFeedback

log = logging.getLogger(__name__)


def record_feedback(session: Session, text: str, intent: str, message_id: int | None = None,
                    agent_id: int | None = None) -> LabelledFeedback:
    """Store one correction (the caller commits); unknown intents are refused with ValueError.

    Training data is read by people and models that do not handle the session: contact data is masked."""
    if not is_known_intent(intent):
        raise ValueError(f"unknown intent {intent!r}")
    if not text.strip():
        raise ValueError("empty text")
    row = LabelledFeedback(text=mask_personal(text.strip()), intent=intent, message_id=message_id, agent_id=agent_id)
    session.add(row)
    return row


def load_feedback(database_url: str) -> list[tuple[str, str]]:
    """Every stored (text, intent) correction, oldest first; [] when the store is missing or empty."""
    from assistant.store.database import make_engine

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(LabelledFeedback.text, LabelledFeedback.intent)
                                   .order_by(LabelledFeedback.id)).all()
        # rows stored before masking existed are masked on the way out too
        return [(mask_personal(text), intent) for text, intent in rows if is_known_intent(intent)]
    except SQLAlchemyError as exc:
        log.warning("no labelled feedback read from the store: %s", exc)
        return []
    finally:
        engine.dispose()
