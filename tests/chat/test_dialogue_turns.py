"""Dialogue across turns and confirmed order actions, through a real websocket against the running app,
on SQLite and on PostgreSQL (the context, the actions and the return requests live in the store).

Before this change every turn was answered on its own: "when will it arrive?" after an order answer,
"the second one" after a product list and "cancel it" were new requests, a shopper with several open
orders always got the latest, and address, return and item requests got FAQ text with nothing done.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from assistant.agent.order_tools import OrderTools
from assistant.store.database import async_session_factory, make_async_engine, make_engine, session_factory
from assistant.store.models import ChatSession, Customer, Item, Order, OrderAction, OrderLine, ReturnRequest, utcnow
from tests.chat.client import ChatClient, start_session

_used: dict[str, set[str]] = {}  # per store: the SQLite and the PostgreSQL shop have the same customers


@pytest.fixture(scope="module")
def db(live_server):
    engine = make_engine(live_server.settings.resolved_database_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def customer_where(db, test, label: str) -> tuple[str, list[Order]]:
    """A demo customer (not used by another test here) whose orders, newest first, pass `test`."""
    used = _used.setdefault(str(db.get_bind().url), set())
    for customer in db.scalars(select(Customer.id).order_by(Customer.id)):
        if customer in used:
            continue
        orders = list(db.scalars(select(Order).where(Order.customer_id == customer)
                                 .order_by(Order.created_at.desc(), Order.id.desc()).limit(5)))
        if test(orders):
            used.add(customer)
            return customer, orders
    pytest.skip(f"no demo customer with {label}")


def open_orders(orders: list[Order]) -> list[Order]:
    return [o for o in orders if o.status in ("processing", "shipped")]


async def open_chat(server, customer_id: str | None = None) -> ChatClient:
    return await ChatClient.open(server.ws_url, await start_session(server.url, customer_id))


def several_sent(orders: list[Order]) -> bool:
    return len(orders) >= 2 and not open_orders(orders)


async def test_several_orders_are_offered_as_quick_replies_and_followups_use_the_choice(live_server, db):
    customer, orders = customer_where(db, several_sent, "several orders, none open")
    second = orders[1]
    chat = await open_chat(live_server, customer)
    _, asked = await chat.say("where is my order?")
    values = [o["value"] for o in asked["options"]]
    assert len(values) >= 2 and f"order #{second.id}" in values, asked
    _, status = await chat.say(f"order #{second.id}")  # what the quick-reply button sends
    assert f"#{second.id}" in status["text"] and status["order"]["order_id"] == second.id
    assert [step["status"] for step in status["order"]["timeline"]][0] == "processing"
    _, eta = await chat.say("when will it arrive?")
    assert eta["reading"]["followup"] == "when_arrive"
    assert f"#{second.id}" in eta["text"] and "delivered on" in eta["text"]
    _, other = await chat.say("what about my other order?")
    assert other["reading"]["followup"] == "other_order"
    assert other["options"] or other["order"]["order_id"] != second.id
    db.expire_all()
    assert db.get(ChatSession, chat.session["session_id"]).dialogue is not None
    await chat.close()


async def test_an_order_number_in_the_text_picks_the_order_without_asking(live_server, db):
    customer, orders = customer_where(db, several_sent, "several orders, none open")
    target = orders[-1]
    chat = await open_chat(live_server, customer)
    _, reply = await chat.say(f"where is order #{target.id}?")
    assert not reply["options"] and reply["order"]["order_id"] == target.id
    await chat.close()


async def test_an_order_imported_without_a_status_history_still_shows_a_timeline(live_server, db):
    """An order whose shop recorded no status changes (imported, or made by hand) gets a timeline from its own
    dates: placed, then its status now. Before, its card had an empty timeline (the clean-clone CI run picked
    such an order, made by the privacy tests' fixture, and the browser tests waited for steps in vain)."""
    cid = f"nohist-{uuid.uuid4().hex[:8]}"
    item = db.scalar(select(Item).order_by(Item.id).limit(1))
    placed = utcnow() - timedelta(days=9)
    db.add(Customer(id=cid, name="Nora History", email=f"{cid}@example.org"))
    db.flush()
    order = Order(customer_id=cid, status="delivered", created_at=placed, updated_at=placed + timedelta(days=3),
                  lines=[OrderLine(item_id=item.id, quantity=1, unit_price=item.price)])
    db.add(order)
    db.commit()
    chat = await open_chat(live_server, cid)
    _, reply = await chat.say(f"where is order #{order.id}?")
    card = reply["order"]
    assert card["order_id"] == order.id
    assert [s["status"] for s in card["timeline"]] == ["processing", "delivered"]
    assert card["timeline"][0]["at"].startswith(placed.date().isoformat())


async def test_cancel_it_cancels_the_order_in_focus_after_a_yes(live_server, db):
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "processing"
                                      and len(open_orders(os)) == 1, "one processing order")
    order = orders[0]
    chat = await open_chat(live_server, customer)
    await chat.say("where is my order?")
    _, question = await chat.say("cancel it")
    assert f"#{order.id}" in question["text"] and {o["value"] for o in question["options"]} == {"yes", "no"}
    _, done = await chat.say("yes")
    assert "cancelled" in done["text"] and done["order"]["status"] == "cancelled"
    db.expire_all()
    assert db.get(Order, order.id).status == "cancelled"
    actions = list(db.scalars(select(OrderAction).where(OrderAction.order_id == order.id)))
    assert [(a.action, a.actor) for a in actions] == [("cancel_order", f"shopper:{customer}")]
    await chat.close()


