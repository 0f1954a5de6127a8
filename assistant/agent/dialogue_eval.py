"""`shopassist eval-dialogues FILE.yaml`: written multi-turn dialogues run through the real chat server.

The file is a YAML list; each dialogue has `name`, `customer` and `turns`; each turn has `say` and any of
`intent`, `route` (the graph node's name), `handoff` (bool), `min_items`, `options` (quick replies at
least) and `reply_contains` (case-insensitive fragments). A turn is right when every expectation holds;
a dialogue succeeds when all its turns are right.

`customer` is a demo customer id, null for an anonymous shopper, or `?profile` (see PROFILES): a demo
customer whose orders fit the story, picked from the store, a different one for each dialogue of a run
(actions change orders). `{order}`, `{order2}` in `say` and `reply_contains` are that customer's orders
of the profile, `{item}` a word of the first order's first item.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from assistant.security import customer_signature
from assistant.store.models import Customer, Item, Order

OPEN = ("processing", "shipped")


class Turn(BaseModel):
    say: str
    intent: str | None = None
    route: str | None = None
    handoff: bool | None = None
    min_items: int | None = None
    options: int | None = None
    reply_contains: list[str] = Field(default_factory=list)


class Dialogue(BaseModel):
    name: str
    customer: str | None = None
    turns: list[Turn]


def load_dialogues(path: Path) -> list[Dialogue]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a YAML list of dialogues is expected")
    return [Dialogue.model_validate(d) for d in data]


# ---- profiles: which demo customer fits a story (orders newest first, at most 5 looked at) ----

def _open(orders: list[Order]) -> list[Order]:
    return [o for o in orders if o.status in OPEN]


def _only_processing(orders: list[Order]) -> list[Order]:
    processing = [o for o in orders if o.status == "processing"]
    return processing if len(processing) == 1 and len(_open(orders)) == 1 else []


PROFILES: dict[str, Callable[[list[Order]], list[Order]]] = {
    "several_orders": lambda os: os if len(os) >= 2 and not _open(os) else [],  # asked which one
    "one_processing": _only_processing,
    "processing_two_items": lambda os: [o for o in _only_processing(os) if len(o.lines) >= 2],
    "shipped_only_open": lambda os: _open(os) if len(_open(os)) == 1 and _open(os)[0].status == "shipped" else [],
    "delivered_latest": lambda os: [os[0]] if os and os[0].status == "delivered" and not _open(os) else [],
    "any_orders": lambda os: os[:2] if os else [],
}


@dataclass
class CustomerPicker:
    """Picks a distinct demo customer per dialogue for a profile, from the store."""

    database_url: str
    used: set[str] = field(default_factory=set)

    def pick(self, profile: str) -> tuple[str, dict[str, str]]:
        from assistant.store.database import make_engine, session_factory

        test = PROFILES[profile]
        engine = make_engine(self.database_url)
        try:
            with session_factory(engine)() as db:
                return self._first_fitting(db, test, profile)
        finally:
            engine.dispose()

    def _first_fitting(self, db: Session, test, profile: str) -> tuple[str, dict[str, str]]:
        for customer in db.scalars(select(Customer.id).order_by(Customer.id)):
            if customer in self.used:
                continue
            orders = list(db.scalars(select(Order).where(Order.customer_id == customer)
                                     .order_by(Order.created_at.desc(), Order.id.desc()).limit(5)
                                     .options(selectinload(Order.lines))))
            fitting = test(orders)
            if fitting:
                self.used.add(customer)
                return customer, self._slots(db, fitting)
        raise LookupError(f"no demo customer left for profile {profile!r}")

    @staticmethod
    def _slots(db: Session, orders: list[Order]) -> dict[str, str]:
        slots = {"order": str(orders[0].id)}
        if len(orders) > 1:
            slots["order2"] = str(orders[1].id)
        title = db.scalar(select(Item.title).where(Item.id == orders[0].lines[0].item_id)) if orders[0].lines else ""
        words = [w for w in re.findall(r"[A-Za-z]{4,}", title or "")]
        slots["item"] = " ".join(words[:3]) or "item"
        return slots


# ---- running ----

def turn_failures(turn: Turn, reply: dict[str, Any], slots: dict[str, str]) -> list[str]:
    """Which expectations of `turn` the reply frame misses (empty: the turn is right)."""
    reading = reply.get("reading") or {}
    misses = []
    if turn.intent is not None and reply.get("intent") != turn.intent:
        misses.append(f"intent {reply.get('intent')} != {turn.intent}")
    if turn.route is not None and reading.get("route") != turn.route:
        misses.append(f"route {reading.get('route')} != {turn.route}")
    if turn.handoff is not None and bool(reply.get("handoff")) != turn.handoff:
        misses.append(f"handoff {reply.get('handoff')} != {turn.handoff}")
    if turn.min_items is not None and len(reply.get("items") or []) < turn.min_items:
        misses.append(f"{len(reply.get('items') or [])} items < {turn.min_items}")
    if turn.options is not None and len(reply.get("options") or []) < turn.options:
        misses.append(f"{len(reply.get('options') or [])} options < {turn.options}")
    text = (reply.get("text") or "").lower()
    for fragment in turn.reply_contains:
        if fill(fragment, slots).lower() not in text:
            misses.append(f"reply lacks {fill(fragment, slots)!r}")
    return misses


def fill(text: str, slots: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: slots.get(m.group(1), m.group(0)), text)


class ServerChat:
    """One shopper's conversation over the real HTTP + websocket API."""

    def __init__(self, base_url: str, identity_secret: str | None, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = identity_secret
        self.timeout_s = timeout_s

    async def run(self, dialogue: Dialogue, customer: str | None, slots: dict[str, str]) -> list[list[str]]:
        import httpx
        import websockets

        body: dict[str, Any] = {}
        if customer:
            body = {"customer_id": customer}
            if self.secret:
                body["customer_sig"] = customer_signature(self.secret, customer)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s) as http:
            resp = await http.post("/api/sessions", json=body)
            resp.raise_for_status()
            session = resp.json()
        scheme, host = ("wss" if self.base_url.startswith("https") else "ws"), self.base_url.split("://", 1)[1]
        url = f"{scheme}://{host}/ws/chat?session_id={session['session_id']}"
        results = []
        async with websockets.connect(url, max_size=1 << 22) as ws:
            await ws.send(json.dumps({"type": "auth", "token": session["token"]}))  # never in the URL
            for turn in dialogue.turns:
                reply = await self._say(ws, fill(turn.say, slots))
                results.append(turn_failures(turn, reply, slots) if reply else ["no reply"])
                if reply and reply.get("handoff"):
                    break  # a person has the conversation now: the remaining turns count as not run
        results += [["not run (handed over)"]] * (len(dialogue.turns) - len(results))
        return results

    async def _say(self, ws, text: str) -> dict[str, Any] | None:
        msg_id = uuid.uuid4().hex
        await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": msg_id}))
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("type") == "error":
                        return None
                    if frame.get("type") == "reply" and frame.get("author") == "bot":
                        return frame
        except TimeoutError:
            return None


