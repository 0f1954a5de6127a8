"""Answering "Which order do you mean?": the quick reply's value, an ordinal, or the order's number alone."""

from __future__ import annotations

import pytest

from assistant.agent.graph import DialogueNodes
from assistant.agent.order_tools import OrderSummary
from assistant.agent.toolbox import Toolbox
from assistant.config import Settings

ORDERS = [OrderSummary(o, "delivered", "01 Nov 2026", "05 Nov 2026", [f"Item {o}"], 10.0,
                       timeline=[{"status": "delivered", "at": "2026-11-05T10:00:00Z", "note": ""}])
          for o in (31, 27)]


class Orders:
    async def recent_orders(self, customer_id, n=5):
        return ORDERS

    async def order(self, customer_id, order_id):
        return next((o for o in ORDERS if o.order_id == order_id), None)


@pytest.fixture
def nodes() -> DialogueNodes:
    return DialogueNodes(Toolbox(settings=Settings(), intents=None, faq=None, products=None, orders=Orders(),
                                 catalog=None))


@pytest.mark.parametrize(("text", "order_id"), [
    ("order #27", 27), ("the second one", 27), ("27", 27), ("31 please", 31), ("number 27", 27),
])
async def test_the_shopper_picks_an_offered_order(nodes, text, order_id):
    """Failed before the fix: the order's number typed alone ("27", as the button's label shows it) was
    not read as a choice, and the shopper was asked "Which order do you mean?" again."""
    asked = await nodes.track_order({"text": "where is my order?", "customer_id": "c1", "dialogue": None})
    assert [o["value"] for o in asked["options"]] == ["order #31", "order #27"]
    out = await nodes.confirm({"text": text, "customer_id": "c1", "dialogue": asked["dialogue"],
                               "pending": asked["next_pending"],
                               "reading": {"intent": "track_order", "confidence": 0.3, "fallback": True}})
    assert out["order"]["order_id"] == order_id and f"#{order_id}" in out["reply"], out


async def test_a_number_not_offered_asks_again(nodes):
    asked = await nodes.track_order({"text": "where is my order?", "customer_id": "c1", "dialogue": None})
    out = await nodes.confirm({"text": "5", "customer_id": "c1", "dialogue": asked["dialogue"],
                               "pending": asked["next_pending"],
                               "reading": {"intent": "track_order", "confidence": 0.3, "fallback": True}})
    assert out["reply"] == "Which order do you mean?" and len(out["options"]) == 2
