"""Asking for a person: a task named in the request is answered with a one-button offer; a request for a person
and nothing else, or a second ask, hands over at once (docs/protocol.md, "Asking for a person")."""

from __future__ import annotations

import pytest

from assistant.agent.person_request import PERSON_OPTION, asks_for_person, task_in
from tests.chat.client import ChatClient, start_session


@pytest.mark.parametrize(("text", "task"), [
    ("can you ask an agent to send me the invoice for my last order", "send me the invoice for my last order"),
    ("could a customer service agent check why my payment failed", "check why my payment failed"),
    ("I need an agent to change my delivery address", "change my delivery address"),
    ("my order is late, can I speak to someone?", "my order is late"),
    ("I want to talk to a human", None),
    ("get me a real person now please", None),
    ("Can I talk to an agent?", None),
    ("transfer me to a live agent", None),
    # how to reach the shopper is no task: a request for a person and contact details hands over
    ("let me talk to a human agent, mail rosa@example.org or ring +44 20 7946 0958", None),
    ("i want to talk to a person, my number is 0161 496 0000", None),
    ("can an agent send my invoice to rosa@example.org", "send my invoice"),
    ("could someone from your team call me on 020 7946 0958 about my refund for order 4411",
     "my refund for order 4411"),
])
def test_the_task_is_what_is_left_once_the_request_for_a_person_is_taken_out(text, task):
    assert asks_for_person(text)
    assert task_in(text) == task


def test_a_message_without_a_request_for_a_person_names_no_task():
    assert not asks_for_person("where is my order") and task_in("where is my order") is None


async def open_chat(server) -> ChatClient:
    return await ChatClient.open(server.ws_url, await start_session(server.url))


async def test_a_task_asked_of_an_agent_is_answered_with_a_person_offered(sqlite_server):
    """Fails on the old main: the message read as contact_human_agent was handed over with nothing answered."""
    chat = await open_chat(sqlite_server)
    try:
        _, reply = await chat.say("can you ask an agent to send me the invoice for my last order")
        assert not reply["handoff"]
        assert any("get_invoice" in tags for tags in reply["reading"]["faq_intents"]), reply["reading"]
        assert reply["options"] == [PERSON_OPTION]
        # the shopper insists (the button sends its value): handed over at once
        _, second = await chat.say(PERSON_OPTION["value"])
        assert second["handoff"] and second["reading"]["route"] == "handoff"
    finally:
        await chat.close()


async def test_a_request_for_a_person_and_nothing_else_is_handed_over_at_once(sqlite_server):
    chat = await open_chat(sqlite_server)
    try:
        _, reply = await chat.say("I want to talk to a human")
        assert reply["handoff"] and not reply["options"]
    finally:
        await chat.close()


async def test_after_the_offer_another_question_is_answered_and_the_offer_lapses(sqlite_server):
    chat = await open_chat(sqlite_server)
    try:
        _, first = await chat.say("can you ask an agent to send me the invoice for my last order")
        assert first["options"] == [PERSON_OPTION]
        _, other = await chat.say("what payment methods do you accept?")
        assert not other["handoff"] and not other["options"]
    finally:
        await chat.close()
