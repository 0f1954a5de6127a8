"""Runtime: builds and holds the server's components (store, bus, indexes, models, graph) from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.admin.ab_tests import AbTests
from assistant.admin.catalogue import teach_missing_items
from assistant.agent.catalog import Catalog
from assistant.agent.graph import build_dialogue_graph
from assistant.agent.order_tools import OrderTools
from assistant.agent.toolbox import Swappable, Toolbox
from assistant.chat.answer_leases import AnswerLeases
from assistant.chat.answering import Answerer
from assistant.chat.bus import MessageBus, make_bus
from assistant.chat.conversations import ConversationStore
from assistant.chat.service import ChatService
from assistant.cluster import new_worker_id
from assistant.cluster.presence import InProcessPresence, Presence, make_presence
from assistant.config import Settings
from assistant.intent.frustration import policy_from_settings
from assistant.limits import Limiter, make_limiter
from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema
from assistant.store.models import BehaviourEvent, EventKind, FaqEntry
from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
from retrieval.embeddings import get_embedder
from retrieval.faq_index import FaqDocument, FaqIndex
from retrieval.product_index import ProductIndex
from retrieval.query_encoder import ensure_query_encoder

log = logging.getLogger(__name__)


class SetupMissing(RuntimeError):
    """A built artefact the server needs is absent: run `shopassist setup`."""


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    bus: MessageBus
    faq: FaqIndex
    products: ProductIndex
    intent_service: Any
    toolbox: Toolbox
    chat: ChatService
    recommender: Swappable
    limiter: Limiter
    answerer: Answerer | None = None
    presence: Presence = field(default_factory=InProcessPresence)  # agents online, on every worker
    background: list[asyncio.Task] = field(default_factory=list)  # cluster listener, job sweeper
    worker_id: str = field(default_factory=new_worker_id)  # this worker among the others

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        for task in self.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.answerer is not None:
            await self.answerer.close(self.settings.answer_shutdown_wait_s)
        close = getattr(self.intent_service, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        await self.presence.close()
        await self.bus.close()
        await self.limiter.close()
        await self.engine.dispose()


def load_intent_service(settings: Settings):
    from assistant.intent.classifier import IntentClassifier
    from assistant.intent.service import IntentService

    model_dir = settings.resolved_intent_model_dir
    if not (model_dir / "config.json").exists() and not any(model_dir.glob("*.onnx")):
        raise SetupMissing(f"no intent model in {model_dir}: run `shopassist setup` first")
    classifier = IntentClassifier.from_settings(settings)
    return IntentService(classifier, window_ms=settings.intent_batch_window_ms,
                         max_batch=settings.intent_max_batch)


def load_recommender(settings: Settings, profiles=None):
    """The saved recommender with the configured serving settings: item texts in fp32, the chat text through
    the query encoder.

    Shopper profiles are `profiles` (kept across a swap), else in Redis when configured (shared by every
    worker, kept across restarts), else in this process.
    """
    if not settings.recs_model_path.exists():
        log.warning("no recommender model at %s; suggestions fall back to product search",
                    settings.recs_model_path)
        return None
    from recommender.profiles import RedisProfileStore
    from recommender.service import Recommender

    embedder = get_embedder()
    model = Recommender.load(settings.recs_model_path, embed=embedder.encode, profiles=profiles,
                             embed_query=embedder.encode_query, max_profiles=settings.recs_max_profiles)
    if profiles is None and settings.redis_url:
        model.profiles = RedisProfileStore(settings.redis_url, settings.redis_prefix, model.config.event_weights,
                                           model.config.profile_max_events, settings.profile_ttl_s)
    return model.with_serving(settings.recs_serving)  # the configured settings, whatever the file was saved with


async def warm_profiles(sessions: async_sessionmaker, recommender: Swappable, limit: int) -> int:
    """Replay the newest behaviour events into in-process profiles (a restart keeps what shoppers did); not
    `purchase` events, which old sockets stored for any client (purchases are the orders)."""
    model = recommender.current
    if model is None or limit <= 0:
        return 0
    async with sessions() as db:
        rows = list(await db.execute(select(BehaviourEvent.customer_id, BehaviourEvent.session_id,
                                            BehaviourEvent.item_id, BehaviourEvent.kind)
                                     .where(BehaviourEvent.kind != EventKind.PURCHASE)
                                     .order_by(BehaviourEvent.id.desc()).limit(limit)))
    for customer_id, session_id, item_id, kind in reversed(rows):
        with contextlib.suppress(ValueError):  # a kind the model no longer weighs
            model.observe(customer_id or session_id, item_id, kind)
    return len(rows)


async def start_cluster_tasks(runtime: Runtime) -> None:
    """Every worker listens for the others' announcements and fails the jobs of dead workers."""
    from assistant.cluster.announcements import listen
    from assistant.cluster.jobs import fail_stale_jobs

    async def sweep_jobs() -> None:
        while True:
            try:
                await fail_stale_jobs(runtime.sessions, runtime.settings.job_stale_s)
            except Exception:
                log.warning("could not check for stale jobs", exc_info=True)
            await asyncio.sleep(runtime.settings.job_stale_s / 2)

    subscribed = asyncio.Event()
    runtime.background += [asyncio.create_task(listen(runtime, subscribed)), asyncio.create_task(sweep_jobs())]
    await subscribed.wait()  # no announcement made after start-up is missed


