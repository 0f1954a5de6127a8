"""Fault harness: a real `shopassist serve` process, shoppers sending steadily over real websockets, and
an audit of what was acknowledged against what is stored and answered.

Used by tests/faults/ and bench/fault_counts.py. A shopper behaves like the widget: it keeps every
unacknowledged message and sends it again (same client_msg_id) after a reconnect, resumes after the
highest seq it has seen, and reconnects with a short backoff whatever the close code.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key-of-at-least-32-bytes!"
# questions the quick test model reads confidently (the fault tests turn handoffs off anyway)
QUESTIONS = ("hi there", "where is my order?", "what is your return policy?", "how long does shipping take?",
             "can I pay with paypal?", "thanks, bye")
_SEND_EVERY_S = 0.3
_RECONNECT_S = 0.2


def server_env(state_dir: Path, database_url: str | None = None, **settings: Any) -> dict[str, str]:
    """Environment of a served demo shop with short leases, so a killed worker's messages come back fast."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPASSIST_")}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               TOKENIZERS_PARALLELISM="false")
    values = {"state_dir": state_dir, "secret_key": SECRET, "demo_item_limit": 300, "answer_lease_s": 8,
              "answer_grace_s": 1, "answer_sweep_s": 0.5, "handoff_on_low_confidence": "false",
              "handoff_on_request": "false", "handoff_after_fallbacks": 0, "handoff_after_complaints": 0,
              **({"database_url": database_url} if database_url else {}), **settings}
    env.update({f"SHOPASSIST_{k.upper()}": str(v) for k, v in values.items() if v is not None})
    return env


class ServerProcess:
    """`shopassist serve` as a child process on a fixed port (so clients find it again after a restart)."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 300) -> ServerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(REPO / ".venv/bin/shopassist"), "serve", "--port", str(self.port)],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not become healthy:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever was mid-turn is simply gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def metric(self, name: str) -> float:
        text = httpx.get(self.url + "/metrics", timeout=10).text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


@dataclass
class Shopper:
    """One shopper session sending steadily; what it sent, what was acknowledged, what it received."""

    session_id: str
    token: str
    unacked: dict[str, str] = field(default_factory=dict)  # client_msg_id -> text, resent after a reconnect
    acked: dict[str, int] = field(default_factory=dict)  # client_msg_id -> seq
    frames: dict[int, dict] = field(default_factory=dict)  # stored frames seen (replies, replays) by seq
    close_codes: list[int | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    last_seq: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _resends: set[asyncio.Task] = field(default_factory=set)
    timeline: list[str] = field(default_factory=list)  # what happened, for a failing audit's message

    @classmethod
    async def start(cls, base_url: str) -> Shopper:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            body = (await http.post("/api/sessions", json={})).raise_for_status().json()
        return cls(body["session_id"], body["token"])

    def socket_url(self, ws_url: str) -> str:
        return f"{ws_url}/ws/chat?session_id={self.session_id}"  # the token goes in the first frame

    async def run(self, ws_url: str, sending: asyncio.Event, stop: asyncio.Event) -> None:
        """Stay connected until `stop`; while `sending` is set, send a new message every ~0.3 s."""
        while not stop.is_set():
            try:
                async with connect(self.socket_url(ws_url), open_timeout=5, close_timeout=2) as ws:
                    await self._converse(ws, sending, stop)
            except (OSError, TimeoutError, InvalidHandshake):
                self.close_codes.append(None)  # refused: the server is down or starting
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
                self._note(f"closed {self.close_codes[-1]}")
            await asyncio.sleep(_RECONNECT_S)

    def resume_point(self) -> int:
        """Resume after the highest seq seen, or before the first message whose answer has not arrived:
        an answer stored just before the socket dropped may have a lower seq than a later ack."""
        waiting = self.unanswered()
        return min(self.last_seq, min(waiting) - 1) if waiting else self.last_seq

    def _note(self, what: str) -> None:
        self.timeline.append(f"{time.monotonic():.3f} {what}")

    async def _converse(self, ws, sending: asyncio.Event, stop: asyncio.Event) -> None:
        await ws.send(json.dumps({"type": "auth", "token": self.token}))
        self._note(f"connected, resume after {self.resume_point()}, resending {list(self.unacked)}")
        await ws.send(json.dumps({"type": "resume", "after_seq": self.resume_point()}))
        for cid, text in list(self.unacked.items()):
            await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": cid}))
        reader = asyncio.create_task(self._read(ws))
        try:
            while not stop.is_set() and not reader.done():
                if sending.is_set():
                    cid = f"{self.session_id[:8]}-{next(self._ids)}"
                    self.unacked[cid] = QUESTIONS[len(self.acked) % len(QUESTIONS)]
                    await ws.send(json.dumps({"type": "message", "text": self.unacked[cid], "client_msg_id": cid}))
                    self._note(f"sent {cid}")
                await asyncio.wait([reader], timeout=_SEND_EVERY_S)
        finally:
            if not reader.done():
                reader.cancel()
                await ws.close()
            with contextlib.suppress(asyncio.CancelledError):
                await reader  # re-raises ConnectionClosed when the server closed the socket

    async def _read(self, ws) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            self._note(" ".join(f"{k}={frame.get(k)}" for k in ("type", "seq", "client_msg_id", "in_reply_to", "code")
                                if frame.get(k) is not None))
            if frame["type"] == "ack":
                self.unacked.pop(frame["client_msg_id"], None)
                self.acked[frame["client_msg_id"]] = frame["seq"]
            elif frame["type"] == "reply":
                self.frames[frame["seq"]] = frame
            elif frame["type"] == "error":
                self.errors.append(frame["code"])
                if frame.get("client_msg_id") in self.unacked and frame.get("retry_after_ms"):
                    # like the widget: a message the server failed on (or refused for now) is sent again
                    self._resends.add(asyncio.create_task(self._resend_later(ws, frame)))
            self.last_seq = max(self.last_seq, frame.get("seq") or 0)

    async def _resend_later(self, ws, error: dict) -> None:
        await asyncio.sleep(error["retry_after_ms"] / 1000)
        cid = error["client_msg_id"]
        if cid in self.unacked:
            with contextlib.suppress(ConnectionClosed):  # a reconnect sends it again anyway
                await ws.send(json.dumps({"type": "message", "text": self.unacked[cid], "client_msg_id": cid}))

    def unanswered(self) -> set[int]:
        """Acknowledged messages this shopper has not yet seen a bot reply to (nor replayed as with a person)."""
        settled = {f.get("in_reply_to") for f in self.frames.values() if f["author"] == "bot"}
        settled |= {s for s, f in self.frames.items() if f.get("answer_state") == "with_person"}
        return set(self.acked.values()) - settled


@dataclass
class Figures:
    """What the store holds for the shoppers' sessions, against what they were acknowledged."""

    sessions: int = 0
    acknowledged: int = 0
    lost: int = 0  # acknowledged, not stored
    answered_twice: int = 0  # shopper messages with more than one bot reply (or bot replies to no message)
    unanswered: int = 0  # acknowledged, stored, no bot reply, not with a person
    not_seen: int = 0  # answered in the store, yet the shopper never received the reply (live or on resume)
    close_codes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the timeline of each shopper a figure counts against

    def as_line(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "notes"}, sort_keys=True)


