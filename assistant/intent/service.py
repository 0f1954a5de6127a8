"""Async facade over the classifier: messages arriving within a few milliseconds are classified together,
in a worker thread, so the event loop never runs the model."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

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

    async def classify(self, text: str) -> IntentReading:
        if self._worker is None:
            await self.start()
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(text, future))
        return await future

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
        """The first waiting message, plus any that arrive within the window (up to max_batch)."""
        batch = [await self._queue.get()]
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