async def test_products_followups_pick_price_and_narrow_the_last_search(live_server):
    chat = await open_chat(live_server)
    _, found = await chat.say("do you have staplers?")
    assert len(found["items"]) >= 2, found
    second = found["items"][1]
    _, detail = await chat.say("how much is the second one?")
    assert detail["reading"]["route"] == "item_detail"
    assert second["title"] in detail["text"] and f"{second['price']:.2f}" in detail["text"]
    assert detail["items"][0]["item_id"] == second["item_id"] and "available" in detail["items"][0]
    _, cheaper = await chat.say("a cheaper one")
    assert cheaper["reading"]["route"] == "refine_products"
    assert all(c["price"] < second["price"] for c in cheaper["items"])
    assert cheaper["items"] or "couldn't find a cheaper" in cheaper["text"]
    _, blue = await chat.say("in blue")
    assert blue["reading"]["route"] == "refine_products" and "blue" in blue["text"]
    await chat.close()


def _in_colour(title: str, colour: str) -> bool:
    return re.search(rf"\b{colour}\b", title, re.I) is not None


async def test_a_colour_narrows_the_last_search_to_items_of_that_colour(live_server):
    """ "in blue" lists items in blue (or says there are none) and a colour stays through "a cheaper one".

    Failed before the fix: "in blue" after staplers showed a black/red stapler, and "a cheaper one" after
    "black pens" showed assorted-colour pens (the colour was only a word in the search query)."""
    chat = await open_chat(live_server)
    await chat.say("do you have staplers?")
    _, blue = await chat.say("in blue")
    assert blue["reading"]["route"] == "refine_products" and "blue" in blue["text"].lower()
    assert all(_in_colour(c["title"], "blue") for c in blue["items"]), blue["items"]
    await chat.say("show me pens")
    _, black = await chat.say("in black")
    assert black["items"] and all(_in_colour(c["title"], "black") for c in black["items"]), black["items"]
    _, cheaper = await chat.say("a cheaper one")
    assert cheaper["reading"]["route"] == "refine_products"
    assert all(_in_colour(c["title"], "black") for c in cheaper["items"]), cheaper["items"]
    await chat.close()


async def test_how_much_is_it_about_the_order_in_focus_gives_its_total(live_server, db):
    """Failed before the fix: with an order in focus and no item shown, "how much is it?" was a new
    question (answered from the FAQ about minimum orders)."""
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "processing"
                                      and len(open_orders(os)) == 1, "one processing order")
    order = orders[0]
    total = sum(ln.unit_price * ln.quantity for ln in order.lines)
    chat = await open_chat(live_server, customer)
    await chat.say("where is my order?")
    _, cost = await chat.say("how much was it?")
    assert cost["reading"]["followup"] == "order_cost", cost
    assert cost["order"]["order_id"] == order.id and f"${total:.2f}" in cost["text"]
    await chat.close()


async def test_cancelling_a_delivered_or_cancelled_order_says_what_can_be_done(live_server, db):
    """Failed before the fix: a delivered order was told "once it arrives you can return it", and a
    cancelled one "was cancelled, so it can no longer be cancelled"."""
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "delivered", "a delivered order")
    chat = await open_chat(live_server, customer)
    _, reply = await chat.say(f"please cancel order #{orders[0].id}")
    assert "return" in reply["text"] and "once it arrives" not in reply["text"].lower(), reply["text"]
    await chat.close()
    customer, orders = customer_where(db, lambda os: any(o.status == "cancelled" for o in os), "a cancelled order")
    cancelled = next(o for o in orders if o.status == "cancelled")
    chat = await open_chat(live_server, customer)
    _, reply = await chat.say(f"please cancel order #{cancelled.id}")
    assert "already cancelled" in reply["text"], reply["text"]
    await chat.close()


