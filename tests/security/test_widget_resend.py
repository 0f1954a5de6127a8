"""The widget in headless Chromium resends a message the server refused as rate_limited, under the CSP.

Failed on main before (issue 11, item 3): there was no rate limit, and the widget marked any refused
message as failed instead of sending it again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assistant.config import RateLimit
from assistant.store.database import make_engine, session_factory
from assistant.store.models import Message
from tests.conftest import LiveServer
from tests.security.conftest import with_limits

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('#shopassist-widget').shadowRoot"


@pytest.fixture(scope="module")
def slow_bucket_server(sqlite_server):
    """One message at once, then one a second: a shopper typing three quickly meets the limit."""
    server = LiveServer(with_limits(sqlite_server.settings,
                                    message_rate_per_session=RateLimit(burst=1, per_minute=60))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from tests.browser.browser_driver import ensure_browser_tools, run_scenario

    ensure_browser_tools()
    return run_scenario


def say(text: str) -> list[dict]:
    return [{"do": "fill", "selector": ".sa-input", "value": text},
            {"do": "press", "selector": ".sa-input", "key": "Enter"}]


def test_a_rate_limited_message_is_sent_again_and_stored_once(browser, slow_bucket_server):
    texts = ["hello", "thank you", "goodbye"]
    result = browser([{"do": "goto", "url": slow_bucket_server.url + "/"},
                      {"do": "click", "selector": ".sa-launcher"}]
                     + [step for text in texts for step in say(text)] + [
        {"do": "wait_count", "selector": ".sa-from-shopper[data-seq]", "count": 3, "timeout_ms": 60_000},
        {"do": "eval", "expression": "window.Shopassist.session().session_id", "as": "session_id"},
        {"do": "eval", "expression": f"{SHADOW}.querySelectorAll('.sa-failed').length", "as": "failed"},
    ], overall_timeout_s=180)
    assert result.get("ok"), result.get("error", result)
    assert result["page_errors"] == [], result
    assert [c for c in result["console"] if "Content Security Policy" in c] == []  # nothing the CSP blocked
    values = result["values"]
    assert values["failed"] == 0
    engine = make_engine(slow_bucket_server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        stored = list(db.scalars(select(Message.text).where(
            Message.session_id == values["session_id"], Message.author == "shopper").order_by(Message.seq)))
    engine.dispose()
    assert stored == texts
