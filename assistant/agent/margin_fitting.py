"""`fit-answer-margin`: measure the FAQ other-intent margin on training-derived messages (never dev or probes).

The fitting set is the Bitext training rows with variation flags (long, colloquial, coordinated, typos:
the nearest to how shoppers write), up to `per_intent` per intent, plus the project's everyday phrasings.
Each is read by the served intent model and searched in the FAQ index like the dialogue does; rows whose
reading falls back, is off-topic or asks for a person are left out (the margin never applies to them). Rows
read as order intents stay: an anonymous shopper's order question is answered from the FAQ.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from assistant.agent.answer_selection import SelectionCase, fit_other_intent_margin
from assistant.agent.routing import route_for
from assistant.intent.data import PHRASINGS_FILE, Example, cap_per_intent, is_shift_row, load_bitext, read_jsonl

NO_FAQ_ROUTES = ("handoff", "out_of_scope", "smalltalk", "products", "recommend")


def fitting_rows(data_dir: Path, per_intent: int, seed: int) -> list[Example]:
    shift = [e for e in load_bitext(data_dir, "train") if is_shift_row(e)]
    phrasings = [Example(r["text"], r["intent"], "", "shop") for r in read_jsonl(PHRASINGS_FILE)]
    return cap_per_intent(shift, per_intent, seed) + phrasings


def selection_cases(settings, rows: list[Example]) -> list[SelectionCase]:
    from assistant.intent.classifier import IntentClassifier
    from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
    from retrieval.faq_index import FaqIndex

    classifier = IntentClassifier.from_settings(settings)
    faq = FaqIndex(make_chroma_client(settings.resolved_chroma_path, settings.chroma_url), MiniLMEmbeddingFunction())
    readings = classifier.predict([e.text for e in rows])
    return [SelectionCase(e.intent, r.intent, tuple(faq.search(e.text, settings.faq_candidate_pool)))
            for e, r in zip(rows, readings, strict=True)
            if not r.fallback and route_for(r.intent, fallback=False, pending=None) not in NO_FAQ_ROUTES]


def run_margin_fitting(settings, per_intent: int, seed: int) -> Iterator[str]:
    """The lines `shopassist fit-answer-margin` prints: the curve at a few margins, then the fitted margin."""
    cases = selection_cases(settings, fitting_rows(settings.data_dir, per_intent, seed))
    margin, curve = fit_other_intent_margin(cases, settings.faq_min_score)
    misread = sum(c.gold != c.read for c in cases)
    yield f"{len(cases)} fitting messages answerable from the FAQ ({misread} read as another intent)"
    for m in sorted({0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, margin}):
        yield f"margin {m:.2f}: answered from an entry for the true intent {curve[m]:.4f}"
    yield f"fitted faq_other_intent_margin = {margin:.2f} (set SHOPASSIST_FAQ_OTHER_INTENT_MARGIN to override)"
