"""An erasure makes every worker forget what it derived from the erased data, not only the erasing one.

Two workers on one PostgreSQL store and one Redis: worker B runs in this process (its caches can be read),
worker A is a `shopassist serve` process of its own; `shopassist customer erase` is a third process. A
customer chats on B, so B's query embedding cache holds their words and its dashboard cache their figures;
then A (or the CLI) erases the customer.

Failed before (issue 15, item 2): only the erasing process cleared its caches; B kept the erased words
as cache keys and served its cached figures until they expired. Now the eraser announces `data_erased` on
the bus and every worker forgets.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest

from assistant.admin import stats
from assistant.config import REPO_ROOT
from assistant.store.database import make_engine, session_factory
from assistant.store.models import Customer
from retrieval.embeddings import get_embedder
from tests.agent_console.client import add_agents
from tests.chat.client import ChatClient, start_session
from tests.conftest import LiveServer, _database_url, _free_port, shop_settings
from tests.faults.harness import ServerProcess, server_env
from tests.scaleout.test_shared_state import redis_available

REDIS_URL = "redis://127.0.0.1:6379/3"
WORD = "Wilhelmina"


@pytest.fixture(scope="module")
def cluster(shop_state):
    if not redis_available():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return shop_settings(shop_state, _database_url("postgres", shop_state), redis_url=REDIS_URL,
                         redis_prefix=f"t-{uuid.uuid4().hex[:8]}:", stats_cache_s=3600.0,
                         handoff_on_low_confidence=False, handoff_after_fallbacks=0)


@pytest.fixture(scope="module")
def worker_b(cluster) -> Iterator[LiveServer]:
    server = LiveServer(cluster).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker_a(cluster, tmp_path_factory) -> Iterator[ServerProcess]:
    """Its own copy of the models and indexes (embedded Chroma is one process's), the same store and Redis."""
    state = tmp_path_factory.mktemp("worker_a_state")
    shutil.copytree(cluster.state_dir, state, dirs_exist_ok=True, ignore=shutil.ignore_patterns("shop.db*"))
    env = server_env(state, cluster.database_url, redis_url=cluster.redis_url, redis_prefix=cluster.redis_prefix)
    server = ServerProcess(env, _free_port(), state / "server.log").start()
    yield server
    server.stop()


def new_customer(settings) -> str:
    customer_id = f"forget-{uuid.uuid4().hex[:8]}"
    engine = make_engine(settings.resolved_database_url)
    with session_factory(engine)() as db:
        db.add(Customer(id=customer_id, name="Wilhelmina Quigley"))
        db.commit()
    engine.dispose()
    return customer_id


def cached_words() -> list[str]:
    return [text for text in list(get_embedder()._queries) if WORD in text]  # noqa: SLF001


def b_stats_cached(server: LiveServer) -> bool:
    cache = stats._caches.get(server.app.state.runtime.sessions)  # noqa: SLF001
    return cache is not None and cache.value is not None


async def chat_on_b(worker_b: LiveServer) -> str:
    """The customer asks on B; B's caches then hold their words and figures."""
    customer_id = new_customer(worker_b.settings)
    chat = await ChatClient.open(worker_b.ws_url, await start_session(worker_b.url, customer_id))
    try:
        await chat.say(f"how long does shipping take to {WORD}'s house in Aberdeen?")
    finally:
        await chat.close()
    assert httpx.get(f"{worker_b.url}/metrics", timeout=30).status_code == 200  # computes the dashboard figures
    assert cached_words() and b_stats_cached(worker_b)
    return customer_id


def erase_through_worker_a(worker_a: ServerProcess, worker_b: LiveServer, customer_id: str) -> None:
    admin, = add_agents(worker_b.settings, 1, role="admin", name="Eraser")
    erased = httpx.delete(f"{worker_a.url}/api/admin/customers/{customer_id}/data", headers=admin.headers,
                          timeout=60)
    assert erased.status_code == 200 and erased.json()["erased"], erased.text


def erase_through_the_cli(worker_b: LiveServer, customer_id: str) -> None:
    settings = worker_b.settings
    env = server_env(settings.state_dir, settings.database_url, redis_url=settings.redis_url,
                     redis_prefix=settings.redis_prefix)
    done = subprocess.run([str(REPO_ROOT / ".venv/bin/shopassist"), "customer", "erase", customer_id, "--yes"],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


async def forgotten_on_b(worker_b: LiveServer) -> bool:
    for _ in range(100):
        if not cached_words() and not b_stats_cached(worker_b):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_an_erasure_on_another_worker_clears_this_workers_caches(worker_b, worker_a):
    customer_id = await chat_on_b(worker_b)
    await asyncio.to_thread(erase_through_worker_a, worker_a, worker_b, customer_id)
    assert await forgotten_on_b(worker_b), (cached_words(), b_stats_cached(worker_b))  # old main: both kept


async def test_an_erasure_by_the_cli_clears_the_servers_caches(worker_b):
    customer_id = await chat_on_b(worker_b)
    await asyncio.to_thread(erase_through_the_cli, worker_b, customer_id)
    assert await forgotten_on_b(worker_b), (cached_words(), b_stats_cached(worker_b))  # old main: both kept
