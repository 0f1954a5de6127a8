"""Every admin route refuses a request without an admin token: 401 for none, forged, expired, revoked or
shopper tokens, 403 for an agent; a refused request changes nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from assistant.security import issue_agent_token
from tests.admin.conftest import ADMIN, login
from tests.chat.client import start_session


def admin_routes(server) -> list[tuple[str, str]]:
    """(method, path) of every /api/admin route of the running app, path parameters set to 1."""
    paths = httpx.get(f"{server.url}/openapi.json", timeout=30).json()["paths"]
    routes = [(method.upper(), re.sub(r"\{[^}]+\}", "1", path))
              for path, methods in paths.items() if path.startswith("/api/admin") for method in methods]
    assert len(routes) >= 14, routes
    return routes


@pytest.fixture(scope="module")
def bad_tokens(admin_server, agent_token) -> dict[str, tuple[str | None, int]]:
    import asyncio

    settings = admin_server.settings
    forged, _ = issue_agent_token("not-the-secret", 1, "admin", "Mallory", settings.agent_token_ttl_s)
    expired, _ = issue_agent_token(settings.secret_key, 1, "admin", "Ada", -60)
    revoked = login(admin_server, ADMIN)
    httpx.post(f"{admin_server.url}/api/agent/logout", headers={"Authorization": f"Bearer {revoked}"},
               timeout=30).raise_for_status()
    shopper = asyncio.run(start_session(admin_server.url))["token"]
    return {"none": (None, 401), "forged": (forged, 401), "expired": (expired, 401), "revoked": (revoked, 401),
            "shopper": (shopper, 401), "agent role": (agent_token, 403)}


def test_every_admin_route_refuses_missing_forged_expired_revoked_shopper_and_agent_tokens(admin_server, bad_tokens,
                                                                                          admin_api):
    before = admin_api.get("/api/admin/faq/export?format=json").text
    failures = []
    with httpx.Client(base_url=admin_server.url, timeout=30) as client:
        for method, path in admin_routes(admin_server):
            for name, (token, expected) in bad_tokens.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                resp = client.request(method, path, headers=headers, json={"question": "q?", "answer": "a",
                                                                            "intents": ["get_refund"]})
                if resp.status_code != expected:
                    failures.append(f"{method} {path} with {name}: {resp.status_code}")
    assert failures == []
    assert admin_api.get("/api/admin/faq/export?format=json").text == before


def test_the_admin_page_is_served(admin_server):
    page = httpx.get(f"{admin_server.url}/admin/", timeout=30)
    assert page.status_code == 200 and "admin.js" in page.text
    assert httpx.get(f"{admin_server.url}/admin/admin.js", timeout=30).status_code == 200
