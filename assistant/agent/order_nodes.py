"""The order side of the dialogue: which order the shopper means, its status, and the confirmed
actions of assistant/agent/actions.py (cancel, new address, remove an item, return or refund)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from assistant.agent import replies
from assistant.agent.actions import (
    ACTIONS,
    ALREADY,
    OPEN,
    PROCESSING,
    RETURN_HINT,
    SENT,
    OrderActionSpec,
    address_in,
    line_named,
    quantity_in,
    return_kind,
    wants_removal,
)
from assistant.agent.dialogue import DialogueContext
from assistant.agent.followups import offered_number_in, pick_by_ordinal
from assistant.agent.order_tools import OrderSummary, order_number_in
from assistant.agent.state import DialogueState
from assistant.store.models import OrderStatus

DELIVERY_DAYS = {"processing": 5, "shipped": 3}  # the demo shop's promise, counted from the last step


def context_of(state: DialogueState) -> DialogueContext:
    return DialogueContext.of(state.get("dialogue"))


class OrderPicked:
    """The order a request is about, or the reply that asks which one."""

    def __init__(self, order: OrderSummary | None = None, reply: DialogueState | None = None) -> None:
        self.order = order
        self.reply = reply


def status_text(order: OrderSummary) -> str:
    sentence = replies.STATUS_SENTENCE.get(order.status, f"is {order.status}")
    text = f"Your {order.describe()} {sentence} (last update {order.updated})."
    eta = expected_date(order)
    if eta:
        text += " " + replies.ETA[order.status].format(eta=eta)
    return text


def expected_date(order: OrderSummary) -> str | None:
    if not order.timeline or order.status not in replies.ETA or order.status == "cancelled":
        return None
    last = datetime.fromisoformat(order.timeline[-1]["at"].rstrip("Z"))
    return (last + timedelta(days=DELIVERY_DAYS.get(order.status, 0))).strftime("%d %b %Y")


def with_order(order: OrderSummary, state: DialogueState, **out: Any) -> DialogueState:
    """A reply about `order`: its card, and the order becomes the conversation's focus."""
    ctx = context_of(state)
    ctx.order_id, ctx.offered_orders, ctx.focus = order.order_id, [], "order"
    return {"order": order.card(), "dialogue": ctx.stored(), **out}


