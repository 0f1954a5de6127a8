"""AgentDesk: what an agent does to a session (claim, reply, send a card, release, close) and who hears of it.

Each change is stored first, then announced: the shopper's widget hears it on the session's bus channel
(a status frame, the agent's reply), every agent console hears queue changes on the agents channel.
"""

from __future__ import annotations

from typing import Any

from assistant import metrics
from assistant.admin.faq_service import FaqService
from assistant.admin.faq_suggestions import FaqSuggestions
from assistant.chat.bus import AGENTS_CHANNEL, session_channel
from assistant.chat.protocol import AckFrame, StatusFrame, TypingNotice
from assistant.chat.service import FrameRefused, reply_frame
from assistant.handoff.assignment import Assignments, Outcome
from assistant.runtime import Runtime
from assistant.security import AgentClaims
from assistant.store.models import Author, SessionState

CARD_TEXT = "Here is a product I picked for you: {title}"
ADMIN = "admin"


class AgentDesk:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.assignments = Assignments(rt.sessions)
        self.store = rt.chat.store
        self.suggestions = FaqSuggestions(rt.sessions, FaqService(rt.sessions, rt.faq, rt.settings),
                                          classify=rt.toolbox.intents.classify)

    # ---- changes of hands ----
    async def claim(self, session_id: str, agent: AgentClaims) -> Outcome:
        outcome = await self.assignments.claim(session_id, agent.agent_id)
        if outcome is Outcome.DONE:
            metrics.AGENT_ACTIONS.labels("claimed").inc()
            await self._announce(session_id, StatusFrame(state=SessionState.WITH_AGENT, agent_name=agent.name))
        return outcome

    async def release(self, session_id: str, agent: AgentClaims) -> Outcome:
        outcome = await self.assignments.release(session_id, agent.agent_id, any_agent=agent.role == ADMIN)
        if outcome is Outcome.DONE:
            metrics.AGENT_ACTIONS.labels("released").inc()
            await self._announce(session_id, StatusFrame(state=SessionState.BOT))
        return outcome

    async def close(self, session_id: str, agent: AgentClaims, resolution: str) -> Outcome:
        outcome = await self.assignments.close(session_id, agent.agent_id, resolution,
                                               any_agent=agent.role == ADMIN)
        if outcome is Outcome.DONE:
            metrics.AGENT_ACTIONS.labels("closed").inc()
            await self._announce(session_id, StatusFrame(state=SessionState.CLOSED, agent_name=agent.name))
        return outcome

    async def _announce(self, session_id: str, status: StatusFrame) -> None:
        await self.rt.bus.publish(session_channel(session_id), status.model_dump())
        await self.announce_queue_change(session_id)

    async def announce_queue_change(self, session_id: str | None = None) -> None:
        await self.rt.bus.publish(AGENTS_CHANNEL, {"type": "queue_changed", "session_id": session_id})

    # ---- writing into a claimed session ----
    async def reply(self, session_id: str, agent: AgentClaims, text: str, client_msg_id: str) -> AckFrame:
        """Store the agent's message (before the ack), then send it to the shopper's widget."""
        self._check_text(text)
        await self.require_holder(session_id, agent)
        stored = await self.store.append(session_id, Author.AGENT, text, client_msg_id=client_msg_id,
                                         agent_id=agent.agent_id, payload={"author_name": agent.name})
        if stored.created:
            metrics.MESSAGES.labels("agent").inc()
            await self._publish_stored(session_id, stored.seq)
            await self.suggestions.offer(session_id, agent.agent_id, stored.seq)
        return AckFrame(client_msg_id=client_msg_id, seq=stored.seq)

    async def send_card(self, session_id: str, agent: AgentClaims, item_id: int) -> dict[str, Any]:
        """An item card from the agent, stored and shown in the widget like the bot's cards."""
        await self.require_holder(session_id, agent)
        info = (await self.rt.toolbox.catalog.items([item_id])).get(item_id)
        if info is None:
            raise FrameRefused("unknown_item", f"no item with id {item_id}")
        card = {"item_id": info.item_id, "title": info.title, "price": info.price, "score": 1.0,
                "reason": f"picked by {agent.name}"}
        stored = await self.store.append(session_id, Author.AGENT, CARD_TEXT.format(title=info.title),
                                         agent_id=agent.agent_id,
                                         payload={"author_name": agent.name, "items": [card]})
        metrics.MESSAGES.labels("agent").inc()
        return await self._publish_stored(session_id, stored.seq)

    async def typing(self, session_id: str, agent: AgentClaims, active: bool) -> None:
        await self.require_holder(session_id, agent)
        notice = TypingNotice(author="agent", active=active).model_dump()
        await self.rt.bus.publish(session_channel(session_id), notice)

    async def require_holder(self, session_id: str, agent: AgentClaims) -> None:
        """Only the agent who claimed a session may write into it."""
        holder = await self.assignments.holder(session_id)
        if holder is None:
            raise FrameRefused("unknown_session", f"no session {session_id}")
        state, agent_id = holder
        if state != SessionState.WITH_AGENT or agent_id != agent.agent_id:
            raise FrameRefused("not_yours", "claim this session before writing into it")

    async def _publish_stored(self, session_id: str, seq: int) -> dict[str, Any]:
        msg = (await self.store.messages_after(session_id, seq - 1, limit=1))[0]
        frame = reply_frame(msg)
        await self.rt.bus.publish(session_channel(session_id), frame)
        return frame

    def _check_text(self, text: str) -> None:
        limit = self.rt.settings.max_message_chars
        if not text.strip():
            raise FrameRefused("empty", "text is empty")
        if len(text) > limit:
            raise FrameRefused("too_long", f"text is over {limit} characters")

    # ---- what a console shows ----
    async def agents_online(self) -> int:
        return await self.rt.presence.count()
