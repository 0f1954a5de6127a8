"""A shopper message is read by the intent model as it arrives, while the store commits it: the turn that
answers it takes that reading instead of queueing the message again (latency, issue 12).

On the old main every turn read its message only after the commit and the claim (`at_turn` only).
"""

from __future__ import annotations

import re

import httpx

from tests.chat.client import ChatClient, start_session


def readings(server) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    return {when: float(value) for when, value in
            re.findall(r'^shopassist_intent_readings_total\{when="([a-z_]+)"\} (\S+)$', text, re.M)}


async def test_the_turn_takes_the_reading_started_when_the_message_arrived(sqlite_server):
    before = readings(sqlite_server)
    session = await start_session(sqlite_server.url)
    chat = await ChatClient.open(sqlite_server.ws_url, session)
    _ack, reply = await chat.say("what is your return policy?")
    await chat.close()
    after = readings(sqlite_server)
    assert reply["intent"] == "check_refund_policy"
    assert after.get("early", 0) == before.get("early", 0) + 1
    assert after.get("at_turn", 0) == before.get("at_turn", 0)
