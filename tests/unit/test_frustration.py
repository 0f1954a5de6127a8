"""The frustration signal and what the dialogue does about it (lexicon + the intent model's complaint belief)."""

from __future__ import annotations

import pytest

from assistant.intent.frustration import FrustrationPolicy

POLICY = FrustrationPolicy()


@pytest.mark.parametrize(("text", "label"), [
    ("Is the blue stapler still in stock?", "calm"),
    ("My order is late, can you check when it ships?", "calm"),
    ("I'm a bit annoyed, my order still hasn't arrived", "frustrated"),
    ("This is ridiculous, worst service ever, I am furious!!", "angry"),
    ("WHERE IS MY ORDER I AM SO FED UP!!", "angry"),
])
def test_the_lexicon_reads_the_mood(text, label):
    assert POLICY.read_mood(text).label == label


def test_the_intent_models_complaint_belief_raises_the_score_but_never_past_one():
    text = "I'm a bit annoyed, my order still hasn't arrived"
    alone = POLICY.read_mood(text)
    with_model = POLICY.read_mood(text, {"intent": "complaint", "confidence": 0.9})
    assert alone.score < with_model.score <= 1.0
    via_alternative = POLICY.read_mood(text, {"intent": "track_order", "confidence": 0.5,
                                              "alternatives": [{"intent": "complaint", "confidence": 0.4}]})
    assert alone.score < via_alternative.score < with_model.score


def test_angry_hands_over_at_once_frustrated_on_the_second_and_calm_never():
    angry = POLICY.read_mood("This is ridiculous, worst service ever!!")
    frustrated = POLICY.read_mood("I'm a bit annoyed, my order still hasn't arrived")
    calm = POLICY.read_mood("hello")
    assert POLICY.hands_over(angry, frustrated_before=0)
    assert not POLICY.hands_over(frustrated, frustrated_before=0)
    assert POLICY.hands_over(frustrated, frustrated_before=1)
    assert not POLICY.hands_over(calm, frustrated_before=5)
    assert [POLICY.priority(m) for m in (angry, frustrated, calm)] == [2, 1, 0]
