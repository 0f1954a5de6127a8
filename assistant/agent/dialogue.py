"""DialogueContext: what a conversation is about across turns (order in focus, items last shown, topic).

Kept in `chat_sessions.dialogue` (JSON), read before each turn and written with the reply in one
commit, so any worker and a restarted server continue the same conversation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ShownItem(BaseModel):
    item_id: int
    title: str
    price: float
    stock: int | None = None


class DialogueContext(BaseModel):
    order_id: int | None = Field(default=None, description="the order the conversation is about")
    offered_orders: list[int] = Field(default_factory=list, description="orders last offered as quick replies")
    items: list[ShownItem] = Field(default_factory=list, description="item cards last shown, in order")
    item_id: int | None = Field(default=None, description="the item last talked about (\"the second one\")")
    query: str | None = Field(default=None, description="the product search the items came from")
    topic: str | None = Field(default=None, description="the intent of the last answered request")
    focus: Literal["order", "items"] | None = Field(
        default=None, description="what the last reply showed: an order or item cards (\"how much is it?\")")

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> DialogueContext:
        """The context from its stored JSON; anything unreadable starts a fresh context."""
        try:
            return cls.model_validate(stored or {})
        except ValueError:
            return cls()

    def focus_item(self) -> ShownItem | None:
        if self.item_id is not None:
            return next((i for i in self.items if i.item_id == self.item_id), None)
        return self.items[0] if len(self.items) == 1 else None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True)
