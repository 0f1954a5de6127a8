"""The demo page and widget in headless Chromium against the real app (real models, store, Chroma).

Uses the ``sqlite_server`` fixture of ``tests/conftest.py``: the real ``shopassist setup`` on a small
catalogue with a quick intent model, served by uvicorn on a free loopback port.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('#shopassist-widget').shadowRoot"
REPLY_MS = 60_000  # the first answer of a fresh server may include model warm-up


def test_a_shopper_types_a_product_question_and_gets_item_cards(browser, sqlite_server):
    result = browser(
        [
            {"do": "goto", "url": sqlite_server.url + "/"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "fill", "selector": ".sa-input", "value": "do you have a black stapler?"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait", "selector": ".sa-card", "timeout_ms": REPLY_MS},
            {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
            {"do": "texts", "selector": ".sa-msg[data-seq] .sa-bubble", "as": "stored"},
            {"do": "texts", "selector": ".sa-card-title", "as": "titles"},
            {"do": "texts", "selector": ".sa-card-price", "as": "prices"},
            {"do": "click", "selector": ".sa-card-view"},
            {"do": "sleep", "ms": 300},
            {"do": "count", "selector": ".sa-toast:not([hidden])", "as": "errors_shown"},
        ],
    )
    assert result["ok"], result["error"]
    values = result["values"]
    assert values["mine"] == ["do you have a black stapler?"]
    assert len(values["stored"]) >= 2  # the shopper's message (acked, with a seq) and the bot's reply
    assert values["titles"] and all(t.strip() for t in values["titles"])
    assert all(p.startswith("$") for p in values["prices"])
    assert values["errors_shown"] == 0  # the view event was accepted
    assert result["page_errors"] == []


def test_script_and_img_markup_from_the_shopper_is_shown_as_text(browser, sqlite_server):
    payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
    result = browser(
        [
            {"do": "goto", "url": sqlite_server.url + "/"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "fill", "selector": ".sa-input", "value": payload},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait", "selector": ".sa-from-shopper[data-seq]", "timeout_ms": REPLY_MS},
            {"do": "wait_count", "selector": ".sa-msg[data-seq]", "count": 2, "timeout_ms": REPLY_MS},
            {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
            {"do": "eval", "expression": f"{SHADOW}.querySelectorAll('.sa-log script, .sa-log img').length",
             "as": "elements"},
            {"do": "eval", "expression": "window.__xss === undefined", "as": "no_script_ran"},
        ],
    )
    assert result["ok"], result["error"]
    assert result["values"]["mine"] == [payload]
    assert result["values"]["elements"] == 0
    assert result["values"]["no_script_ran"] is True
    assert result["dialogs"] == []


def test_a_reload_resumes_the_conversation_and_a_shopper_can_ask_for_a_person(browser, sqlite_server):
    result = browser(
        [
            {"do": "goto", "url": sqlite_server.url + "/"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "fill", "selector": ".sa-input", "value": "how long does shipping take?"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait_count", "selector": ".sa-msg[data-seq]", "count": 2, "timeout_ms": REPLY_MS},
            {"do": "texts", "selector": ".sa-msg[data-seq] .sa-bubble", "as": "before"},
            {"do": "reload"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "wait_count", "selector": ".sa-msg[data-seq]", "count": 2, "timeout_ms": REPLY_MS},
            {"do": "sleep", "ms": 300},
            {"do": "texts", "selector": ".sa-msg[data-seq] .sa-bubble", "as": "after"},
            {"do": "click", "selector": ".sa-human"},
            {"do": "wait", "selector": ".sa-notice", "timeout_ms": REPLY_MS},
            {"do": "texts", "selector": ".sa-status", "as": "status"},
        ],
    )
    assert result["ok"], result["error"]
    values = result["values"]
    assert values["after"] == values["before"]
    assert values["before"][0] == "how long does shipping take?"
    assert values["status"] == ["Waiting for a person"]
