"""Client addresses behind a reverse proxy: X-Forwarded-For counts only from the proxies of
`SHOPASSIST_FORWARDED_ALLOW_IPS`, which `shopassist serve` passes to uvicorn.

Failed before (issue 11, item 3): there was no such setting and `shopassist serve` took no uvicorn flag for it,
so uvicorn trusted loopback only. With nginx on another machine every shopper shared the proxy's per-address
buckets; and a server on loopback with no proxy took any client's forged X-Forwarded-For, a fresh bucket each.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from assistant.config import RateLimit, Settings
from tests.conftest import LiveServer, shop_settings
from tests.security.conftest import with_limits

BURST = 3


def server_trusting(shop_state, proxies: list[str]) -> LiveServer:
    settings = with_limits(shop_settings(shop_state), session_rate_per_address=RateLimit(burst=BURST, per_minute=0.01))
    return LiveServer(settings.model_copy(update={"forwarded_allow_ips": proxies})).start()


@pytest.fixture(scope="module")
def behind_proxy(shop_state) -> Iterator[LiveServer]:
    """The test client plays the proxy (127.0.0.1), trusted as the setting says."""
    server = server_trusting(shop_state, ["127.0.0.1"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy_elsewhere(shop_state) -> Iterator[LiveServer]:
    """Only a proxy at 192.0.2.10 is trusted: the test client is a shopper connecting directly."""
    server = server_trusting(shop_state, ["192.0.2.10"])
    yield server
    server.stop()


def session_codes(server: LiveServer, forwarded_for: str, count: int) -> list[int]:
    return [httpx.post(f"{server.url}/api/sessions", json={}, headers={"X-Forwarded-For": forwarded_for},
                       timeout=30).status_code for _ in range(count)]


def test_a_trusted_proxy_gets_one_session_bucket_per_forwarded_address(behind_proxy):
    assert session_codes(behind_proxy, "203.0.113.21", BURST + 1) == [200] * BURST + [429]
    assert session_codes(behind_proxy, "203.0.113.22", BURST) == [200] * BURST  # another shopper, own bucket


def test_a_forged_forwarded_for_from_an_untrusted_client_buys_no_fresh_bucket(proxy_elsewhere):
    """Old main: uvicorn trusted loopback whatever the setting, so each forged address opened more sessions."""
    assert session_codes(proxy_elsewhere, "203.0.113.31", BURST + 1) == [200] * BURST + [429]
    assert session_codes(proxy_elsewhere, "203.0.113.32", 2) == [429, 429]  # the same client, the same bucket


def test_the_setting_is_read_from_the_environment_and_validated(monkeypatch):
    monkeypatch.setenv("SHOPASSIST_FORWARDED_ALLOW_IPS", "10.0.0.5, 10.1.0.0/16")
    assert Settings().forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16"]
    monkeypatch.setenv("SHOPASSIST_FORWARDED_ALLOW_IPS", '["fd00::1"]')
    assert Settings().forwarded_allow_ips == ["fd00::1"]
    monkeypatch.setenv("SHOPASSIST_FORWARDED_ALLOW_IPS", "nginx.internal")  # uvicorn would ignore it silently
    with pytest.raises(ValueError, match="nginx.internal"):
        Settings()
    monkeypatch.delenv("SHOPASSIST_FORWARDED_ALLOW_IPS")
    assert Settings().forwarded_allow_ips == ["127.0.0.1", "::1"]  # loopback only by default


def test_shopassist_serve_passes_the_trusted_proxies_to_uvicorn(monkeypatch, tmp_path):
    import uvicorn

    from assistant.cli import app
    from assistant.config import get_settings

    started: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.update(kwargs))
    monkeypatch.setenv("SHOPASSIST_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPASSIST_FORWARDED_ALLOW_IPS", "10.0.0.5")
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "8999"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert started["forwarded_allow_ips"] == ["10.0.0.5"] and started["proxy_headers"] is True