async def test_search_lists_available_items_first_and_marks_the_others(live_server):
    chat = await open_chat(live_server)
    _, found = await chat.say("do you have a stapler?")
    flags = [c["available"] for c in found["items"]]
    assert flags == sorted(flags, reverse=True), found["items"]  # no in-stock card after an out-of-stock one
    assert all(c["stock"] is not None for c in found["items"])
    await chat.close()


async def test_an_item_out_of_stock_now_is_marked_listed_after_the_others_and_never_suggested(live_server, db):
    """The stock is the store's at the moment of the answer: an item whose stock drops to 0 leaves the top of
    the same search (listed after the available ones and marked, or left out), its detail says so, and it is
    not suggested (no test had an out-of-stock item before)."""
    chat = await open_chat(live_server)
    _, before = await chat.say("do you have staplers?")
    first = before["items"][0]
    assert first["available"], before["items"]
    db.execute(update(Item).where(Item.id == first["item_id"]).values(stock=0))
    db.commit()
    try:
        _, detail = await chat.say("the first one")  # picked from the cards shown while it was in stock
        assert "out of stock" in detail["text"] and detail["items"][0]["available"] is False, detail
        _, after = await chat.say("do you have staplers?")
        flags = [c["available"] for c in after["items"]]
        assert flags == sorted(flags, reverse=True) and after["items"][0]["item_id"] != first["item_id"]
        gone = [c for c in after["items"] if c["item_id"] == first["item_id"]]
        assert all(c["available"] is False and c["stock"] == 0 for c in gone)
        _, suggested = await chat.say(f"can you recommend something like {first['title'][:50]}?")
        assert first["item_id"] not in {c["item_id"] for c in suggested["items"]}
        assert all(c["available"] for c in suggested["items"])
    finally:
        db.execute(update(Item).where(Item.id == first["item_id"]).values(stock=first["stock"]))
        db.commit()
        await chat.close()


async def test_new_address_is_asked_confirmed_written_and_recorded(live_server, db):
    customer, orders = customer_where(db, lambda os: len([o for o in os if o.status == "processing"]) == 1,
                                      "one processing order")
    order = next(o for o in orders if o.status == "processing")
    chat = await open_chat(live_server, customer)
    _, asked = await chat.say("I need to change my shipping address")
    assert f"#{order.id}" in asked["text"] and "address" in asked["text"]
    _, question = await chat.say("12 Elm Street, Springfield 4021")
    assert "12 Elm Street" in question["text"] and question["options"]
    db.expire_all()
    assert db.get(Order, order.id).shipping_address == ""  # nothing written before the yes
    _, done = await chat.say("yes")
    assert done["order"]["address"] == "12 Elm Street, Springfield 4021"
    db.expire_all()
    assert db.get(Order, order.id).shipping_address == "12 Elm Street, Springfield 4021"
    assert db.scalar(select(func.count()).select_from(OrderAction).where(OrderAction.order_id == order.id)) == 1
    await chat.close()


async def test_a_return_gets_its_own_number_which_track_refund_reads(live_server, db):
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "delivered", "a delivered order")
    order = orders[0]
    chat = await open_chat(live_server, customer)
    _, question = await chat.say(f"I want to return order #{order.id}")
    assert "return request" in question["text"], question
    _, done = await chat.say("yes")
    request = db.scalars(select(ReturnRequest).where(ReturnRequest.order_id == order.id)).one()
    assert f"R-{request.id}" in done["text"] and done["order"]["returns"][0]["number"] == f"R-{request.id}"
    _, status = await chat.say("where is my refund?")
    assert f"R-{request.id}" in status["text"] and "requested" in status["text"]
    await chat.close()


async def test_removing_an_item_before_shipment_and_changing_a_shipped_order_hands_over(live_server, db):
    def two_line_processing(os):
        return bool(os) and os[0].status == "processing" and len(os[0].lines) >= 2
    customer, orders = customer_where(db, two_line_processing, "a processing order with two items")
    order = orders[0]
    line_id, item_id = order.lines[0].id, order.lines[0].item_id
    title = db.get(Item, item_id).title
    chat = await open_chat(live_server, customer)
    _, question = await chat.say(f"remove {title[:40]} from order #{order.id}")
    assert "remove" in question["text"].lower() and question["options"], question
    _, done = await chat.say("yes")
    assert "removed" in done["text"]
    assert db.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.id == line_id)) == 0
    await chat.close()

    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "shipped", "a shipped order")
    chat = await open_chat(live_server, customer)
    _, reply = await chat.say(f"remove the first item from order #{orders[0].id}")
    assert reply["handoff"] is True
    assert (await chat.recv_type("status"))["state"] == "waiting"  # the handoff is stored by now
    db.expire_all()
    assert "order #" in db.get(ChatSession, chat.session["session_id"]).handoff_reason
    await chat.close()


