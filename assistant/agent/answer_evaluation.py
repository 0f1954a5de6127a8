"""`eval-answers`: judge what a shopper receives, not only the reading: one fresh session per labelled message.

A row is right when the reply comes from an FAQ entry tagged with the row's intent, or from the graph route
that owns the intent (order tools, product search, small talk, out of scope); a request for a person is
right when it is handed over, or when the task it names is answered with a person offered (one button,
docs/protocol.md "Asking for a person"). A handoff is needless when no person was asked for and the
intent's own route does not hand over by design (a payment problem does). The reply frame's `reading`
carries the route, the FAQ entries used and their tags, so a running server can be judged from outside.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assistant.agent.person_request import PERSON_OPTION
from assistant.agent.routing import HUMAN, route_for
from assistant.intent.evaluation import TimedReply, ask_each_in_fresh_session, read_labelled_rows

HANDING_ROUTES = ("complaint", "payment_issue")  # routes that hand over by design (a repeated complaint, a payment)


@dataclass(frozen=True)
class Verdict:
    """How the reply to one labelled message went."""

    right: bool
    handoff: bool
    wrong_entry: bool  # answered from FAQ entries none of which is written for the row's intent
    route: str
    needless_handoff: bool = False  # handed over though no person was asked for and no route hands over by design


def judge(gold: str, frame: dict | None) -> Verdict:
    """The verdict on a reply frame (None: no reply came) for a message whose true intent is `gold`."""
    if frame is None:
        return Verdict(right=False, handoff=False, wrong_entry=False, route="no_reply")
    verdict = _verdict(gold, frame)
    owner = route_for(gold, fallback=False, pending=None)
    by_design = verdict.route == owner and owner in HANDING_ROUTES
    return replace(verdict, needless_handoff=verdict.handoff and gold != HUMAN and not by_design)


def _verdict(gold: str, frame: dict) -> Verdict:
    reading = frame.get("reading") or {}
    route = str(reading.get("route") or "unknown")
    handoff = bool(frame.get("handoff"))
    answer_intents = {i for tags in reading.get("faq_intents") or [] for i in tags}
    wrong_entry = bool(frame.get("faq_ids") or reading.get("faq_ids")) and gold not in answer_intents
    if gold == HUMAN:  # handed over, or the task named was answered with a person offered (one button)
        offered = any(o.get("value") == PERSON_OPTION["value"] for o in frame.get("options") or [])
        return Verdict(handoff or offered, handoff, wrong_entry, route)
    if answer_intents or wrong_entry:  # answered from the FAQ, whichever route looked it up
        right = gold in answer_intents
    else:  # answered by a tool, a search, small talk or the out-of-scope reply: the owning route must
        right = route == route_for(gold, fallback=False, pending=None) and (not handoff or route in HANDING_ROUTES)
    return Verdict(right, handoff, wrong_entry, route)


def summarise(gold: Sequence[str], verdicts: Sequence[Verdict], latencies_ms: Sequence[float]) -> dict:
    n = len(gold)
    asked_for_person = [v for g, v in zip(gold, verdicts, strict=True) if g == HUMAN]
    return {
        "n": n,
        "right": _share(sum(v.right for v in verdicts), n),
        "needless_handoff": _share(sum(v.needless_handoff for v in verdicts), n),
        "explicit_handoff_honoured": _share(sum(v.right for v in asked_for_person), len(asked_for_person)),
        "wrong_entry": _share(sum(v.wrong_entry for v in verdicts), n),
        "p50_ms": round(float(np.median(latencies_ms)), 2) if len(latencies_ms) else None,
    }


def per_intent_rows(gold: Sequence[str], verdicts: Sequence[Verdict]) -> list[dict]:
    rows = []
    for intent in sorted(set(gold)):
        mine = [v for g, v in zip(gold, verdicts, strict=True) if g == intent]
        missed = Counter(v.route + ("+handoff" if v.handoff else "") for v in mine if not v.right)
        rows.append({"intent": intent, "n": len(mine), "right": sum(v.right for v in mine) / len(mine),
                     "handoff": sum(v.handoff for v in mine), "wrong_entry": sum(v.wrong_entry for v in mine),
                     "missed_to": ", ".join(f"{r} {c}" for r, c in missed.most_common(2))})
    return rows


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def reply_frame_of(state: dict) -> dict:
    """The parts of the server's reply frame that `judge` reads, from a dialogue graph's final state."""
    return {"handoff": bool(state.get("handoff")), "faq_ids": state.get("faq_ids", []),
            "options": state.get("options") or [],
            "reading": {**state["reading"], "route": state["route"], "faq_ids": state.get("faq_ids", []),
                        "faq_intents": state.get("faq_intents", [])}}


async def _ask_in_process(settings, texts: Sequence[str]) -> list[TimedReply]:
    """Each text through the dialogue graph of a runtime built from `settings`, as a fresh anonymous session."""
    from assistant.runtime import build_runtime

    runtime = await build_runtime(settings)
    try:
        replies = []
        for text in tqdm(texts, desc="in process"):
            started = time.perf_counter()
            state = await runtime.chat.graph.ainvoke({"session_id": uuid.uuid4().hex, "customer_id": None,
                                                      "text": text, "pending": None, "fallback_streak": 0,
                                                      "variant": "A", "complaints": 0, "dialogue": None,
                                                      "frustration": 0})
            replies.append(TimedReply(reply_frame_of(state), (time.perf_counter() - started) * 1000.0))
        return replies
    finally:
        await runtime.close()


def run_answer_evaluation(settings, file: Path, through_server: str | None) -> Iterator[str]:
    """The lines `shopassist eval-answers` prints: the per-intent table, then one JSON summary."""
    texts, gold = read_labelled_rows(file)
    if through_server:
        replies = ask_each_in_fresh_session(through_server, texts, settings.intent_eval_concurrency,
                                            settings.intent_eval_timeout_s)
    else:
        replies = asyncio.run(_ask_in_process(settings, texts))
    verdicts = [judge(g, r.frame) for g, r in zip(gold, replies, strict=True)]
    yield f"{'intent':<26} {'n':>4} {'right':>6} {'handoff':>7} {'wrong_entry':>11}  missed to"
    for row in per_intent_rows(gold, verdicts):
        yield (f"{row['intent']:<26} {row['n']:>4} {row['right']:>6.3f} {row['handoff']:>7} "
               f"{row['wrong_entry']:>11}  {row['missed_to']}")
    yield json.dumps(summarise(gold, verdicts, [r.ms for r in replies]))

