"""Recommender retraining in the background: fit on the SQL store, save, swap in live (profiles kept)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from assistant.admin.retraining import _set, job_view, run_in_background
from assistant.cluster.announcements import ModelInstalled, announce
from assistant.cluster.jobs import open_job
from assistant.heap import refreeze_after_swap
from assistant.runtime import load_recommender
from assistant.store.database import make_engine
from recommender.config import RecommenderConfig
from recommender.service import Recommender
from retrieval.embeddings import get_embedder

log = logging.getLogger(__name__)
JOB_KIND = "retrain_recs"


async def start_recs_retraining(runtime) -> dict[str, Any]:
    """Record the job (JobBusy when one runs on any worker) and fit in the background."""
    job = await open_job(runtime.sessions, JOB_KIND, runtime.worker_id, runtime.settings.job_stale_s,
                         status="running", phase="fitting")
    run_in_background(runtime, job.id, _run(runtime, job.id))
    return job_view(job)


def fit_and_save(settings, profiles) -> Recommender:
    """Fit on the store as it is now, save it with the configured serving settings, and load it back sharing
    the live shopper profiles."""
    engine = make_engine(settings.resolved_database_url)
    try:
        fitted = fit_from_store(settings, engine)
    finally:
        engine.dispose()
    # written beside, then renamed: a worker loading the model meanwhile reads the old file or the new one
    partial = settings.recs_model_path.with_name(settings.recs_model_path.name + ".partial")
    fitted.save(partial)
    os.replace(partial, settings.recs_model_path)
    return load_recommender(settings, profiles)


def fit_from_store(settings, engine) -> Recommender:
    """The recommender fitted on the SQL store, with the configured serving settings (setup, catalogue
    import and the admin retraining all train through here)."""
    config = settings.recs_serving.apply(RecommenderConfig())
    return Recommender.fit_from_sql(engine, embed=get_embedder().encode, config=config)


async def _run(runtime, job_id: int) -> None:
    old = runtime.recommender.current
    try:
        new = await asyncio.to_thread(fit_and_save, runtime.settings, old.profiles if old else None)
        # one reference assignment: calls in flight finish on the old model, the next ones use the new
        runtime.recommender.current = new
        refreeze_after_swap()
        await announce(runtime, ModelInstalled(model="recommender", job_id=job_id))
        await _set(runtime.sessions, job_id, status="accepted", progress=1.0, finished=True, phase="done",
                   items=len(new.item_ids))
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await _set(runtime.sessions, job_id, status="failed", finished=True, error="the server stopped")
        raise
    except Exception as e:
        log.exception("recommender retraining job %s failed", job_id)
        await _set(runtime.sessions, job_id, status="failed", finished=True, error=f"{type(e).__name__}: {e}")
