"""The dialogue graph (LangGraph): classify the message, route by intent, compose the answer.

    classify -> {faq | track_order | cancel_order | confirm | products | recommend | smalltalk
                 | out_of_scope | handoff} -> second_intent -> END

Nodes are async functions of the state; blocking work (Chroma, the recommender) runs in threads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph import END, StateGraph

from assistant.agent import replies
from assistant.agent.order_tools import order_number_in
from assistant.agent.product_query import parse_product_query
from assistant.agent.routing import ROUTES, route_for
from assistant.agent.state import DialogueState
from assistant.agent.toolbox import Toolbox
from recommender.ab import DEFAULT_VARIANTS

SECOND_REQUEST_FAQ_POOL = 10  # entries searched for one written for the second question


def _as_dict(reading: Any) -> dict[str, Any]:
    return reading.model_dump() if hasattr(reading, "model_dump") else dict(reading)


class DialogueNodes:
    """The graph's nodes, bound to a toolbox; each is testable alone with a hand-made state."""

    def __init__(self, tools: Toolbox) -> None:
        self.t = tools
        self._variant_models: dict[tuple[int, str], Any] = {}

    def _recommender_for(self, variant: str):
        """The current recommender with the serving options of the session's A/B variant."""
        rec = self.t.recommender.current
        if rec is None or variant not in DEFAULT_VARIANTS:
            return rec
        key = (id(rec), variant)
        if key not in self._variant_models:
            self._variant_models = {key: rec.with_config(DEFAULT_VARIANTS[variant].apply(rec.config))}
        return self._variant_models[key]

    # ---- classify and route ----
    async def classify(self, state: DialogueState) -> DialogueState:
        reading = _as_dict(await self.t.intents.classify(state["text"]))
        route = route_for(reading["intent"], fallback=reading.get("fallback", False),
                          pending=state.get("pending"))
        return {"reading": reading, "route": route, "faq_ids": [], "items": [], "handoff": False,
                "handoff_reason": None, "next_pending": None}

    @staticmethod
    def pick_route(state: DialogueState) -> str:
        return state["route"]

    # ---- answers ----
    async def faq(self, state: DialogueState) -> DialogueState:
        intent = state["reading"]["intent"]
        hits = await asyncio.to_thread(self.t.faq.search, state["text"], self.t.settings.faq_top_k, intent)
        best = [h for h in hits if h.score >= self.t.settings.faq_min_score or intent in h.intents]
        if not best:
            return {"reply": replies.NO_FAQ, "handoff": True, "handoff_reason": "no_answer"}
        return {"reply": best[0].answer, "faq_ids": [best[0].faq_id]}

    async def _faq_written_for(self, text: str, intent: str) -> DialogueState:
        """The closest entry written for `intent` (a second question: the whole message is closer to the
        first question's entry, which the first answer already gave)."""
        hits = await asyncio.to_thread(self.t.faq.search, text, SECOND_REQUEST_FAQ_POOL, intent)
        tagged = [h for h in hits if intent in h.intents]
        return {"reply": tagged[0].answer, "faq_ids": [tagged[0].faq_id]} if tagged else {"handoff": True}

    async def track_order(self, state: DialogueState) -> DialogueState:
        customer = state.get("customer_id")
        if not customer:
            return {"reply": replies.SIGN_IN}
        orders = await self.t.orders.recent_orders(customer)
        if not orders:
            return {"reply": replies.NO_ORDERS}
        asked = order_number_in(state["text"])
        if asked is not None:
            order = next((o for o in orders if o.order_id == asked), None) or await self.t.orders.order(
                customer, asked)
            if order is None:
                listing = ", ".join(f"#{o.order_id}" for o in orders)
                return {"reply": replies.UNKNOWN_ORDER.format(order_id=asked, orders=listing)}
            return {"reply": _status_text(order)}
        text = _status_text(orders[0])
        others = [o for o in orders[1:] if o.status != "delivered"]
        if others:
            text += " You also have " + "; ".join(
                f"#{o.order_id} ({o.status})" for o in others[:3]) + ". Ask me about one by its number."
        return {"reply": text}

    async def cancel_order(self, state: DialogueState) -> DialogueState:
        customer = state.get("customer_id")
        if not customer:
            return {"reply": replies.SIGN_IN}
        asked = order_number_in(state["text"])
        orders = await self.t.orders.recent_orders(customer)
        if asked is not None:
            target = await self.t.orders.order(customer, asked)
            if target is None:
                listing = ", ".join(f"#{o.order_id}" for o in orders) or "none"
                return {"reply": replies.UNKNOWN_ORDER.format(order_id=asked, orders=listing)}
        else:
            target = next((o for o in orders if o.status == "processing"), orders[0] if orders else None)
        if target is None:
            return {"reply": replies.NO_ORDERS}
        if target.status != "processing":
            return {"reply": replies.CANCEL_TOO_LATE.format(
                order_id=target.order_id, status_sentence=replies.STATUS_SENTENCE.get(target.status, ""))}
        return {"reply": replies.CANCEL_CONFIRM.format(order=target.describe()),
                "next_pending": {"action": "cancel_order", "order_id": target.order_id}}

    async def confirm(self, state: DialogueState) -> DialogueState:
        pending = state.get("pending") or {}
        order_id = pending.get("order_id")
        answer = replies.yes_or_no(state["text"])
        if answer is None:
            if state["reading"]["intent"] not in ("cancel_order",) and not state["reading"].get("fallback"):
                # the shopper moved on: drop the question and answer the new message instead
                state = {**state, "pending": None}
                return await getattr(self, route_for(state["reading"]["intent"], fallback=False,
                                                     pending=None))(state)
            return {"reply": replies.CONFIRM_AGAIN.format(order_id=order_id), "next_pending": pending}
        if not answer:
            return {"reply": replies.CANCEL_KEPT.format(order_id=order_id)}
        customer = state.get("customer_id") or ""
        if await self.t.orders.cancel(customer, order_id):
            return {"reply": replies.CANCELLED.format(order_id=order_id)}
        now = await self.t.orders.order(customer, order_id)
        return {"reply": replies.CANCEL_RACE.format(order_id=order_id, status=now.status if now else "?")}

    async def products(self, state: DialogueState) -> DialogueState:
        q = parse_product_query(state["text"])
        hits = await asyncio.to_thread(self.t.products.search, q.text, self.t.settings.product_top_k,
                                       q.max_price, q.min_price)
        if not hits:
            return {"reply": replies.NO_PRODUCTS}
        cards = [{"item_id": h.item_id, "title": h.title, "price": h.price, "score": round(h.score, 4),
                  "reason": f"matches \"{q.text}\""} for h in hits]
        return {"reply": replies.PRODUCTS_FOUND.format(query=q.text), "items": cards}

    async def recommend(self, state: DialogueState) -> DialogueState:
        rec = self._recommender_for(state.get("variant", "A"))
        if rec is None:
            return await self.products(state)
        customer = state.get("customer_id")
        history = await self.t.catalog.purchased_items(customer) if customer else []
        profile = customer or state["session_id"]
        recs = await asyncio.to_thread(rec.recommend, history, state["text"], self.t.settings.recs_k, (),
                                       profile)
        info = await self.t.catalog.items([r.item_id for r in recs])
        cards = [{"item_id": r.item_id, "title": info[r.item_id].title, "price": info[r.item_id].price,
                  "score": round(float(r.score), 4), "reason": r.reason} for r in recs if r.item_id in info]
        if not cards:
            return await self.products(state)
        return {"reply": replies.RECOMMENDED, "items": cards}

    async def smalltalk(self, state: DialogueState) -> DialogueState:
        return {"reply": replies.SMALLTALK[state["reading"]["intent"]]}

    async def out_of_scope(self, state: DialogueState) -> DialogueState:
        streak = state.get("fallback_streak", 0) + 1
        if 0 < self.t.settings.handoff_after_fallbacks <= streak:
            return {"reply": replies.HANDOFF, "handoff": True, "handoff_reason": "repeated_fallback"}
        return {"reply": replies.OUT_OF_SCOPE}

    async def complaint(self, state: DialogueState) -> DialogueState:
        """A complaint is answered from the FAQ until the Nth one, which goes to a person."""
        nth = state.get("complaints", 0) + 1
        if 0 < self.t.settings.handoff_after_complaints <= nth:
            return {"reply": replies.HANDOFF_COMPLAINT, "handoff": True, "handoff_reason": "complaint"}
        return await self.faq(state)

    async def handoff(self, state: DialogueState) -> DialogueState:
        explicit = state["reading"]["intent"] == "contact_human_agent"
        if explicit and not self.t.settings.handoff_on_request:
            return await self.faq(state)
        if not explicit and not self.t.settings.handoff_on_low_confidence:
            return await self.out_of_scope(state)
        return {"reply": replies.HANDOFF, "handoff": True,
                "handoff_reason": "requested" if explicit else "low_confidence"}

    async def second_intent(self, state: DialogueState) -> DialogueState:
        """A coordinated message ("refund me, and where is my parcel") gets both answers."""
        second = state["reading"].get("secondary_intent")
        if not second or state.get("handoff") or state["route"] == "confirm":
            return {}
        route = route_for(second, fallback=False, pending=None)
        # two FAQ questions get two entries; a second order status would repeat the first
        if route not in ("faq", "track_order") or (route == state["route"] and route != "faq"):
            return {}
        if route == "faq":
            extra = await self._faq_written_for(state["text"], second)
        else:
            extra = await self.track_order({**state, "reading": {**state["reading"], "intent": second}})
        if extra.get("handoff") or set(extra.get("faq_ids", [])) & set(state.get("faq_ids", [])):
            return {}
        return {"reply": f"{state['reply']}\n\n{extra['reply']}",
                "faq_ids": state.get("faq_ids", []) + extra.get("faq_ids", [])}

    async def polish(self, state: DialogueState) -> DialogueState:
        """With an LLM configured, rewrite the composed answer (facts stay those retrieved)."""
        if self.t.llm is None or state.get("handoff"):
            return {}
        prompt = (f"Rewrite this shop assistant answer to the shopper's message, keeping every fact.\n"
                  f"Message: {state['text']}\nAnswer: {state['reply']}")
        out = await self.t.llm.ainvoke(prompt)
        return {"reply": str(out.content).strip() or state["reply"]}


def _status_text(order) -> str:
    sentence = replies.STATUS_SENTENCE.get(order.status, f"is {order.status}")
    return f"Your {order.describe()} {sentence} (last update {order.updated})."


def build_dialogue_graph(tools: Toolbox):
    nodes = DialogueNodes(tools)
    g = StateGraph(DialogueState)
    g.add_node("classify", nodes.classify)
    for route in ROUTES:
        g.add_node(route, getattr(nodes, route))
        g.add_edge(route, "second_intent")
    g.add_node("second_intent", nodes.second_intent)
    g.add_node("polish", nodes.polish)
    g.set_entry_point("classify")
    g.add_conditional_edges("classify", nodes.pick_route, {r: r for r in ROUTES})
    g.add_edge("second_intent", "polish")
    g.add_edge("polish", END)
    return g.compile()
