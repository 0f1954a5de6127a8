"""The chat wire protocol: client and server frames of /ws/chat and /ws/agent as pydantic models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, TypeAdapter

from assistant.privacy.redaction import redact_secrets

# text typed by a person: card numbers, IBANs and passwords are masked as the frame is read, so no part of
# the server (store, logs, bus, models, agents) ever holds them
TypedText = Annotated[str, AfterValidator(lambda text: redact_secrets(text).text)]

# ids and sequence numbers as the store holds them (32-bit columns): a larger number is a bad frame,
# not an overflow in the database
StoreInt = Annotated[int, Field(ge=0, le=2**31 - 1)]

# ---------- client -> server ----------


class AuthFrame(BaseModel):
    """The first frame on /ws/chat and /ws/agent: the token travels here, never in the URL (URLs are logged)."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)


auth_frame_adapter: TypeAdapter[AuthFrame] = TypeAdapter(AuthFrame)


class MessageFrame(BaseModel):
    type: Literal["message"]
    text: TypedText
    client_msg_id: str = Field(min_length=1, max_length=100)


class EventFrame(BaseModel):
    type: Literal["event"]
    # no "purchase": purchases come only from the order store, never from a client
    kind: Literal["view", "click", "add_to_cart"]
    item_id: StoreInt


class ResumeFrame(BaseModel):
    type: Literal["resume"]
    after_seq: StoreInt


class TypingFrame(BaseModel):
    type: Literal["typing"]
    active: bool = True


class HandoffRequestFrame(BaseModel):
    """The widget's "talk to a human" button."""

    type: Literal["handoff_request"]


class LeaveMessageFrame(BaseModel):
    """A message left for later when no agent is online."""

    type: Literal["leave_message"]
    text: TypedText
    contact: TypedText = Field(default="", max_length=200)  # typed too: a card number pasted here goes as well


class FeedbackFrame(BaseModel):
    """Thumbs up (helpful) or down on one bot reply, named by its seq; a second vote replaces the first."""

    type: Literal["feedback"]
    seq: int = Field(ge=1, le=2**31 - 1)
    helpful: bool


class RatingFrame(BaseModel):
    """The shopper's 1-5 stars for the conversation (offered when it closes, by an agent or the shopper)."""

    type: Literal["rating"]
    stars: int = Field(ge=1, le=5)


class CloseFrame(BaseModel):
    """The widget's "End chat": the shopper closes the conversation (in any state); answered with status closed."""

    type: Literal["close"]


ClientFrame = Annotated[
    MessageFrame | EventFrame | ResumeFrame | TypingFrame | HandoffRequestFrame | LeaveMessageFrame
    | FeedbackFrame | RatingFrame | CloseFrame,
    Field(discriminator="type"),
]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


# ---------- agent console -> server (/ws/agent; every frame names its session) ----------


class AgentMessageFrame(BaseModel):
    """An agent's reply into a session it has claimed."""

    type: Literal["message"]
    session_id: str = Field(min_length=1, max_length=64)
    text: TypedText
    client_msg_id: str = Field(min_length=1, max_length=100)


class AgentTypingFrame(BaseModel):
    type: Literal["typing"]
    session_id: str = Field(min_length=1, max_length=64)
    active: bool = True


class WatchFrame(BaseModel):
    """Follow a session live and replay its stored messages after `after_seq` ("resume" is the same)."""

    type: Literal["watch", "resume"]
    session_id: str = Field(min_length=1, max_length=64)
    after_seq: StoreInt = 0


class UnwatchFrame(BaseModel):
    type: Literal["unwatch"]
    session_id: str = Field(min_length=1, max_length=64)


AgentClientFrame = Annotated[
    AgentMessageFrame | AgentTypingFrame | WatchFrame | UnwatchFrame, Field(discriminator="type")
]
agent_frame_adapter: TypeAdapter[AgentClientFrame] = TypeAdapter(AgentClientFrame)


# ---------- server -> client ----------


class ItemCard(BaseModel):
    item_id: int
    title: str
    price: float
    score: float
    reason: str
    stock: int | None = None  # units available now (None: not known to this reply)
    available: bool | None = None  # False: out of stock, listed last and marked


class QuickReply(BaseModel):
    """A button under a reply; pressing it sends `value` as an ordinary message."""

    label: str
    value: str


class OrderCard(BaseModel):
    """An order as a card: its lines, shipping address, status timeline and return requests."""

    order_id: int
    status: str
    placed: str
    total: float
    address: str = ""
    lines: list[dict[str, Any]] = Field(default_factory=list)  # {item_id, title, quantity, price}
    timeline: list[dict[str, Any]] = Field(default_factory=list)  # {status, at, note}, oldest first
    returns: list[dict[str, Any]] = Field(default_factory=list)  # {number, kind, status, opened}


class AckFrame(BaseModel):
    type: Literal["ack"] = "ack"
    client_msg_id: str
    seq: int


class ReplyFrame(BaseModel):
    """A stored message of the bot (or agent / system) as replayed to the shopper."""

    type: Literal["reply"] = "reply"
    seq: int
    author: Literal["bot", "agent", "system", "shopper"] = "bot"
    author_name: str = "Assistant"
    text: str
    intent: str | None = None
    confidence: float | None = None
    handoff: bool = False
    faq_ids: list[int] = Field(default_factory=list)
    items: list[ItemCard] = Field(default_factory=list)
    options: list[QuickReply] = Field(default_factory=list)
    order: OrderCard | None = None
    # the bot's full reading (alternatives, secondary intent, route) for the agent console
    reading: dict[str, Any] | None = None
    client_msg_id: str | None = None
    at: str | None = None
    # a shopper message's answer state: pending (the bot owes an answer), answered, with_person
    answer_state: Literal["pending", "answered", "with_person"] | None = None
    # a bot reply: the seq of the shopper message it answers (each is answered at most once)
    in_reply_to: int | None = None


class ErrorFrame(BaseModel):
    type: Literal["error"] = "error"
    code: str
    detail: str
    # a message the server failed on (`internal`) is safe to send again (idempotent by client_msg_id):
    # these say which one and when
    client_msg_id: str | None = None
    retry_after_ms: int | None = None


class RateLimitedFrame(ErrorFrame):
    """A refused frame that was not stored nor acknowledged: send it again after `retry_after_ms`."""

    code: Literal["rate_limited"] = "rate_limited"
    retry_after_ms: int


class StatusFrame(BaseModel):
    """The session's state changed (handoff, claimed, released, closed)."""

    type: Literal["status"] = "status"
    state: str
    queue_position: int | None = None
    agents_online: int | None = None
    agent_name: str | None = None


class TypingNotice(BaseModel):
    type: Literal["typing"] = "typing"
    author: Literal["bot", "agent", "shopper"]
    active: bool = True
