"""The dialogue graph (LangGraph): classify the message, resolve follow-ups against the dialogue
context, route, compose the answer.

    classify -> {faq | track_order | choose_order | cancel_order | change_address | change_item
                 | start_return | track_refund | payment_issue | confirm | products | item_detail
                 | refine_products | recommend | smalltalk | complaint | out_of_scope | handoff}
             -> finish (second_intent, offer_person, polish) -> END

Nodes are async functions of the state; blocking work (Chroma, the recommender) runs in threads.
Order nodes live in order_nodes.py, product nodes in product_nodes.py; the follow-up table in
followups.py and the intent table in routing.py decide the route.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph import END, StateGraph

from assistant.agent import replies
from assistant.agent.actions import confirmation_question
from assistant.agent.answer_selection import choose_entry
from assistant.agent.dialogue import DialogueContext
from assistant.agent.followups import offered_number_in, ordinal_in, resolve_followup
from assistant.agent.order_nodes import OrderDialogue
from assistant.agent.order_tools import order_number_in
from assistant.agent.person_request import OFFER_PERSON, PERSON_OPTION, asks_for_person, task_in
from assistant.agent.product_nodes import ProductDialogue
from assistant.agent.routing import HUMAN, ROUTES, route_for
from assistant.agent.state import DialogueState
from assistant.agent.toolbox import Toolbox
from assistant.intent.frustration import policy_from_settings
from recommender.serving import ServingSettings
from retrieval.faq_index import FaqHit

SECOND_REQUEST_FAQ_POOL = 10  # entries searched for one written for the second question
SERVED_COPIES = 16  # recommenders kept with other serving settings (variants of the running A/B test)


def _as_dict(reading: Any) -> dict[str, Any]:
    return reading.model_dump() if hasattr(reading, "model_dump") else dict(reading)


def choose_route(text: str, reading: dict[str, Any], dialogue: dict[str, Any] | None, signed_in: bool,
                 pending: dict[str, Any] | None) -> tuple[str, str | None]:
    """(route, follow-up row name): a pending question first, then a follow-up on the context, then the intent."""
    if pending:
        return "confirm", None
    followup = resolve_followup(text, DialogueContext.of(dialogue), signed_in)
    if followup is not None and reading["intent"] != "contact_human_agent":
        return followup.route, followup.name
    return route_for(reading["intent"], fallback=reading.get("fallback", False), pending=None, text=text), None


class DialogueNodes(OrderDialogue, ProductDialogue):
    """The graph's nodes, bound to a toolbox; each is testable alone with a hand-made state."""

    def __init__(self, tools: Toolbox) -> None:
        self.t = tools
        self._served_models: dict[tuple[int, int, ServingSettings], Any] = {}

    def _served(self, base, serving: ServingSettings):
        """The current recommender served with these settings (one copy per model, item set and settings)."""
        key = (id(base), id(base.current_scorer), serving)
        served = self._served_models.get(key)
        if served is None:
            if len(self._served_models) >= SERVED_COPIES:
                self._served_models.clear()  # a new model or item set: the old copies are stale
            served = self._served_models[key] = base.with_serving(serving)
        return served

    # ---- classify and route ----
    async def classify(self, state: DialogueState) -> DialogueState:
        reading = _as_dict(await self.t.intents.classify(state["text"]))
        pending = state.get("pending")
        offered = bool(pending) and pending.get("action") == OFFER_PERSON
        route, followup = choose_route(state["text"], reading, state.get("dialogue"),
                                       bool(state.get("customer_id")), None if offered else pending)
        # asked again after the bot offered a person (or "yes" to it): the shopper insists
        insists = offered and (reading["intent"] == HUMAN or asks_for_person(state["text"])
                               or replies.yes_or_no(state["text"]) is True)
        if insists:
            route = "handoff"
        policy = policy_from_settings(self.t.settings)
        mood = policy.read_mood(state["text"], reading)
        handover = policy.hands_over(mood, state.get("frustration", 0))
        if handover:
            route = "handoff"  # strong or repeated frustration: a person, at once
        return {"reading": reading, "route": route, "followup": followup,
                "mood": {**mood.model_dump(), "handover": handover}, "faq_ids": [], "faq_intents": [], "items": [],
                "handoff": False, "handoff_reason": None, "next_pending": None, "options": [], "order": None,
                "person_insisted": insists}

    @staticmethod
    async def pick_route(state: DialogueState) -> str:
        # async: LangGraph runs a plain function in the default thread pool, behind the retrieval calls
        return state["route"]

    # ---- answers ----
    async def faq(self, state: DialogueState) -> DialogueState:
        """A confidently read FAQ question: the best entry written for its intent (answer_selection.py)."""
        settings = self.t.settings
        hits = await asyncio.to_thread(self.t.faq.search, state["text"], settings.faq_candidate_pool)
        best = choose_entry(hits, state["reading"]["intent"], settings.faq_other_intent_margin,
                            settings.faq_min_score)
        if best is None:
            return {"reply": replies.NO_FAQ, "handoff": True, "handoff_reason": "no_answer"}
        return _answered_from(best)

    async def _faq_written_for(self, text: str, intent: str) -> DialogueState:
        """The closest entry written for `intent` (a second question: the whole message is closer to the
        first question's entry, which the first answer already gave)."""
        hits = await asyncio.to_thread(self.t.faq.search, text, self.t.settings.faq_candidate_pool)
        tagged = [h for h in hits if intent in h.intents]
        return _answered_from(tagged[0]) if tagged else {"handoff": True}

    async def confirm(self, state: DialogueState) -> DialogueState:
        """The answer to the question the bot asked last turn (which order, a new address, yes or no)."""
        pending = state.get("pending") or {}
        action = pending.get("action")
        if action == "choose_order":
            return await self._answer_choice(state, pending)
        if action == "await_address":
            return await self._answer_address(state, pending)
        answer = replies.yes_or_no(state["text"])
        if answer is None:
            if self._moved_on(state):
                return await self._reroute(state)
            return {"reply": replies.CONFIRM_AGAIN + " " + confirmation_question(pending),
                    "next_pending": pending, "options": replies.YES_NO}
        return await self.confirm_or_refuse(state, pending, answer)

    def _moved_on(self, state: DialogueState) -> bool:
        """The shopper wrote a new, confident request instead of answering the question."""
        reading = state["reading"]
        return not reading.get("fallback") and reading["intent"] not in ("cancel_order", "change_order",
                                                                          "change_shipping_address")

    async def _reroute(self, state: DialogueState) -> DialogueState:
        """Drop the question and answer the new message instead."""
        route, followup = choose_route(state["text"], state["reading"], state.get("dialogue"),
                                       bool(state.get("customer_id")), None)
        if route == "confirm":
            route = "faq"
        return await getattr(self, route)({**state, "pending": None, "followup": followup, "route": route})

    async def _answer_choice(self, state: DialogueState, pending: dict[str, Any]) -> DialogueState:
        ctx = DialogueContext.of(state.get("dialogue"))
        if (order_number_in(state["text"]) is not None or ordinal_in(state["text"]) is not None
                or offered_number_in(state["text"], ctx.offered_orders) is not None):
            return await self.choose_order(state)
        if self._moved_on(state):
            return await self._reroute(state)
        orders = [await self.t.orders.order(state.get("customer_id") or "", i) for i in ctx.offered_orders]
        return self.ask_which(state, [o for o in orders if o], pending.get("then", "track_order"))

    async def _answer_address(self, state: DialogueState, pending: dict[str, Any]) -> DialogueState:
        text = state["text"].strip()
        if not any(ch.isdigit() for ch in text) or len(text) < 6:
            if self._moved_on(state):
                return await self._reroute(state)
            return {"reply": replies.ASK_ADDRESS.format(order_id=pending["order_id"]), "next_pending": pending}
        ctx = DialogueContext.of(state.get("dialogue"))
        ctx.order_id = pending["order_id"]
        address = text.removeprefix("to ").strip(" .")
        return await self.change_address({**state, "dialogue": ctx.stored(), "pending": {"address": address}})

    async def smalltalk(self, state: DialogueState) -> DialogueState:
        if state.get("followup") == "bare_yes":
            return {"reply": replies.WHAT_ELSE}
        return {"reply": replies.SMALLTALK.get(state["reading"]["intent"], replies.WHAT_ELSE)}

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
        if (state.get("mood") or {}).get("handover"):
            return {"reply": replies.HANDOFF_FRUSTRATED, "handoff": True, "handoff_reason": "frustration"}
        explicit = state["reading"]["intent"] == HUMAN
        if explicit and not state.get("person_insisted"):
            answered = await self._task_asked_of_a_person(state)
            if answered is not None:
                return answered
        if explicit and not self.t.settings.handoff_on_request:
            return await self.faq(state)
        if not explicit and not self.t.settings.handoff_on_low_confidence:
            return await self.out_of_scope(state)
        return {"reply": replies.HANDOFF, "handoff": True,
                "handoff_reason": "requested" if explicit else "low_confidence"}

    async def _task_asked_of_a_person(self, state: DialogueState) -> DialogueState | None:
        """"Ask an agent to send my invoice": the invoice answer, a person offered with one button (None when
        the message asks for a person and nothing else, or its task cannot be answered here)."""
        task = task_in(state["text"])
        if task is None:
            return None
        reading = _as_dict(await self.t.intents.classify(task))
        route = route_for(reading["intent"], fallback=reading.get("fallback", False), pending=None, text=task)
        if route in ("handoff", "out_of_scope", "smalltalk"):
            return None
        answered = await getattr(self, route)({**state, "text": task, "route": route, "reading": reading})
        if answered.get("handoff"):
            return None
        return {**answered, "route": route, "reading": {**state["reading"], "task_intent": reading["intent"]},
                **_offer_person(answered)}

    async def offer_person(self, state: DialogueState) -> DialogueState:
        """A message answered by the bot that also asks for a person gets the one-button offer."""
        if state.get("handoff") or state.get("options") or not asks_for_person(state["text"]):
            return {}
        return _offer_person(state)

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
        repeated = set(extra.get("faq_ids", [])) & set(state.get("faq_ids", []))
        if extra.get("handoff") or extra.get("next_pending") or repeated:
            return {}
        return {"reply": f"{state['reply']}\n\n{extra['reply']}",
                "faq_ids": state.get("faq_ids", []) + extra.get("faq_ids", []),
                "faq_intents": state.get("faq_intents", []) + extra.get("faq_intents", [])}

    async def finish(self, state: DialogueState) -> DialogueState:
        """The answer's last touches, in order: the second request's answer, the person button, the LLM polish.

        One graph step, not three: each touch is a small function of the state, and every LangGraph step
        costs the server more than these do (~0.2 ms of CPU each, a tenth of a turn's graph).
        """
        update: DialogueState = {}
        for touch in (self.second_intent, self.offer_person, self.polish):
            update.update(await touch({**state, **update}))
        return update

    async def polish(self, state: DialogueState) -> DialogueState:
        """With an LLM configured, rewrite the composed answer (facts stay those retrieved)."""
        if self.t.llm is None or state.get("handoff"):
            return {}
        prompt = (f"Rewrite this shop assistant answer to the shopper's message, keeping every fact.\n"
                  f"Message: {state['text']}\nAnswer: {state['reply']}")
        out = await self.t.llm.ainvoke(prompt)
        return {"reply": str(out.content).strip() or state["reply"]}


def _offer_person(answer: DialogueState) -> DialogueState:
    """The person button and its sentence under an answer; a question the answer asked keeps its place."""
    offer = {"reply": f"{answer['reply']}\n\n{replies.PERSON_OFFER}",
             "options": [*(answer.get("options") or []), PERSON_OPTION]}
    return offer if answer.get("next_pending") else {**offer, "next_pending": {"action": OFFER_PERSON}}


def _answered_from(entry: FaqHit) -> DialogueState:
    return {"reply": entry.answer, "faq_ids": [entry.faq_id], "faq_intents": [list(entry.intents)]}


def build_dialogue_graph(tools: Toolbox):
    nodes = DialogueNodes(tools)
    g = StateGraph(DialogueState)
    g.add_node("classify", nodes.classify)
    for route in ROUTES:
        g.add_node(route, getattr(nodes, route))
        g.add_edge(route, "finish")
    g.add_node("finish", nodes.finish)
    g.set_entry_point("classify")
    g.add_conditional_edges("classify", nodes.pick_route, {r: r for r in ROUTES})
    g.add_edge("finish", END)
    return g.compile()
