"""Announcements on the bus that make every worker load what one worker changed.

A worker that installs a retrained model, or adds an item to the catalogue, publishes it on the `cluster`
channel; every worker (`listen`, a task of each runtime) then loads the new model from the shared state
dir, or teaches its recommender the new item from the store. A worker that missed an announcement (it was
down) gets the same result at start-up: it loads the installed files and teaches the items missing.
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


Announcement = Annotated[ModelInstalled | ItemAdded, Field(discriminator="type")]
_announcement = TypeAdapter(Announcement)


async def announce(runtime, announcement: ModelInstalled | ItemAdded) -> None:
    """Tell every other worker (the announcing one has applied the change already)."""
    await runtime.bus.publish(CLUSTER_CHANNEL, {**announcement.model_dump(), "origin": runtime.worker_id})


async def listen(runtime, subscribed: asyncio.Event) -> None:
    """Apply the other workers' announcements to this worker's runtime until cancelled."""
    async with runtime.bus.subscribe(CLUSTER_CHANNEL) as frames:
        subscribed.set()
        async for frame in frames:
            try:
                announcement = _announcement.validate_python(frame)
            except ValidationError:
                log.warning("ignoring an unknown announcement %r", frame)
                continue
            if announcement.origin == runtime.worker_id:
                continue  # this worker made the change itself
            try:
                await apply(runtime, announcement)
            except Exception:  # one failed load must not stop the next announcements
                log.exception("could not apply %r", announcement)


async def apply(runtime, announcement: ModelInstalled | ItemAdded) -> None:
    from assistant.admin.catalogue import teach_missing_items
    from assistant.admin.retraining import swap_classifier
    from assistant.runtime import load_recommender

    match announcement:
        case ModelInstalled(model="intent"):
            await swap_classifier(runtime, runtime.settings)
        case ModelInstalled(model="recommender"):
            old = runtime.recommender.current
            new = await asyncio.to_thread(load_recommender, runtime.settings, old.profiles if old else None)
            runtime.recommender.current = new
            await teach_missing_items(runtime.sessions, runtime.recommender)
        case ItemAdded():
            await teach_missing_items(runtime.sessions, runtime.recommender, [announcement.item_id])
    log.info("applied %s from %s", announcement.type, announcement.origin)
