"""ChatService: what happens to each shopper frame: store first, then answer with the dialogue graph.

The socket layer (assistant/chat/socket.py) only parses frames and forwards the results; this module
holds the rules: ack after commit, idempotent retries, bot silence in handed-off sessions, handoff,
behaviour events feeding the recommender at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant import metrics
from assistant.admin.ab_tests import DEFAULT_VARIANT
from assistant.agent.catalog import Catalog
from assistant.agent.toolbox import Swappable
from assistant.chat.answer_leases import AnswerLeases, Claim
from assistant.chat.bus import AGENTS_CHANNEL, MessageBus, session_channel
from assistant.chat.conversations import ConversationStore, handoff_values
from assistant.chat.errors import FrameRefused
from assistant.chat.feedback import FeedbackStore
from assistant.chat.protocol import AckFrame, ReplyFrame, StatusFrame, TypingNotice
from assistant.cluster.presence import InProcessPresence, Presence
from assistant.intent.frustration import FrustrationPolicy, Mood
from assistant.privacy.redaction import secret_notice
from assistant.store.database import autocommit_sessions
from assistant.store.models import (
    Agent,
    AnswerState,
    Author,
    BehaviourEvent,
    ChatSession,
    LeftMessage,
    Message,
    RecExposure,
    SessionState,
)

log = logging.getLogger(__name__)
ENDED_BY_SHOPPER = "ended_by_shopper"  # the resolution of a session the shopper closed (agents pick theirs)


def reply_frame(msg: Message) -> dict[str, Any]:
    """A stored message as the frame the shopper sees (the same on first send and on resume)."""
    payload = dict(msg.payload or {})
    payload.update(seq=msg.seq, author=msg.author, text=msg.text, at=msg.created_at.isoformat() + "Z")
    if msg.author == Author.SHOPPER:
        payload.setdefault("author_name", "You")
        payload["client_msg_id"] = msg.client_msg_id
        payload["answer_state"] = msg.answer_state
    if msg.reply_to is not None:
        payload["in_reply_to"] = msg.reply_to
    return ReplyFrame.model_validate(payload).model_dump()


def mood_values(chat: ChatSession, mood: dict[str, Any] | None) -> dict[str, Any]:
    """The session columns a message's mood changes: the last mood, the count, the queue priority."""
    if not mood:
        return {}
    upset = mood["label"] != "calm"
    return {"mood": mood["label"], "frustration": chat.frustration + (1 if upset else 0),
            "priority": max(chat.priority or 0, FrustrationPolicy.priority(Mood(**mood)))}


def _next_dialogue(state: dict[str, Any]) -> dict[str, Any] | None:
    """The dialogue context after this turn: what the nodes set, with the answered topic."""
    context = dict(state.get("dialogue") or {})
    if not state["reading"].get("fallback"):
        context["topic"] = state["reading"]["intent"]
    return context or None


async def _store_exposures(db, session_id: str, item_ids: list[int], ab: dict[str, Any]) -> None:
    """Cards shown, under the A/B test and variant they were served with (the test's report counts them);
    in the reply's transaction, so a card is counted exactly when its reply is stored."""
    variant, test_id = ab.get("variant") or DEFAULT_VARIANT, ab.get("test_id")
    await db.execute(insert(RecExposure.__table__), [  # one multi-row INSERT, Core (no objects to flush)
        {"session_id": session_id, "variant": variant, "ab_test_id": test_id, "item_id": i} for i in item_ids])


async def publish_stored(bus: MessageBus, channel: str, frame: dict[str, Any]) -> None:
    """Publish a frame whose content is already stored: if the bus fails, `resume` still finds it."""
    try:
        await bus.publish(channel, frame)
    except Exception:
        log.warning("bus publish on %s failed; the frame is stored and replayed on resume", channel, exc_info=True)