async def test_a_delivered_order_cannot_be_changed_and_is_not_handed_over_for_it(live_server, db):
    """Failed before the fix: "change the delivery address" with only delivered orders handed the shopper to a
    person "who can contact the carrier", and removing an item of a delivered order handed over too; a
    delivered order has no shipment to redirect: the bot says so (and offers a return for an item)."""
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "delivered" and not open_orders(os),
                                      "only sent orders, the latest delivered")
    chat = await open_chat(live_server, customer)
    _, address = await chat.say("I need to change the delivery address")
    assert address["handoff"] is False and "delivered" in address["text"], address["text"]
    assert address["order"]["status"] == "delivered"
    _, item = await chat.say(f"remove the first item from order #{orders[0].id}")
    assert item["handoff"] is False and "return it" in item["text"], item["text"]
    await chat.close()


async def test_a_payment_problem_hands_over_with_the_order_attached(live_server, db):
    customer, orders = customer_where(db, bool, "an order")
    chat = await open_chat(live_server, customer)
    _, reply = await chat.say(f"my payment for order #{orders[0].id} failed but I was charged")
    assert reply["handoff"] is True and reply["order"]["order_id"] == orders[0].id, reply
    await chat.close()


async def test_the_same_confirmation_applied_twice_writes_once(live_server, db):
    """A retried "yes" (a second worker re-running the turn) finds the first write by its key."""
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "processing", "a processing order")
    engine = make_async_engine(live_server.settings.resolved_database_url)
    tools = OrderTools(async_session_factory(engine))
    args = {"address": "1 Same Road 99"}
    first = await tools.apply("change_address", customer, orders[0].id, args, "key-twice", "s")
    again = await tools.apply("change_address", customer, orders[0].id, args, "key-twice", "s")
    await engine.dispose()
    assert first.done and not first.repeated and again.done and again.repeated
    assert db.scalar(select(func.count()).select_from(OrderAction).where(OrderAction.key == "key-twice")) == 1


async def test_another_worker_continues_the_dialogue_from_the_store(live_server, db):
    """The context lives in chat_sessions.dialogue, not in a worker: a second server on the same store
    resolves "cancel it" against the order the first one talked about."""
    from tests.conftest import LiveServer

    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "processing"
                                      and len(open_orders(os)) == 1, "one processing order")
    session = await start_session(live_server.url, customer)
    first = await ChatClient.open(live_server.ws_url, session)
    await first.say("where is my order?")
    await first.close()
    other = LiveServer(live_server.settings).start()
    try:
        second = await ChatClient.open(other.ws_url, session)
        _, question = await second.say("cancel it")
        assert question["reading"]["followup"] == "cancel_it" and f"#{orders[0].id}" in question["text"]
        await second.close()
    finally:
        other.stop()


async def test_items_bought_recently_are_not_suggested_or_found_again(live_server, db):
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "delivered", "a delivered order")
    since = utcnow() - timedelta(days=live_server.settings.exclude_bought_days)
    bought = {ln.item_id for o in orders for ln in o.lines if o.status != "cancelled" and o.created_at >= since}
    title = db.get(Item, orders[0].lines[0].item_id).title
    chat = await open_chat(live_server, customer)
    _, found = await chat.say(f"do you have {title[:60]}?")
    _, suggested = await chat.say("can you recommend something for my office?")
    assert not bought & {c["item_id"] for c in found["items"] + suggested["items"]}
    assert all(c["available"] for c in suggested["items"])  # suggestions are things one can buy now
    await chat.close()


async def test_the_quantity_of_an_item_changes_before_shipment_after_a_yes(live_server, db):
    customer, orders = customer_where(db, lambda os: bool(os) and os[0].status == "processing"
                                      and len(open_orders(os)) == 1, "one processing order")
    order = orders[0]
    line_id, item_id = order.lines[0].id, order.lines[0].item_id
    title = db.get(Item, item_id).title
    chat = await open_chat(live_server, customer)
    _, question = await chat.say(f"change the quantity of {title[:40]} in order #{order.id} to 3")
    assert "to 3" in question["text"] and question["options"], question
    _, done = await chat.say("yes")
    assert "now has 3 x" in done["text"]
    assert db.scalar(select(OrderLine.quantity).where(OrderLine.id == line_id).execution_options(
        populate_existing=True)) == 3
    await chat.close()