def run_dialogue_evaluation(settings: Any, path: Path, base_url: str) -> Iterator[str]:
    """One line per dialogue (name, turns right, first miss), then the summary JSON as the last line."""
    dialogues = load_dialogues(path)
    picker = CustomerPicker(settings.resolved_database_url)
    chat = ServerChat(base_url, getattr(settings, "identity_secret", None), settings.intent_eval_timeout_s)
    turns = right_turns = succeeded = 0
    for dialogue in dialogues:
        customer, slots = dialogue.customer, {}
        if customer and customer.startswith("?"):
            customer, slots = picker.pick(customer[1:])
        results = asyncio.run(chat.run(dialogue, customer, slots))
        ok = [not misses for misses in results]
        turns += len(ok)
        right_turns += sum(ok)
        succeeded += all(ok)
        first_miss = next((f"turn {i + 1}: {'; '.join(m)}" for i, m in enumerate(results) if m), "")
        yield f"{'ok ' if all(ok) else 'MISS'} {dialogue.name}: {sum(ok)}/{len(ok)} {first_miss}".rstrip()
    yield json.dumps({"dialogues": len(dialogues), "turns": turns,
                      "turn_accuracy": round(right_turns / turns, 4) if turns else None,
                      "dialogue_success": round(succeeded / len(dialogues), 4) if dialogues else None})


@contextlib.contextmanager
def serving(settings: Any, base_url: str | None) -> Iterator[str]:
    """The given server's URL, or this machine's app started for the run (uvicorn on a free loopback port)."""
    if base_url:
        yield base_url
        return
    import socket
    import threading
    import time

    import uvicorn

    from assistant.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the chat server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
