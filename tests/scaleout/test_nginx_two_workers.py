"""Two workers behind Debian's nginx (deploy/nginx-shopassist.conf) on PostgreSQL, Redis and a Chroma server.

Everything goes through nginx, which balances without sticky sessions; its X-Upstream header says which
worker answered, so each flow crosses workers on purpose: a shopper on worker A handed to an agent on
worker B; a retrained model installed by one worker and served by the other; an FAQ edit through one
worker used in the other's next answer.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.agent_console.client import AgentSocket, add_agents
from tests.chat.client import ChatClient
from tests.conftest import fresh_pg_url, pg_available
from tests.scaleout.cluster import REDIS_URL, Cluster, start_cluster

pytestmark = pytest.mark.slow

TINY = {"max_per_intent": 3, "epochs": 0.5, "final_epochs": 0, "augment_copies": 0}  # a quick retraining
JOB_TIMEOUT_S = 900


def always_falls_back(model_dir) -> None:
    """Make the installed intent model useless (it falls back on everything): any retraining beats it."""
    card_path = model_dir / "model_card.json"
    card = json.loads(card_path.read_text())
    card["policy"].update(threshold=1.0, margin=1.0)
    card_path.write_text(json.dumps(card))


@pytest.fixture(scope="module")
def cluster(shop_state, tmp_path_factory) -> Iterator[Cluster]:
    import redis

    if not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    root = tmp_path_factory.mktemp("scaleout")
    state = root / "state"
    shutil.copytree(shop_state, state, ignore=shutil.ignore_patterns("chroma", "shop.db*"))
    always_falls_back(state / "intent_model")
    running = start_cluster(state, root, fresh_pg_url())
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(cluster):
    from assistant.config import Settings

    settings = Settings(database_url=cluster.env["SHOPASSIST_DATABASE_URL"],
                        secret_key=cluster.env["SHOPASSIST_SECRET_KEY"])
    return add_agents(settings, 1, role="admin", name="Ada")[0], add_agents(settings, 1, name="Bea")[0]


async def new_session(cluster: Cluster) -> dict:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        resp = await http.post("/api/sessions", json={})
        resp.raise_for_status()
        return resp.json()


async def shopper_on(cluster: Cluster, worker: int, session: dict | None = None) -> ChatClient:
    session = session or await new_session(cluster)
    ws = await cluster.connect_to(worker, f"/ws/chat?session_id={session['session_id']}")
    await ws.send(json.dumps({"type": "auth", "token": session["token"]}))  # the token: first frame, not URL
    return ChatClient(ws, session)


async def test_a_shopper_on_worker_a_is_handed_to_an_agent_on_worker_b(cluster, admin):
    a, b = cluster.workers
    _, agent = admin
    shopper = await shopper_on(cluster, a)
    sid = shopper.session["session_id"]
    await shopper.send({"type": "handoff_request"})
    assert (await shopper.recv_type("status"))["state"] == "waiting"

    console = AgentSocket(await cluster.connect_to(b, "/ws/agent"))
    await console.send({"type": "auth", "token": agent.token})
    assert (await console.recv_type("hello"))["agent_id"] == agent.agent_id
    await console.recv_queue_with(sid)
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30, headers=agent.headers) as http:
        assert (await http.post(f"/api/agent/sessions/{sid}/claim")).status_code == 200
    status = await shopper.recv_type("status")
    assert (status["state"], status["agent_name"]) == ("with_agent", "Bea")

    await console.send({"type": "watch", "session_id": sid, "after_seq": 0})
    await console.recv_type("status", session_id=sid)
    await shopper.send({"type": "message", "text": "is anyone there?", "client_msg_id": "s-1"})
    ack = await shopper.recv_type("ack")
    seen = await console.recv_type("reply", session_id=sid, author="shopper", seq=ack["seq"])
    assert seen["text"] == "is anyone there?"  # from worker A's socket to worker B's console
    await console.send({"type": "message", "session_id": sid, "text": "Bea here, how can I help?",
                        "client_msg_id": "b-1"})
    reply = await shopper.recv_type("reply")
    assert (reply["author"], reply["text"]) == ("agent", "Bea here, how can I help?")  # and back
    await asyncio.gather(shopper.close(), console.close())


@pytest.fixture(scope="module")
def retrained(cluster, admin) -> dict:
    """A quick retraining started through nginx on one worker; returns the finished job and who ran it."""

    async def run() -> dict:
        ada, _ = admin
        async with httpx.AsyncClient(base_url=cluster.url, timeout=60, headers=ada.headers) as http:
            before = {w: (await cluster.get_from(w, http, "/api/admin/models")).json() for w in cluster.workers}
            started = await http.post("/api/admin/retrain-intents", json=TINY)
            assert started.status_code == 202, started.text
            ran_on = cluster.worker_of(started.headers)
            job_id = started.json()["id"]
            # one retraining at a time in the whole cluster, whichever worker is asked
            for _ in cluster.workers:
                assert (await http.post("/api/admin/retrain-intents", json=TINY)).status_code == 409
            deadline = time.monotonic() + JOB_TIMEOUT_S
            while (job := (await http.get(f"/api/admin/jobs/{job_id}")).json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, job
                await asyncio.sleep(1)
            return {"job": job, "ran_on": ran_on, "before": before}

    return asyncio.run(run())


async def test_a_model_retrained_on_one_worker_is_served_by_the_other(cluster, admin, retrained):
    assert retrained["job"]["status"] == "accepted", retrained["job"]
    other = next(w for w in cluster.workers if w != retrained["ran_on"])
    ada, _ = admin
    async with httpx.AsyncClient(base_url=cluster.url, timeout=60, headers=ada.headers) as http:
        for _ in range(100):
            served = (await cluster.get_from(other, http, "/api/admin/models")).json()
            if served["intent"]["trained_at"] != retrained["before"][other]["intent"]["trained_at"]:
                break
            await asyncio.sleep(0.2)
    assert served["intent"]["trained_at"] != retrained["before"][other]["intent"]["trained_at"]
    shopper = await shopper_on(cluster, other)
    _, reply = await shopper.say("what is your return policy?")
    await shopper.close()
    # the old model fell back (and handed off) on everything; the new one answers
    assert reply["intent"] == "check_refund_policy" and reply["handoff"] is False


async def test_an_faq_edit_through_one_worker_is_in_the_others_next_answer(cluster, admin, retrained):
    a, b = cluster.workers
    ada, _ = admin
    shopper = await shopper_on(cluster, b)
    _, reply = await shopper.say("what is your return policy?")
    faq_id = reply["faq_ids"][0]
    token = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=cluster.url, timeout=60, headers=ada.headers) as http:
        entry = (await http.get(f"/api/admin/faq/{faq_id}")).json()
        edited = f"Returns are free for 60 days (policy {token})."
        for _ in range(20):  # an edit that nginx sends to worker A (the PUT is idempotent)
            resp = await http.put(f"/api/admin/faq/{faq_id}", json={"question": entry["question"],
                                                                   "answer": edited, "intents": entry["intents"]})
            assert resp.status_code == 200, resp.text
            if cluster.worker_of(resp.headers) == a:
                break
        assert cluster.worker_of(resp.headers) == a
    _, reply = await shopper.say("what is your return policy?")  # on worker B
    await shopper.close()
    assert faq_id in reply["faq_ids"] and token in reply["text"]
