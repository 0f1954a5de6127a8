"""Typed settings for the whole service: one object, read from env vars prefixed SHOPASSIST_."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# public, so refused off loopback outside demo mode (assistant/security.py: check_secret_key)
DEVELOPMENT_SECRET_KEY = "change-me-in-production-this-is-only-a-dev-key"


class RateLimit(BaseModel):
    """A token bucket: `burst` requests at once, then `per_minute` (as an env var: {"burst":..,"per_minute":..})."""

    burst: int = Field(ge=1)
    per_minute: float = Field(gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPASSIST_", env_file=".env", extra="ignore")

    # where things live
    state_dir: Path = Field(default=REPO_ROOT / ".state", description="built models, indexes, SQLite file")
    data_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "data", description="public data sets")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in state_dir")
    database_pool_size: int = Field(default=20, description="connections each worker keeps open once used "
                                    "(PostgreSQL; 100 shoppers held ~15 at once)")
    database_max_overflow: int = Field(default=10, description="more connections a busy moment may open, each "
                                       "closed again when returned (PostgreSQL)")
    database_ping_idle_s: float = Field(default=1.0, description="a pooled connection idle this long is pinged "
                                        "before use (a restarted database is reconnected without an error; under "
                                        "load each connection is reused sooner, so no ping is sent)")
    chroma_path: Path | None = Field(default=None, description="embedded Chroma folder; default state_dir/chroma")
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server (scale-out)")
    redis_url: str | None = Field(default=None, description="redis://... for the message bus; None = in-process")
    redis_prefix: str = Field(default="shopassist:", description="prefix of every Redis key and channel "
                              "(several shops, or test runs, on one Redis)")
    redis_max_connections: int = Field(default=10_000, description="Redis connections of one worker's bus (each "
                                       "open socket holds one for its subscription)")
    catalogue: str = Field(default="amazon_office", description="data set folder used as the demo shop")
    demo_item_limit: int | None = Field(default=None, description="load only items with id below this (tests)")

    # serving
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = Field(default=DEVELOPMENT_SECRET_KEY,
                            description="signs session and agent tokens")
    agent_token_ttl_s: int = 8 * 3600
    session_token_ttl_s: int = Field(default=24 * 3600, description="lifetime of a shopper token")
    identity_secret: str | None = Field(default=None, description="shared with the shop's backend, which signs "
                                        "customer ids with it (HMAC-SHA256); None = anonymous shoppers only")
    demo_mode: bool = Field(default=False, description="`serve --demo`: demo customers listed and signed in "
                            "without a signature; never on a public server")
    agent_recheck_s: float = Field(default=5.0, description="how often an open agent socket re-reads the agent row")
    auth_timeout_s: float = Field(default=10.0, description="how long a socket waits for its auth frame")
    max_message_chars: int = 2000
    max_frame_bytes: int = 16_384
    ws_compression: bool = Field(default=False, description="permessage-deflate on websockets (the frames are small "
                                 "JSON: compressing each costs more CPU on both ends than the bytes it saves)")
    # batch-1 inference threads per call: the server runs many small calls side by side, and more threads
    # than that make torch spin against itself (measured: 12 ms with 1 thread, ~500 ms with 2 under load)
    inference_threads: int = 1
    # the event loop gives the GIL up on every database round trip (psycopg, aiosqlite); getting it back from a
    # thread (retrieval, models) took up to Python's default 5 ms: 0.5 ms answered 10 % more turns under load
    gil_switch_interval_ms: float = Field(default=0.5, gt=0)
    gc_freeze_startup_heap: bool = Field(default=True, description=(
        "freeze the loaded models and libraries out of Python's full garbage collections (assistant/heap.py): "
        "each walked ~640k objects and stalled the event loop for 0.5-1.3 s"))
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=["*"], description="origins whose pages may call the API (the embedded widget); a JSON list or "
        "comma-separated; '*' is safe because the widget sends bearer tokens, not cookies")
    staff_cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[], description="other origins allowed to call the agent and admin API (default: none, the "
        "console and admin pages are served by this server)")
    max_body_bytes: int = Field(default=3_000_000, description="request body limit (413 past it); above "
                                "faq_import_max_bytes")
    metrics_token: str | None = Field(default=None, description="bearer token of /metrics; unset = loopback only")
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1", "::1"], description="addresses or networks (10.0.0.0/8) of the reverse proxies "
        "whose X-Forwarded-For names the client, as the limits count it; anyone else's is ignored. A JSON list "
        "or comma-separated; '*' trusts every peer (only if nothing but the proxy reaches the port)")

    # abuse limits (docs/security.md "Limits"); kept in Redis when redis_url is set, so all workers share them
    login_rate_per_address: RateLimit = Field(default=RateLimit(burst=10, per_minute=10),
                                              description="agent/admin sign-in attempts from one client address")
    login_free_failures: int = Field(default=5, description="wrong passwords for one account from one address "
                                     "before each further one doubles the wait")
    login_free_failures_per_account: int = Field(default=20, description="the same, for one account from all "
                                                 "addresses (a slow guess spread over many addresses)")
    login_backoff_base_s: float = Field(default=1.0, description="the first wait after the free failures")
    login_backoff_max_s: float = Field(default=300.0, description="the longest wait; failures are forgiven after "
                                       "twice this without one, or a success: no permanent lock-out")
    session_rate_per_address: RateLimit = Field(default=RateLimit(burst=60, per_minute=30),
                                                description="chat sessions started from one client address")
    message_rate_per_session: RateLimit = Field(default=RateLimit(burst=20, per_minute=30),
                                                description="shopper messages (and left messages) per session")
    event_rate_per_session: RateLimit = Field(default=RateLimit(burst=30, per_minute=60),
                                              description="behaviour events (view, click, add to cart) per session")
    frame_rate_per_session: RateLimit = Field(default=RateLimit(burst=30, per_minute=60),
                                              description="other shopper frames (resume, typing, handoff "
                                              "requests) per session, all its sockets together: each costs a "
                                              "store read, a resume replays the conversation")
    agent_frame_rate: RateLimit = Field(default=RateLimit(burst=60, per_minute=600),
                                        description="frames (replies, watches, typing) per agent on the console "
                                        "socket: a leaked token or a runaway console cannot flood the store")

    # intent model and fallback policy (the trained model card may override the thresholds)
    intent_model_dir: Path | None = Field(default=None, description="default state_dir/intent_model")
    intent_threshold: float | None = Field(default=None, description="override the calibrated threshold")
    intent_margin: float | None = Field(default=None, description="override the calibrated top1-top2 margin")
    intent_batch_window_ms: float = Field(default=0.0, description=(
        "extra wait for more messages before a batch; 0 reads at once (messages that queued while the model "
        "was busy still go together), int8 reads one message per call anyway"))
    intent_max_batch: int = 32
    intent_use_onnx: bool = True
    intent_threads: int | None = Field(default=None, description="inference threads; None = torch/onnx default")
    intent_eval_concurrency: int = Field(default=8, description="parallel sessions, eval-intents --through-server")
    intent_eval_timeout_s: float = Field(default=30.0, description="reply wait, eval-intents --through-server")

    # retrieval and recommendations
    query_encoder: Literal["int8", "fp32"] = Field(
        default="int8", description="MiniLM copy that embeds each shopper message for search (int8 ONNX: ~4x faster)")
    faq_min_score: float = Field(default=0.35, description="an entry for another intent answers only this close")
    faq_candidate_pool: int = Field(default=30, description="FAQ entries searched per question")
    # measured by `shopassist fit-answer-margin` (BENCHMARKS.md, "Answers"): how much closer an entry
    # written for another intent must be than the best entry for the confident reading to answer instead
    faq_other_intent_margin: float = Field(default=0.66, ge=0.0)
    product_top_k: int = 4
    recs_k: int = 4
    # the default serving settings of suggestions (an A/B test's variants change some of them; a stopped
    # test's winner replaces them): chat, the admin retraining and `eval-recs` all read `recs_serving`
    recs_diversity: float = Field(default=0.2, description="MMR diversity of suggestions: 0 = pure relevance")
    recs_category_cap: int = Field(default=0, description="at most this many suggestions of one category; 0 = no cap")
    recs_context_weight: float = Field(default=1.0, description="weight of the chat text in suggestions")
    recs_candidate_pool: int = Field(default=50, description="top items the diversity re-ranking chooses from")
    recs_fusion_preset: str = Field(default="fitted", description="fitted | more_behaviour | more_text | more_popular")
    recs_max_profiles: int = Field(default=100_000, description="real-time shopper profiles kept in memory "
                                   "(least recently active forgotten first)")
    exclude_bought_days: int = Field(default=180, description="items bought in the last N days are not "
                                     "suggested again (search and suggestions), except consumables; 0 = off")
    recs_ab_refresh_s: float = Field(default=2.0, description="how long a worker reuses the running A/B test")

    # dialogue across turns
    dialogue_orders: int = Field(default=5, description="recent orders the bot considers and offers as quick replies")

    # exactly-once answering (assistant/chat/answering.py): leases on pending shopper messages
    answer_lease_s: float = Field(default=20.0, description="how long a worker holds a message it answers; "
                                  "after that another worker may take it (longer than the slowest turn)")
    answer_grace_s: float = Field(default=3.0, description="a pending message older than this is swept up")
    answer_sweep_s: float = Field(default=2.0, description="how often each worker sweeps pending messages")
    answer_sweep_batch: int = Field(default=50, description="messages claimed per sweep")
    answer_max_attempts: int = Field(default=3, description="failed answers of one message before a person "
                                     "gets it")
    health_timeout_s: float = Field(default=2.0, description="/healthz: a dependency slower than this is down")
    answer_shutdown_wait_s: float = Field(default=5.0, description="on shutdown, how long turns may finish")

    # handoff triggers and the agent console
    handoff_on_request: bool = Field(default=True, description="the contact_human_agent intent hands off "
                                    "(the widget's button always does)")
    handoff_on_low_confidence: bool = Field(default=True, description="a fallback reading hands off at once")
    handoff_after_fallbacks: int = Field(default=2, description="hand off on the Nth fallback in a row; 0 = never")
    handoff_after_complaints: int = Field(default=2, description="hand off on the Nth complaint; 1 = at once, "
                                          "0 = never (the bot answers every complaint from the FAQ)")
    handoff_after_frustrated: int = Field(default=2, description="hand off on the Nth frustrated message of a "
                                          "session (an angry one hands off at once); 0 = only angry ones")
    frustration_frustrated_at: float = Field(default=0.5, description="mood score from which a message reads "
                                             "as frustrated (lexicon + complaint belief, 0..1)")
    frustration_angry_at: float = Field(default=0.85, description="mood score from which a message is angry "
                                        "(handed over at once, first in the queue)")
    frustration_complaint_weight: float = 0.5
    frustration_sentiment_weight: float = Field(default=0.5, ge=0, le=1, description=(
        "weight of VADER's negative valence in the mood score (bench/frustration_eval.py; 0 turns it off)"))
    resolution_tags: tuple[str, ...] = ("resolved", "refunded", "replaced", "order_changed", "no_response",
                                        "duplicate", "spam", "other")
    agent_recent_orders: int = 5
    agent_suggestions: int = 4

    # admin: FAQ limits, bulk import, dashboard, intent retraining
    faq_question_max_chars: int = 500
    faq_answer_max_chars: int = 4000
    faq_max_intents: int = 8
    faq_import_max_bytes: int = 2_000_000
    item_text_max_chars: int = 20_000
    admin_page_size: int = 50
    stats_window_hours: int = 24
    stats_review_limit: int = 50
    stats_cache_s: float = Field(default=10.0, description="how long /metrics reuses computed SQL figures")
    retrain_threads: int = Field(default=1, description="torch threads of a background retraining")
    retrain_eval_per_intent: int = Field(default=10, description="dev rows per intent to compare old and new")
    retrain_tolerance: float = Field(default=0.0, description="how much worse a new model may be and still win")

    # personal data (docs/privacy.md)
    retention_days: int = Field(default=180, ge=1, description="transcripts and behaviour events older than "
                                "this are erased; revoked-token rows are purged once expired")
    retention_interval_s: float = Field(default=3600.0, gt=0, description="how often the server runs retention")
    activity_consent_default: bool = Field(default=True, description="the widget's \"use my activity for "
                                           "suggestions\" switch for a new session, until the shopper changes it")

    # several workers: what they share (presence, profiles, jobs) and how long a dead worker's share lives
    workers: int = Field(default=1, description="worker processes of `shopassist serve`")
    presence_ttl_s: float = Field(default=30.0, description="an agent's console counts as online this long "
                                  "after its worker's last heartbeat")
    profile_ttl_s: int = Field(default=30 * 24 * 3600, description="a shopper profile in Redis expires after "
                               "this long without behaviour events")
    profile_warm_events: int = Field(default=20_000, description="without Redis: the newest behaviour events "
                                     "replayed into the profiles at start-up")
    job_heartbeat_s: float = Field(default=5.0, description="how often a running job's worker says it is alive")
    job_stale_s: float = Field(default=30.0, description="a running job without a heartbeat this long is failed")

    # optional LLM (off by default; never required)
    llm_backend: str | None = Field(default=None, description="'fake' for tests or an import path")

    @field_validator("cors_origins", "staff_cors_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [o.strip() for o in text.split(",") if o.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        # uvicorn takes a name it cannot parse as a literal that never matches: refuse it here instead
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"forwarded_allow_ips: {entry!r} is not an IP address or network") from None
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'shop.db'}"

    @property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.state_dir / "chroma"

    @property
    def resolved_intent_model_dir(self) -> Path:
        return self.intent_model_dir or self.state_dir / "intent_model"

    @property
    def recs_serving(self):
        """The configured default serving settings of the recommender (recommender.serving.ServingSettings)."""
        from recommender.serving import ServingSettings

        return ServingSettings(diversity=self.recs_diversity, category_cap=self.recs_category_cap,
                               context_weight=self.recs_context_weight, candidate_pool=self.recs_candidate_pool,
                               fusion_preset=self.recs_fusion_preset,
                               exclude_bought_days=self.exclude_bought_days)

    @property
    def recs_model_path(self) -> Path:
        return self.state_dir / "recommender.npz"


@lru_cache
def get_settings() -> Settings:
    return Settings()
