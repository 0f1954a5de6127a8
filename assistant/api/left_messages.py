"""Messages shoppers left while no agent was online: list them, answer one (the answer goes into the chat)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import StoreId, current_agent, get_db, get_runtime
from assistant.chat.bus import session_channel
from assistant.chat.protocol import TypedText
from assistant.chat.service import reply_frame
from assistant.privacy.audit import LEFT_MESSAGES, READ_LEFT_MESSAGES, Actor, add_audit
from assistant.runtime import Runtime
from assistant.security import AgentClaims
from assistant.store.models import Author, LeftMessage, utcnow

router = APIRouter(prefix="/api/agent/left-messages", tags=["agent"])


class LeftMessageView(BaseModel):
    id: int
    session_id: str
    contact: str
    text: str
    created_at: datetime
    answered_at: datetime | None


class Answer(BaseModel):
    text: TypedText = Field(min_length=1)


@router.get("", response_model=list[LeftMessageView])
async def left_messages(answered: bool = False, agent: AgentClaims = Depends(current_agent),
                        db: AsyncSession = Depends(get_db)) -> list[LeftMessageView]:
    """Unanswered messages oldest first (or the answered ones, newest first, with ?answered=true); audited."""
    add_audit(db, Actor.of(agent), READ_LEFT_MESSAGES, LEFT_MESSAGES, "answered" if answered else "unanswered")
    await db.commit()
    query = select(LeftMessage)
    if answered:
        query = query.where(LeftMessage.answered_at.is_not(None)).order_by(LeftMessage.answered_at.desc())
    else:
        query = query.where(LeftMessage.answered_at.is_(None)).order_by(LeftMessage.created_at)
    return [LeftMessageView.model_validate(m, from_attributes=True) for m in await db.scalars(query)]


@router.post("/{left_id}/answer", response_model=LeftMessageView)
async def answer(left_id: StoreId, body: Answer, agent: AgentClaims = Depends(current_agent),
                 db: AsyncSession = Depends(get_db), rt: Runtime = Depends(get_runtime)) -> LeftMessageView:
    """Store the agent's answer in the shopper's conversation (seen on their next visit) and mark it answered."""
    left = await db.get(LeftMessage, left_id)
    if left is None:
        raise HTTPException(404, "no such left message")
    if len(body.text) > rt.settings.max_message_chars or not body.text.strip():
        raise HTTPException(422, f"the answer must have 1 to {rt.settings.max_message_chars} characters")
    stored = await rt.chat.store.append(left.session_id, Author.AGENT, body.text, agent_id=agent.agent_id,
                                        payload={"author_name": agent.name})
    await rt.bus.publish(session_channel(left.session_id), reply_frame(stored.message))
    left.answered_at = utcnow()
    await db.commit()
    return LeftMessageView.model_validate(left, from_attributes=True)
