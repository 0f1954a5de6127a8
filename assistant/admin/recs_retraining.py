"""Recommender retraining in the background: fit on the SQL store, save, swap in live (profiles kept)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from assistant.admin.retraining import _set, job_view
from assistant.runtime import load_recommender
from assistant.store.database import make_engine
from assistant.store.models import Job
from recommender.service import Recommender
from retrieval.embeddings import get_embedder

log = logging.getLogger(__name__)
JOB_KIND = "retrain_recs"
_running: dict[int, asyncio.Task] = {}


class RecsRetrainBusy(RuntimeError):
    """A recommender retraining is already running."""


async def start_recs_retraining(runtime) -> dict[str, Any]:
    if any(not task.done() for task in _running.values()):
        raise RecsRetrainBusy("a recommender retraining is already running")
    _running.clear()
    async with runtime.sessions() as db:
        job = Job(kind=JOB_KIND, status="running", progress=0.0, detail={"phase": "fitting"})
        db.add(job)
        await db.commit()
        view = job_view(job)
    _running[job.id] = asyncio.create_task(_run(runtime, job.id))
    return view


def fit_and_save(settings, profiles) -> Recommender:
    """Fit on the store as it is now, save it, and load it back sharing the live shopper profiles."""
    engine = make_engine(settings.resolved_database_url)
    try:
        fitted = Recommender.fit_from_sql(engine, embed=get_embedder().encode)
    finally:
        engine.dispose()
    fitted.save(settings.recs_model_path)
    return load_recommender(settings, profiles)


async def _run(runtime, job_id: int) -> None:
    old = runtime.recommender.current
    try:
        new = await asyncio.to_thread(fit_and_save, runtime.settings, old.profiles if old else None)
        # one reference assignment: calls in flight finish on the old model, the next ones use the new
        runtime.recommender.current = new
        await _set(runtime.sessions, job_id, status="accepted", progress=1.0, finished=True, phase="done",
                   items=len(new.item_ids))
    except Exception as e:
        log.exception("recommender retraining job %s failed", job_id)
        await _set(runtime.sessions, job_id, status="failed", finished=True, error=f"{type(e).__name__}: {e}")
