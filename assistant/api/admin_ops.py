"""Admin routes of operations: the intent label set, intent retraining and its job, the dashboard's figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from assistant.admin.recs_retraining import start_recs_retraining
from assistant.admin.retraining import RetrainRequest, job_view, start_retraining
from assistant.admin.stats import dashboard_stats
from assistant.api.admin_errors import admin_errors
from assistant.api.deps import StoreId, get_runtime
from assistant.intent.labels import LABELS
from assistant.runtime import Runtime
from assistant.store.models import Job

router = APIRouter(tags=["admin: operations"])


@router.get("/intents")
async def intent_labels() -> dict[str, list[str]]:
    """The tags a FAQ entry may carry (the intent model's labels)."""
    return {"labels": list(LABELS)}


@router.post("/retrain-intents", status_code=202)
async def retrain_intents(body: RetrainRequest | None = None, rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Start a background retraining; follow it at GET /api/admin/jobs/{id}."""
    with admin_errors():
        return await start_retraining(rt, body or RetrainRequest())


@router.post("/retrain-recs", status_code=202)
async def retrain_recs(rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Refit the recommender on the store in the background and swap it in live (shopper profiles kept)."""
    with admin_errors():
        return await start_recs_retraining(rt)


@router.get("/models")
async def served_models(rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """The models this worker serves now (after a retraining every worker should show the same)."""
    card = rt.intent_service.classifier.card
    recommender = rt.recommender.current
    return {"worker": rt.worker_id,
            "intent": {"trained_at": card.trained_at, "labels": len(card.labels)},
            "recommender": {"items": len(recommender.item_ids) if recommender is not None else 0}}


@router.get("/jobs/{job_id}")
async def read_job(job_id: StoreId, rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    async with rt.sessions() as db:
        job = await db.get(Job, job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job_view(job)


@router.get("/stats")
async def stats(hours: int | None = Query(None, ge=1, le=24 * 366),
                rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Messages per hour, handoff rate, containment, intents, latency p50/p95, click-through, review list."""
    return await dashboard_stats(rt.sessions, hours or rt.settings.stats_window_hours, rt.settings.stats_review_limit)
