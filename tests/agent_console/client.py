"""Test clients of the agent side: agent accounts in the server's store, the REST API, the agent socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
import websockets

from assistant.config import Settings
from assistant.security import hash_password, issue_agent_token
from assistant.store.database import make_engine, session_factory
from assistant.store.models import Agent
from tests.chat.client import ChatClient, start_session

PASSWORD = "correct horse battery staple"


@lru_cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 once; every test agent shares the password


@dataclass(frozen=True)
class AgentAccount:
    agent_id: int
    name: str
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_agents(settings: Settings, count: int, role: str = "agent", name: str = "Agent") -> list[AgentAccount]:
    """Create agents directly in the store and sign a token for each (no argon2 per agent)."""
    tag = uuid.uuid4().hex[:8]
    rows = [Agent(name=f"{name} {i + 1}" if count > 1 else name, email=f"{tag}-{i}@agents.test", role=role,
                  password_hash=password_hash()) for i in range(count)]
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_factory(engine)() as db:
            db.add_all(rows)
            db.commit()
            return [AgentAccount(a.id, a.name, a.email, a.role, token_for(settings, a.id, a.role, a.name))
                    for a in rows]
    finally:
        engine.dispose()


def token_for(settings: Settings, agent_id: int, role: str, name: str, ttl_s: int | None = None) -> str:
    ttl = settings.agent_token_ttl_s if ttl_s is None else ttl_s
    return issue_agent_token(settings.secret_key, agent_id, role, name, ttl)[0]


def api(server, account: AgentAccount | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=60, headers=account.headers if account else None)


class AgentSocket:
    """A real /ws/agent connection; frames are read in order, skipping the ones a test does not wait for."""

    def __init__(self, ws) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, server, account: AgentAccount) -> AgentSocket:
        ws = await websockets.connect(f"{server.ws_url}/ws/agent", max_size=1 << 22)
        sock = cls(ws)
        await sock.send({"type": "auth", "token": account.token})
        assert (await sock.recv_type("hello"))["agent_id"] == account.agent_id
        return sock

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 30) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def recv_type(self, *types: str, timeout: float = 30, **match: Any) -> dict[str, Any]:
        """The next frame of one of `types` whose fields equal `match`."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] in types and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def recv_queue_with(self, session_id: str, timeout: float = 30) -> dict[str, Any]:
        """The next queue frame listing `session_id` as waiting."""
        while True:
            frame = await self.recv_type("queue", timeout=timeout)
            if any(s["session_id"] == session_id for s in frame["waiting"]):
                return frame


async def waiting_shopper(server, customer_id: str | None = None) -> ChatClient:
    """A shopper who pressed "talk to a human": the session is in the queue."""
    chat = await ChatClient.open(server.ws_url, await start_session(server.url, customer_id))
    await chat.send({"type": "handoff_request"})
    status = await chat.recv_type("status")
    assert status["state"] == "waiting", status
    return chat


async def claimed_chat(server, name: str) -> tuple[AgentAccount, ChatClient, AgentSocket]:
    """A new agent who has claimed a waiting shopper's chat, with the console socket open."""
    agent, = add_agents(server.settings, 1, name=name)
    shopper = await waiting_shopper(server)
    async with api(server, agent) as http:
        assert (await http.post(f"/api/agent/sessions/{shopper.session['session_id']}/claim")).status_code == 200
    return agent, shopper, await AgentSocket.open(server, agent)


def console_sign_in(server, agent, session_id: str) -> list[dict]:
    """Browser steps (tests/browser/drive.mjs): an agent opens the console on a session and signs in."""
    return [
        {"do": "goto", "url": f"{server.url}/agent/#{session_id}"},
        {"do": "fill", "selector": "#login-email", "value": agent.email},
        {"do": "fill", "selector": "#login-password", "value": PASSWORD},
        {"do": "click", "selector": "#login-form button[type=submit]"},
    ]


def admin_sign_in(server, admin) -> list[dict]:
    """Browser steps: an admin opens the admin page and signs in."""
    return [
        {"do": "goto", "url": f"{server.url}/admin/"},
        {"do": "fill", "selector": "#login-email", "value": admin.email},
        {"do": "fill", "selector": "#login-password", "value": PASSWORD},
        {"do": "click", "selector": "#login-submit"},
    ]
