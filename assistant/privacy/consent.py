"""Consent to activity tracking: the shopper's "use my activity for suggestions" switch, kept on the session row
so every worker honours it. Off: no behaviour event is stored or fed to a profile, and suggestions read only
the current message (no purchase history, no live profile)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.store.models import BehaviourEvent, ChatSession, utcnow


async def set_activity_consent(sessions: async_sessionmaker, session_id: str, allowed: bool,
                               recommender: Any = None) -> bool:
    """Store the choice; turning it off also erases the session's events and the live profile they fed (under
    the customer id when signed in, else the session id). False: no session."""
    async with sessions() as db:
        customer_id = await db.scalar(select(ChatSession.customer_id).where(ChatSession.id == session_id))
        res = await db.execute(update(ChatSession).where(ChatSession.id == session_id)
                               .values(activity_consent=allowed, updated_at=utcnow()))
        if res.rowcount != 1:
            return False
        if not allowed:
            await db.execute(delete(BehaviourEvent).where(BehaviourEvent.session_id == session_id))
        await db.commit()
    if not allowed:
        from assistant.privacy.data_rights import forget_derived

        forget_derived(recommender, (session_id, customer_id) if customer_id else (session_id,))
    return True


def profile_inputs(customer_id: str | None, session_id: str, allowed: bool) -> tuple[str | None, str | None]:
    """(customer whose purchases form the history, live profile key) for a suggestion; (None, None) without
    consent, so only the current message counts."""
    if not allowed:
        return None, None
    return customer_id, customer_id or session_id