async def audit(base_url: str, shoppers: list[Shopper]) -> Figures:
    figures = Figures(sessions=len(shoppers))
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for shopper in shoppers:
            resp = await http.get(f"/api/sessions/{shopper.session_id}/transcript",
                                  headers={"Authorization": f"Bearer {shopper.token}"})
            _count(figures, shopper, resp.raise_for_status().json())
    return figures


def _count(figures: Figures, shopper: Shopper, transcript: list[dict]) -> None:
    stored = {f["client_msg_id"]: f for f in transcript if f["author"] == "shopper"}
    replies: dict[int | None, int] = {}
    for f in transcript:
        if f["author"] == "bot":
            replies[f.get("in_reply_to")] = replies.get(f.get("in_reply_to"), 0) + 1
    figures.acknowledged += len(shopper.acked)
    figures.lost += sum(1 for cid in shopper.acked if cid not in stored)
    figures.answered_twice += sum(n - 1 for n in replies.values() if n > 1) + replies.get(None, 0)
    for frame in stored.values():
        if frame["client_msg_id"] not in shopper.acked or frame.get("answer_state") == "with_person":
            continue
        if not replies.get(frame["seq"]):
            figures.unanswered += 1
        elif frame["seq"] in shopper.unanswered():
            figures.not_seen += 1
            figures.notes.append(f"seq {frame['seq']} of {shopper.session_id} answered, not seen:\n"
                                 + "\n".join(shopper.timeline[-60:]))
    for code in shopper.close_codes:
        figures.close_codes[str(code)] = figures.close_codes.get(str(code), 0) + 1
    for code in shopper.errors:
        figures.errors[code] = figures.errors.get(code, 0) + 1


async def settle(shoppers: list[Shopper], timeout_s: float) -> None:
    """Wait (bounded) until every shopper has all its messages acknowledged and every answer received."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(not s.unacked and not s.unanswered() for s in shoppers):
            return
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def steady_traffic(ws_url: str, shoppers: list[Shopper]):
    """Shoppers stay connected inside the block and send while the yielded event is set (the caller
    clears it, then `settle`s); on exit they disconnect."""
    sending, stop = asyncio.Event(), asyncio.Event()
    sending.set()
    tasks = [asyncio.create_task(s.run(ws_url, sending, stop)) for s in shoppers]
    try:
        yield sending
    finally:
        sending.clear()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
