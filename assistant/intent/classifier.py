"""The intent classifier: network + neighbour votes -> calibrated probabilities -> readings under the policy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.intent.backends import OnnxBackend, TorchBackend, onnx_available
from assistant.intent.calibration import ensemble_scores, softmax
from assistant.intent.clauses import split_at_strong_breaks, split_clauses
from assistant.intent.frozen_member import (
    FROZEN_HEAD_FILE,
    FrozenEncoder,
    FrozenHead,
    default_frozen_encoder,
    frozen_encoder_from_settings,
)
from assistant.intent.in_scope_distance import IN_SCOPE_VECTORS_FILE, InScopeDistance, in_scope_confidence
from assistant.intent.knn import NeighbourVoter
from assistant.intent.labels import OUT_OF_SCOPE, SHOP_INTENTS
from assistant.intent.model_card import NEIGHBOURS_FILE, ModelCard
from assistant.intent.policy import FallbackPolicy
from assistant.intent.reading import IntentReading, IntentScore

INFERENCE_BATCH = 64
N_ALTERNATIVES = 3
# intents that never count as a second request in a message ("hi, where is my order")
NOT_SECONDARY = frozenset({OUT_OF_SCOPE, *(i for i in SHOP_INTENTS if i in ("greeting", "thanks", "goodbye"))})


class IntentClassifier:
    """Classifies batches of messages; `predict` is synchronous and CPU-bound (run it off the event loop)."""

    def __init__(self, backend, card: ModelCard, neighbours: NeighbourVoter | None,
                 policy: FallbackPolicy | None = None, frozen_head: FrozenHead | None = None,
                 frozen_encoder: FrozenEncoder | None = None, in_scope_distance: InScopeDistance | None = None) -> None:
        self.backend = backend
        self.card = card
        self.labels = list(card.labels)
        self.neighbours = neighbours
        self.policy = policy or card.policy
        self.frozen_head = frozen_head if card.frozen_weight > 0 else None
        self.frozen_encoder = frozen_encoder
        # the out-of-scope score (in_scope_distance.py), when the card has one
        self.in_scope_distance = in_scope_distance if card.in_scope_distance is not None else None

    @classmethod
    def load(cls, model_dir: Path, use_onnx: bool = True, threshold: float | None = None,
             margin: float | None = None, threads: int | None = None,
             frozen_encoder: FrozenEncoder | None = None) -> IntentClassifier:
        """Load a trained model; int8 ONNX when asked and exported, else PyTorch fp32.
        `threshold` / `margin` override the calibrated policy of the model card; `frozen_encoder` gives the
        base MiniLM's vectors when the model has a frozen-encoder member (default: the process-wide embedder)."""
        model_dir = Path(model_dir)
        card = ModelCard.load(model_dir)
        if use_onnx and onnx_available(model_dir):
            backend = OnnxBackend(model_dir, card.max_length, threads)
        else:
            backend = TorchBackend(model_dir, card.max_length, threads)
        neighbours_path = model_dir / NEIGHBOURS_FILE
        neighbours = NeighbourVoter.load(neighbours_path) if neighbours_path.exists() else None
        frozen_head = FrozenHead.load(model_dir / FROZEN_HEAD_FILE) if card.frozen_weight > 0 else None
        distance = None
        if card.in_scope_distance is not None:
            distance = InScopeDistance.load(model_dir / IN_SCOPE_VECTORS_FILE)
        if (frozen_head is not None or distance is not None) and frozen_encoder is None:
            frozen_encoder = default_frozen_encoder()
        return cls(backend, card, neighbours, card.policy.with_overrides(threshold, margin), frozen_head,
                   frozen_encoder, distance)

    @classmethod
    def from_settings(cls, settings) -> IntentClassifier:
        return cls.load(settings.resolved_intent_model_dir, use_onnx=settings.intent_use_onnx,
                        threshold=settings.intent_threshold, margin=settings.intent_margin,
                        # one thread per call, like every model the server runs side by side: ONNX Runtime's
                        # default pool (one thread per core) spins between calls and burns the other turns' CPU
                        threads=settings.intent_threads or settings.inference_threads,
                        frozen_encoder=frozen_encoder_from_settings(settings))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated intent probabilities, one row per text, columns in `self.labels` order."""
        return self.probabilities_and_oos_scores(texts)[0]

    def probabilities_and_oos_scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities and the out-of-scope score of each text (-inf when the model has none)."""
        probs, oos_scores = np.zeros((len(texts), len(self.labels))), np.full(len(texts), -np.inf)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad less
        # a model whose chosen neighbour weight is 0 skips the votes (a pass over every stored embedding)
        voting = self.neighbours is not None and self.card.neighbour_weight > 0
        for start in range(0, len(texts), INFERENCE_BATCH):
            chunk = order[start: start + INFERENCE_BATCH]
            logits, embeddings = self.backend.run([texts[i] for i in chunk])
            votes = self.neighbours.probabilities(embeddings) if voting else None
            vectors = None
            if self.frozen_head is not None or self.in_scope_distance is not None:
                vectors = self.frozen_encoder([texts[i] for i in chunk])
            frozen = self.frozen_head.probabilities(vectors) if self.frozen_head is not None else None
            probs[chunk] = softmax(ensemble_scores(logits, votes, self.card.neighbour_weight, frozen,
                                                   self.card.frozen_weight), self.card.temperature)
            if self.in_scope_distance is not None:
                oos_scores[chunk] = self.card.in_scope_distance.scores(
                    self.in_scope_distance.distances(vectors),
                    in_scope_confidence(probs[chunk], self.labels.index(OUT_OF_SCOPE)))
        return probs, oos_scores

    def is_far_from_scope(self, oos_score: float) -> bool:
        card = self.card.in_scope_distance
        return card is not None and self.in_scope_distance is not None and oos_score > card.threshold

    def predict(self, texts: Sequence[str]) -> list[IntentReading]:
        strong = [split_at_strong_breaks(t) for t in texts]
        clauses = [parts or split_clauses(t) for parts, t in zip(strong, texts, strict=True)]
        flat = list(texts) + [c for cs in clauses for c in cs]
        probs, oos_scores = self.probabilities_and_oos_scores(flat)
        readings, offset = [], len(texts)
        for i, cs in enumerate(clauses):
            reading = self._reading(probs[i], probs[offset: offset + len(cs)], separate_requests=bool(strong[i]))
            readings.append(self._out_of_scope(reading) if self.is_far_from_scope(oos_scores[i]) else reading)
            offset += len(cs)
        return readings

    @staticmethod
    def _out_of_scope(reading: IntentReading) -> IntentReading:
        """Unlike anything the shop answers: read as out of scope, the classifier's ranking kept for the console."""
        return reading.model_copy(update={"intent": OUT_OF_SCOPE, "fallback": True, "secondary_intent": None})

    def _reading(self, probs: np.ndarray, clause_probs: np.ndarray, separate_requests: bool = False) -> IntentReading:
        ranked = np.argsort(-probs)
        alternatives = [IntentScore(intent=self.labels[j], confidence=float(probs[j]))
                        for j in ranked[:N_ALTERNATIVES]]
        requests = self._confident_requests(clause_probs)
        if separate_requests and len(requests) >= 2 and self.labels[ranked[0]] not in [i for i, _ in requests]:
            # the whole message blends two requests into a third intent ("want my money back, also where is
            # my parcel" reads as track_refund): answer the requests its parts name. Only for parts between
            # strong breaks: clauses at "and" or a comma are often halves of one request
            (top_intent, confidence), (secondary, _) = requests[0], requests[1]
            fallback = self.policy.falls_back(top_intent, confidence, 0.0)
            return IntentReading(intent=top_intent, confidence=confidence, alternatives=alternatives,
                                 fallback=fallback, secondary_intent=secondary)
        top_intent = self.labels[ranked[0]]
        secondary = self._secondary_intent(top_intent, clause_probs)
        confidence = float(probs[ranked[0]])
        if secondary is not None:
            confidence = max(confidence, float(clause_probs[:, ranked[0]].max()))
        runner_up = self.labels[ranked[1]]
        fallback = self.policy.falls_back(top_intent, confidence, float(probs[ranked[1]]),
                                          runner_up_confirmed=secondary == runner_up)
        return IntentReading(intent=top_intent, confidence=min(confidence, 1.0), alternatives=alternatives,
                             fallback=fallback, secondary_intent=secondary)

    def _confident_requests(self, clause_probs: np.ndarray) -> list[tuple[str, float]]:
        """Distinct real-request intents of the message's parts read with at least the secondary threshold,
        in the order the shopper wrote them (the first request is usually the main one)."""
        best: dict[str, float] = {}
        for row in clause_probs:
            intent, confidence = self.labels[int(row.argmax())], float(row.max())
            if intent not in NOT_SECONDARY and confidence >= self.policy.secondary_threshold:
                best[intent] = max(confidence, best.get(intent, 0.0))
        return list(best.items())

    def _secondary_intent(self, top_intent: str, clause_probs: np.ndarray) -> str | None:
        """The first confident real-request intent of the message's parts that differs from the top one."""
        for intent, _ in self._confident_requests(clause_probs):
            if intent != top_intent:
                return intent
        return None