class ChatService:
    def __init__(self, *, store: ConversationStore, bus: MessageBus, graph: Any, catalog: Catalog,
                 sessions: async_sessionmaker, recommender: Swappable, max_chars: int,
                 presence: Presence | None = None, frustration: FrustrationPolicy | None = None) -> None:
        self.store = store
        self.bus = bus
        self.graph = graph
        self.catalog = catalog
        self._sessions = sessions
        self._autocommit = autocommit_sessions(sessions)  # reads and one-statement writes: one round trip
        self._recommender = recommender
        self._max_chars = max_chars
        # which agents have a console open (on any worker): the widget offers "leave a message" if none
        self._presence = presence or InProcessPresence()
        self.feedback = FeedbackStore(sessions)
        self._frustration = frustration or FrustrationPolicy()
        # hands a stored, pending message to the answering worker (assistant/chat/answering.py), with its claim
        # when it was stored leased to that worker (`new_lease`: the lease columns of a message about to be stored)
        self.answer_later: Callable[[str, int, Claim | None], asyncio.Future | None] = lambda *_: None
        self.new_lease: Callable[[], dict[str, Any] | None] = lambda: None
        # starts the intent reading of a message the bot will answer, so it overlaps the store's commit
        self.read_early: Callable[[str], None] = lambda _text: None

    # ---- shopper message ----
    async def accept_message(self, chat: ChatSession, text: str,
                             client_msg_id: str) -> tuple[AckFrame, asyncio.Future | None]:
        """Validate, store, and have it answered; returns the ack and the answering turn (None if none).

        The answer does not depend on this socket: a pending message (new, or a retry whose answer is
        still missing) goes to the answering worker, which stores the reply even if the shopper is gone.
        """
        if len(text) > self._max_chars:
            raise FrameRefused("too_long", f"text is over {self._max_chars} characters")
        if not text.strip():
            raise FrameRefused("empty", "text is empty")
        if chat.state == SessionState.CLOSED:
            raise FrameRefused("closed", "this conversation is closed; start a new one")
        # with a person, the bot does not classify: the mood is the lexicon's alone (it still raises priority)
        mood = None if chat.state == SessionState.BOT else self._frustration.read_mood(text).model_dump()
        answer_state = AnswerState.PENDING if chat.state == SessionState.BOT else AnswerState.WITH_PERSON
        lease = self.new_lease() if answer_state == AnswerState.PENDING else None  # claimed as it is stored
        if answer_state == AnswerState.PENDING:
            self.read_early(text)
        stored = await self.store.append(chat.id, Author.SHOPPER, text, client_msg_id=client_msg_id,
                                         payload={"mood": mood} if mood else None,
                                         session_values=mood_values(chat, mood) or None,
                                         answer_state=answer_state, lease=lease)
        answering = None
        if stored.answer_state == AnswerState.PENDING:  # a retry's message is claimed by the answering worker
            claim = Claim.of_stored(stored.message) if stored.created and lease else None
            answering = self.answer_later(chat.id, stored.message_id, claim)
        if stored.created:
            metrics.MESSAGES.labels("shopper").inc()
            await publish_stored(self.bus, session_channel(chat.id), reply_frame(stored.message))
            if chat.state == SessionState.WAITING:  # the queue shows each session's last message
                await publish_stored(self.bus, AGENTS_CHANNEL, {"type": "queue_changed", "session_id": chat.id})
            if chat.state != SessionState.BOT:  # no bot reply will carry the warning: the shop says it
                await self._warn_about_secrets(chat.id, text)
        return AckFrame(client_msg_id=client_msg_id, seq=stored.seq), answering

    async def _warn_about_secrets(self, session_id: str, text: str) -> None:
        notice = secret_notice(text)
        if notice is not None:
            stored = await self.store.append(session_id, Author.SYSTEM, notice, payload={"author_name": "Shop"})
            await publish_stored(self.bus, session_channel(session_id), reply_frame(stored.message))

    async def answer(self, claim: Claim, leases: AnswerLeases) -> None:
        """Run the dialogue graph for a claimed shopper message; store the reply and settle the claim at once."""
        chat = await self.store.get_session(claim.session_id)
        if chat is None or chat.state != SessionState.BOT:
            # a person has (or will have) the conversation: the bot stays silent
            await leases.settle_now(claim, AnswerState.WITH_PERSON)
            return
        started = time.perf_counter()
        await publish_stored(self.bus, session_channel(chat.id), TypingNotice(author="bot").model_dump())
        state = await self.graph.ainvoke({
            "session_id": chat.id, "customer_id": chat.customer_id, "text": claim.text,
            "pending": chat.pending, "fallback_streak": chat.fallback_streak,
            "complaints": chat.complaints, "dialogue": chat.dialogue,
            "frustration": chat.frustration, "activity_consent": chat.activity_consent,
        })
        await self._store_reply(chat, state, claim, leases)
        metrics.ANSWER_LATENCY.observe(time.perf_counter() - started)

    async def _store_reply(self, chat: ChatSession, state: dict[str, Any], claim: Claim,
                           leases: AnswerLeases) -> None:
        reading = state["reading"]
        metrics.INTENTS.labels(reading["intent"]).inc()
        if reading.get("fallback"):
            metrics.FALLBACKS.inc()
        payload = {
            "intent": reading["intent"], "confidence": round(float(reading["confidence"]), 4),
            "handoff": bool(state.get("handoff")), "faq_ids": state.get("faq_ids", []),
            "items": state.get("items", []), "author_name": "Assistant",
            "options": state.get("options") or [], "order": state.get("order"),
            "reading": {**reading, "route": state["route"], "followup": state.get("followup"),
                        "mood": state.get("mood"),
                        "faq_ids": state.get("faq_ids", []), "faq_intents": state.get("faq_intents", []),
                        "items": [i["item_id"] for i in state.get("items", [])]},
        }
        missed = state["route"] == "out_of_scope" or bool(reading.get("fallback"))
        notice = secret_notice(state["text"])  # the message had a card number, IBAN or password removed
        reply = f"{notice}\n\n{state['reply']}" if notice else state["reply"]
        handoff_reason = (state.get("handoff_reason") or "requested") if state.get("handoff") else None
        shown = [i["item_id"] for i in state.get("items") or []]
        ab = state.get("ab") or {}
        stored = await self.store.append(chat.id, Author.BOT, reply, payload=payload, session_values={
            "pending": state.get("next_pending"),
            "dialogue": _next_dialogue(state),
            "fallback_streak": (chat.fallback_streak + 1) if missed else 0,
            "complaints": chat.complaints + (1 if state["route"] == "complaint" else 0),
            **mood_values(chat, state.get("mood")),
            **(handoff_values(handoff_reason) if handoff_reason else {}),
        }, reply_to=claim.seq, settle=lambda db: leases.settle(db, claim, AnswerState.ANSWERED),
            also=(lambda db: _store_exposures(db, chat.id, shown, ab)) if shown else None)
        if stored is None:
            log.warning("message %s was answered by another worker (lease lost); reply dropped", claim.message_id)
            return
        metrics.MESSAGES.labels("bot").inc()
        if shown:
            metrics.REC_EXPOSURES.labels(ab.get("variant") or DEFAULT_VARIANT).inc(len(shown))
        await publish_stored(self.bus, session_channel(chat.id), reply_frame(stored.message))
        if handoff_reason:  # already in the queue (same commit as the reply): tell the shopper and the agents
            await self._announce_handoff(chat.id, handoff_reason)

    # ---- handoff ----
    async def hand_off(self, session_id: str, reason: str) -> None:
        if await self.store.request_handoff(session_id, reason):
            await self._announce_handoff(session_id, reason)

    async def _announce_handoff(self, session_id: str, reason: str) -> None:
        position = await self.store.queue_position(session_id)
        if position is None:  # not waiting (a person had it already): nothing changed
            return
        metrics.HANDOFFS.labels(reason).inc()
        online = await self._presence.count()
        await self.bus.publish(session_channel(session_id), StatusFrame(
            state=SessionState.WAITING, queue_position=position, agents_online=online).model_dump())
        await self.bus.publish(AGENTS_CHANNEL, {"type": "queue_changed", "session_id": session_id})

    async def status_of(self, chat: ChatSession) -> StatusFrame:
        """The session's current hands (sent after a resume, so a reloaded widget knows who it talks to)."""
        async with self._autocommit() as db:
            agent = await db.get(Agent, chat.agent_id) if chat.agent_id else None
        return StatusFrame(state=chat.state, queue_position=await self.store.queue_position(chat.id),
                           agents_online=await self._presence.count(), agent_name=agent.name if agent else None)

    async def request_handoff(self, chat: ChatSession) -> None:
        """The widget's "talk to a human" button."""
        if chat.state == SessionState.BOT:
            stored = await self.store.append(chat.id, Author.SYSTEM, "You asked to talk to a person.",
                                             payload={"handoff": True, "author_name": "Assistant"})
            await publish_stored(self.bus, session_channel(chat.id), reply_frame(stored.message))
        await self.hand_off(chat.id, "requested")

    async def end_by_shopper(self, chat: ChatSession) -> StatusFrame:
        """The widget's "End chat": close the session in any state (again: nothing changes), announced like an
        agent's close, on the session's channel (every open widget, a watching console) and, when a person
        was involved, to the agents' queue."""
        was = await self.store.close_by_shopper(chat.id, ENDED_BY_SHOPPER)
        closed = StatusFrame(state=SessionState.CLOSED)
        if was is not None:
            await publish_stored(self.bus, session_channel(chat.id), closed.model_dump())
            if was != SessionState.BOT:
                await publish_stored(self.bus, AGENTS_CHANNEL, {"type": "queue_changed", "session_id": chat.id})
        return closed

    async def leave_message(self, chat: ChatSession, text: str, contact: str) -> dict[str, Any]:
        if not text.strip():
            raise FrameRefused("empty", "text is empty")
        if len(text) > self._max_chars:
            raise FrameRefused("too_long", f"text is over {self._max_chars} characters")
        async with self._sessions() as db:
            left = LeftMessage(session_id=chat.id, contact=contact, text=text)
            db.add(left)
            await db.commit()
        await self.bus.publish(AGENTS_CHANNEL, {"type": "queue_changed", "session_id": chat.id})
        await self._warn_about_secrets(chat.id, f"{text} {contact}")  # no bot reply follows a left message
        return {"type": "message_left", "id": left.id}

    # ---- behaviour events ----
    async def record_event(self, chat: ChatSession, kind: str, item_id: int) -> dict[str, Any]:
        if not await self.catalog.is_active(item_id):
            raise FrameRefused("unknown_item", f"no item on sale with id {item_id}")
        if not chat.activity_consent:  # the shopper said no: nothing is stored or learnt
            return {"type": "event_ack", "kind": kind, "item_id": item_id, "recorded": False}
        async with self._sessions() as db:
            db.add(BehaviourEvent(customer_id=chat.customer_id, session_id=chat.id, item_id=item_id, kind=kind))
            await db.commit()
        metrics.REC_EVENTS.labels(kind).inc()
        rec = self._recommender.current
        if rec is not None:
            # the profile changes now: the very next suggestion reflects this event
            await asyncio.to_thread(rec.observe, chat.customer_id or chat.id, item_id, kind)
        return {"type": "event_ack", "kind": kind, "item_id": item_id, "recorded": True}

    async def replay(self, session_id: str, after_seq: int) -> list[dict[str, Any]]:
        return [reply_frame(m) for m in await self.store.messages_after(session_id, after_seq)]
