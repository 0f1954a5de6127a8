"""Store round trips per chat turn: the server in this process, every PostgreSQL command it sends counted.

Runs the app (the shop of the SHOPASSIST_* settings, PostgreSQL by SHOPASSIST_DATABASE_URL) under uvicorn on
--port, opens anonymous sessions and sends bench/chat_latency.py's scripted mix one turn at a time, then prints
per answered turn: the round trips (each statement, BEGIN, COMMIT, ROLLBACK and ping is one), the statements
by kind, and the pool checkouts. The count hooks two private functions of psycopg 3 (one runs each query,
prepared or not, the other each transaction command): a measuring tool, never used by the server.

    .venv/bin/python bench/store_round_trips.py --turns 30 --port 8530
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import uuid
from collections import Counter

import httpx
import psycopg._connection_base as connection_base
import psycopg._cursor_base as cursor_base
import uvicorn
import websockets
from sqlalchemy import event

from assistant.app import create_app, server_options
from assistant.config import get_settings
from bench.chat_latency import MIX, SCRIPT

counts: Counter = Counter()


def count_round_trips() -> None:
    send_command, send_query = connection_base.BaseConnection._exec_command, cursor_base.BaseCursor._maybe_prepare_gen

    def exec_command(self, command, *args, **kwargs):
        counts["round trips"] += 1
        counts[bytes(command).decode().split(" ")[0]] += 1  # BEGIN, COMMIT, ROLLBACK
        return send_command(self, command, *args, **kwargs)

    def run_query(self, *args, **kwargs):
        counts["round trips"] += 1
        return send_query(self, *args, **kwargs)

    connection_base.BaseConnection._exec_command = exec_command
    cursor_base.BaseCursor._maybe_prepare_gen = run_query


def count_statements(engine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement, *_args) -> None:
        counts["statements: " + " ".join(statement.split()[:3])[:40]] += 1

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(*_args) -> None:
        counts["pool checkouts"] += 1


async def converse(base: str, ws_base: str, turns: int) -> int:
    answered, session = 0, 0
    async with httpx.AsyncClient(timeout=30) as http:
        while answered < turns:
            body = (await http.post(f"{base}/api/sessions", json={})).json()
            async with websockets.connect(f"{ws_base}/ws/chat?session_id={body['session_id']}") as ws:
                await ws.send(json.dumps({"type": "auth", "token": body["token"]}))
                for turn in range(5):
                    kind = MIX[(session + turn) % len(MIX)]
                    await ws.send(json.dumps({"type": "message", "text": SCRIPT[kind][turn % len(SCRIPT[kind])],
                                              "client_msg_id": uuid.uuid4().hex}))
                    frame = {}
                    while not (frame.get("type") == "reply" and frame.get("author") != "shopper"):
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    answered += 1
                    if frame.get("handoff") or answered == turns:
                        break
            session += 1
    return answered


async def main(args) -> None:
    settings = get_settings()
    if not (settings.database_url or "").startswith("postgresql"):
        raise SystemExit("set SHOPASSIST_DATABASE_URL to the shop's PostgreSQL database")
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                                           **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await asyncio.sleep(0.1)
    base, ws_base = f"http://127.0.0.1:{args.port}", f"ws://127.0.0.1:{args.port}"
    try:
        await converse(base, ws_base, 5)  # warm-up: models loaded, pool filled
        count_round_trips()
        count_statements(app.state.runtime.engine)
        counts.clear()
        answered = await converse(base, ws_base, args.turns)
        await asyncio.sleep(0.5)  # the last turn's exposures and lease release
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    print(f"PostgreSQL per answered turn ({answered} turns, anonymous sessions, the chat_latency mix):")
    for name, n in sorted(counts.items(), key=lambda kv: (not kv[0].startswith("round"), -kv[1])):
        print(f"  {n / answered:6.2f}  {name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--port", type=int, default=8530)
    asyncio.run(main(parser.parse_args()))
