"""Learning from people: when an agent answers a question the bot handed over, the pair (shopper
question, agent answer) becomes a suggested FAQ entry; an admin accepts it (as is or edited) in one
click, and the accepted entry is indexed at once, so it serves the next answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.admin.faq_service import FaqInput, FaqService
from assistant.privacy.redaction import mask_contacts
from assistant.store.models import Author, FaqSuggestion, Message, utcnow

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
NOT_FAQ_INTENTS = ("contact_human_agent", "out_of_scope", "complaint", "greeting", "thanks", "goodbye")
GENERAL_INTENT = "contact_customer_service"  # the tag of a question no reading placed (an entry needs one)


class SuggestionNotFound(LookupError):
    pass


def suggestion_view(s: FaqSuggestion) -> dict[str, Any]:
    return {"id": s.id, "session_id": s.session_id, "question": s.question, "answer": s.answer,
            "intent": s.intent, "agent_id": s.agent_id, "status": s.status, "faq_id": s.faq_id,
            "created_at": s.created_at.isoformat() + "Z"}


def handed_over_question(messages: list[Message]) -> tuple[str, str | None] | None:
    """(question, intent) the bot handed over, when the agent's answer (the last message) is the first
    agent message after the handoff: the latest shopper message before the handoff that asked something
    (not a complaint, a request for a person, or an angry outburst), else the latest one."""
    handoff_at = max((i for i, m in enumerate(messages)
                      if m.author in (Author.BOT, Author.SYSTEM) and (m.payload or {}).get("handoff")), default=None)
    if handoff_at is None or any(m.author == Author.AGENT for m in messages[handoff_at + 1:-1]):
        return None  # nothing handed over, or the agent already answered it
    asked = [(i, m) for i, m in enumerate(messages[:handoff_at]) if m.author == Author.SHOPPER]
    if not asked:
        return None
    readings = {i: _reading_of(messages, i) for i, _ in asked}
    questions = [(i, m) for i, m in asked if _is_question(readings[i])]
    i, question = (questions or asked)[-1]
    reading = readings[i] or {}
    # tagged with the intent the bot read: the next shopper asking it gets the same reading, and the entry wins
    intent = reading.get("intent") if reading and _is_question(reading) else None
    return question.text, intent


def _reading_of(messages: list[Message], index: int) -> dict[str, Any] | None:
    for later in messages[index + 1:]:
        if later.author == Author.SHOPPER:
            return None
        payload = later.payload or {}
        if later.author == Author.BOT and payload.get("intent"):
            return {"intent": payload["intent"], **(payload.get("reading") or {})}
    return None


def _is_question(reading: dict[str, Any] | None) -> bool:
    if reading is None:
        return True  # not read by the bot (a person had the chat): take it as asked
    mood = (reading.get("mood") or {}).get("label", "calm")
    return reading.get("intent") not in NOT_FAQ_INTENTS and mood == "calm"


class FaqSuggestions:
    def __init__(self, sessions: async_sessionmaker, faq: FaqService, classify=None) -> None:
        self._sessions = sessions
        self._faq = faq
        self._classify = classify  # async text -> reading, to tag a question the bot did not read

    async def _intent_for(self, question: str) -> str:
        if self._classify is not None:
            reading = await self._classify(question)
            intent = reading["intent"] if isinstance(reading, dict) else reading.intent
            if intent not in NOT_FAQ_INTENTS:
                return intent
        return GENERAL_INTENT

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
            intent = intent or await self._intent_for(question)
            # a suggestion may become a public FAQ entry: no contact data from the conversation
            db.add(FaqSuggestion(session_id=session_id, question=mask_contacts(question),
                                 answer=mask_contacts(messages[-1].text),
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
                                  intents=[suggestion.intent or GENERAL_INTENT])
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
