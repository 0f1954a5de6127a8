"""Async facade over the classifier: the model runs in a worker thread, never on the event loop.

Messages that queue up while the model is busy are read together in the next batch (no fixed wait: a
lone message is read at once; `window_ms` > 0 adds a wait for more). A message can be read early
(`prefetch`, as it arrives, while the store commits it); the turn's `classify` then takes that reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from assistant import metrics
from assistant.intent.classifier import IntentClassifier
from assistant.intent.reading import IntentReading


@dataclass
class _Pending:
    text: str
    future: asyncio.Future


class IntentService:
    """`await service.classify(text)`; call `start()` inside the running loop and `close()` at shutdown."""

    def __init__(self, classifier: IntentClassifier, window_ms: float, max_batch: int) -> None:
        self.classifier = classifier
        self.window_s = window_ms / 1000.0
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self.batches_run = 0
        # readings started by `prefetch`, by text, oldest first (bounded: a prefetched message may never be
        # answered by this process, e.g. a person took the session)
        self._early: OrderedDict[str, asyncio.Future] = OrderedDict()
        self._early_max = 256

    @classmethod
    def from_settings(cls, settings, classifier: IntentClassifier | None = None) -> IntentService:
        classifier = classifier or IntentClassifier.from_settings(settings)
        return cls(classifier, settings.intent_batch_window_ms, settings.intent_max_batch)

    async def start(self) -> None:
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(), name="intent-micro-batcher")

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        while self._queue is not None and not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("intent service closed"))

    async def __aenter__(self) -> IntentService:
        await self.start()
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.close()

    def replace_classifier(self, classifier: IntentClassifier) -> None:
        """Swap in a newly trained model; batches already running finish on the old one."""
        self.classifier = classifier
        self._early.clear()  # early readings came from the old model

    def prefetch(self, text: str) -> None:
        """Start reading `text` now; the next `classify(text)` takes this reading instead of queueing again."""
        if self._queue is None or text in self._early:
            return
        future = self._enqueue(text)
        future.add_done_callback(_consume_error)  # an unused early reading must not log "never retrieved"
        self._early[text] = future
        while len(self._early) > self._early_max:
            self._early.popitem(last=False)

    async def classify(self, text: str) -> IntentReading:
        if self._worker is None:
            await self.start()
        early = self._early.pop(text, None)
        metrics.INTENT_READINGS.labels("early" if early is not None else "at_turn").inc()
        return await (early if early is not None else self._enqueue(text))

    def _enqueue(self, text: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(text, future))  # unbounded queue: never blocks
        return future

    async def _run(self) -> None:
        while True:
            batch = await self._collect_batch()
            try:
                readings = await asyncio.to_thread(self.classifier.predict, [p.text for p in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            self.batches_run += 1
            for pending, reading in zip(batch, readings, strict=True):
                if not pending.future.done():
                    pending.future.set_result(reading)

    async def _collect_batch(self) -> list[_Pending]:
        """The first waiting message, every one already queued, and any arriving within the window (up to
        max_batch)."""
        batch = [await self._queue.get()]
        while len(batch) < self.max_batch and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch


def _consume_error(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()
