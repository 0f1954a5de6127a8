"""Chat latency benchmark: N concurrent shopper websocket sessions against a running Shopassist server.

Each session (half of them signed in as demo customers, when the server lists any) sends a scripted,
deterministic mix of greetings, FAQ questions, order-status questions, product searches and requests
for recommendations, one turn at a time, for a bounded number of turns. A turn's latency is the time
from sending the message frame to receiving the bot's ``reply`` frame. Prints p50/p95/p99 turn latency,
ack latency and messages per second (shopper messages answered per second, all sessions together).
By default every session sends its next message as soon as the reply arrives (a closed loop: the
worst case, latency grows with N once the server is saturated); ``--think-ms`` paces sessions like
shoppers who read and type between messages.

    shopassist serve --demo &               # or `make run` (demo: signed-in sessions)
    .venv/bin/python bench/chat_latency.py  # N=20, 10 turns each
    .venv/bin/python bench/chat_latency.py --sessions 50 --turns 5 --url http://127.0.0.1:8000

Traffic goes to loopback addresses only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import random
import socket
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx
from websockets.asyncio.client import connect

from assistant.config import get_settings

SCRIPT: dict[str, list[str]] = {
    "greeting": ["Hi there!", "Hello, anyone around?", "Good morning", "Thanks, that's all!"],
    "faq": [
        "How long does shipping take?",
        "What is your return policy?",
        "Can I pay with PayPal?",
        "Do your products come with a warranty?",
        "How do I change my delivery address?",
        "How can I get a refund?",
    ],
    "order": ["Where is my order?", "What's the status of my last order?", "Has my order shipped yet?"],
    "product": [
        "Do you have a black stapler under $20?",
        "I'm looking for gel pens",
        "Do you sell paper shredders?",
        "I need sticky notes in bright colours",
    ],
    "recommendation": [
        "What would you recommend for my home office?",
        "Any suggestions for organising my desk?",
        "What else would go well with a stapler?",
    ],
}
# the order in which a session walks through the kinds (shifted per session, so the mix is concurrent)
MIX = ["greeting", "faq", "product", "order", "recommendation", "faq", "product", "faq", "recommendation",
       "order"]


@dataclass
class Results:
    turn_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    intents: Counter = field(default_factory=Counter)
    timeouts: int = 0
    errors: Counter = field(default_factory=Counter)
    handoffs: int = 0
    sessions_opened: int = 0


def message_for(session_index: int, turn: int) -> tuple[str, str]:
    kind = MIX[(session_index + turn) % len(MIX)]
    texts = SCRIPT[kind]
    return kind, texts[(session_index * 7 + turn) % len(texts)]


def recased(text: str, rng: random.Random) -> str:
    """The same words in a random letter case: the uncased MiniLM models read it as the original, but no
    cache keyed by text can answer it (real shoppers rarely send the exact same message twice)."""
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        sys.exit(f"refusing to load {host}: this benchmark only targets loopback addresses")


async def open_session(http: httpx.AsyncClient, base: str, customer_id: str | None) -> tuple[str, str]:
    response = await http.post(f"{base}/api/sessions", json={"customer_id": customer_id} if customer_id else {})
    response.raise_for_status()
    body = response.json()
    return body["session_id"], body["token"]


def socket_url(base: str, session_id: str) -> str:
    ws_base = "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]
    return f"{ws_base}/ws/chat?{urlencode({'session_id': session_id})}"


async def authenticate(ws, token: str) -> None:
    """The first frame carries the token (never the URL)."""
    await ws.send(json.dumps({"type": "auth", "token": token}))


async def one_turn(ws, text: str, timeout_s: float) -> tuple[float | None, float, dict]:
    """Send one message; return (ack latency, reply latency, reply frame). Raises TimeoutError."""
    client_msg_id = uuid.uuid4().hex
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
    ack_ms = None
    async with asyncio.timeout(timeout_s):
        while True:
            frame = json.loads(await ws.recv())
            kind = frame.get("type")
            if kind == "ack" and frame.get("client_msg_id") == client_msg_id:
                ack_ms = (time.perf_counter() - started) * 1000
            elif kind == "reply" and frame.get("author", "bot") != "shopper":
                return ack_ms, (time.perf_counter() - started) * 1000, frame
            elif kind == "error":
                raise RuntimeError(f"error frame: {frame.get('code')}")


async def run_session(index: int, args, customers: list[str], results: Results, http: httpx.AsyncClient) -> None:
    customer = customers[index % len(customers)] if customers and index % 2 == 0 else None
    if args.ramp_s:  # shoppers arrive one after another over the ramp, not all in the same millisecond
        await asyncio.sleep(args.ramp_s * index / args.sessions)
    rng = random.Random(index)
    casing = random.Random()  # seeded afresh on every run, so a second run meets no cached message either
    turn = 0
    reopen_budget = 3  # a handed-off session is replaced by a fresh one, a bounded number of times
    while turn < args.turns and reopen_budget > 0:
        reopen_budget -= 1
        session_id, token = await open_session(http, args.url, customer)
        results.sessions_opened += 1
        async with connect(socket_url(args.url, session_id), open_timeout=args.timeout) as ws:
            await authenticate(ws, token)
            while turn < args.turns:
                kind, text = message_for(index, turn)
                text = recased(text, casing) if args.fresh_text else text
                turn += 1
                try:
                    ack_ms, reply_ms, frame = await one_turn(ws, text, args.timeout)
                except TimeoutError:
                    results.timeouts += 1
                    break
                except RuntimeError as exc:
                    results.errors[str(exc)] += 1
                    continue
                results.turn_ms.append(reply_ms)
                results.by_kind.setdefault(kind, []).append(reply_ms)
                if ack_ms is not None:
                    results.ack_ms.append(ack_ms)
                results.intents[frame.get("intent") or "-"] += 1
                if frame.get("handoff"):
                    results.handoffs += 1
                    break
                if args.think_ms:  # a shopper reads and types: 0.5x to 1.5x the mean think time
                    await asyncio.sleep(args.think_ms / 1000 * rng.uniform(0.5, 1.5))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


async def warm_up(args, http: httpx.AsyncClient) -> None:
    """A few turns on one session so lazy model loading is not measured."""
    session_id, token = await open_session(http, args.url, None)
    async with connect(socket_url(args.url, session_id), open_timeout=args.timeout) as ws:
        await authenticate(ws, token)
        for kind in ("greeting", "faq", "product", "recommendation"):
            with contextlib.suppress(TimeoutError, RuntimeError):
                await one_turn(ws, SCRIPT[kind][0], args.timeout * 4)


async def demo_customers(http: httpx.AsyncClient, base: str) -> list[str]:
    try:
        response = await http.get(f"{base}/api/demo/customers")
        response.raise_for_status()
        return [str(c["id"]) for c in response.json()]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []


async def main(args) -> Results:
    results = Results()
    async with httpx.AsyncClient(timeout=args.timeout) as http:
        customers = await demo_customers(http, args.url)
        if args.warmup:
            await warm_up(args, http)
        started = time.perf_counter()
        async with asyncio.timeout(args.max_seconds):
            outcomes = await asyncio.gather(
                *(run_session(i, args, customers, results, http) for i in range(args.sessions)),
                return_exceptions=True,
            )
        elapsed = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            results.errors[f"session failed: {type(outcome).__name__}: {outcome}"[:120]] += 1
    report(args, results, elapsed, bool(customers))
    return results


def report(args, results: Results, elapsed: float, signed_in: bool) -> None:
    turns = results.turn_ms
    pacing = f"think {args.think_ms:.0f} ms" if args.think_ms else "closed loop, no think time"
    pacing += f", arrivals over {args.ramp_s:g} s" if args.ramp_s else ""
    print(f"shopassist chat latency  url={args.url}  sessions={args.sessions}  turns/session={args.turns}"
          f"  {pacing}  signed-in={'half' if signed_in else 'none'}")
    print(f"answered turns: {len(turns)}  timeouts: {results.timeouts}  errors: {sum(results.errors.values())}"
          f"  handoffs: {results.handoffs}  sessions opened: {results.sessions_opened}")
    if turns:
        print(f"turn latency ms: p50 {percentile(turns, 50):.1f}  p95 {percentile(turns, 95):.1f}"
              f"  p99 {percentile(turns, 99):.1f}  mean {statistics.fmean(turns):.1f}  max {max(turns):.1f}")
    if results.ack_ms:
        print(f"ack latency ms:  p50 {percentile(results.ack_ms, 50):.1f}  p95 {percentile(results.ack_ms, 95):.1f}")
    print(f"messages/s: {len(turns) / elapsed:.1f}  (wall {elapsed:.2f} s)")
    for kind, values in sorted(results.by_kind.items()):
        print(f"  {kind:<15} n={len(values):<4} p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}")
    print("intents: " + ", ".join(f"{k}={v}" for k, v in results.intents.most_common()))
    for error, count in results.errors.items():
        print(f"error x{count}: {error}")


def parse_args(argv: list[str] | None = None):
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://{settings.host}:{settings.port}", help="server base URL")
    parser.add_argument("--sessions", "-n", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--turns", type=int, default=10, help="messages per session")
    parser.add_argument("--think-ms", type=float, default=0,
                        help="mean pause between a reply and the next message (0: send at once, the worst case)")
    parser.add_argument("--ramp-s", type=float, default=0,
                        help="spread the sessions' first messages over this many seconds (0: all at once)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for one reply")
    parser.add_argument("--max-seconds", type=float, default=600, help="hard limit for the whole run")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false", help="skip the warm-up turns")
    parser.add_argument("--repeat-text", dest="fresh_text", action="store_false",
                        help="send the script's messages verbatim (repeats can hit the server's query cache)")
    args = parser.parse_args(argv)
    args.url = args.url.rstrip("/")
    args.sessions = max(1, min(args.sessions, 1000))
    args.turns = max(1, min(args.turns, 1000))
    return args


if __name__ == "__main__":
    arguments = parse_args()
    check_loopback(arguments.url)
    try:
        outcome = asyncio.run(main(arguments))
    except TimeoutError:
        sys.exit(f"the run exceeded --max-seconds={arguments.max_seconds}")
    sys.exit(0 if outcome.turn_ms else 1)
