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
