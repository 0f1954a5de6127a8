"""Background retraining of the intent model, with progress in a Job row and a no-pause swap.

`start_retraining` records a job and returns at once. The training and the comparison run in a
separate process (spawned, with its own torch threads), so the server's event loop and its GIL stay
free; that process writes its progress to the job row. The old and the new model are scored on the
same Bitext dev rows; the new one is installed (files moved into the model dir, classifier swapped
in the running intent service) only when its figures are not worse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import threading
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.cluster.announcements import ModelInstalled, announce
from assistant.cluster.jobs import end_job, kept_alive, open_job
from assistant.config import Settings
from assistant.store.models import Job

log = logging.getLogger(__name__)

JOB_KIND = "retrain_intents"
CANDIDATES_DIR = "intent_candidates"  # under the state dir
ARCHIVE_DIR = "intent_archive"
COMPARED = ("accuracy", "macro_f1")
# (progress at the start, at the end) of each training bar, by the bar's description
BAR_SPANS = {"training (calibration phase)": (0.05, 0.6), "training (final phase)": (0.6, 0.8)}
POLL_S = 0.5

_tasks: set[asyncio.Task] = set()  # this worker's running jobs (a reference keeps each task alive)


class RetrainRequest(BaseModel):
    """Training knobs; by default the quick preset (the full one takes long on a small machine)."""

    quick: bool = True
    max_per_intent: int | None = Field(None, ge=1)
    epochs: float | None = Field(None, gt=0)
    final_epochs: float | None = Field(None, ge=0)
    augment_copies: float | None = Field(None, ge=0)
    seed: int = 13


def job_view(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status, "progress": round(job.progress, 3),
            "detail": job.detail or {}, "created_at": job.created_at.isoformat() + "Z",
            "finished_at": job.finished_at.isoformat() + "Z" if job.finished_at else None, "worker": job.worker}


def not_worse(candidate: dict[str, float], current: dict[str, float], tolerance: float) -> bool:
    """The candidate wins unless one of the compared figures is lower than the current one's by more than
    `tolerance`."""
    return all((candidate.get(k) or 0.0) >= (current.get(k) or 0.0) - tolerance for k in COMPARED)


async def start_retraining(runtime, request: RetrainRequest) -> dict[str, Any]:
    """Record the job (JobBusy when a retraining runs on any worker) and run it in the background."""
    job = await open_job(runtime.sessions, JOB_KIND, runtime.worker_id, runtime.settings.job_stale_s,
                         request=request.model_dump())
    run_in_background(runtime, job.id, _run(runtime, job.id, request))
    return job_view(job)


def run_in_background(runtime, job_id: int, work) -> None:
    """Run a job's coroutine as a task of this worker, its heartbeat refreshed while it runs."""

    async def alive() -> None:
        async with kept_alive(runtime.sessions, job_id, runtime.settings.job_heartbeat_s):
            await work

    task = asyncio.create_task(alive())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run(runtime, job_id: int, request: RetrainRequest) -> None:
    settings: Settings = runtime.settings
    candidate = settings.state_dir / CANDIDATES_DIR / f"job-{job_id}"
    try:
        result = await train_in_process(_child_args(settings, job_id, request, candidate))
        accepted = not_worse(result["candidate"], result["current"], settings.retrain_tolerance)
        if accepted:
            await _set(runtime.sessions, job_id, progress=0.95, phase="installing the new model")
            await asyncio.to_thread(install_model, settings, candidate, job_id)
            await swap_classifier(runtime, settings)
            # every other worker loads it too
            await announce(runtime, ModelInstalled(model="intent", job_id=job_id))
        else:
            await asyncio.to_thread(shutil.rmtree, candidate, True)
        await _set(runtime.sessions, job_id, status="accepted" if accepted else "rejected", progress=1.0,
                   finished=True, phase="done", current=result["current"], candidate=result["candidate"],
                   decision="installed: not worse on dev" if accepted else "kept the old model: the new one is "
                   "worse on dev")
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await _set(runtime.sessions, job_id, status="failed", finished=True, error="the server stopped")
        raise
    except Exception as e:
        log.exception("retraining job %s failed", job_id)
        await asyncio.to_thread(shutil.rmtree, candidate, True)
        await _set(runtime.sessions, job_id, status="failed", finished=True, error=f"{type(e).__name__}: {e}")


