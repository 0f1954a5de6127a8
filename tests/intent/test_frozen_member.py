"""The frozen-encoder member and the out-of-scope score inside the classifier, on hand-made vectors (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.intent.classifier import IntentClassifier
from assistant.intent.frozen_member import FrozenHead, remembering
from assistant.intent.in_scope_distance import InScopeDistance, standardised_card
from assistant.intent.knn import NeighbourVoter
from assistant.intent.model_card import ModelCard
from assistant.intent.policy import FallbackPolicy

LABELS = ["track_order", "get_refund", "out_of_scope"]
VECTORS = {"where is my parcel": [1.0, 0.0, 0.0], "money back please": [0.0, 1.0, 0.0],
           "who won the match": [0.0, 0.0, 1.0]}


def _encode(texts):
    return np.array([VECTORS[t] for t in texts], dtype=np.float32)


class _Network:
    """A network that cannot tell anything apart: every reading comes from the frozen member."""

    def run(self, texts):
        return np.zeros((len(texts), len(LABELS)), np.float32), np.ones((len(texts), 4), np.float32) / 2


def test_the_frozen_head_learns_from_vectors_and_never_predicts_a_label_without_rows(tmp_path):
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    head = FrozenHead.fit(vectors, np.array([0, 0, 1, 1]), n_labels=3, inverse_regularisation=10.0, seed=1)
    head.save(tmp_path / "head.npz")
    probs = FrozenHead.load(tmp_path / "head.npz").probabilities(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert probs.argmax(1).tolist() == [0, 1] and probs[:, 2].max() < 1e-6


def test_remembering_encodes_each_distinct_text_once():
    calls = []
    encode = remembering(lambda texts: calls.append(list(texts)) or _encode(texts))
    encode(["where is my parcel", "money back please"])
    encode(["money back please", "where is my parcel", "who won the match"])
    assert calls == [["where is my parcel", "money back please"], ["who won the match"]]


def _classifier(threshold: float) -> IntentClassifier:
    head = FrozenHead(np.array([[8.0, 0, 0], [0, 8.0, 0], [0, 0, 0.0]]), np.zeros(3))
    in_scope = InScopeDistance(_encode(["where is my parcel", "money back please"]), k=1)
    score = standardised_card(1, np.array([0.0, 0.5]), np.array([0.9, 0.7])).model_copy(
        update={"threshold": threshold})
    card = ModelCard(labels=LABELS, max_length=16, frozen_weight=0.9, in_scope_distance=score,
                     policy=FallbackPolicy(threshold=0.3, margin=0.0))
    return IntentClassifier(_Network(), card, None, frozen_head=head, frozen_encoder=_encode,
                            in_scope_distance=in_scope)


def test_the_frozen_member_reads_what_the_network_cannot():
    reading = _classifier(threshold=10.0).predict(["where is my parcel"])[0]
    assert (reading.intent, reading.fallback) == ("track_order", False)


@pytest.mark.parametrize("threshold, off_topic", [(0.5, True), (10.0, False)])
def test_a_message_far_from_every_in_scope_line_is_read_as_out_of_scope(threshold, off_topic):
    reading = _classifier(threshold).predict(["who won the match"])[0]
    assert (reading.intent == "out_of_scope") == off_topic
    assert _classifier(threshold).predict(["money back please"])[0].intent == "get_refund"


class _CountingVoter(NeighbourVoter):
    """Real neighbour votes (every stored line says get_refund) that count their passes."""

    passes = 0

    def probabilities(self, queries):
        _CountingVoter.passes += 1
        return super().probabilities(queries)


@pytest.mark.parametrize("neighbour_weight, voted", [(0.0, False), (0.5, True)])
def test_the_votes_run_only_when_the_card_gives_them_weight(neighbour_weight, voted):
    voter = _CountingVoter(np.ones((2, 4), np.float32), np.array([1, 1]), len(LABELS), k=2, temperature=0.05)
    classifier = _classifier(threshold=10.0)
    classifier.neighbours = voter
    classifier.card = classifier.card.model_copy(update={"neighbour_weight": neighbour_weight})
    _CountingVoter.passes = 0
    reading = classifier.predict(["where is my parcel"])[0]
    assert (_CountingVoter.passes > 0) == voted
    if not voted:  # the same reading as a model without a neighbour store
        assert reading == _classifier(threshold=10.0).predict(["where is my parcel"])[0]
