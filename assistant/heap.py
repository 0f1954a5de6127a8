"""The garbage collector of a long-running worker: the start-up heap is frozen.

A worker holds ~640,000 objects once its models and libraries are loaded. Python's periodic full
(generation 2) collection walks every one of them, with the GIL held: 0.5-1.3 s on this 2-core machine,
a stall of the event loop that every turn in flight waits out (the load bench's p99). Nothing in that
heap is garbage, so it is frozen after start-up (`gc.freeze`: full collections skip it); objects made
while serving are collected as before. A model swapped in later replaces frozen objects: the heap is
unfrozen, collected once (the old model's reference cycles, if any, are freed) and frozen again.
"""

from __future__ import annotations

import gc
import logging

from assistant import metrics

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then freeze the rest; returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    metrics.GC_FROZEN_OBJECTS.set(frozen)
    log.info("start-up heap frozen: %d objects left out of full collections", frozen)
    return frozen


def refreeze_after_swap() -> None:
    """After a model swap: free the replaced model's cycles, freeze the new one (one full collection)."""
    if gc.get_freeze_count():
        gc.unfreeze()
        freeze_startup_heap()
