"""Load on several workers: `shopassist serve --workers N` on PostgreSQL + Redis + a Chroma server, then
bench/chat_latency.py with 100 and 300 shoppers pausing ~2 s between messages, and a closed loop.

Needs SHOPASSIST_DATABASE_URL, SHOPASSIST_REDIS_URL and SHOPASSIST_CHROMA_URL of a shop built by
`shopassist setup`. For each worker count it starts the server on --port, runs the loads one after the
other, prints chat_latency's report of each, and stops the server.

    .venv/bin/python bench/scaleout_load.py --workers 1 2 --shoppers 100 300 --port 8420
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.config import get_settings

BENCH = Path(__file__).resolve().parent


def start_server(workers: int, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-c", "from assistant.cli import app; app()", "serve",
                               "--workers", str(workers), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                time.sleep(5 * workers)  # the other workers finish loading their models
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    sys.exit("the server did not start within 600 s")


def run_load(port: int, extra: list[str]) -> None:
    command = [sys.executable, str(BENCH / "chat_latency.py"), "--url", f"http://127.0.0.1:{port}", *extra]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=False, timeout=1800)
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shoppers", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--think-ms", type=float, default=2000)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--closed-loop-sessions", type=int, default=20, help="0: skip the capacity run")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    settings = get_settings()
    if not (settings.redis_url and settings.chroma_url and settings.database_url):
        sys.exit("set SHOPASSIST_DATABASE_URL, SHOPASSIST_REDIS_URL and SHOPASSIST_CHROMA_URL")
    for workers in args.workers:
        print(f"=== {workers} worker(s); load average {os.getloadavg()[0]:.1f} ===", flush=True)
        server = start_server(workers, args.port)
        try:
            for shoppers in args.shoppers:
                run_load(args.port, ["--sessions", str(shoppers), "--turns", str(args.turns),
                                     "--think-ms", str(args.think_ms), "--ramp-s", str(args.think_ms / 1000)])
            if args.closed_loop_sessions:
                run_load(args.port, ["--sessions", str(args.closed_loop_sessions), "--turns", str(args.turns)])
        finally:
            server.terminate()
            server.wait(timeout=60)
        print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
