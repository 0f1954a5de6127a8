"""A confident reading is answered from an entry written for its intent (a real FAQ index in ephemeral Chroma)."""

from __future__ import annotations

import pytest

from assistant.agent.answer_selection import SelectionCase, choose_entry, fit_other_intent_margin
from assistant.agent.graph import DialogueNodes
from assistant.agent.toolbox import Toolbox
from assistant.config import Settings
from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
from retrieval.faq_index import FaqDocument, FaqHit, FaqIndex

REFUND_HOW = FaqDocument(1, "How do I get a refund?", "Ask for a refund from your order page; we refund in 5 days.",
                         ("get_refund",))
REFUND_STATUS = FaqDocument(2, "Money back status", "Refunds appear on your statement 3-5 days after approval.",
                            ("track_refund",))
# entries for other topics that share the message's words, so the entry for its intent ranks below them
DISTRACTORS = [FaqDocument(10 + i, f"Newsletter question {i}: how do I get the newsletter?",
                           f"Newsletter answer {i}: subscribe at the bottom of any page.", ("newsletter_subscription",))
               for i in range(15)]
PASSWORD = FaqDocument(40, "Account security", "Use the 'forgot' link on the sign-in page.",
                       ("recover_password",))


def hit(faq_id: int, score: float, *intents: str) -> FaqHit:
    return FaqHit(faq_id, f"q{faq_id}", f"a{faq_id}", intents, score)


def test_the_entry_for_the_intent_wins_unless_another_is_closer_by_more_than_the_margin():
    hits = [hit(1, 0.80, "get_refund"), hit(2, 0.55, "track_refund")]
    assert choose_entry(hits, "track_refund", other_intent_margin=0.3, min_score=0.35).faq_id == 2
    assert choose_entry(hits, "track_refund", other_intent_margin=0.2, min_score=0.35).faq_id == 1


def test_without_an_entry_for_the_intent_only_a_close_enough_entry_answers():
    hits = [hit(1, 0.30, "get_refund")]
    assert choose_entry(hits, "track_refund", 0.3, min_score=0.35) is None
    assert choose_entry(hits, "track_refund", 0.3, min_score=0.25).faq_id == 1


def test_the_fitted_margin_sits_in_the_middle_of_the_best_plateau():
    # the reading is right and the other entry is 0.1 closer: any margin >= 0.1 answers right
    right_reading = SelectionCase("track_refund", "track_refund",
                                  (hit(1, 0.7, "get_refund"), hit(2, 0.6, "track_refund")))
    # the reading is wrong and the right entry is 0.3 closer: only a margin < 0.3 saves it
    wrong_reading = SelectionCase("get_refund", "track_refund",
                                  (hit(1, 0.9, "get_refund"), hit(2, 0.6, "track_refund")))
    margin, curve = fit_other_intent_margin([right_reading, wrong_reading], 0.35,
                                            grid=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4))
    assert curve[0.05] == 0.5 and curve[0.15] == 1.0 and curve[0.4] == 0.5
    assert margin == 0.2  # middle of 0.1-0.25


@pytest.fixture(scope="module")
def faq() -> FaqIndex:
    index = FaqIndex(make_chroma_client(None), MiniLMEmbeddingFunction())
    index.upsert([REFUND_HOW, REFUND_STATUS, PASSWORD, *DISTRACTORS])
    return index


def nodes_with(faq: FaqIndex, **settings) -> DialogueNodes:
    return DialogueNodes(Toolbox(settings=Settings(**settings), intents=None, faq=faq, products=None, orders=None,
                                 catalog=None))


def confident(text: str, intent: str) -> dict:
    return {"text": text, "route": "faq", "handoff": False,
            "reading": {"intent": intent, "confidence": 0.97, "secondary_intent": None, "fallback": False}}


async def test_a_confident_reading_is_answered_from_its_own_entry_not_a_closer_one(faq):
    """Fails on the old main: the closer get_refund entry won whenever it passed faq_min_score."""
    text = "how do I get my refund"
    out = await nodes_with(faq, faq_other_intent_margin=1.0).faq(confident(text, "track_refund"))
    assert out["faq_ids"] == [2] and out["faq_intents"] == [["track_refund"]]
    # with no margin at all the closer entry answers: the margin is what decides
    assert (await nodes_with(faq, faq_other_intent_margin=0.0).faq(confident(text, "track_refund")))["faq_ids"] == [1]


async def test_a_confident_reading_with_an_entry_in_the_corpus_is_not_handed_over(faq):
    """Fails on the old main: no entry passed faq_min_score, the password entry ranked below the newsletter
    entries even with its bonus, and the bot handed over."""
    nodes = nodes_with(faq, faq_min_score=0.9, faq_other_intent_margin=0.5)
    out = await nodes.faq(confident("how do I get the newsletter password back", "recover_password"))
    assert not out.get("handoff")
    assert out["faq_ids"] == [40]
