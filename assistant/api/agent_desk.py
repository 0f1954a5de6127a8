"""Agent routes: the queue, claim / release / close, the transcript with the bot's reading, intent
corrections, the shopper's orders and suggestions, and item cards sent into a claimed chat."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import StoreId, current_agent, get_db, get_runtime
from assistant.chat.service import FrameRefused
from assistant.handoff.assignment import Outcome
from assistant.handoff.desk import AgentDesk
from assistant.handoff.views import QueueItem, ShopperContext, Transcript, load_transcript, queue_item, shopper_context
from assistant.intent.feedback import record_feedback
from assistant.intent.labels import LABELS, is_known_intent
from assistant.privacy.audit import CUSTOMER, READ_CUSTOMER, READ_TRANSCRIPT, SESSION, Actor, record_read
from assistant.runtime import Runtime
from assistant.security import AgentClaims
from assistant.store.models import Author, ChatSession, Message

router = APIRouter(prefix="/api/agent", tags=["agent"])

REFUSAL_STATUS = {"unknown_session": 404, "unknown_item": 404, "not_yours": 409}


class SessionChange(BaseModel):
    session_id: str
    state: str


class CloseRequest(BaseModel):
    resolution: str = Field(min_length=1, max_length=100)


class IntentCorrection(BaseModel):
    intent: str = Field(min_length=1, max_length=64)


class FeedbackStored(BaseModel):
    feedback_id: int
    message_id: StoreId
    intent: str


class CardRequest(BaseModel):
    item_id: StoreId


def get_desk(rt: Runtime = Depends(get_runtime)) -> AgentDesk:
    return AgentDesk(rt)


async def known_session(session_id: str, db: AsyncSession = Depends(get_db)) -> ChatSession:
    chat = await db.get(ChatSession, session_id)
    if chat is None:
        raise HTTPException(404, f"no session {session_id}")
    return chat


# ---------- the queue ----------


@router.get("/queue", response_model=list[QueueItem])
async def queue(agent: AgentClaims = Depends(current_agent), desk: AgentDesk = Depends(get_desk)) -> list[QueueItem]:
    """Sessions waiting for a person, oldest first."""
    return [queue_item(e) for e in await desk.assignments.waiting()]


@router.get("/sessions/mine", response_model=list[QueueItem])
async def my_sessions(agent: AgentClaims = Depends(current_agent),
                      desk: AgentDesk = Depends(get_desk)) -> list[QueueItem]:
    """The sessions this agent has claimed and not released or closed."""
    return [queue_item(e) for e in await desk.assignments.held_by(agent.agent_id)]


# ---------- changes of hands ----------


@router.post("/sessions/{session_id}/claim", response_model=SessionChange)
async def claim(session_id: str, agent: AgentClaims = Depends(current_agent),
                desk: AgentDesk = Depends(get_desk)) -> SessionChange:
    """Take a waiting session: exactly one of many concurrent claimers gets 200, the others 409."""
    _check(await desk.claim(session_id, agent), "the session is not waiting (already claimed?)")
    return SessionChange(session_id=session_id, state="with_agent")


@router.post("/sessions/{session_id}/release", response_model=SessionChange)
async def release(session_id: str, agent: AgentClaims = Depends(current_agent),
                  desk: AgentDesk = Depends(get_desk)) -> SessionChange:
    """Hand the session back to the bot."""
    _check(await desk.release(session_id, agent), "you do not hold this session")
    return SessionChange(session_id=session_id, state="bot")


@router.post("/sessions/{session_id}/close", response_model=SessionChange)
async def close(session_id: str, body: CloseRequest, agent: AgentClaims = Depends(current_agent),
                desk: AgentDesk = Depends(get_desk), rt: Runtime = Depends(get_runtime)) -> SessionChange:
    """Close the session with a resolution tag (one of settings.resolution_tags)."""
    if body.resolution not in rt.settings.resolution_tags:
        raise HTTPException(422, f"resolution must be one of {', '.join(rt.settings.resolution_tags)}")
    _check(await desk.close(session_id, agent, body.resolution), "you do not hold this session")
    return SessionChange(session_id=session_id, state="closed")


def _check(outcome: Outcome, conflict: str) -> None:
    if outcome is Outcome.UNKNOWN:
        raise HTTPException(404, "no such session")
    if outcome is Outcome.CONFLICT:
        raise HTTPException(409, conflict)


@router.get("/intents", response_model=list[str])
async def intents(agent: AgentClaims = Depends(current_agent)) -> list[str]:
    """The intent labels a shopper message can be corrected to."""
    return list(LABELS)


@router.get("/resolutions", response_model=list[str])
async def resolutions(agent: AgentClaims = Depends(current_agent), rt: Runtime = Depends(get_runtime)) -> list[str]:
    """The resolution tags a session can be closed with."""
    return list(rt.settings.resolution_tags)


# ---------- what the agent reads ----------


@router.get("/sessions/{session_id}/transcript", response_model=Transcript)
async def transcript(agent: AgentClaims = Depends(current_agent), chat: ChatSession = Depends(known_session),
                     rt: Runtime = Depends(get_runtime)) -> Transcript:
    """Every stored message, each shopper message with the bot's reading of it (the read is audited)."""
    await record_read(rt.sessions, Actor.of(agent), READ_TRANSCRIPT, SESSION, chat.id)
    return await load_transcript(rt, chat)


@router.get("/sessions/{session_id}/shopper", response_model=ShopperContext)
async def shopper(agent: AgentClaims = Depends(current_agent), chat: ChatSession = Depends(known_session),
                  rt: Runtime = Depends(get_runtime)) -> ShopperContext:
    """The shopper's recent orders and the recommender's suggestions for them (the read is audited)."""
    subject = (CUSTOMER, chat.customer_id) if chat.customer_id else (SESSION, chat.id)
    await record_read(rt.sessions, Actor.of(agent), READ_CUSTOMER, *subject)
    return await shopper_context(rt, chat)


# ---------- what the agent does ----------


@router.post("/sessions/{session_id}/messages/{message_id}/correct-intent", status_code=201,
             response_model=FeedbackStored)
async def correct_intent(session_id: str, message_id: StoreId, body: IntentCorrection,
                         agent: AgentClaims = Depends(current_agent),
                         db: AsyncSession = Depends(get_db)) -> FeedbackStored:
    """Store the right intent of a shopper message as labelled feedback for the next intent training."""
    if not is_known_intent(body.intent):
        raise HTTPException(422, f"unknown intent {body.intent!r}")
    msg = await db.get(Message, message_id)
    if msg is None or msg.session_id != session_id:
        raise HTTPException(404, "no such message in this session")
    if msg.author != Author.SHOPPER:
        raise HTTPException(422, "only shopper messages have an intent")
    row = await db.run_sync(lambda sync_db: record_feedback(sync_db, msg.text, body.intent, msg.id, agent.agent_id))
    await db.commit()
    return FeedbackStored(feedback_id=row.id, message_id=msg.id, intent=row.intent)


@router.post("/sessions/{session_id}/cards", status_code=201)
async def send_card(session_id: str, body: CardRequest, agent: AgentClaims = Depends(current_agent),
                    desk: AgentDesk = Depends(get_desk)) -> dict:
    """Send an item card into a session this agent holds; returns the stored frame."""
    try:
        return await desk.send_card(session_id, agent, body.item_id)
    except FrameRefused as refused:
        raise HTTPException(REFUSAL_STATUS.get(refused.frame.code, 400), refused.frame.detail) from refused
