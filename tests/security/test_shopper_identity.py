"""A shopper is a customer only when the shop's backend proves it: hex(HMAC-SHA256(identity secret, id)).

On the old main anyone could list the demo customers and open a session as any of them with
`POST /api/sessions {"customer_id": …}`, then have the bot read out and cancel their orders; every test
here marked "old main" failed there. Demo mode is the one place unsigned sign-in still works.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import ChatSession, Customer, Order, OrderStatus
from tests.chat.client import ChatClient, customer_sig, start_session
from tests.conftest import LiveServer, shop_settings


def a_customer_with_an_order(server) -> str:
    engine = make_engine(server.settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return db.scalars(select(Customer.id).join(Order, Order.customer_id == Customer.id)
                              .where(Order.status == OrderStatus.PROCESSING).order_by(Customer.id).limit(1)).one()
    finally:
        engine.dispose()


def session_owner(server, session_id: str) -> str | None:
    engine = make_engine(server.settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            return db.scalar(select(ChatSession.customer_id).where(ChatSession.id == session_id))
    finally:
        engine.dispose()


def post_session(server, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/api/sessions", json=body, timeout=30)


@pytest.fixture(scope="module")
def anonymous_only_server(shop_state) -> Iterator[LiveServer]:
    """A server with no identity secret configured (the default): only anonymous sessions open."""
    server = LiveServer(shop_settings(shop_state, identity_secret=None)).start()
    yield server
    server.stop()


@pytest.mark.parametrize("sig", [None, "", "00" * 32, "not hex at all"], ids=["none", "empty", "zeros", "junk"])
def test_a_customer_id_without_a_valid_signature_is_refused_with_403(live_server, sig):
    """Old main: 200, a session as that customer (the hole: anyone chats as anyone)."""
    customer_id = a_customer_with_an_order(live_server)
    body = {"customer_id": customer_id} | ({} if sig is None else {"customer_sig": sig})
    response = post_session(live_server, body)
    assert response.status_code == 403
    assert "customer_sig" in response.json()["detail"]


def test_the_signature_of_another_customer_does_not_open_this_one(live_server):
    """Old main: 200 (the signature was not even read)."""
    victim = a_customer_with_an_order(live_server)
    response = post_session(live_server, {"customer_id": victim, "customer_sig": customer_sig("someone-else")})
    assert response.status_code == 403


async def test_a_signed_customer_opens_their_session_and_chats(live_server):
    customer_id = a_customer_with_an_order(live_server)
    session = await start_session(live_server.url, customer_id)  # signs as docs/security.md shows
    assert session["customer_id"] == customer_id and session["customer_name"]
    assert session_owner(live_server, session["session_id"]) == customer_id
    chat = await ChatClient.open(live_server.ws_url, session)
    try:
        ack, reply = await chat.say("where is my order?")
        assert ack["seq"] < reply["seq"]
    finally:
        await chat.close()


def test_a_signature_in_capitals_is_the_same_signature(live_server):
    customer_id = a_customer_with_an_order(live_server)
    signature = customer_sig(customer_id).upper()
    response = post_session(live_server, {"customer_id": customer_id, "customer_sig": signature})
    assert response.status_code == 200


def test_without_an_identity_secret_only_anonymous_sessions_open(anonymous_only_server):
    """Old main: 200 for any customer id (there was no identity secret to require)."""
    customer_id = a_customer_with_an_order(anonymous_only_server)
    refused = post_session(anonymous_only_server, {"customer_id": customer_id,
                                                   "customer_sig": customer_sig(customer_id)})
    assert refused.status_code == 403 and "SHOPASSIST_IDENTITY_SECRET" in refused.json()["detail"]
    anonymous = post_session(anonymous_only_server, {})
    assert anonymous.status_code == 200 and anonymous.json()["customer_id"] is None


def test_the_demo_customer_list_exists_only_in_demo_mode(live_server, demo_server):
    """Old main: 200 with ids and names for anyone."""
    assert httpx.get(f"{live_server.url}/api/demo/customers", timeout=30).status_code == 404
    listed = httpx.get(f"{demo_server.url}/api/demo/customers", timeout=30)
    assert listed.status_code == 200 and listed.json()


def test_demo_mode_signs_in_a_demo_customer_without_a_signature(demo_server):
    customer = httpx.get(f"{demo_server.url}/api/demo/customers", timeout=30).json()[0]
    response = post_session(demo_server, {"customer_id": customer["id"]})
    assert response.status_code == 200 and response.json()["customer_name"] == customer["name"]


def test_an_unknown_customer_is_not_told_apart_from_a_known_one_without_a_signature(live_server):
    """Without a valid signature both get the same 403 (the 404 of an unknown id needs a proof first)."""
    known = post_session(live_server, {"customer_id": a_customer_with_an_order(live_server)})
    unknown = post_session(live_server, {"customer_id": "nobody-here"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) and known.status_code == 403
