"""The data-rights operations as the API and the CLI run them: export and erase a customer, erase one
conversation; each is one transaction (with its audit entry), then live profiles are forgotten and a log
line records the counts."""

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


async def erase_customer_data(sessions: async_sessionmaker, customer_id: str, actor: Actor,
                              recommender: Any = None) -> ErasureReport:
    return await _erase(sessions, lambda db: erase_customer(db, customer_id, actor), "a customer", actor,
                        recommender)


async def erase_own_conversation(sessions: async_sessionmaker, session_id: str, actor: Actor,
                                 recommender: Any = None) -> ErasureReport:
    return await _erase(sessions, lambda db: erase_conversation(db, session_id, actor), "a conversation", actor,
                        recommender)


async def _erase(sessions: async_sessionmaker, erase: Callable[[AsyncSession], Awaitable[ErasureReport]],
                 what: str, actor: Actor, recommender: Any) -> ErasureReport:
    async with sessions() as db:
        report = await erase(db)
        await db.commit()
    if not await flush_deleted(sessions):
        log.warning("the SQLite write-ahead log was busy: erased rows stay in it until its next checkpoint")
    forget_derived(recommender, report.profile_keys)
    log_erasure(report, what, actor)
    return report


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
    profile store is shared), the embedder's query cache and the dashboard's cached figures (keyed by or
    quoting their messages)."""
    from assistant.admin.stats import forget_cached_stats
    from retrieval.embeddings import get_embedder

    rec = getattr(recommender, "current", recommender)
    profiles = getattr(rec, "profiles", None)
    for key in profile_keys if profiles is not None else ():
        profiles.forget(key)
    if get_embedder.cache_info().currsize:  # loaded in this process
        get_embedder().clear_query_cache()
    forget_cached_stats()
