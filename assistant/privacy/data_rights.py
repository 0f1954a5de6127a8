"""The data-rights operations as the API and the CLI run them: export and erase a customer, erase one
conversation; each is one transaction (with its audit entry), then live profiles and this process's derived
caches are forgotten, the other workers are told to forget theirs (a `data_erased` announcement on the bus)
and a log line records the counts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.config import Settings
from assistant.privacy.audit import CUSTOMER, EXPORT, Actor, add_audit
from assistant.privacy.erasure import ErasureReport, erase_conversation, erase_customer, log_erasure
from assistant.privacy.export import export_customer
from assistant.store.database import flush_deleted

log = logging.getLogger(__name__)


async def export_customer_data(sessions: async_sessionmaker, customer_id: str, actor: Actor) -> dict[str, Any]:
    async with sessions() as db:
        document = await export_customer(db, customer_id)
        add_audit(db, actor, EXPORT, CUSTOMER, customer_id)
        await db.commit()
    return document


# tells the other workers that data was erased (None: no other worker to tell)
Announcer = Callable[[], Awaitable[None]] | None


async def erase_customer_data(sessions: async_sessionmaker, customer_id: str, actor: Actor,
                              recommender: Any = None, tell_workers: Announcer = None) -> ErasureReport:
    return await _erase(sessions, lambda db: erase_customer(db, customer_id, actor), "a customer", actor,
                        recommender, tell_workers)


async def erase_own_conversation(sessions: async_sessionmaker, session_id: str, actor: Actor,
                                 recommender: Any = None, tell_workers: Announcer = None) -> ErasureReport:
    return await _erase(sessions, lambda db: erase_conversation(db, session_id, actor), "a conversation", actor,
                        recommender, tell_workers)


async def _erase(sessions: async_sessionmaker, erase: Callable[[AsyncSession], Awaitable[ErasureReport]],
                 what: str, actor: Actor, recommender: Any, tell_workers: Announcer) -> ErasureReport:
    async with sessions() as db:
        report = await erase(db)
        await db.commit()
    if not await flush_deleted(sessions):
        log.warning("the SQLite write-ahead log was busy: erased rows stay in it until its next checkpoint")
    forget_derived(recommender, report.profile_keys)
    if tell_workers is not None:
        try:
            await tell_workers()
        except Exception:  # committed already; a worker that lost the bus forgets on subscribing again
            log.warning("could not tell the other workers to forget their caches", exc_info=True)
    log_erasure(report, what, actor)
    return report


def workers_of(settings: Settings) -> Announcer:
    """For an erasure outside a server (the CLI): tell the servers through their Redis bus, if they share one."""
    if not settings.redis_url:
        return None

    async def tell() -> None:
        from assistant.chat.bus import make_bus
        from assistant.cluster.announcements import DataErased, publish

        bus = make_bus(settings.redis_url, settings.redis_prefix, 2)
        try:
            await publish(bus, "cli", DataErased())
        finally:
            await bus.close()

    return tell


def shared_profiles(settings: Settings) -> Any:
    """The workers' shared live profiles (Redis), for an erasure run outside a server (the CLI); None when
    profiles live in a server's memory only."""
    if not settings.redis_url:
        return None
    from types import SimpleNamespace

    from recommender.profiles import RedisProfileStore

    # forgetting needs only the key scheme: no events are weighed or kept through this store
    return SimpleNamespace(profiles=RedisProfileStore(settings.redis_url, settings.redis_prefix, {}, 1, 1))


def forget_derived(recommender: Any, profile_keys: tuple[str, ...]) -> None:
    """What this process derived from erased data: the live shopper profiles (in memory, or Redis when the
    profile store is shared), then its caches (`forget_cached_derivatives`)."""
    rec = getattr(recommender, "current", recommender)
    profiles = getattr(rec, "profiles", None)
    for key in profile_keys if profiles is not None else ():
        profiles.forget(key)
    forget_cached_derivatives()


def forget_cached_derivatives() -> None:
    """The embedder's query cache and the dashboard's cached figures (keyed by or quoting messages): every
    worker drops them after any erasure (they refill as shoppers ask)."""
    from assistant.admin.stats import forget_cached_stats
    from retrieval.embeddings import get_embedder

    if get_embedder.cache_info().currsize:  # loaded in this process
        get_embedder().clear_query_cache()
    forget_cached_stats()
