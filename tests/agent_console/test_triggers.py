"""Handoff triggers: an explicit request, low confidence, N fallbacks in a row and an unresolved complaint,
each configurable (dialogue graph with stub tools), and the defaults through the real server."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from assistant.agent.graph import build_dialogue_graph
from assistant.config import Settings
from tests.agent_console.client import api
from tests.chat.client import ChatClient, start_session

FAQ_ANSWER = "We're sorry. Tell us what went wrong and we'll make it right."


@dataclass(frozen=True)
class Hit:
    faq_id: int
    question: str
    answer: str
    score: float
    intents: tuple[str, ...]


class StubIntents:
    """Readings by message text, as the intent service would return them."""

    READINGS = {
        "complaint": ("complaint", 0.9, False),
        "human please": ("contact_human_agent", 0.95, False),
        "mumble": ("track_order", 0.2, True),
        "weather on mars": ("out_of_scope", 0.8, False),
    }

    async def classify(self, text: str) -> dict:
        intent, confidence, fallback = self.READINGS[text]
        return {"intent": intent, "confidence": confidence, "fallback": fallback,
                "alternatives": [{"intent": intent, "confidence": confidence}]}


class StubFaq:
    def search(self, text: str, k: int, intent: str | None = None) -> list[Hit]:
        return [Hit(7, "complaints", FAQ_ANSWER, 0.9, (intent or "complaint",))]


async def turn(text: str, complaints: int = 0, fallback_streak: int = 0, **settings) -> dict:
    tools = SimpleNamespace(settings=Settings(**settings), intents=StubIntents(), faq=StubFaq(), llm=None)
    graph = build_dialogue_graph(tools)
    return await graph.ainvoke({"session_id": "s", "customer_id": None, "text": text, "pending": None,
                                "fallback_streak": fallback_streak, "complaints": complaints})


async def test_a_first_complaint_is_answered_from_the_faq_and_the_second_goes_to_a_person():
    first = await turn("complaint", complaints=0)
    assert (first["handoff"], first["reply"], first["faq_ids"]) == (False, FAQ_ANSWER, [7])
    second = await turn("complaint", complaints=1)
    assert (second["handoff"], second["handoff_reason"]) == (True, "complaint")


@pytest.mark.parametrize(("after", "answered_before", "hands_off"), [(1, 0, True), (0, 5, False), (3, 1, False)])
async def test_the_complaint_trigger_is_configurable(after, answered_before, hands_off):
    state = await turn("complaint", complaints=answered_before, handoff_after_complaints=after)
    assert state["handoff"] is hands_off


async def test_an_explicit_request_hands_off_unless_switched_off():
    assert (await turn("human please"))["handoff_reason"] == "requested"
    off = await turn("human please", handoff_on_request=False)
    assert off["handoff"] is False and off["reply"] == FAQ_ANSWER


async def test_low_confidence_hands_off_unless_switched_off():
    assert (await turn("mumble"))["handoff_reason"] == "low_confidence"
    off = await turn("mumble", handoff_on_low_confidence=False)
    assert off["handoff"] is False
    assert (await turn("mumble", fallback_streak=1, handoff_on_low_confidence=False))["handoff"] is True


@pytest.mark.parametrize(("after", "streak", "hands_off"), [(2, 0, False), (2, 1, True), (3, 1, False), (0, 9, False)])
async def test_n_fallbacks_in_a_row_hand_off(after, streak, hands_off):
    state = await turn("weather on mars", fallback_streak=streak, handoff_after_fallbacks=after)
    assert state["handoff"] is hands_off
    if hands_off:
        assert state["handoff_reason"] == "repeated_fallback"


async def _queue_reason(server, agent, session_id: str) -> str:
    async with api(server, agent) as http:
        return next(s["handoff_reason"] for s in (await http.get("/api/agent/queue")).json()
                    if s["session_id"] == session_id)


async def test_asking_for_a_human_in_words_puts_the_chat_in_the_queue(sqlite_server, sqlite_agent):
    chat = await ChatClient.open(sqlite_server.ws_url, await start_session(sqlite_server.url))
    _, reply = await chat.say("I want to talk to a human agent")
    assert reply["handoff"] is True
    status = await chat.recv_type("status")
    assert status["state"] == "waiting" and status["queue_position"] >= 1
    assert await _queue_reason(sqlite_server, sqlite_agent, chat.session["session_id"]) == "requested"
    await chat.close()


async def test_a_repeated_complaint_goes_to_a_person(sqlite_server, sqlite_agent):
    chat = await ChatClient.open(sqlite_server.ws_url, await start_session(sqlite_server.url))
    _, first = await chat.say("I want to file a complaint about your service")
    assert (first["intent"], first["handoff"]) == ("complaint", False)
    _, second = await chat.say("I have a complaint, this is still not fixed")
    assert second["handoff"] is True
    assert (await chat.recv_type("status"))["state"] == "waiting"
    # the second complaint is also the second frustrated message (the mood signal reads both as upset since
    # VADER joined it): either trigger names the reason, and both hand the shopper to a person now
    assert await _queue_reason(sqlite_server, sqlite_agent, chat.session["session_id"]) in ("complaint",
                                                                                             "frustration")
    await chat.close()
