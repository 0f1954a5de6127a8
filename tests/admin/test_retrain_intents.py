"""Retraining the intent model in the background: progress readable from the job, the server answering
meanwhile, and the new model swapped in without a restart only when it is not worse on dev.

The server here starts with a deliberately useless model (its calibrated policy falls back on every
message), so a tiny retraining must beat it; the comparison itself is the real one, on Bitext dev rows.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest

from assistant.admin.retraining import ARCHIVE_DIR, not_worse
from tests.admin.conftest import ADMIN, add_accounts, copy_store, login, runtime_of
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, shop_settings

pytestmark = pytest.mark.slow

TINY = {"max_per_intent": 3, "epochs": 0.5, "final_epochs": 0, "augment_copies": 0}
JOB_TIMEOUT_S = 900
POLL_S = 0.5


def always_falls_back(model_dir) -> None:
    card_path = model_dir / "model_card.json"
    card = json.loads(card_path.read_text())
    card["policy"].update(threshold=1.0, margin=1.0)
    card_path.write_text(json.dumps(card))


@pytest.fixture(scope="module")
def weak_server(shop_state, tmp_path_factory) -> Iterator[LiveServer]:
    state = tmp_path_factory.mktemp("retrain_state")
    copy_store(shop_state, state)
    shutil.copytree(shop_state / "intent_model", state / "intent_model")
    always_falls_back(state / "intent_model")
    settings = shop_settings(state)  # its own, empty Chroma: the FAQ is indexed from SQL at start-up
    add_accounts(settings)
    server = LiveServer(settings).start()
    yield server
    server.stop()


async def ask(server, text: str) -> tuple[dict, float]:
    started = time.monotonic()
    chat = await ChatClient.open(server.ws_url, await start_session(server.url))
    try:
        _, reply = await chat.say(text)
        return reply, time.monotonic() - started
    finally:
        await chat.close()


async def test_a_better_model_is_trained_in_the_background_and_swapped_in_live(weak_server):
    runtime = runtime_of(weak_server)
    old_classifier = runtime.intent_service.classifier
    reply, _ = await ask(weak_server, "what is your return policy?")
    assert reply["handoff"] is True  # the useless model falls back on everything

    api = httpx.AsyncClient(base_url=weak_server.url, timeout=60,
                            headers={"Authorization": f"Bearer {login(weak_server, ADMIN)}"})
    started = await api.post("/api/admin/retrain-intents", json=TINY)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert (await api.post("/api/admin/retrain-intents", json=TINY)).status_code == 409

    seen, answered_while_running = [], False
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        job = (await api.get(f"/api/admin/jobs/{job_id}")).json()
        seen.append(job["progress"])
        if job["status"] not in ("queued", "running"):
            break
        if job["status"] == "running" and not answered_while_running:
            reply, _ = await ask(weak_server, "hello")
            answered_while_running = (await api.get(f"/api/admin/jobs/{job_id}")).json()["status"] == "running"
        assert time.monotonic() < deadline, job
        await asyncio.sleep(POLL_S)
    await api.aclose()

    assert job["status"] == "accepted", job
    assert answered_while_running  # the server kept answering during the training
    assert seen == sorted(seen) and any(0 < p < 1 for p in seen) and job["progress"] == 1.0
    detail = job["detail"]
    assert detail["current"]["accuracy"] < detail["candidate"]["accuracy"]
    assert runtime.intent_service.classifier is not old_classifier
    settings = weak_server.settings
    assert (settings.state_dir / ARCHIVE_DIR / f"before-job-{job_id}" / "model_card.json").exists()
    reply, _ = await ask(weak_server, "what is your return policy?")
    assert reply["intent"] == "check_refund_policy" and reply["handoff"] is False


def test_a_candidate_wins_only_when_no_compared_figure_is_worse():
    current = {"accuracy": 0.80, "macro_f1": 0.78}
    assert not_worse({"accuracy": 0.80, "macro_f1": 0.78}, current, 0.0)
    assert not_worse({"accuracy": 0.85, "macro_f1": 0.80}, current, 0.0)
    assert not not_worse({"accuracy": 0.85, "macro_f1": 0.77}, current, 0.0)
    assert not not_worse({"accuracy": 0.79, "macro_f1": 0.90}, current, 0.0)
    assert not_worse({"accuracy": 0.79, "macro_f1": 0.78}, current, 0.02)
