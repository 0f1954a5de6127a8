"""HTTP hardening: body limit, security headers, CORS by route, /metrics access and its one computation.

Each test failed on main before (issue 11, item 6): bodies had no limit, pages sent no CSP,
frame-ancestors, nosniff or referrer policy (and the demo page ran an inline script), CORS `*` covered
the agent and admin API, /metrics was public and ran the dashboard SQL once per concurrent caller.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from assistant.config import REPO_ROOT
from tests.conftest import LiveServer

SHOP = "https://shop.example"
STAFF = "https://desk.example"
METRICS_TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="module")
def configured_server(sqlite_server):
    """A server with staff origins, a metrics token and figures cached for an hour."""
    settings = sqlite_server.settings.model_copy(update={
        "staff_cors_origins": [STAFF], "metrics_token": METRICS_TOKEN, "stats_cache_s": 3600.0})
    server = LiveServer(settings).start()
    yield server
    server.stop()


def test_a_body_over_the_limit_is_refused_with_413(sqlite_server):
    too_big = b"{" + b" " * sqlite_server.settings.max_body_bytes + b"}"
    declared = httpx.post(f"{sqlite_server.url}/api/sessions", content=too_big,
                          headers={"content-type": "application/json"}, timeout=60)
    assert declared.status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(too_big.__len__() // 65536 + 1):
            yield b" " * 65536

    streamed = httpx.post(f"{sqlite_server.url}/api/agent/login", content=chunks(),
                          headers={"content-type": "application/json"}, timeout=60)
    assert streamed.status_code == 413
    assert httpx.post(f"{sqlite_server.url}/api/sessions", json={}, timeout=60).status_code == 200


async def test_a_client_that_sends_its_whole_body_before_reading_still_gets_the_413(sqlite_server):
    """Most clients send a body to its end before they read the answer. Before the refused body was read
    to its end, the server answered and closed with it unread, and the reset reached an async httpx
    client before the 413 (a 4 MB body: ReadError five times in five)."""
    size = sqlite_server.settings.max_body_bytes + 1_000_000

    async def chunks():
        for _ in range(size // 65536 + 1):
            yield b" " * 65536

    async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=60) as http:
        for content in (b" " * size, b" " * size, chunks()):
            response = await http.post("/api/sessions", content=content, headers={"content-type": "application/json"})
            assert response.status_code == 413
        assert (await http.post("/api/sessions", json={})).status_code == 200


@pytest.mark.parametrize(("path", "framable"), [("/", True), ("/widget/widget.js", True), ("/agent/", False),
                                                ("/admin/", False), ("/api/agent/me", False)])
def test_every_response_carries_the_security_headers(sqlite_server, path, framable):
    resp = httpx.get(f"{sqlite_server.url}{path}", timeout=30)
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert ("frame-ancestors 'none'" in csp) is not framable
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "no-referrer"


class InlineScripts(HTMLParser):
    """Collects inline <script> bodies and on* event-handler attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        self.found += [f"<{tag} {k}=...>" for k in names if k.startswith("on")]
        self._in_inline_script = tag == "script" and "src" not in names
        if tag == "style" or "style" in names:
            self.found.append(f"inline style on <{tag}>")

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:40]}")

    def handle_endtag(self, tag):
        self._in_inline_script = False


@pytest.mark.parametrize("page", sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "web").rglob("*.html")))
def test_pages_have_no_inline_script_handler_or_style(page):
    parser = InlineScripts()
    parser.feed(Path(REPO_ROOT / page).read_text())
    assert parser.found == []


def preflight(server, path: str, origin: str) -> httpx.Response:
    return httpx.options(f"{server.url}{path}", timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})


@pytest.mark.parametrize(("path", "origin", "allowed"), [
    ("/api/sessions", SHOP, True),
    ("/widget/widget.js", SHOP, True),
    ("/api/agent/login", SHOP, False),
    ("/api/admin/faq", SHOP, False),
    ("/api/agent/login", STAFF, True),
    ("/api/admin/faq", STAFF, True),
])
def test_cors_is_open_on_the_shopper_side_only(configured_server, path, origin, allowed):
    resp = preflight(configured_server, path, origin)
    assert (resp.headers.get("access-control-allow-origin") in (origin, "*")) is allowed, resp.headers


def computations() -> float:
    """How often the dashboard figures were computed from SQL (the servers run in this process)."""
    return REGISTRY.get_sample_value("shopassist_stats_computations_total") or 0.0


async def test_concurrent_scrapes_compute_the_dashboard_figures_once(configured_server):
    before = computations()
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with httpx.AsyncClient(base_url=configured_server.url, headers=headers, timeout=120) as http:
        pages = await asyncio.gather(*(http.get("/metrics") for _ in range(20)))
    assert all(p.status_code == 200 for p in pages)
    assert computations() == before + 1  # one computation for 20 callers on a cold cache


def test_metrics_need_the_bearer_token(configured_server):
    url = f"{configured_server.url}/metrics"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, timeout=30, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url, timeout=30, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200


def test_without_a_token_metrics_are_served_to_loopback_only(sqlite_server):
    url = f"{sqlite_server.url}/metrics"
    assert httpx.get(url, timeout=30).status_code == 200
    assert httpx.get(url, timeout=30, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 403




@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/agent/login", '{"email": "ad\\u0000min@x.test", "password": "p\\u0000"}'),
    ("POST", "/api/sessions", '{"customer_id": "A\\u0000\\u200b"}'),
    ("GET", "/api/sessions/%00/transcript", None),
    ("GET", "/api/agent/sessions/%00x/transcript", None),
])
def test_nul_and_control_characters_in_a_request_never_reach_the_store(live_server, method, path, body):
    """On PostgreSQL a NUL in a JSON string or a path failed as a 500 before."""
    resp = httpx.request(method, f"{live_server.url}{path}", content=body, timeout=30,
                         headers={"content-type": "application/json"} if body else {})
    assert 400 <= resp.status_code < 500, resp.text
