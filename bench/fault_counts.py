"""Fault counts: run a real `shopassist serve`, inject a fault under steady shopper traffic, print what was lost.

Scenarios (each starts its own server process on --port, with the state dir and database given):
  sigkill   SIGKILL the server mid-traffic, restart it on the same port, let every shopper resume
  redis     restart a redis-server of our own (--redis-port) under the server's bus
  pg-drop   terminate the server's PostgreSQL connections (by its application_name) a few times

Prints one JSON line: sessions, acknowledged, lost, answered_twice, unanswered, not_seen (answered in the
store but never received by the shopper), close codes and error frames seen by the shoppers.

    .venv/bin/python bench/fault_counts.py --state-dir .state --scenario sigkill --sessions 10
    .venv/bin/python bench/fault_counts.py --state-dir .state --scenario sigkill \
        --database-url 'postgresql://127.0.0.1/test?options=-csearch_path%3Dmy_schema'

The state dir must hold a built demo shop (`shopassist setup`); the database (default: the state dir's
SQLite file) must hold it too. Traffic goes to loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.faults.harness import ServerProcess, Shopper, audit, server_env, settle, steady_traffic


async def run(args: argparse.Namespace, workdir: Path) -> dict:
    url, app_name = args.database_url, None
    if url and url.startswith("postgres"):
        app_name = f"shopassist-bench-{uuid.uuid4().hex[:8]}"
        url += ("&" if "?" in url else "?") + f"application_name={app_name}"
    redis = _start_redis(args.redis_port, workdir) if args.scenario == "redis" else None
    redis_url = f"redis://127.0.0.1:{args.redis_port}/0" if redis else None
    server = ServerProcess(server_env(Path(args.state_dir), url, redis_url=redis_url), args.port,
                           Path(args.log) if args.log else workdir / "server.log")
    await asyncio.to_thread(server.start)
    try:
        shoppers = [await Shopper.start(server.url) for _ in range(args.sessions)]
        started = time.monotonic()
        async with steady_traffic(server.ws_url, shoppers) as sending:
            await asyncio.sleep(args.before_s)
            if args.scenario == "sigkill":
                await asyncio.to_thread(server.kill)
                await asyncio.to_thread(server.start)
            elif args.scenario == "redis":
                redis.kill()
                redis.wait(10)
                await asyncio.sleep(1)
                redis = _start_redis(args.redis_port, workdir)
            else:
                for _ in range(4):
                    await asyncio.to_thread(_drop_connections, app_name)
                    await asyncio.sleep(0.7)
            await asyncio.sleep(args.after_s)
            sending.clear()
            await settle(shoppers, timeout_s=60)
        figures = await audit(server.url, shoppers)
        return {"scenario": args.scenario, "backend": "postgres" if app_name else "sqlite",
                "seconds": round(time.monotonic() - started, 1), **json.loads(figures.as_line())}
    finally:
        server.stop()
        if redis is not None:
            redis.kill()


def _start_redis(port: int, workdir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc


def _drop_connections(application_name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'test' "
                     "AND pid <> pg_backend_pid() AND application_name = %s", (application_name,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--scenario", choices=["sigkill", "redis", "pg-drop"], default="sigkill")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--port", type=int, default=8320)
    parser.add_argument("--redis-port", type=int, default=8379)
    parser.add_argument("--log", default=None, help="keep the server's log in this file")
    parser.add_argument("--before-s", type=float, default=3.0, help="steady traffic before the fault")
    parser.add_argument("--after-s", type=float, default=2.0, help="steady traffic after the fault")
    args = parser.parse_args()
    if args.scenario == "pg-drop" and not (args.database_url or "").startswith("postgres"):
        parser.error("pg-drop needs --database-url postgresql://...")
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(run(args, Path(tmp)))))


if __name__ == "__main__":
    main()
