"""A coordinated message with two FAQ questions gets both entries (a real FAQ index in ephemeral Chroma)."""

from __future__ import annotations

import pytest

from assistant.agent.graph import DialogueNodes
from assistant.agent.toolbox import Toolbox
from assistant.config import Settings
from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
from retrieval.faq_index import FaqDocument, FaqIndex

ENTRIES = [
    FaqDocument(1, "How long does delivery take?", "Standard delivery takes 3-5 working days.",
                ("delivery_period",)),
    FaqDocument(2, "Which payment methods do you accept?", "We accept Visa, Mastercard and PayPal.",
                ("check_payment_methods",)),
    FaqDocument(3, "What is your return policy?", "Return any item within 30 days.", ("check_refund_policy",)),
]


@pytest.fixture(scope="module")
def nodes() -> DialogueNodes:
    faq = FaqIndex(make_chroma_client(None), MiniLMEmbeddingFunction())
    faq.upsert(ENTRIES)
    return DialogueNodes(Toolbox(settings=Settings(), intents=None, faq=faq, products=None, orders=None,
                                 catalog=None))


def state(text: str, intent: str, second: str | None) -> dict:
    return {"text": text, "route": "faq", "handoff": False,
            "reading": {"intent": intent, "secondary_intent": second, "fallback": False}}


async def test_two_faq_questions_in_one_message_get_both_answers(nodes):
    first = state("how long does delivery take? also what payment methods do you accept", "delivery_period",
                  "check_payment_methods")
    first |= await nodes.faq(first)
    assert first["faq_ids"] == [1]
    extra = await nodes.second_intent(first)
    assert extra["faq_ids"] == [1, 2]
    assert "3-5 working days" in extra["reply"] and "PayPal" in extra["reply"]


async def test_a_second_intent_that_finds_the_same_entry_adds_nothing(nodes):
    first = state("how long does delivery take", "delivery_period", "delivery_period")
    first |= await nodes.faq(first)
    assert await nodes.second_intent(first) == {}
