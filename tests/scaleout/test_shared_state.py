"""Nothing per process that matters: two workers on one PostgreSQL and one Redis share agents' presence,
shopper profiles, new catalogue items, retrained models and the job guards.

Each test shows a state that lived in one process on the old main (a dict of agents online, a profile
dict, a `_running` dict of jobs, a model swapped only where the admin clicked): it failed there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from assistant.cluster.jobs import JobBusy, fail_stale_jobs, open_job
from assistant.cluster.presence import RedisPresence
from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema
from assistant.store.models import Job, utcnow
from recommender.profiles import RedisProfileStore
from tests.agent_console.client import AgentSocket, add_agents, api
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, _database_url, fresh_pg_url, pg_available, shop_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


@pytest.fixture(scope="module")
def redis_url() -> str:
    if not redis_available():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture(scope="module")
def cluster_settings(shop_state, redis_url):
    return shop_settings(shop_state, _database_url("postgres", shop_state), redis_url=redis_url,
                         redis_prefix=f"t-{uuid.uuid4().hex[:8]}:")


@pytest.fixture(scope="module")
def empty_pg_url() -> str:
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    url = fresh_pg_url()
    upgrade_schema(url)
    return url


@pytest.fixture(scope="module")
def two_workers(cluster_settings) -> Iterator[tuple[LiveServer, LiveServer]]:
    a, b = LiveServer(cluster_settings).start(), LiveServer(cluster_settings).start()
    yield a, b
    a.stop()
    b.stop()


async def eventually(check, attempts: int = 200, pause: float = 0.1):
    """Poll `check` (a coroutine function) until it returns something truthy; the last value otherwise."""
    for _ in range(attempts):
        value = await check()
        if value:
            return value
        await asyncio.sleep(pause)
    return value


def runtime_of(server: LiveServer):
    return server.app.state.runtime


async def handoff_status(server: LiveServer) -> dict:
    """The status frame a shopper gets from `server` on pressing "talk to a human"."""
    chat = await ChatClient.open(server.ws_url, await start_session(server.url))
    await chat.send({"type": "handoff_request"})
    status = await chat.recv_type("status")
    await chat.close()
    return status


async def test_an_agent_online_on_one_worker_is_counted_by_the_other(two_workers):
    a, b = two_workers
    assert (await handoff_status(b))["agents_online"] == 0
    agent, = add_agents(a.settings, 1, name="Olive")
    console = await AgentSocket.open(a, agent)  # the console is on worker A ...
    try:
        assert (await handoff_status(b))["agents_online"] == 1  # ... worker B counts it
    finally:
        await console.close()

    async def nobody_online() -> bool:
        return (await handoff_status(b))["agents_online"] == 0

    assert await eventually(nobody_online) is True


async def test_a_dead_workers_consoles_drop_out_after_the_ttl(redis_url):
    prefix = f"t-{uuid.uuid4().hex[:8]}:"
    dying, alive = RedisPresence(REDIS_URL, prefix, ttl_s=1.0), RedisPresence(REDIS_URL, prefix, ttl_s=1.0)
    try:
        await dying.join(41)
        await alive.join(42)
        assert await alive.count() == 2
        dying._heartbeat.cancel()  # the worker is killed: no leave, no more heartbeats
        assert await eventually(lambda: _count_is(alive, 1)) is True
    finally:
        await alive.close()
        await dying._redis.aclose()


async def _count_is(presence: RedisPresence, n: int) -> bool:
    return await presence.count() == n


async def test_a_click_on_one_worker_changes_the_profile_the_other_worker_reads(two_workers):
    a, b = two_workers
    chat = await ChatClient.open(a.ws_url, await start_session(a.url))
    item_id = int(runtime_of(a).recommender.current.item_ids[7])
    await chat.send({"type": "event", "kind": "click", "item_id": item_id})
    assert (await chat.recv_type("event_ack"))["item_id"] == item_id
    await chat.close()
    profiles_b = runtime_of(b).recommender.current.profiles
    assert [i for i, _ in profiles_b.events(chat.session["session_id"])] == [item_id]


def test_profiles_in_redis_survive_a_restart(redis_url):
    prefix = f"t-{uuid.uuid4().hex[:8]}:"
    weights = {"view": 1.0, "click": 2.0}
    before = RedisProfileStore(REDIS_URL, prefix, weights, max_events=3, ttl_s=60)
    for item in (1, 2, 3, 4):
        before.observe("shopper-1", item, "click")
    before.close()
    after = RedisProfileStore(REDIS_URL, prefix, weights, max_events=3, ttl_s=60)  # a new process
    assert after.events("shopper-1") == [(2, 2.0), (3, 2.0), (4, 2.0)]  # oldest first, capped
    after.forget("shopper-1")
    after.close()


async def test_an_item_added_through_one_worker_is_suggestable_on_the_other(two_workers):
    a, b = two_workers
    admin, = add_agents(a.settings, 1, role="admin", name="Ida")
    async with api(a, admin) as http:
        resp = await http.post("/api/admin/items", json={"title": "Walnut desk organiser with drawers",
                                                          "price": 31.5, "categories": "Desk Accessories"})
        assert resp.status_code in (200, 201), resp.text
        item_id = resp.json()["id"]

    async def b_knows() -> bool:
        return item_id in set(runtime_of(b).recommender.current.item_ids.tolist())

    assert await eventually(b_knows) is True


async def test_a_recommender_retrained_on_one_worker_is_loaded_by_the_other(two_workers):
    a, b = two_workers
    before = runtime_of(b).recommender.current
    admin, = add_agents(a.settings, 1, role="admin", name="Ray")
    async with api(a, admin) as http:
        job = (await http.post("/api/admin/retrain-recs")).json()
        assert (await http.post("/api/admin/retrain-recs")).status_code == 409  # one at a time
        async with api(b, admin) as http_b:  # ... in the whole cluster, not per worker
            assert (await http_b.post("/api/admin/retrain-recs")).status_code == 409

        async def finished():
            view = (await http.get(f"/api/admin/jobs/{job['id']}")).json()
            return view if view["status"] not in ("queued", "running") else None

        assert (await eventually(finished, attempts=1200))["status"] == "accepted"

    async def b_swapped() -> bool:
        return runtime_of(b).recommender.current is not before

    assert await eventually(b_swapped) is True
    # the shoppers' profiles stayed in Redis, shared by the new model
    assert isinstance(runtime_of(b).recommender.current.profiles, RedisProfileStore)


async def test_a_killed_workers_job_is_failed_and_frees_the_guard(empty_pg_url):
    engine = make_async_engine(empty_pg_url)
    sessions = async_session_factory(engine)
    kind = f"test_job_{uuid.uuid4().hex[:6]}"
    try:
        job = await open_job(sessions, kind, "worker-that-dies", stale_after_s=30)
        with pytest.raises(JobBusy):
            await open_job(sessions, kind, "another-worker", stale_after_s=30)
        # the worker is killed: its heartbeat stops (here: its last beat is made a minute old)
        async with sessions() as db:
            (await db.get(Job, job.id)).heartbeat_at = utcnow() - timedelta(seconds=60)
            await db.commit()
        assert job.id in await fail_stale_jobs(sessions, stale_after_s=30)
        async with sessions() as db:
            dead = await db.scalar(select(Job).where(Job.id == job.id))
            assert dead.status == "failed" and dead.active_kind is None and "stopped" in dead.detail["error"]
        second = await open_job(sessions, kind, "another-worker", stale_after_s=30)
        assert second.active_kind == kind
    finally:
        await engine.dispose()