async def train_in_process(args: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Run `train_and_compare` in a spawned process; a cancelled job (server shutdown) terminates it."""
    context = get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(args, sender), daemon=True, name="intent-retraining")
    process.start()
    sender.close()
    try:
        outcome, value = await asyncio.to_thread(_receive, receiver)
    except asyncio.CancelledError:
        process.terminate()
        raise
    finally:
        await asyncio.to_thread(process.join)
        receiver.close()
    if outcome != "ok":
        raise RuntimeError(value)
    return value


def _receive(receiver) -> tuple[str, Any]:
    try:
        return receiver.recv()
    except EOFError:
        return "error", "the training process ended without a result"


def _child_main(args: dict[str, Any], sender) -> None:
    try:
        sender.send(("ok", train_and_compare(args)))
    except BaseException as e:  # noqa: BLE001 - reported to the server as the job's error
        sender.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        sender.close()


def _child_args(settings: Settings, job_id: int, request: RetrainRequest, candidate: Path) -> dict[str, Any]:
    from assistant.intent.training import stored_feedback

    return {"database_url": settings.resolved_database_url, "job_id": job_id, "request": request.model_dump(),
            "candidate": str(candidate), "current": str(settings.resolved_intent_model_dir),
            "data_dir": str(settings.data_dir), "use_onnx": settings.intent_use_onnx,
            "eval_per_intent": settings.retrain_eval_per_intent, "threads": settings.retrain_threads,
            "feedback": stored_feedback(settings), "state_dir": str(settings.state_dir),
            "int8_queries": settings.query_encoder == "int8"}


async def _set(sessions: async_sessionmaker, job_id: int, status: str | None = None, progress: float | None = None,
               finished: bool = False, **detail: Any) -> None:
    async with sessions() as db:
        job = await db.get(Job, job_id)
        _update(job, status, progress, finished, detail)
        await db.commit()


def _update(job: Job, status: str | None, progress: float | None, finished: bool, detail: dict[str, Any]) -> None:
    if status:
        job.status = status
    if progress is not None:
        job.progress = max(job.progress or 0.0, progress)
    if finished:
        end_job(job)
    job.detail = {**(job.detail or {}), **detail}


def install_model(settings: Settings, candidate: Path, job_id: int) -> None:
    """Move the candidate into the model dir; the previous model is kept in the archive."""
    current = settings.resolved_intent_model_dir
    archive = settings.state_dir / ARCHIVE_DIR / f"before-job-{job_id}"
    archive.parent.mkdir(parents=True, exist_ok=True)
    if current.exists():
        os.replace(current, archive)
    os.replace(candidate, current)


async def swap_classifier(runtime, settings: Settings) -> None:
    """Load the installed model and hand it to the running intent service (no restart, no pause)."""
    from assistant.heap import refreeze_after_swap
    from assistant.intent.classifier import IntentClassifier

    classifier = await asyncio.to_thread(IntentClassifier.from_settings, settings)
    runtime.intent_service.replace_classifier(classifier)
    refreeze_after_swap()


# ---- in the training process ----
def train_and_compare(args: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Train a candidate into args["candidate"], then score it and the current model on the same dev rows."""
    import torch

    from assistant.intent.frozen_member import frozen_encoder_for
    from assistant.intent.training import FULL_PLAN, QUICK_PLAN, train_intent_model
    from assistant.store.database import make_engine, session_factory

    torch.set_num_threads(args["threads"])
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (progress bars are read, not printed)
    engine = make_engine(args["database_url"])
    jobs = session_factory(engine)

    def report(status: str | None = None, progress: float | None = None, **detail: Any) -> None:
        with jobs() as db:
            _update(db.get(Job, args["job_id"]), status, progress, False, detail)
            db.commit()

    request = RetrainRequest.model_validate(args["request"])
    plan = QUICK_PLAN if request.quick else FULL_PLAN
    knobs = request.model_dump(include={"max_per_intent", "epochs", "final_epochs", "augment_copies"},
                               exclude_none=True)
    plan = replace(plan, export_onnx=plan.export_onnx and args["use_onnx"], **knobs)
    report("running", 0.02, phase="loading data and the base model")
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_bars, args=(report, stop), daemon=True)
    watcher.start()
    try:
        # the frozen member learns from the vectors the server will give it (the int8 query encoder)
        train_intent_model(Path(args["candidate"]), Path(args["data_dir"]), plan=plan, seed=request.seed,
                           feedback=[tuple(f) for f in args["feedback"]], progress=True,
                           frozen_encoder=frozen_encoder_for(Path(args["state_dir"]), args["int8_queries"]))
    finally:
        stop.set()
        watcher.join()
    report(progress=0.85, phase="scoring the old and the new model on dev")
    scores = {name: dev_metrics(Path(args[name]), Path(args["data_dir"]), args["eval_per_intent"],
                                request.seed, args["use_onnx"]) for name in ("current", "candidate")}
    report(progress=0.9, phase="comparing")
    engine.dispose()
    return scores


def _watch_bars(report, stop: threading.Event) -> None:
    """Turn the trainer's progress bars into job progress (the trainer has no progress callback)."""
    from tqdm import tqdm

    last = None
    while not stop.wait(POLL_S):
        for bar in list(getattr(tqdm, "_instances", ())):
            desc = (bar.desc or "").rstrip(": ")
            if desc not in BAR_SPANS or not bar.total:
                continue
            low, high = BAR_SPANS[desc]
            state = (desc, bar.n)
            if state != last:
                report(progress=low + (high - low) * bar.n / bar.total, phase=desc, step=bar.n, steps=bar.total)
                last = state


def dev_metrics(model_dir: Path, data_dir: Path, per_intent: int, seed: int, use_onnx: bool) -> dict[str, float]:
    from assistant.intent.classifier import IntentClassifier
    from assistant.intent.data import cap_per_intent, load_bitext
    from assistant.intent.metrics import summary_metrics

    rows = cap_per_intent(load_bitext(data_dir, "dev"), per_intent, seed)
    readings = IntentClassifier.load(model_dir, use_onnx=use_onnx).predict([r.text for r in rows])
    metrics = summary_metrics([r.intent for r in rows], [r.intent for r in readings],
                              [r.fallback for r in readings])
    return {k: v for k, v in metrics.items() if isinstance(v, int | float)}
