"""The async service gathers concurrent messages into one batch and never runs the model on the event loop."""

from __future__ import annotations

import asyncio
import threading

from assistant.intent.reading import IntentReading
from assistant.intent.service import IntentService


class RecordingClassifier:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()

    def predict(self, texts: list[str]) -> list[IntentReading]:
        self.batches.append(list(texts))
        self.threads.add(threading.get_ident())
        return [IntentReading(intent="greeting", confidence=1.0) for _ in texts]


async def test_messages_arriving_together_are_classified_in_one_batch_off_the_loop():
    classifier = RecordingClassifier()
    async with IntentService(classifier, window_ms=20, max_batch=32) as service:
        readings = await asyncio.gather(*(service.classify(f"hello {i}") for i in range(10)))
    assert len(readings) == 10 and all(r.intent == "greeting" for r in readings)
    assert len(classifier.batches) == 1
    assert threading.get_ident() not in classifier.threads


async def test_batches_never_exceed_the_maximum():
    classifier = RecordingClassifier()
    async with IntentService(classifier, window_ms=20, max_batch=4) as service:
        await asyncio.gather(*(service.classify("hi") for _ in range(10)))
    assert max(len(b) for b in classifier.batches) <= 4
    assert sum(len(b) for b in classifier.batches) == 10


async def test_a_failing_model_fails_the_waiting_callers_not_the_service():
    class Broken(RecordingClassifier):
        def predict(self, texts):
            raise RuntimeError("boom")

    async with IntentService(Broken(), window_ms=1, max_batch=4) as service:
        for _ in range(2):
            try:
                await service.classify("hi")
            except RuntimeError as exc:
                assert "boom" in str(exc)
        service.replace_classifier(RecordingClassifier())
        assert (await service.classify("hi")).intent == "greeting"


async def test_a_lone_message_is_read_without_waiting_for_company():
    """With no window, the model starts at once; messages that queued meanwhile still go in one batch."""
    classifier = RecordingClassifier()
    async with IntentService(classifier, window_ms=0, max_batch=32) as service:
        await service.classify("alone")
        await asyncio.gather(*(service.classify(f"hello {i}") for i in range(10)))
    assert classifier.batches[0] == ["alone"]
    assert sum(len(b) for b in classifier.batches) == 11 and len(classifier.batches) <= 3


async def test_a_prefetched_message_is_read_once_and_its_reading_served_to_the_turn():
    classifier = RecordingClassifier()
    async with IntentService(classifier, window_ms=0, max_batch=32) as service:
        service.prefetch("where is my order")
        service.prefetch("where is my order")  # a resent frame: still one reading
        await asyncio.sleep(0.05)  # the turn starts after the store's commit
        reading = await service.classify("where is my order")
        assert reading.intent == "greeting"
        assert [t for b in classifier.batches for t in b] == ["where is my order"]
        await service.classify("where is my order")  # a later turn with the same words reads again
        assert len([t for b in classifier.batches for t in b]) == 2


async def test_early_readings_are_dropped_when_the_model_is_replaced():
    classifier = RecordingClassifier()
    async with IntentService(classifier, window_ms=0, max_batch=32) as service:
        service.prefetch("hi")
        await asyncio.sleep(0.05)
        fresh = RecordingClassifier()
        service.replace_classifier(fresh)
        await service.classify("hi")
        assert fresh.batches == [["hi"]]


async def test_unused_early_readings_are_bounded():
    classifier = RecordingClassifier()
    async with IntentService(classifier, window_ms=0, max_batch=32) as service:
        for i in range(1000):
            service.prefetch(f"message {i}")
        assert len(service._early) <= 256
        await asyncio.sleep(0.1)
