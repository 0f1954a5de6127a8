"""Announcements on the bus that make every worker load what one worker changed.

A worker that installs a retrained model, or adds an item to the catalogue, publishes it on the `cluster`
channel; every worker (`listen`, a task of each runtime) then loads the new model from the shared state
dir, or teaches its recommender the new item from the store. An erasure (by any worker or the CLI) makes
every worker forget the caches derived from personal data. A worker that missed an announcement (it was
down) gets the same result at start-up or on subscribing again: it loads the installed files, teaches the
items missing and forgets its caches.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

log = logging.getLogger(__name__)
CLUSTER_CHANNEL = "cluster"


class ModelInstalled(BaseModel):
    """A retrained model is installed in the state dir: load it."""

    type: Literal["model_installed"] = "model_installed"
    model: Literal["intent", "recommender"]
    job_id: int | None = None
    origin: str = ""  # the announcing worker (set by `announce`)


class ItemAdded(BaseModel):
    """An item was added to the catalogue: the recommender may suggest it."""

    type: Literal["item_added"] = "item_added"
    item_id: int
    origin: str = ""


class DataErased(BaseModel):
    """Personal data was erased from the store: forget the caches derived from it (the query embedding
    cache keyed by shoppers' words, the dashboard's cached figures quoting them). It names nobody: the live
    profiles, in Redis when several workers run, were forgotten by the eraser."""

    type: Literal["data_erased"] = "data_erased"
    origin: str = ""


Announcement = Annotated[ModelInstalled | ItemAdded | DataErased, Field(discriminator="type")]
_announcement = TypeAdapter(Announcement)


async def announce(runtime, announcement: ModelInstalled | ItemAdded | DataErased) -> None:
    """Tell every other worker (the announcing one has applied the change already)."""
    await publish(runtime.bus, runtime.worker_id, announcement)


async def publish(bus, origin: str, announcement: ModelInstalled | ItemAdded | DataErased) -> None:
    """`announce` from outside a server's runtime (the CLI), on a bus of its own."""
    await bus.publish(CLUSTER_CHANNEL, {**announcement.model_dump(), "origin": origin})


async def listen(runtime, subscribed: asyncio.Event, retry_s: float = 1.0) -> None:
    """Apply the other workers' announcements to this worker's runtime until cancelled.

    A lost subscription (Redis restarted) is opened again; what was announced meanwhile is caught up from
    the state dir and the store (`catch_up`), since pub/sub keeps nothing for an absent listener.
    """
    seen = installed_versions(runtime.settings)
    while True:
        try:
            async with runtime.bus.subscribe(CLUSTER_CHANNEL) as frames:
                if subscribed.is_set():
                    seen = await catch_up(runtime, seen)
                subscribed.set()
                async for frame in frames:
                    await _apply_frame(runtime, frame)
                    seen = installed_versions(runtime.settings)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("the cluster channel was lost; subscribing again", exc_info=True)
        subscribed.set()  # start-up goes on without it; the next subscription catches up
        await asyncio.sleep(retry_s)


async def _apply_frame(runtime, frame: dict) -> None:
    try:
        announcement = _announcement.validate_python(frame)
    except ValidationError:
        log.warning("ignoring an unknown announcement %r", frame)
        return
    if announcement.origin == runtime.worker_id:
        return  # this worker made the change itself
    try:
        await apply(runtime, announcement)
    except Exception:  # one failed load must not stop the next announcements
        log.exception("could not apply %r", announcement)


def installed_versions(settings) -> dict[str, float]:
    """When each installed model file last changed (0 when absent)."""
    files = {"intent": settings.resolved_intent_model_dir / "model_card.json", "recommender": settings.recs_model_path}
    return {name: path.stat().st_mtime if path.exists() else 0.0 for name, path in files.items()}


async def catch_up(runtime, seen: dict[str, float]) -> dict[str, float]:
    """Load the models installed, teach the items added, and forget what an erasure may have removed, while
    this worker was not listening."""
    from assistant.privacy.data_rights import forget_cached_derivatives

    forget_cached_derivatives()  # cheap: the caches refill as shoppers ask
    now = installed_versions(runtime.settings)
    for model in ("intent", "recommender"):
        if now[model] != seen.get(model):
            await apply(runtime, ModelInstalled(model=model))
    from assistant.admin.catalogue import teach_missing_items

    await teach_missing_items(runtime.sessions, runtime.recommender)
    return now


async def apply(runtime, announcement: ModelInstalled | ItemAdded | DataErased) -> None:
    from assistant.admin.catalogue import teach_missing_items
    from assistant.admin.retraining import swap_classifier
    from assistant.heap import refreeze_after_swap
    from assistant.privacy.data_rights import forget_cached_derivatives
    from assistant.runtime import load_recommender

    match announcement:
        case ModelInstalled(model="intent"):
            await swap_classifier(runtime, runtime.settings)
        case ModelInstalled(model="recommender"):
            old = runtime.recommender.current
            new = await asyncio.to_thread(load_recommender, runtime.settings, old.profiles if old else None)
            runtime.recommender.current = new
            refreeze_after_swap()
            await teach_missing_items(runtime.sessions, runtime.recommender)
        case ItemAdded():
            await teach_missing_items(runtime.sessions, runtime.recommender, [announcement.item_id])
        case DataErased():
            forget_cached_derivatives()
    log.info("applied %s from %s", announcement.type, announcement.origin)