class OrderDialogue:
    t: Any

    async def pick_order(self, state: DialogueState, candidates: frozenset[str], then: str,
                         ask_all: bool = False) -> OrderPicked:
        """The order the shopper means: a number in the text, else the one in focus, else the only
        candidate; with several candidates the shopper is asked, with one quick reply per order
        (`ask_all`: with no candidate, every recent order is one)."""
        customer = state["customer_id"]
        ctx = context_of(state)
        asked = order_number_in(state["text"])
        orders = await self.t.orders.recent_orders(customer, self.t.settings.dialogue_orders)
        if asked is not None:
            order = next((o for o in orders if o.order_id == asked), None) or await self.t.orders.order(customer, asked)
            if order is None:
                listing = ", ".join(f"#{o.order_id}" for o in orders) or "none"
                return OrderPicked(reply={"reply": replies.UNKNOWN_ORDER.format(order_id=asked, orders=listing)})
            return OrderPicked(order)
        if ctx.order_id is not None:
            focused = await self.t.orders.order(customer, ctx.order_id)
            if focused is not None:
                return OrderPicked(focused)
        if not orders:
            return OrderPicked(reply={"reply": replies.NO_ORDERS})
        pool = [o for o in orders if o.status in candidates]
        if not pool and ask_all:
            pool = orders  # none fits better: any of the recent orders may be meant
        if len(pool) > 1:
            return OrderPicked(reply=self.ask_which(state, pool, then))
        # none fits: the latest order still on its way (a person can still reach it), else the latest
        return OrderPicked(pool[0] if pool else next((o for o in orders if o.status in OPEN), orders[0]))

    def ask_which(self, state: DialogueState, orders: list[OrderSummary], then: str) -> DialogueState:
        ctx = context_of(state)
        ctx.offered_orders = [o.order_id for o in orders]
        return {"reply": replies.WHICH_ORDER, "dialogue": ctx.stored(),
                "options": [{"label": o.label(), "value": f"order #{o.order_id}"} for o in orders],
                "next_pending": {"action": "choose_order", "then": then, "text": state["text"]}}

    # ---- status ----
    async def track_order(self, state: DialogueState) -> DialogueState:
        if not state.get("customer_id"):
            return {"reply": replies.SIGN_IN}
        picked = await self.pick_order(state, OPEN, "track_order", ask_all=True)
        if picked.reply:
            return picked.reply
        return with_order(picked.order, state, reply=status_text(picked.order))

    async def choose_order(self, state: DialogueState) -> DialogueState:
        """"what about my other order?", or "the second one" after the shopper was asked which order."""
        customer = state.get("customer_id")
        if not customer:
            return {"reply": replies.SIGN_IN}
        ctx = context_of(state)
        orders = await self.t.orders.recent_orders(customer, self.t.settings.dialogue_orders)
        chosen = (order_number_in(state["text"]) or offered_number_in(state["text"], ctx.offered_orders)
                  or pick_by_ordinal(state["text"], ctx.offered_orders))
        if chosen is None:
            others = [o for o in orders if o.order_id != ctx.order_id]
            if not others:
                return {"reply": replies.NO_OTHER_ORDER.format(order_id=ctx.order_id) if ctx.order_id
                        else replies.NO_ORDERS}
            if len(others) == 1:
                chosen = others[0].order_id
            else:
                return self.ask_which(state, others, "track_order")
        ctx.order_id, ctx.offered_orders = chosen, []
        then = (state.get("pending") or {}).get("then", "track_order")
        text = (state.get("pending") or {}).get("text", state["text"])
        return await getattr(self, then)({**state, "text": text, "dialogue": ctx.stored(), "pending": None})

    async def track_refund(self, state: DialogueState) -> DialogueState:
        customer = state.get("customer_id")
        if not customer:
            return await self.faq(state)
        ctx = context_of(state)
        order_id = order_number_in(state["text"]) or ctx.order_id
        found = await self.t.orders.returns(customer, order_id) or await self.t.orders.returns(customer)
        if not found:
            return {**await self.faq(state), "reply": replies.NO_RETURNS + " " + (await self.faq(state))["reply"]}
        latest = found[0]
        order = await self.t.orders.order(customer, latest["order_id"])
        return with_order(order, state, reply=replies.REFUND_STATUS.format(**latest))

    async def payment_issue(self, state: DialogueState) -> DialogueState:
        """A payment problem goes to a person, with the order attached."""
        customer = state.get("customer_id")
        if not customer:
            return {"reply": replies.PAYMENT_HANDOFF_ANON, "handoff": True, "handoff_reason": "payment_issue"}
        picked = await self.pick_order(state, frozenset(), "payment_issue")
        order = picked.order
        if order is None:
            return {"reply": replies.PAYMENT_HANDOFF_ANON, "handoff": True, "handoff_reason": "payment_issue"}
        return with_order(order, state, reply=replies.PAYMENT_HANDOFF.format(order=order.describe()), handoff=True,
                          handoff_reason=f"payment_issue: order #{order.order_id}")

    # ---- actions ----
    async def cancel_order(self, state: DialogueState) -> DialogueState:
        return await self._start_action(state, ACTIONS["cancel_order"], "cancel_order", {})

    async def change_address(self, state: DialogueState) -> DialogueState:
        address = (state.get("pending") or {}).get("address") or address_in(state["text"])
        if address is None and state.get("customer_id"):
            picked = await self.pick_order(state, PROCESSING, "change_address")
            if picked.reply:
                return picked.reply
            if picked.order.status not in ACTIONS["change_address"].allowed:
                return self._too_late(state, ACTIONS["change_address"], picked.order)
            return with_order(picked.order, state, reply=replies.ASK_ADDRESS.format(order_id=picked.order.order_id),
                              next_pending={"action": "await_address", "order_id": picked.order.order_id})
        return await self._start_action(state, ACTIONS["change_address"], "change_address", {"address": address})

    async def change_item(self, state: DialogueState) -> DialogueState:
        if not state.get("customer_id"):
            return await self.faq(state)
        spec = ACTIONS["remove_item"]
        picked = await self.pick_order(state, PROCESSING, "change_item")
        if picked.reply:
            return picked.reply
        order = picked.order
        if order.status not in spec.allowed:
            return self._too_late(state, spec, order)
        quantity = quantity_in(state["text"])
        if not wants_removal(state["text"]) and quantity is None:
            return with_order(order, state, reply=replies.CHANGE_HANDOFF.format(order_id=order.order_id),
                              handoff=True, handoff_reason=f"change_order: order #{order.order_id}")
        line = line_named(state["text"], order.lines) or pick_by_ordinal(state["text"], order.lines)
        if line is None and len(order.lines) == 1:
            line = order.lines[0]
        if line is not None and quantity is not None:
            return self._ask(state, ACTIONS["change_quantity"], order,
                             {"line_id": line.line_id, "title": line.title, "quantity": quantity})
        if line is None:
            return with_order(order, state, reply=replies.WHICH_LINE.format(order_id=order.order_id),
                              options=[{"label": ln.title[:40], "value": f"remove {ln.title[:60]}"}
                                       for ln in order.lines])
        if len(order.lines) == 1:
            return with_order(order, state, reply=replies.ONLY_LINE.format(title=line.title, order_id=order.order_id))
        return self._ask(state, spec, order, {"line_id": line.line_id, "title": line.title})

    async def start_return(self, state: DialogueState) -> DialogueState:
        if not state.get("customer_id"):
            return await self.faq(state)
        return await self._start_action(state, ACTIONS["start_return"], "start_return",
                                        {"kind": return_kind(state["text"]), "reason": state["text"][:500]})

    async def _start_action(self, state: DialogueState, spec: OrderActionSpec, route: str,
                            args: dict[str, Any]) -> DialogueState:
        if not state.get("customer_id"):
            return {"reply": replies.SIGN_IN}
        picked = await self.pick_order(state, spec.candidates, route)
        if picked.reply:
            return picked.reply
        order = picked.order
        if order.status not in spec.allowed:
            return self._too_late(state, spec, order)
        if spec.name == "start_return":
            open_request = next((r for r in order.returns if r["status"] == "requested"), None)
            if open_request:
                return with_order(order, state, reply=replies.RETURN_OPEN.format(**open_request))
        return self._ask(state, spec, order, args)

    def _ask(self, state: DialogueState, spec: OrderActionSpec, order: OrderSummary, args: dict[str, Any]):
        # the key makes the confirmation idempotent: a retried or re-run "yes" finds the first write
        pending = {"action": spec.name, "order_id": order.order_id, "args": args, "key": uuid.uuid4().hex}
        return with_order(order, state, reply=spec.ask.format(order=order.describe(), **args),
                          next_pending=pending, options=replies.YES_NO)

    def _too_late(self, state: DialogueState, spec: OrderActionSpec, order: OrderSummary) -> DialogueState:
        sentence = replies.STATUS_SENTENCE.get(order.status, f"is {order.status}")
        if order.status == OrderStatus.CANCELLED:
            return with_order(order, state, reply=ALREADY.format(order_id=order.order_id))
        delivered = order.status == OrderStatus.DELIVERED and spec.delivered
        text = (spec.delivered if delivered else spec.too_late).format(
            order_id=order.order_id, status_sentence=sentence, return_hint=RETURN_HINT.get(order.status, "")).strip()
        out = with_order(order, state, reply=text)
        if spec.handoff_when_too_late and not delivered:
            out.update(handoff=True, handoff_reason=f"{spec.name}_too_late: order #{order.order_id} {order.status}")
        return out

    async def apply_confirmed(self, state: DialogueState, pending: dict[str, Any]) -> DialogueState:
        """The shopper said yes: apply the action once, then show the order as it is now."""
        spec = ACTIONS[pending["action"]]
        customer = state.get("customer_id") or ""
        order_id = pending["order_id"]
        args = pending.get("args", {})
        outcome = await self.t.orders.apply(spec.name, customer, order_id, args, pending["key"],
                                            state.get("session_id"))
        order = await self.t.orders.order(customer, order_id)
        if not outcome.done:
            return self._too_late(state, spec, order)
        detail = outcome.detail or {}
        if not detail and spec.name == "start_return":  # repeated: the request the first write opened
            detail = next(iter(order.returns[-1:]), {"number": "?"})
        return with_order(order, state, reply=spec.done.format(order_id=order_id, **{**args, **detail}))

    async def confirm_or_refuse(self, state: DialogueState, pending: dict[str, Any], answer: bool) -> DialogueState:
        if answer:
            return await self.apply_confirmed(state, pending)
        spec = ACTIONS[pending["action"]]
        return {"reply": spec.kept.format(order_id=pending["order_id"], **pending.get("args", {}))}


__all__ = ["OrderDialogue", "SENT", "context_of"]
