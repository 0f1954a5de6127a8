"""The item cards a reply shows are counted (rec_exposures, which the A/B report reads) in the reply's own
transaction: a reply is never stored without its cards counted, nor cards counted for a reply that was not.

On the old main the exposures were inserted after the reply had been committed and sent; when that insert
failed (here a trigger refuses it, as a worker dying between the two would leave it) the reply stood with
no exposure, so the A/B figures under-counted what shoppers saw.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Iterator

import pytest

from tests.admin.conftest import copy_store
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, shop_settings

SEARCH = "do you have a black stapler?"


@pytest.fixture
def refusing_server(shop_state, tmp_path) -> Iterator[LiveServer]:
    """A server on a copy of the store whose rec_exposures table refuses every insert."""
    copy_store(shop_state, tmp_path)
    shutil.copy(shop_state / "minilm-query.int8.onnx", tmp_path / "minilm-query.int8.onnx")
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TRIGGER refuse_exposures BEFORE INSERT ON rec_exposures "
                   "BEGIN SELECT RAISE(ABORT, 'exposures refused'); END")
    settings = shop_settings(tmp_path, chroma_path=shop_state / "chroma",
                             intent_model_dir=shop_state / "intent_model", answer_sweep_s=0.5,
                             answer_grace_s=0.5, answer_max_attempts=2)
    server = LiveServer(settings).start()
    yield server
    server.stop()


def rows(server: LiveServer, sql: str) -> list[tuple]:
    with sqlite3.connect(server.settings.state_dir / "shop.db") as db:
        return db.execute(sql).fetchall()


async def test_no_reply_with_cards_is_stored_without_its_exposures(refusing_server):
    session = await start_session(refusing_server.url)
    chat = await ChatClient.open(refusing_server.ws_url, session)
    await chat.send({"type": "message", "text": SEARCH, "client_msg_id": "cards-1"})
    await chat.recv_type("ack")
    # the turn fails, is retried by the sweep, and after `answer_max_attempts` goes to a person
    for _ in range(600):  # bounded: 2 minutes on a loaded machine
        state = rows(refusing_server, f"SELECT state FROM chat_sessions WHERE id = '{session['session_id']}'")
        if state and state[0][0] != "bot":
            break
        await asyncio.sleep(0.2)
    await chat.close()
    bot_payloads = rows(refusing_server, "SELECT payload FROM messages WHERE author = 'bot' "
                                         f"AND session_id = '{session['session_id']}'")
    assert not [p for (p,) in bot_payloads if '"items": [{' in (p or "")], "a reply with cards was stored"
    assert rows(refusing_server, "SELECT count(*) FROM rec_exposures "
                                 f"WHERE session_id = '{session['session_id']}'") == [(0,)]
    assert state[0][0] == "waiting", "the message the bot could not answer goes to a person"
