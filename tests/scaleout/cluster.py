"""A real small cluster for the scale-out tests: a Chroma server, two `shopassist serve` workers on PostgreSQL
and Redis, and Debian's nginx in front (the configuration of deploy/), all as subprocesses on loopback."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websockets

from assistant.config import REPO_ROOT

PORT_RANGE = range(8400, 8500)  # this work's port range on the shared machine
REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 300


def free_ports(count: int) -> list[int]:
    ports = []
    for port in PORT_RANGE:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    pytest.skip(f"no {count} free ports in {PORT_RANGE}")


def nginx_binary() -> str:
    """Debian's nginx, installed if missing; the test is skipped only when it cannot be installed."""
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return str(found)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["apt-get", "install", "-y", "nginx-light"], check=True, capture_output=True, timeout=600)
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.skip("nginx is not installed and `apt-get install nginx-light` failed")
    return str(found)


def nginx_config(folder: Path, listen: int, workers: list[int]) -> Path:
    """deploy/nginx-shopassist.conf with these ports, inside a main config that runs in `folder`.

    The main config adds an `X-Upstream` header (which worker answered), so tests can tell the workers apart.
    """
    site = (REPO_ROOT / "deploy" / "nginx-shopassist.conf").read_text()
    upstreams = "".join(f"    server 127.0.0.1:{port};\n" for port in workers)
    site = re.sub(r"(upstream shopassist \{\n)(?:.*\n)*?(    keepalive)", lambda m: m[1] + upstreams + m[2], site)
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{listen};", site)
    (folder / "shopassist.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
    main = (f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log stderr warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n    access_log off;\n{temp}    add_header X-Upstream $upstream_addr always;\n"
            f"    include {folder / 'shopassist.conf'};\n}}\n")
    path = folder / "nginx.conf"
    path.write_text(main)
    return path


def wait_until_up(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not start within {START_TIMEOUT_S} s")


@dataclass
class Cluster:
    """The processes, and how to reach each worker through nginx."""

    front: int
    workers: list[int]
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.front}"

    def worker_of(self, headers) -> int:
        """The port of the worker that answered, from nginx's X-Upstream header."""
        return int(headers["X-Upstream"].rsplit(":", 1)[1])

    async def connect_to(self, worker: int, path: str):
        """A websocket through nginx that nginx happened to send to `worker` (round robin: a few tries)."""
        for _ in range(10 * len(self.workers)):
            ws = await websockets.connect(self.ws_url + path, max_size=1 << 22)
            if self.worker_of(ws.response.headers) == worker:
                return ws
            await ws.close()
        raise AssertionError(f"nginx never sent a websocket to worker {worker}")

    async def get_from(self, worker: int, http: httpx.AsyncClient, path: str) -> httpx.Response:
        """A GET through nginx answered by `worker`."""
        for _ in range(10 * len(self.workers)):
            resp = await http.get(path)
            if self.worker_of(resp.headers) == worker:
                return resp
        raise AssertionError(f"nginx never sent a GET to worker {worker}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_cluster(state: Path, root: Path, database_url: str) -> Cluster:
    """Chroma server, demo shop indexed into it, two workers, nginx; the caller stops the returned cluster."""
    from assistant.config import Settings
    from assistant.demo_shop import build_demo_shop
    from tests.conftest import TEST_ITEM_LIMIT

    nginx = nginx_binary()
    chroma_port, front, *workers = free_ports(4)
    env = {**os.environ, "SHOPASSIST_STATE_DIR": str(state), "SHOPASSIST_DATABASE_URL": database_url,
           "SHOPASSIST_REDIS_URL": REDIS_URL, "SHOPASSIST_REDIS_PREFIX": f"t-{uuid.uuid4().hex[:8]}:",
           "SHOPASSIST_CHROMA_URL": f"http://127.0.0.1:{chroma_port}",
           "SHOPASSIST_DEMO_ITEM_LIMIT": str(TEST_ITEM_LIMIT),
           "SHOPASSIST_SECRET_KEY": "test-secret-key-of-at-least-32-bytes!", "ANONYMIZED_TELEMETRY": "False",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(REPO_ROOT)}
    cluster = Cluster(front=front, workers=workers, env=env)
    try:
        chroma_bin = Path(sys.executable).with_name("chroma")
        chroma = start_process([str(chroma_bin), "run", "--path", str(root / "chroma"), "--host", "127.0.0.1",
                                "--port", str(chroma_port)], env, root / "chroma.log")
        cluster.processes.append(chroma)
        wait_until_up(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", chroma, "chroma run")
        settings = Settings(state_dir=state, database_url=database_url, chroma_url=env["SHOPASSIST_CHROMA_URL"],
                            demo_item_limit=TEST_ITEM_LIMIT, secret_key=env["SHOPASSIST_SECRET_KEY"])
        build_demo_shop(settings, quick_model=True)  # the models exist: this loads PostgreSQL and Chroma
        for port in workers:
            worker = start_process([sys.executable, "-c", "from assistant.cli import app; app()", "serve",
                                    "--port", str(port)], env, root / f"worker-{port}.log")
            cluster.processes.append(worker)
        for port, worker in zip(workers, cluster.processes[1:], strict=True):
            wait_until_up(f"http://127.0.0.1:{port}/healthz", worker, f"worker on {port}")
        folder = root / "nginx"
        folder.mkdir()
        conf = nginx_config(folder, front, workers)
        front_process = start_process([nginx, "-p", str(folder), "-c", str(conf)], env, root / "nginx.log")
        cluster.processes.append(front_process)
        wait_until_up(f"{cluster.url}/healthz", front_process, "nginx")
    except BaseException:
        cluster.stop()
        raise
    return cluster
