"""Shopper feedback: thumbs up or down on a bot reply, and the 1-5 rating of a conversation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant import metrics
from assistant.chat.errors import FrameRefused
from assistant.store.models import Author, ChatSession, Message, MessageFeedback, utcnow


class FeedbackStore:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def record_vote(self, chat: ChatSession, seq: int, helpful: bool) -> dict[str, Any]:
        """Store a vote on the bot reply `seq` of this session; a second vote on it replaces the first."""
        async with self._sessions() as db:
            author = await db.scalar(select(Message.author).where(Message.session_id == chat.id, Message.seq == seq))
            if author != Author.BOT:
                raise FrameRefused("unknown_reply", f"no bot reply with seq {seq} in this session")
            changed = await db.execute(update(MessageFeedback)
                                       .where(MessageFeedback.session_id == chat.id, MessageFeedback.seq == seq)
                                       .values(helpful=helpful, at=utcnow()))
            if changed.rowcount == 0:
                db.add(MessageFeedback(session_id=chat.id, seq=seq, helpful=helpful))
            try:
                await db.commit()
            except IntegrityError:  # the same vote raced in twice: the first one stands
                await db.rollback()
        metrics.FEEDBACK.labels("up" if helpful else "down").inc()
        return {"type": "feedback_ack", "seq": seq, "helpful": helpful}

    async def record_rating(self, chat: ChatSession, stars: int) -> dict[str, Any]:
        async with self._sessions() as db:
            await db.execute(update(ChatSession).where(ChatSession.id == chat.id).values(rating=stars))
            await db.commit()
        metrics.FEEDBACK.labels(f"rating_{stars}").inc()
        return {"type": "rating_ack", "stars": stars}
