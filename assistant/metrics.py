"""Prometheus metrics of the chat: messages, intents, handoffs, answer latency, recommendation clicks."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("shopassist_messages_total", "Stored chat messages", ["author"])
INTENTS = Counter("shopassist_intents_total", "Classified shopper messages", ["intent"])
INTENT_READINGS = Counter("shopassist_intent_readings_total", "Intent readings taken by turns: read early (as the "
                          "message was stored) or only when the turn began", ["when"])
FALLBACKS = Counter("shopassist_fallbacks_total", "Messages the intent model was not confident about")
HANDOFFS = Counter("shopassist_handoffs_total", "Sessions handed to a human", ["reason"])
ANSWER_LATENCY = Histogram(
    "shopassist_answer_seconds", "Time from a stored shopper message to the stored reply",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
REC_EXPOSURES = Counter("shopassist_rec_exposures_total", "Item cards shown", ["variant"])
REC_EVENTS = Counter("shopassist_behaviour_events_total", "Behaviour events from the widget", ["kind"])
BAD_FRAMES = Counter("shopassist_bad_frames_total", "Refused client frames", ["code"])
FEEDBACK = Counter("shopassist_feedback_total", "Shopper votes on bot replies and conversation ratings", ["kind"])
ANSWER_FAILURES = Counter("shopassist_answer_failures_total", "Turns that failed and were left for a retry")
ANSWER_SWEPT = Counter("shopassist_answers_swept_total", "Pending messages claimed by a sweep (not answered "
                       "at once: a dead worker, a failed turn)")
RATE_LIMITED = Counter("shopassist_rate_limited_total", "Requests and frames refused by a rate limit", ["what"])
PASSWORD_CHECKS = Counter("shopassist_password_checks_total",
                          "argon2 verifications of logins (an unknown e-mail is checked against a dummy hash)")
GC_FROZEN_OBJECTS = Gauge("shopassist_gc_frozen_objects", "Objects of the start-up heap left out of the garbage "
                          "collector's full collections (assistant/heap.py)")
AGENT_ACTIONS = Counter("shopassist_agent_actions_total", "Agent console actions on sessions", ["action"])

# dashboard figures over the admin window (stats_window_hours), recomputed from SQL when /metrics is scraped
WINDOW_MESSAGES = Gauge("shopassist_window_messages", "Messages in the dashboard window", ["author"])
WINDOW_SESSIONS = Gauge("shopassist_window_sessions", "Chat sessions with a shopper message in the window")
HANDOFF_RATE = Gauge("shopassist_handoff_rate", "Share of the window's sessions handed to a human")
CONTAINMENT = Gauge("shopassist_containment_rate", "Share of the window's sessions handled without a human")
WINDOW_INTENTS = Gauge("shopassist_window_intents", "Bot replies in the window by classified intent", ["intent"])
ANSWER_LATENCY_QUANTILE = Gauge("shopassist_answer_latency_seconds", "Answer latency over the window",
                                ["quantile"])
REC_CLICK_THROUGH = Gauge("shopassist_rec_click_through", "Share of shown item cards then clicked (window)")
STATS_COMPUTATIONS = Counter("shopassist_stats_computations_total",
                             "Times the dashboard figures were computed from SQL (at most once per stats_cache_s)")
REVIEW_MESSAGES = Gauge("shopassist_review_messages", "Fallback or unanswered bot replies in the window")