async def sync_faq_index(sessions: async_sessionmaker, faq: FaqIndex) -> None:
    """Make the FAQ collection hold exactly the SQL entries (repairs a crash between the two writes)."""
    async with sessions() as db:
        entries = list(await db.scalars(select(FaqEntry)))
    sql_ids = {e.id for e in entries}
    stale = await asyncio.to_thread(faq.ids)
    await asyncio.to_thread(faq.delete, stale - sql_ids)
    wanted = [FaqDocument(e.id, e.question, e.answer, tuple(e.intents or ())) for e in entries]
    # missing entries, and entries whose indexed text differs from SQL (an edit whose undo failed)
    await asyncio.to_thread(lambda: faq.upsert([d for d in wanted if d.faq_id not in stale or faq.get(d.faq_id) != d]))


async def build_runtime(settings: Settings) -> Runtime:
    import torch
    from threadpoolctl import threadpool_limits

    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
    torch.set_num_threads(settings.inference_threads)
    # BLAS too (the intent neighbour votes, recommender scoring): concurrent turns each run their own
    # small products, and a multi-threaded BLAS call spins against them instead of helping
    threadpool_limits(settings.inference_threads)
    await asyncio.to_thread(upgrade_schema, settings.resolved_database_url)
    engine = make_async_engine(settings.resolved_database_url, pool_size=settings.database_pool_size,
                               max_overflow=settings.database_max_overflow,
                               ping_idle_s=settings.database_ping_idle_s)
    sessions = async_session_factory(engine)
    chroma = make_chroma_client(settings.resolved_chroma_path, settings.chroma_url)
    embedder = get_embedder()
    embedder.use_query_encoder(await asyncio.to_thread(ensure_query_encoder, settings.state_dir)
                               if settings.query_encoder == "int8" else None)
    ef = MiniLMEmbeddingFunction(embedder)
    faq, products = FaqIndex(chroma, ef), ProductIndex(chroma, ef)
    await sync_faq_index(sessions, faq)
    intent_service = load_intent_service(settings)
    start = getattr(intent_service, "start", None)
    if start is not None:
        result = start()
        if asyncio.iscoroutine(result):
            await result
    recommender = Swappable(await asyncio.to_thread(load_recommender, settings))
    await teach_missing_items(sessions, recommender)  # items added since the model was fitted
    if not settings.redis_url:
        await warm_profiles(sessions, recommender, settings.profile_warm_events)
    catalog = Catalog(sessions)
    toolbox = Toolbox(settings=settings, intents=intent_service, faq=faq, products=products,
                      orders=OrderTools(sessions), catalog=catalog, recommender=recommender,
                      ab_tests=AbTests(sessions, settings), llm=make_llm(settings))
    bus = make_bus(settings.redis_url, settings.redis_prefix, settings.redis_max_connections)
    presence = make_presence(settings.redis_url, settings.redis_prefix, settings.presence_ttl_s)
    runtime = Runtime(settings=settings, engine=engine, sessions=sessions, bus=bus, faq=faq,
                      products=products, intent_service=intent_service, toolbox=toolbox,
                      chat=None, recommender=recommender, presence=presence,
                      limiter=make_limiter(settings))  # type: ignore[arg-type]
    runtime.chat = ChatService(
        store=ConversationStore(sessions), bus=bus, graph=build_dialogue_graph(toolbox), catalog=catalog,
        sessions=sessions, recommender=recommender, max_chars=settings.max_message_chars, presence=presence,
        frustration=policy_from_settings(settings),
    )
    runtime.answerer = Answerer(
        runtime.chat, AnswerLeases(sessions, settings.answer_lease_s), grace_s=settings.answer_grace_s,
        sweep_s=settings.answer_sweep_s, batch=settings.answer_sweep_batch,
        max_attempts=settings.answer_max_attempts)
    runtime.chat.answer_later = runtime.answerer.submit
    runtime.chat.new_lease = runtime.answerer.leases.fresh
    runtime.chat.read_early = getattr(intent_service, "prefetch", runtime.chat.read_early)
    runtime.answerer.start()
    await start_cluster_tasks(runtime)
    return runtime


def make_llm(settings: Settings):
    """An optional LangChain chat model; None (the default) composes answers from retrieved text only."""
    if not settings.llm_backend:
        return None
    if settings.llm_backend == "fake":
        from langchain_core.language_models.fake_chat_models import FakeListChatModel

        return FakeListChatModel(responses=["(polished) Here is what I found."])
    module, _, attr = settings.llm_backend.rpartition(":")
    import importlib

    return getattr(importlib.import_module(module), attr)()
