"""Every agent and admin route refuses a missing, forged, expired, revoked or shopper token (401) and a
wrong role (403); so does the agent socket (close codes 4401 / 4403). A shopper reads only their session."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import websockets

from assistant.app import create_app
from assistant.config import Settings
from assistant.security import issue_agent_token
from tests.agent_console.client import add_agents, token_for

PUBLIC = {("post", "/api/agent/login")}
BAD_TOKENS = ("none", "forged", "expired", "revoked", "shopper")


def protected_routes() -> list[tuple[str, str]]:
    """(method, path) of every agent and admin HTTP route of the app, path parameters filled in."""
    paths = create_app(Settings()).openapi()["paths"]
    return sorted((method, re.sub(r"\{[^}]+\}", "1", path)) for path, ops in paths.items()
                  if path.startswith(("/api/agent", "/api/admin")) for method in ops
                  if (method, path) not in PUBLIC)


ROUTES = protected_routes()


@pytest.fixture(scope="module")
def tokens(sqlite_server) -> dict[str, str]:
    """One token of each kind, valid or not, for the server under test."""
    settings = sqlite_server.settings
    agent, = add_agents(settings, 1, name="Matrix agent")
    admin, = add_agents(settings, 1, role="admin", name="Matrix admin")
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as http:
        shopper = http.post("/api/sessions", json={}).json()["token"]
        revoked = token_for(settings, agent.agent_id, agent.role, agent.name)
        assert http.post("/api/agent/logout", headers={"Authorization": f"Bearer {revoked}"}).status_code == 204
    return {
        "none": "",
        "forged": issue_agent_token("not-the-server-secret", admin.agent_id, "admin", admin.name, 600)[0],
        "expired": token_for(settings, admin.agent_id, "admin", admin.name, ttl_s=-60),
        "revoked": revoked,
        "shopper": shopper,
        "agent": agent.token,
        "admin": admin.token,
        "stranger": token_for(settings, agent.agent_id, "shopper", agent.name),  # signed, but no agent role
    }


def call(server, method: str, path: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {} if method in ("post", "put", "patch") else None
    return httpx.request(method.upper(), server.url + path, headers=headers, json=body, timeout=30).status_code


def test_the_matrix_covers_the_agent_and_admin_routes():
    paths = {p for _, p in ROUTES}
    assert {"/api/agent/queue", "/api/agent/sessions/1/claim", "/api/agent/sessions/1/transcript",
            "/api/agent/sessions/1/messages/1/correct-intent", "/api/agent/left-messages"} <= paths


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_refused_with_401_everywhere(sqlite_server, tokens, kind):
    wrong = {f"{m.upper()} {p}": s for m, p in ROUTES if (s := call(sqlite_server, m, p, tokens[kind])) != 401}
    assert wrong == {}


def test_a_token_without_an_agent_role_is_refused_with_403_everywhere(sqlite_server, tokens):
    wrong = {f"{m.upper()} {p}": s for m, p in ROUTES if (s := call(sqlite_server, m, p, tokens["stranger"])) != 403}
    assert wrong == {}


def test_an_agent_token_is_refused_with_403_on_admin_routes(sqlite_server, tokens):
    admin_routes = [(m, p) for m, p in ROUTES if p.startswith("/api/admin")]
    wrong = {f"{m.upper()} {p}": s for m, p in admin_routes if (s := call(sqlite_server, m, p, tokens["agent"])) != 403}
    assert wrong == {}


def test_valid_tokens_open_the_reading_routes(sqlite_server, tokens):
    opened = {p: call(sqlite_server, "get", p, tokens["admin" if p.startswith("/api/admin") else "agent"])
              for m, p in ROUTES if m == "get" and "/1" not in p}
    assert all(s == 200 for s in opened.values()), opened


@pytest.mark.parametrize(("kind", "code"), [*((k, 4401) for k in BAD_TOKENS), ("stranger", 4403)])
async def test_the_agent_socket_closes_for_a_bad_token(sqlite_server, tokens, kind, code):
    async with websockets.connect(f"{sqlite_server.ws_url}/ws/agent") as ws:
        await ws.send(json.dumps({"type": "auth", "token": tokens[kind]}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == code


def test_a_shopper_token_reads_only_its_own_session(sqlite_server):
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as http:
        mine, other = (http.post("/api/sessions", json={}).json() for _ in range(2))
        headers = {"Authorization": f"Bearer {mine['token']}"}
        assert http.get(f"/api/sessions/{mine['session_id']}/transcript", headers=headers).status_code == 200
        assert http.get(f"/api/sessions/{other['session_id']}/transcript", headers=headers).status_code == 403
        assert http.get(f"/api/agent/sessions/{mine['session_id']}/transcript", headers=headers).status_code == 401
