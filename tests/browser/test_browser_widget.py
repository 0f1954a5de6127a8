"""The shopper widget in a real headless browser, against the scripted protocol server.

These pin the widget's own behaviour (rendering, escaping, reconnect, resume, handoff) with exact
replies; ``test_browser_live.py`` runs the same page against the real app.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('#shopassist-widget').shadowRoot"


def open_and_send(url: str, text: str) -> list[dict]:
    return [
        {"do": "goto", "url": url},
        {"do": "click", "selector": ".sa-launcher"},
        {"do": "fill", "selector": ".sa-input", "value": text},
        {"do": "press", "selector": ".sa-input", "key": "Enter"},
    ]


def stored_session(app):
    (session,) = app.state.sessions.values()
    return session


def test_a_question_gets_a_reply_with_item_cards_and_view_sends_an_event(browser, fake_shop):
    result = browser(
        open_and_send(fake_shop.url + "/", "do you have a black stapler?")
        + [
            {"do": "wait", "selector": ".sa-card"},
            {"do": "texts", "selector": ".sa-card-title", "as": "titles"},
            {"do": "texts", "selector": ".sa-card-price", "as": "prices"},
            {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
            {"do": "texts", "selector": ".sa-from-bot .sa-author", "as": "authors"},
            {"do": "click", "selector": ".sa-card-view"},
            {"do": "click", "selector": ".sa-card-add"},
            {"do": "wait", "selector": ".sa-added"},
            {"do": "eval", "expression": "document.getElementById('cart-count').textContent", "as": "cart"},
            {"do": "eval", "expression": f"{SHADOW}.querySelector('.sa-typing').hidden", "as": "typing_hidden"},
            {"do": "sleep", "ms": 200},
        ]
    )
    assert result["ok"], result["error"]
    values = result["values"]
    assert values["titles"] == ["Swingline Classic Desk Stapler, Black", "Bostitch Antimicrobial Stapler"]
    assert values["prices"] == ["$14.99", "$18.49"]
    assert values["mine"] == ["do you have a black stapler?"]
    assert "Assistant" in values["authors"]
    assert values["cart"] == "1"
    assert values["typing_hidden"] is True
    kinds = [(e["kind"], e["item_id"]) for e in stored_session(fake_shop.app).events]
    assert kinds == [("view", 101), ("add_to_cart", 101)]
    assert result["page_errors"] == []


def test_markup_in_shopper_bot_and_agent_content_is_rendered_as_text(browser, fake_shop):
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>'
    result = browser(
        open_and_send(fake_shop.url + "/", f"echo {payload}")
        + [
            {"do": "wait_text", "selector": ".sa-from-bot .sa-bubble", "text": "You said:"},
            {"do": "fill", "selector": ".sa-input", "value": "agent <img src=y onerror=alert(1)>Bo"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait", "selector": ".sa-from-agent"},
            {"do": "sleep", "ms": 300},
            {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
            {"do": "texts", "selector": ".sa-from-bot .sa-bubble", "as": "bot"},
            {"do": "texts", "selector": ".sa-card-title", "as": "card_titles"},
            {"do": "texts", "selector": ".sa-from-agent .sa-author", "as": "agent_names"},
            {"do": "eval", "expression": f"{SHADOW}.querySelectorAll('.sa-log img, .sa-log script, .sa-log b')"
             ".length", "as": "elements"},
            {"do": "eval", "expression": "window.__xss === undefined", "as": "no_script_ran"},
        ]
    )
    assert result["ok"], result["error"]
    values = result["values"]
    assert values["mine"][0] == f"echo {payload}"
    assert f"You said: {payload}" in values["bot"]
    assert values["card_titles"] == [payload]
    assert values["agent_names"] == ["<img src=y onerror=alert(1)>Bo"]
    assert values["elements"] == 0
    assert values["no_script_ran"] is True
    assert result["dialogs"] == []


def test_a_reload_resumes_the_same_conversation_without_duplicates(browser, fake_shop):
    result = browser(
        open_and_send(fake_shop.url + "/", "hello there")
        + [
            {"do": "wait_text", "selector": ".sa-from-bot .sa-bubble", "text": "Happy to help"},
            {"do": "reload"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "wait_text", "selector": ".sa-from-bot .sa-bubble", "text": "Happy to help"},
            {"do": "sleep", "ms": 300},
            {"do": "texts", "selector": ".sa-msg .sa-bubble", "as": "bubbles"},
        ]
    )
    assert result["ok"], result["error"]
    bubbles = result["values"]["bubbles"]
    assert bubbles.count("hello there") == 1
    assert bubbles.count("Happy to help with orders, shipping and products.") == 1
    assert len(fake_shop.app.state.sessions) == 1


def test_an_unacknowledged_message_is_resent_after_reconnect_and_shown_once(browser, fake_shop):
    result = browser(
        open_and_send(fake_shop.url + "/", "drop")
        + [
            {"do": "wait_text", "selector": ".sa-from-bot .sa-bubble", "text": "after the reconnect"},
            {"do": "sleep", "ms": 300},
            {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
            {"do": "count", "selector": ".sa-pending", "as": "pending"},
            {"do": "eval", "expression": "JSON.parse(Object.entries(localStorage).find(([k]) => "
             "k.startsWith('shopassist'))[1]).pending.length", "as": "stored_pending"},
        ]
    )
    assert result["ok"], result["error"]
    assert result["values"]["mine"] == ["drop"]
    assert result["values"]["pending"] == 0
    assert result["values"]["stored_pending"] == 0
    session = stored_session(fake_shop.app)
    assert [f.text for f in session.frames if f.author == "shopper"] == ["drop"]
    assert session.drops == 1


def test_talk_to_a_human_shows_the_queue_position_once_across_reconnects(browser, fake_shop):
    result = browser(
        [
            {"do": "goto", "url": fake_shop.url + "/"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "wait_text", "selector": ".sa-status", "text": "Online"},
            {"do": "click", "selector": ".sa-human"},
            {"do": "wait", "selector": ".sa-notice-waiting"},
            {"do": "eval", "expression": f"{SHADOW}.querySelector('.sa-human').disabled", "as": "button_off"},
            # the server drops the socket; after the reconnect it repeats the status
            {"do": "fill", "selector": ".sa-input", "value": "drop"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait_text", "selector": ".sa-from-bot .sa-bubble", "text": "after the reconnect"},
            {"do": "wait_text", "selector": ".sa-status", "text": "Waiting for a person"},
            {"do": "texts", "selector": ".sa-notice-waiting", "as": "notice"},
        ]
    )
    assert result["ok"], result["error"]
    assert result["values"]["button_off"] is True
    assert result["values"]["notice"] == ["A person will be with you shortly — you are number 2 in the queue."]


def test_with_no_agent_online_the_shopper_can_leave_a_message(browser, fake_shop_offline):
    result = browser(
        [
            {"do": "goto", "url": fake_shop_offline.url + "/"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "wait_text", "selector": ".sa-status", "text": "Online"},
            {"do": "click", "selector": ".sa-human"},
            {"do": "fill", "selector": ".sa-leave textarea", "value": "Please call me about order 12"},
            {"do": "fill", "selector": ".sa-leave input", "value": "me@example.com"},
            {"do": "click", "selector": ".sa-leave button"},
            {"do": "wait", "selector": ".sa-thanks"},
        ]
    )
    assert result["ok"], result["error"]
    (event,) = stored_session(fake_shop_offline.app).events
    assert event == {"type": "leave_message", "text": "Please call me about order 12", "contact": "me@example.com"}


def test_signing_in_as_a_demo_customer_starts_a_session_for_them(browser, fake_shop):
    result = browser(
        [
            {"do": "goto", "url": fake_shop.url + "/"},
            {"do": "wait", "selector": "#demo-customer:not([disabled])"},
            {"do": "click", "selector": "#sign-in"},
            {"do": "wait_text", "selector": ".sa-status", "text": "Online · Ada Lovelace"},
            {"do": "texts", "selector": "#who", "as": "who"},
        ]
    )
    assert result["ok"], result["error"]
    assert result["values"]["who"] == ["Signed in as Ada Lovelace"]
    assert [s.customer_name for s in fake_shop.app.state.sessions.values()] == ["Ada Lovelace"]


def test_one_script_tag_embeds_a_styled_working_widget_on_another_page(browser, fake_shop):
    result = browser(
        [
            {"do": "goto", "url": fake_shop.url + "/embed"},
            {"do": "wait", "selector": ".sa-panel"},  # data-open="true"
            {"do": "texts", "selector": ".sa-title", "as": "title"},
            {"do": "eval", "expression": f"getComputedStyle({SHADOW}.querySelector('.sa-panel')).position",
             "as": "panel_position"},
            {"do": "eval", "expression": "getComputedStyle(document.querySelector('h1')).fontFamily",
             "as": "host_font"},
            {"do": "fill", "selector": ".sa-input", "value": "do you have a black stapler?"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait", "selector": ".sa-card"},
        ]
    )
    assert result["ok"], result["error"]
    assert result["values"]["title"] == ["Help desk"]
    assert result["values"]["panel_position"] == "relative"  # widget.css reached the shadow root
    assert "system-ui" not in result["values"]["host_font"]  # and did not leak into the host page


def test_a_refused_stored_session_is_replaced_by_a_new_one(browser, fake_shop):
    stale = '{"session": {"session_id": "gone", "token": "bad"}, "pending": []}'
    result = browser(
        [
            {"do": "goto", "url": fake_shop.url + "/"},
            {"do": "eval", "expression": f"localStorage.setItem('shopassist.v1:{fake_shop.url}', '{stale}')",
             "as": "_"},
            {"do": "reload"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "fill", "selector": ".sa-input", "value": "hello"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait_text", "selector": ".sa-from-bot .sa-bubble", "text": "Happy to help"},
            {"do": "texts", "selector": ".sa-from-shopper .sa-bubble", "as": "mine"},
        ]
    )
    assert result["ok"], result["error"]
    assert result["values"]["mine"] == ["hello"]
    assert len(fake_shop.app.state.sessions) == 1


def test_the_widget_works_embedded_on_another_origin(browser, fake_shop, other_shop):
    assert other_shop.url != fake_shop.url
    result = browser(
        [
            {"do": "goto", "url": other_shop.url + "/"},
            {"do": "click", "selector": ".sa-launcher"},
            {"do": "fill", "selector": ".sa-input", "value": "do you have a black stapler?"},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            {"do": "wait", "selector": ".sa-card"},
            {"do": "eval", "expression": "Object.keys(localStorage)", "as": "keys"},
        ]
    )
    assert result["ok"], result["error"]
    assert result["values"]["keys"] == [f"shopassist.v1:{fake_shop.url}"]
