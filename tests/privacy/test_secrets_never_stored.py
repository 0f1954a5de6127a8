"""A card number, IBAN or password typed in the widget is in no table, no log line and no Chroma collection,
and the shopper is told not to share them; contact data reaches the agent but not the dashboard or training.

Exploit first (fails on the old main): a card number sent over the socket was stored as typed in
`messages.text`, echoed in the reply frames, and copied into `labelled_feedback` by a correction.
"""

from __future__ import annotations

import logging
import uuid

import httpx

from tests.agent_console.client import add_agents
from tests.chat.client import ChatClient, start_session
from tests.privacy.scan import chroma_entries_containing, sql_cells_containing

CARD = "4539 1488 0343 6467"
IBAN = "GB82 WEST 1234 5698 7654 32"
PASSWORD = "Zebra-Lantern-42"
EMAIL = "rosa.privacy.test@example.org"
PHONE = "+44 20 7946 0958"


def _needles() -> list[str]:
    card = CARD.replace(" ", "")
    return [CARD, card, card[4:], CARD.replace(" ", "-"), IBAN, IBAN.replace(" ", ""), PASSWORD]


async def test_card_iban_and_password_never_reach_a_table_a_log_or_chroma(live_server, caplog):
    caplog.set_level(logging.DEBUG)
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    ack, reply = await chat.say(f"my card is {CARD.replace(' ', '-')} and the IBAN {IBAN}, "
                                f"my password is {PASSWORD}; can you pay my order 4512?")
    assert "removed the card number, bank account number and password" in reply["text"]
    await chat.send({"type": "resume", "after_seq": 0})
    echoed = await chat.recv_type("reply")
    assert echoed["seq"] == ack["seq"]
    assert echoed["text"] == ("my card is [card number removed] and the IBAN [IBAN removed], "
                              "my password is [password removed]; can you pay my order 4512?")
    await chat.send({"type": "leave_message", "text": f"call me, card {CARD}", "contact": "me@example.org"})
    await chat.recv_type("message_left")
    await chat.close()

    assert sql_cells_containing(live_server.settings, _needles()) == []
    assert chroma_entries_containing(live_server.settings, _needles()) == []
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert not [n for n in _needles() if n in logged]


async def test_a_secret_typed_while_an_agent_holds_the_chat_is_removed_and_the_shopper_warned(live_server):
    agent, = add_agents(live_server.settings, 1, name="Privacy Agent")
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    await chat.send({"type": "handoff_request"})
    await chat.recv_type("status")
    async with httpx.AsyncClient(base_url=live_server.url, headers=agent.headers, timeout=30) as http:
        (await http.post(f"/api/agent/sessions/{chat.session['session_id']}/claim")).raise_for_status()
        await chat.send({"type": "message", "text": f"here: {CARD}", "client_msg_id": "secret-1"})
        await chat.recv_type("ack")
        warning = await chat.recv_type("reply")
        assert warning["author"] == "system" and "card number" in warning["text"]
        transcript = (await http.get(f"/api/agent/sessions/{chat.session['session_id']}/transcript")).json()
    await chat.close()
    texts = [m["text"] for m in transcript["messages"]]
    assert "here: [card number removed]" in texts and not any(CARD in t for t in texts)


async def test_contact_data_reaches_the_agent_but_not_the_review_list_or_training_data(live_server):
    agent, = add_agents(live_server.settings, 1, name="Contact Agent")
    admin, = add_agents(live_server.settings, 1, role="admin", name="Contact Admin")
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    text = f"let me talk to a human agent, mail {EMAIL} or ring {PHONE}"  # a handoff: in the review list
    await chat.say(text)
    sid = chat.session["session_id"]
    await chat.close()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        transcript = (await http.get(f"/api/agent/sessions/{sid}/transcript", headers=agent.headers)).json()
        shopper_msg = next(m for m in transcript["messages"] if m["author"] == "shopper")
        assert shopper_msg["text"] == text  # the agent can write back
        stats = (await http.get("/api/admin/stats", headers=admin.headers)).json()
        questions = [r["question"] for r in stats["review"] if r["session_id"] == sid]
        assert questions and all(EMAIL not in q and PHONE not in q for q in questions)
        assert "[e-mail hidden]" in questions[0] and "[phone hidden]" in questions[0]
        resp = await http.post(f"/api/agent/sessions/{sid}/messages/{shopper_msg['message_id']}/correct-intent",
                               json={"intent": "contact_human_agent"}, headers=agent.headers)
        assert resp.status_code == 201, resp.text
    hits = sql_cells_containing(live_server.settings, [EMAIL, PHONE])
    assert {table for table, _, _ in hits} == {"messages"}  # kept only in the transcript, for the agent


async def test_a_secret_typed_into_the_contact_field_of_a_left_message_is_removed(live_server):
    """Exploit first (failed before the fix): only the text of a left message was redacted; a card number or
    IBAN typed into its contact field was stored in `left_messages.contact` as typed, and nothing told the
    shopper not to share them (no bot reply follows a left message)."""
    mail = f"left.{uuid.uuid4().hex[:8]}@example.org"
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    await chat.send({"type": "leave_message", "text": "please call me back", "contact": f"{mail} {CARD}, iban {IBAN}"})
    frames = [await chat.recv_type("message_left", "reply", "error") for _ in range(2)]  # in either order
    warning, = [f for f in frames if f["type"] == "reply"]
    assert warning["author"] == "system" and "card number and bank account number" in warning["text"]
    assert [f["type"] for f in frames if f["type"] != "reply"] == ["message_left"]
    await chat.close()
    assert sql_cells_containing(live_server.settings, _needles()) == []
    stored = sql_cells_containing(live_server.settings, [f"{mail} [card number removed], iban [IBAN removed]"])
    assert [(table, column) for table, column, _ in stored] == [("left_messages", "contact")]
