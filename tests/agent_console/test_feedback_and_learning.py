"""Frustration, shopper feedback and learning from people, through the real server (SQLite, then PostgreSQL:
votes replace votes, the queue orders by priority and the suggestion is accepted once on both stores).

Before this change: an angry shopper was handed over only on the second complaint, the queue ignored
urgency, a shopper could not say whether an answer helped, and an agent's answer was lost to the FAQ.
"""

from __future__ import annotations

from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import ChatSession, FaqSuggestion, MessageFeedback
from tests.agent_console.client import AgentSocket, add_agents, api, waiting_shopper
from tests.chat.client import ChatClient, start_session


def db_row(server, model, key):
    engine = make_engine(server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        row = db.get(model, key)
    engine.dispose()
    return row


async def test_an_angry_shopper_is_handed_over_at_once_and_served_first(live_server, agents):
    calm = await waiting_shopper(live_server)  # waiting first
    angry = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    _, reply = await angry.say("This is ridiculous, worst service ever, I am furious!!")
    assert reply["handoff"] is True and reply["reading"]["mood"]["label"] == "angry"
    status = await angry.recv_type("status")
    assert status["queue_position"] == 1  # ahead of the calm shopper who waited longer
    async with api(live_server, agents["alice"]) as http:
        queue = (await http.get("/api/agent/queue")).json()
    ids = [q["session_id"] for q in queue]
    assert ids.index(angry.session["session_id"]) < ids.index(calm.session["session_id"])
    first = next(q for q in queue if q["session_id"] == angry.session["session_id"])
    assert first["mood"] == "angry" and first["priority"] == 2
    chat = db_row(live_server, ChatSession, angry.session["session_id"])
    assert chat.handoff_reason == "frustration" and chat.frustration == 1
    await calm.close()
    await angry.close()


async def test_thumbs_on_a_bot_reply_are_stored_and_counted_per_intent(live_server):
    admin, = add_agents(live_server.settings, 1, role="admin", name="Fay")
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    _, reply = await chat.say("what is your return policy?")
    await chat.send({"type": "feedback", "seq": reply["seq"], "helpful": True})
    assert (await chat.recv_type("feedback_ack"))["helpful"] is True
    await chat.send({"type": "feedback", "seq": reply["seq"], "helpful": False})  # changed their mind
    await chat.recv_type("feedback_ack")
    await chat.send({"type": "feedback", "seq": reply["seq"] - 1, "helpful": True})  # their own message
    assert (await chat.recv_type("error"))["code"] == "unknown_reply"
    await chat.send({"type": "rating", "stars": 4})
    assert (await chat.recv_type("rating_ack"))["stars"] == 4
    engine = make_engine(live_server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        votes = list(db.scalars(select(MessageFeedback).where(
            MessageFeedback.session_id == chat.session["session_id"])))
        assert [(v.seq, v.helpful) for v in votes] == [(reply["seq"], False)]
        assert db.get(ChatSession, chat.session["session_id"]).rating == 4
    engine.dispose()
    async with api(live_server, admin) as http:
        stats = (await http.get("/api/admin/stats")).json()
        unhelpful = (await http.get("/api/admin/faq-unhelpful")).json()
    assert stats["helpfulness"]["per_intent"][reply["intent"]]["down"] >= 1
    assert stats["ratings"]["counts"]["4"] >= 1
    assert "mood_per_hour" in stats
    if reply["faq_ids"]:
        assert str(reply["faq_ids"][0]) in stats["helpfulness"]["per_faq"]
        assert reply["faq_ids"][0] in [e["faq_id"] for e in unhelpful]
    await chat.close()


async def test_an_agent_answer_to_a_handed_over_question_becomes_an_faq_entry_in_one_click(live_server):
    agent, = add_agents(live_server.settings, 1, name="Lea")
    admin, = add_agents(live_server.settings, 1, role="admin", name="Max")
    question = "Can I get my order gift wrapped with a handwritten card?"
    answer = "Yes: gift wrapping with a handwritten card costs $3 and is chosen at checkout."
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    await chat.say(question)  # whatever the bot answers, the shopper asks for a person
    await chat.send({"type": "handoff_request"})
    await chat.recv_type("status")
    session_id = chat.session["session_id"]
    console = await AgentSocket.open(live_server, agent)
    async with api(live_server, agent) as http:
        assert (await http.post(f"/api/agent/sessions/{session_id}/claim")).status_code == 200
    await console.send({"type": "message", "session_id": session_id, "text": answer, "client_msg_id": "a1"})
    await console.recv_type("ack")
    async with api(live_server, admin) as http:
        pending = [s for s in (await http.get("/api/admin/faq-suggestions")).json() if s["session_id"] == session_id]
        assert [(s["question"], s["answer"]) for s in pending] == [(question, answer)]
        accepted = await http.post(f"/api/admin/faq-suggestions/{pending[0]['id']}/accept")
        assert accepted.status_code == 201, accepted.text
        again = await http.post(f"/api/admin/faq-suggestions/{pending[0]['id']}/accept")
        assert again.status_code == 404  # accepted once only
    suggestion = db_row(live_server, FaqSuggestion, pending[0]["id"])
    assert suggestion.status == "accepted" and suggestion.faq_id == accepted.json()["id"]
    shopper = await ChatClient.open(live_server.ws_url, await start_session(live_server.url))
    _, reply = await shopper.say(question)
    assert accepted.json()["id"] in reply["faq_ids"] or answer in reply["text"], reply
    await console.close()
    await chat.close()
    await shopper.close()
