"""Toolbox: what the dialogue graph's nodes may use (intent model, indexes, recommender, SQL tools)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.admin.ab_tests import AbTests
from assistant.agent.catalog import Catalog
from assistant.agent.order_tools import OrderTools
from assistant.config import Settings
from retrieval.faq_index import FaqIndex
from retrieval.product_index import ProductIndex


class IntentClassifying(Protocol):
    async def classify(self, text: str) -> Any: ...


@dataclass
class Swappable:
    """A reference the server replaces atomically when a model is retrained (no pause, no lock)."""

    current: Any = None


@dataclass
class Toolbox:
    settings: Settings
    intents: IntentClassifying
    faq: FaqIndex
    products: ProductIndex
    orders: OrderTools
    catalog: Catalog
    recommender: Swappable = field(default_factory=Swappable)
    ab_tests: AbTests | None = None  # the serving settings of suggestions (default, or a test's variant)
    llm: Any = None  # an optional LangChain chat model that rewrites composed answers
