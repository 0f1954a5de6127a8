"""The optional LLM backend: off by default; when configured, a LangChain chat model rewrites the answer."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.agent.graph import DialogueNodes
from assistant.agent.toolbox import Toolbox
from assistant.config import Settings
from assistant.runtime import make_llm


def nodes_with(llm) -> DialogueNodes:
    return DialogueNodes(Toolbox(settings=Settings(), intents=None, faq=None, products=None, orders=None,
                                 catalog=None, llm=llm))


def test_no_llm_is_configured_by_default():
    assert make_llm(Settings()) is None


async def test_without_an_llm_the_composed_answer_stays_as_it_is():
    assert await nodes_with(None).polish({"text": "returns?", "reply": "30 days.", "handoff": False}) == {}


async def test_a_configured_chat_model_rewrites_the_answer():
    llm = FakeListChatModel(responses=["You can return items within 30 days."])
    out = await nodes_with(llm).polish({"text": "returns?", "reply": "30 days.", "handoff": False})
    assert out == {"reply": "You can return items within 30 days."}


async def test_a_handoff_message_is_never_rewritten():
    llm = FakeListChatModel(responses=["something else"])
    assert await nodes_with(llm).polish({"text": "human", "reply": "A person comes.", "handoff": True}) == {}


def test_the_fake_backend_is_selectable_by_settings():
    assert isinstance(make_llm(Settings(llm_backend="fake")), FakeListChatModel)
