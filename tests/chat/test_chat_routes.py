"""Each route of the dialogue agent through a real websocket client against the running app (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import ChatSession, Customer, FaqEntry, Item, Order, OrderStatus
from tests.chat.client import ChatClient, start_session


@pytest.fixture(scope="module")
def db(live_server):
    engine = make_engine(live_server.settings.resolved_database_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def customer_with_latest(db, status: str) -> tuple[str, Order]:
    """A demo customer whose newest order has `status` and is their only open one (so the bot need not
    ask which order), and was not touched by another test."""
    for customer in db.scalars(select(Customer).order_by(Customer.id)):
        orders = list(db.scalars(select(Order).where(Order.customer_id == customer.id)
                                 .order_by(Order.created_at.desc(), Order.id.desc()).limit(5)))
        open_orders = [o for o in orders if o.status in (OrderStatus.PROCESSING, OrderStatus.SHIPPED)]
        if orders and orders[0].status == status and len(open_orders) <= 1:
            return customer.id, orders[0]
    raise AssertionError(f"no demo customer with a latest {status} order")


async def open_chat(server, customer_id: str | None = None) -> ChatClient:
    return await ChatClient.open(server.ws_url, await start_session(server.url, customer_id))


async def test_faq_question_is_answered_from_the_faq_entry(live_server, db):
    chat = await open_chat(live_server)
    _, reply = await chat.say("what is your return policy?")
    assert reply["intent"] == "check_refund_policy"
    assert reply["handoff"] is False
    assert reply["faq_ids"], reply
    entry = db.get(FaqEntry, reply["faq_ids"][0])
    db.expire_all()
    assert entry.answer in reply["text"]
    assert "check_refund_policy" in entry.intents
    await chat.close()


async def test_track_order_tells_the_real_status_of_the_latest_order(live_server, db):
    customer_id, order = customer_with_latest(db, OrderStatus.SHIPPED)
    chat = await open_chat(live_server, customer_id)
    _, reply = await chat.say("where is my order?")
    assert reply["intent"] == "track_order"
    assert f"#{order.id}" in reply["text"]
    assert "shipped" in reply["text"]
    await chat.close()


async def test_track_order_for_an_anonymous_shopper_asks_to_sign_in(live_server):
    chat = await open_chat(live_server)
    _, reply = await chat.say("where is my order?")
    assert reply["intent"] == "track_order"
    assert "sign in" in reply["text"]
    await chat.close()


async def test_cancel_order_asks_for_confirmation_then_cancels(live_server, db):
    customer_id, order = customer_with_latest(db, OrderStatus.PROCESSING)
    chat = await open_chat(live_server, customer_id)
    _, question = await chat.say("I want to cancel my order")
    assert question["intent"] == "cancel_order"
    assert f"#{order.id}" in question["text"] and "yes or no" in question["text"]
    db.expire_all()
    assert db.get(Order, order.id).status == OrderStatus.PROCESSING  # nothing happens before "yes"
    _, done = await chat.say("yes")
    assert f"#{order.id}" in done["text"] and "cancelled" in done["text"]
    db.expire_all()
    cancelled = db.get(Order, order.id)
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.history[-1].status == OrderStatus.CANCELLED
    await chat.close()


async def test_cancel_order_refuses_a_shipped_order(live_server, db):
    customer_id, order = customer_with_latest(db, OrderStatus.DELIVERED)
    chat = await open_chat(live_server, customer_id)
    _, reply = await chat.say(f"please cancel order #{order.id}")
    assert "can no longer be cancelled" in reply["text"]
    db.expire_all()
    assert db.get(Order, order.id).status == OrderStatus.DELIVERED
    await chat.close()


async def test_product_question_returns_item_cards_within_the_price_limit(live_server, db):
    chat = await open_chat(live_server)
    _, reply = await chat.say("do you have a black stapler under $20?")
    assert reply["intent"] == "product_search"
    assert reply["items"], reply
    for card in reply["items"]:
        assert card["price"] <= 20
        item = db.get(Item, card["item_id"])
        assert item.title == card["title"] and item.price == card["price"]
        assert card["reason"]
    await chat.close()


async def test_recommendation_request_returns_suggestions_with_reasons(live_server, db):
    customer_id, _ = customer_with_latest(db, OrderStatus.DELIVERED)
    chat = await open_chat(live_server, customer_id)
    _, reply = await chat.say("can you recommend something for my office?")
    assert reply["intent"] == "recommendation"
    assert reply["items"], reply
    assert all(card["reason"] for card in reply["items"])
    await chat.close()


async def test_asking_for_a_human_hands_off_and_the_bot_goes_silent(live_server, db):
    chat = await open_chat(live_server)
    _, reply = await chat.say("I want to speak to a human agent")
    assert reply["handoff"] is True
    status = await chat.recv_type("status")
    assert status["state"] == "waiting" and status["queue_position"] >= 1
    db.expire_all()
    assert db.get(ChatSession, chat.session["session_id"]).state == "waiting"
    await chat.send({"type": "message", "text": "hello?", "client_msg_id": "after-handoff"})
    ack = await chat.recv_type("ack")
    assert ack["client_msg_id"] == "after-handoff"
    with pytest.raises(TimeoutError):
        await chat.recv_type("reply", timeout=1.5)  # nobody answers but a person
    await chat.close()


async def test_greeting_gets_a_greeting(live_server):
    chat = await open_chat(live_server)
    _, reply = await chat.say("hello")
    assert reply["intent"] == "greeting"
    assert reply["text"].startswith("Hello")
    await chat.close()
