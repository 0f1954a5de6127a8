"""Learning from people: when an agent answers a question the bot handed over, the pair (shopper
question, agent answer) becomes a suggested FAQ entry; an admin accepts it (as is or edited) in one
click, and the accepted entry is indexed at once, so it serves the next answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.admin.faq_service import FaqInput, FaqService
from assistant.store.models import Author, FaqSuggestion, Message, utcnow

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
NOT_FAQ_INTENTS = ("contact_human_agent", "out_of_scope", "complaint", "greeting", "thanks", "goodbye")


class SuggestionNotFound(LookupError):
    pass


def suggestion_view(s: FaqSuggestion) -> dict[str, Any]:
    return {"id": s.id, "session_id": s.session_id, "question": s.question, "answer": s.answer,
            "intent": s.intent, "agent_id": s.agent_id, "status": s.status, "faq_id": s.faq_id,
            "created_at": s.created_at.isoformat() + "Z"}


def handed_over_question(messages: list[Message]) -> tuple[str, str | None] | None:
    """(question, intent) the bot handed over: the shopper message just before the handoff reply,
    when the agent's answer is the first agent message after it."""
    handoff_at = None
    for i, m in enumerate(messages):
        payload = m.payload or {}
        if m.author in (Author.BOT, Author.SYSTEM) and payload.get("handoff"):
            handoff_at = i
    if handoff_at is None:
        return None
    asked = next((m for m in reversed(messages[:handoff_at]) if m.author == Author.SHOPPER), None)
    if asked is None or any(m.author == Author.AGENT for m in messages[handoff_at + 1:-1]):
        return None  # nothing asked, or the agent already answered it
    # the intent the bot read the question as: the accepted entry is tagged with it, so it wins next time
    after = messages[messages.index(asked) + 1:]
    intent = next(((m.payload or {}).get("intent") for m in after if (m.payload or {}).get("intent")), None)
    return asked.text, intent if intent and intent not in NOT_FAQ_INTENTS else None


class FaqSuggestions:
    def __init__(self, sessions: async_sessionmaker, faq: FaqService) -> None:
        self._sessions = sessions
        self._faq = faq

    async def offer(self, session_id: str, agent_id: int, answer_seq: int) -> None:
        """After an agent message: suggest (question, answer) if it answers a handed-over question."""
        async with self._sessions() as db:
            messages = list(await db.scalars(select(Message).where(Message.session_id == session_id,
                                                                   Message.seq <= answer_seq)
                                             .order_by(Message.seq)))
            if not messages or messages[-1].author != Author.AGENT:
                return
            found = handed_over_question(messages)
            if found is None:
                return
            question, intent = found
            db.add(FaqSuggestion(session_id=session_id, question=question, answer=messages[-1].text,
                                 intent=intent, agent_id=agent_id, status=PENDING))
            try:
                await db.commit()
            except IntegrityError:  # already suggested from this session
                await db.rollback()

    async def pending(self) -> list[dict[str, Any]]:
        async with self._sessions() as db:
            rows = await db.scalars(select(FaqSuggestion).where(FaqSuggestion.status == PENDING)
                                    .order_by(FaqSuggestion.id.desc()))
            return [suggestion_view(s) for s in rows]

    async def accept(self, suggestion_id: int, edited: FaqInput | None, actor: int | None) -> dict[str, Any]:
        """Create the FAQ entry (indexed at once) and mark the suggestion accepted; returns the entry."""
        suggestion = await self._claim(suggestion_id)
        data = edited or FaqInput(question=suggestion.question, answer=suggestion.answer,
                                  intents=[suggestion.intent] if suggestion.intent else [])
        try:
            entry = await self._faq.create(data, actor)
        except Exception:
            await self._set(suggestion_id, PENDING)  # the entry was not made: offer it again
            raise
        await self._set(suggestion_id, ACCEPTED, faq_id=entry["id"])
        return entry

    async def reject(self, suggestion_id: int) -> None:
        await self._claim(suggestion_id, REJECTED)

    async def _claim(self, suggestion_id: int, status: str = ACCEPTED) -> FaqSuggestion:
        """Move a pending suggestion on with one conditional update (two admins never accept it twice)."""
        async with self._sessions() as db:
            res = await db.execute(update(FaqSuggestion).where(FaqSuggestion.id == suggestion_id,
                                                               FaqSuggestion.status == PENDING)
                                   .values(status=status, decided_at=utcnow()))
            await db.commit()
            if res.rowcount != 1:
                raise SuggestionNotFound(f"no pending suggestion {suggestion_id}")
            return await db.get(FaqSuggestion, suggestion_id)

    async def _set(self, suggestion_id: int, status: str, **values: Any) -> None:
        async with self._sessions() as db:
            await db.execute(update(FaqSuggestion).where(FaqSuggestion.id == suggestion_id)
                             .values(status=status, **values))
            await db.commit()
