"""Seeded fuzzing: thousands of hostile frames on a real shopper socket, hostile requests on every HTTP route.

What must hold: no 5xx, no close 1011, no `internal` error frame, and the server still answers a normal
message afterwards. The fuzz server runs on its own copy of the test shop (admin routes are fuzzed signed
in, and may change what they are given), on SQLite and on PostgreSQL. On main before the hardening
(issue 11, item 8) the first binary frame already dropped the socket, deep nesting answered `internal`,
and a NUL in a JSON body failed as a 500 on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import uuid
from collections import Counter

import httpx
import pytest
import websockets

from assistant.config import RateLimit
from tests.agent_console.client import add_agents
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, _database_url
from tests.security.conftest import with_limits

SEED = 20261201
FRAMES = 5000
FRAMES_PER_BATCH = 250
BODIES_PER_ROUTE = 12
# starting a retraining is a legitimate admin action that costs minutes of CPU: fuzzed signed out only
COSTLY_ROUTES = ("retrain",)

NASTY_STRINGS = ["", " ", "\x00", "a\x00b", "\u200b\u200d\ufeff", "\u202e", "💥" * 50, "\\ud800", "é" * 300,
                 "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "%00", "${jndi:x}", "\r\n\r\n",
                 "x" * 5000, "null", "true", "-1", "1e309", "NaN"]
NASTY_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 10**40, 1.5, -0.0, 1e308, float("inf")]
FRAME_TYPES = ["message", "event", "resume", "typing", "handoff_request", "leave_message", "feedback", "rating",
               "auth", "watch", "", None, 1, "MESSAGE"]
FIELDS = ["text", "client_msg_id", "kind", "item_id", "after_seq", "active", "contact", "seq", "helpful", "stars",
          "session_id", "token", "type"]


def nasty_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(NASTY_STRINGS)
    if roll < 0.6:
        return rng.choice(NASTY_NUMBERS)
    if roll < 0.7:
        return rng.choice([None, True, False])
    if roll < 0.85 and depth < 3:
        return [nasty_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 3:
        return {rng.choice(FIELDS + NASTY_STRINGS[:6]): nasty_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return rng.choice(NASTY_STRINGS)


def hostile_json(rng: random.Random, max_bytes: int) -> str:
    """A frame of a plausible type with fields missing, mistyped, hostile or extra."""
    frame = {"type": rng.choice(FRAME_TYPES)}
    for name in rng.sample(FIELDS, rng.randint(0, 5)):
        frame[name] = nasty_value(rng)
    text = json.dumps(frame, allow_nan=True)
    text = text.replace('"\\\\ud800"', '"\\ud800"')  # a real lone surrogate escape, not the 6 characters
    return text if len(text.encode()) <= max_bytes else text[: max_bytes // 2]


def hostile_frame(rng: random.Random, max_bytes: int) -> str | bytes:
    roll = rng.random()
    if roll < 0.08:
        return rng.randbytes(rng.randint(0, 200))
    if roll < 0.14:
        opener = rng.choice(["[", '{"a":', '{"type":"message","text":['])
        return opener * rng.randint(100, max_bytes // len(opener) - 1)
    if roll < 0.22:
        return "".join(chr(rng.choice([rng.randint(0, 0x2FF), rng.randint(0x2000, 0x206F), rng.randint(0xE000, 0xFFFD),
                                       rng.randint(0x1F300, 0x1FAFF)])) for _ in range(rng.randint(0, 300)))
    if roll < 0.27:
        return rng.choice(["", "null", "[]", "{}", '"message"', "1e999999", "-" * 50, "9" * 5000, "{" * 3 + "}"])
    return hostile_json(rng, max_bytes)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_server(request, sqlite_server, tmp_path_factory):
    """The default limits on a copy of the test shop, on SQLite, then on its own PostgreSQL schema (a NUL
    or an out-of-range number fails differently there); messages throttled hard: the bot answers few."""
    state = tmp_path_factory.mktemp("fuzz_state")
    shutil.copytree(sqlite_server.settings.state_dir, state, dirs_exist_ok=True)
    settings = with_limits(sqlite_server.settings.model_copy(update={
        "state_dir": state, "database_url": _database_url(request.param, state)}),
        message_rate_per_session=RateLimit(burst=5, per_minute=6))
    server = LiveServer(settings).start()
    yield server
    server.stop()


async def test_thousands_of_hostile_frames_leave_the_socket_and_server_working(fuzz_server):
    rng = random.Random(SEED)
    max_bytes = fuzz_server.settings.max_frame_bytes
    chat = await ChatClient.open(fuzz_server.ws_url, await start_session(fuzz_server.url))
    received: list[dict] = []

    async def read_until(sentinel: str) -> None:
        while True:
            frame = json.loads(await chat.ws.recv())
            received.append(frame)
            if frame.get("type") == "error" and sentinel in frame.get("detail", ""):
                return

    # in batches, each closed by a frame of an unknown type whose refusal names it: the server answers
    # every batch before the next (a client that floods faster than it reads misses keepalive pings)
    for batch in range(FRAMES // FRAMES_PER_BATCH):
        for _ in range(FRAMES_PER_BATCH):
            await chat.ws.send(hostile_frame(rng, max_bytes))
        sentinel = f"sentinel-{batch}-{uuid.uuid4().hex}"
        await chat.send({"type": sentinel})
        try:
            await asyncio.wait_for(read_until(sentinel), timeout=120)
        except websockets.ConnectionClosed as closed:
            pytest.fail(f"the server closed the socket after batch {batch}: {closed.rcvd}")
    codes = Counter(f.get("code") for f in received if f.get("type") == "error")
    assert codes["internal"] == 0, codes
    assert codes["bad_frame"] and codes["bad_json"], codes
    await chat.close()

    fresh = await ChatClient.open(fuzz_server.ws_url, await start_session(fuzz_server.url))
    _, reply = await fresh.say("hello")
    assert reply["author"] == "bot" and reply["text"]
    await fresh.close()


def path_values(rng: random.Random) -> list[str]:
    return ["1", "0", "-1", "99999999999999999999", "%00", "%F0%9F%92%A5", "a" * 300, "..%2F..%2Fetc",
            str(uuid.uuid4()), rng.choice(NASTY_STRINGS[:8]).encode().hex() or "x"]


def hostile_body(rng: random.Random) -> dict:
    """httpx arguments of one hostile request body."""
    roll = rng.random()
    if roll < 0.4:
        return {"content": json.dumps(nasty_value(rng), allow_nan=True).replace('"\\\\ud800"', '"\\ud800"'),
                "headers": {"content-type": "application/json"}}
    if roll < 0.55:
        return {"content": "[" * rng.randint(500, 20000), "headers": {"content-type": "application/json"}}
    if roll < 0.7:
        return {"content": rng.randbytes(rng.randint(0, 2000)),
                "headers": {"content-type": rng.choice(["application/json", "text/plain", "multipart/form-data"])}}
    if roll < 0.85:
        return {"files": {"file": ("x.csv", rng.randbytes(rng.randint(0, 3000)), "text/csv")}}
    return {"content": json.dumps({k: nasty_value(rng) for k in rng.sample(FIELDS + ["email", "password",
                                                                                      "question", "answer", "title",
                                                                                      "price", "stock", "intents"],
                                                                             6)}, allow_nan=True),
            "headers": {"content-type": "application/json"}}


def fuzzable_routes(app) -> list[tuple[str, str]]:
    """Every HTTP route of the app as (method, path template), from its OpenAPI description."""
    return sorted((method.upper(), path) for path, operations in app.openapi()["paths"].items()
                  for method in operations)


async def test_hostile_requests_on_every_route_never_get_a_5xx(fuzz_server):
    rng = random.Random(SEED + 1)
    admin, = add_agents(fuzz_server.settings, 1, role="admin", name="Fuzz")
    routes = fuzzable_routes(fuzz_server.app)
    assert len(routes) > 20
    failures = []
    async with httpx.AsyncClient(base_url=fuzz_server.url, timeout=120) as http:
        for method, path in routes:
            signed_in = not any(word in path for word in COSTLY_ROUTES)
            for n in range(BODIES_PER_ROUTE):
                url = re.sub(r"\{[^}]+\}", lambda _: rng.choice(path_values(rng)), path)
                headers = admin.headers if signed_in and n % 3 else {}
                kwargs = hostile_body(rng) if method in ("POST", "PUT", "PATCH") else {}
                kwargs["headers"] = {**kwargs.get("headers", {}), **headers}
                resp = await http.request(method, url, params={"limit": rng.choice(["-1", "1e9", "x"])},
                                          **kwargs)
                if resp.status_code >= 500:
                    failures.append((method, url[:80], resp.status_code, resp.text[:200]))
    assert failures == []
    async with httpx.AsyncClient(base_url=fuzz_server.url, timeout=60) as http:
        assert (await http.get("/healthz")).status_code == 200
