"""Background jobs in the store: one running job per kind in the whole cluster, kept alive by a heartbeat.

A job row holds `active_kind` while it runs (a unique column, so a second job of the same kind fails to
insert, whichever worker tries) and a `heartbeat_at` the running worker refreshes. A worker that dies stops
refreshing; any worker then marks the job failed and frees the kind (`fail_stale_jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.store.models import Job, utcnow

log = logging.getLogger(__name__)
STOPPED = "the worker running this job stopped (no heartbeat since {at}Z)"


class JobBusy(RuntimeError):
    """A job of this kind is already running (on this worker or another)."""


async def open_job(sessions: async_sessionmaker, kind: str, worker: str, stale_after_s: float,
                   status: str = "queued", **detail: Any) -> Job:
    """Insert a running job of `kind`, or raise JobBusy when one runs with a live heartbeat."""
    await fail_stale_jobs(sessions, stale_after_s)
    async with sessions() as db:
        job = Job(kind=kind, status=status, progress=0.0, detail=detail, active_kind=kind, worker=worker,
                  heartbeat_at=utcnow())
        db.add(job)
        try:
            await db.commit()
        except IntegrityError as e:
            raise JobBusy(f"a {kind} job is already running") from e
        return job


def end_job(job: Job) -> None:
    """Mark an ended job (accepted, rejected or failed) on its row: the kind is free again."""
    job.finished_at = utcnow()
    job.active_kind = None


async def heartbeat(sessions: async_sessionmaker, job_id: int) -> bool:
    """Refresh a running job's heartbeat; False once the job has ended (or was declared dead)."""
    async with sessions() as db:
        result = await db.execute(update(Job).where(Job.id == job_id, Job.active_kind.is_not(None))
                                  .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
        await db.commit()
        return result.rowcount == 1


@contextlib.asynccontextmanager
async def kept_alive(sessions: async_sessionmaker, job_id: int, every_s: float) -> AsyncIterator[None]:
    """Refresh the job's heartbeat every `every_s` seconds while the block runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await heartbeat(sessions, job_id)
            except Exception:  # a store hiccup: the next beat retries; staleness needs several misses
                log.warning("job %s: heartbeat failed", job_id, exc_info=True)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def fail_stale_jobs(sessions: async_sessionmaker, stale_after_s: float) -> list[int]:
    """Mark failed every running job whose heartbeat is older than `stale_after_s`; returns their ids."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    failed = []
    async with sessions() as db:
        stale = list(await db.scalars(select(Job).where(Job.active_kind.is_not(None), Job.heartbeat_at < cutoff)))
        for job in stale:
            # conditional on the heartbeat we read: a job that beat meanwhile stays alive
            result = await db.execute(
                update(Job).where(Job.id == job.id, Job.heartbeat_at == job.heartbeat_at,
                                  Job.active_kind.is_not(None))
                .values(status="failed", active_kind=None, finished_at=utcnow(),
                        detail={**(job.detail or {}), "error": STOPPED.format(at=job.heartbeat_at.isoformat())})
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                failed.append(job.id)
        await db.commit()
    if failed:
        log.warning("marked failed the jobs of stopped workers: %s", failed)
    return failed
