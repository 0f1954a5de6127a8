"""Load on several workers: `shopassist serve --workers N` on PostgreSQL + Redis + a Chroma server, then
bench/chat_latency.py with 100 and 300 shoppers pausing ~2 s between messages, and a closed loop.

Needs SHOPASSIST_DATABASE_URL, SHOPASSIST_REDIS_URL and SHOPASSIST_CHROMA_URL of a shop built by
`shopassist setup`. For each worker count it starts the server on --port, runs the loads one after the
other, prints chat_latency's report of each, and stops the server. After each load it also prints the
server's CPU time per answered message (all its processes, from /proc): on a machine shared with other
work, latency mostly says how busy the machine was, while CPU per message says what the server costs.

The server and each load run get this script's priority: started under `nice -n -10` (as root), they run
before the machine's other work. On Linux with autogroup scheduling a nice value only orders processes of
one session, and each session competes as one: so each child runs in its own session, whose autogroup
is given the same nice value.

    .venv/bin/python bench/scaleout_load.py --workers 1 2 --shoppers 100 300 --port 8420
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
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
    keep_priority(server.pid)
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


def keep_priority(pid: int) -> None:
    """Give a child started in a new session this process's nice value for its session's autogroup (Linux;
    elsewhere, or without the right to raise a priority, nothing changes)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(os.getpriority(os.PRIO_PROCESS, 0)))


def cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        tree.update(children)
        frontier += children
    return sum(times.get(pid, 0.0) for pid in tree)


def run_load(server: subprocess.Popen, port: int, extra: list[str]) -> None:
    command = [sys.executable, str(BENCH / "chat_latency.py"), "--url", f"http://127.0.0.1:{port}", *extra]
    print("$", " ".join(command[1:]), f"  (load average before: {os.getloadavg()[0]:.1f})", flush=True)
    before = cpu_seconds(server.pid)
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              start_new_session=True)
    keep_priority(client.pid)
    try:
        output = client.communicate(timeout=3600)[0]
    except subprocess.TimeoutExpired:
        client.kill()
        raise
    spent = cpu_seconds(server.pid) - before
    print(output, end="")
    answered = re.search(r"answered turns: (\d+)", output)
    if answered and int(answered[1]):
        print(f"server CPU per answered message: {spent * 1000 / int(answered[1]):.1f} ms"
              f"  (load average after: {os.getloadavg()[0]:.1f})")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shoppers", type=int, nargs="*", default=[100, 300])
    parser.add_argument("--think-ms", type=float, default=2000)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--closed-loop-sessions", type=int, default=20, help="0: skip the capacity run")
    parser.add_argument("--closed-loop-turns", type=int, default=None, help="turns of each closed-loop session "
                        "(default: --turns; more turns, a steadier figure)")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--max-seconds", type=float, default=900, help="limit of each load run")
    args = parser.parse_args()
    settings = get_settings()
    if not (settings.redis_url and settings.chroma_url and settings.database_url):
        sys.exit("set SHOPASSIST_DATABASE_URL, SHOPASSIST_REDIS_URL and SHOPASSIST_CHROMA_URL")
    for workers in args.workers:
        print(f"=== {workers} worker(s); load average {os.getloadavg()[0]:.1f} ===", flush=True)
        server = start_server(workers, args.port)
        try:
            for shoppers in args.shoppers:
                run_load(server, args.port, ["--sessions", str(shoppers), "--turns", str(args.turns),
                                             "--think-ms", str(args.think_ms), "--ramp-s", str(args.think_ms / 1000),
                                             "--max-seconds", str(args.max_seconds)])
            if args.closed_loop_sessions:
                run_load(server, args.port, ["--sessions", str(args.closed_loop_sessions),
                                             "--turns", str(args.closed_loop_turns or args.turns),
                                             "--max-seconds", str(args.max_seconds)])
        finally:
            server.terminate()
            server.wait(timeout=60)
        print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
