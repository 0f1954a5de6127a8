"""The text of `shopassist eval-intents`: a per-intent table, the confusion-matrix path, the JSON summary last."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from assistant.intent.evaluation import (
    classify_locally,
    classify_through_server,
    evaluate,
    read_labelled_rows,
)

EVAL_FIGURES_DIR = "eval"


def run_intent_evaluation(settings, file: Path, through_server: str | None) -> Iterator[str]:
    texts, gold = read_labelled_rows(file)
    if through_server:
        predictions = classify_through_server(through_server, texts, settings.intent_eval_concurrency,
                                              settings.intent_eval_timeout_s)
    else:
        from assistant.intent.classifier import IntentClassifier

        classifier = IntentClassifier.from_settings(settings)
        predictions = classify_locally(classifier, texts)
    figure = settings.state_dir / EVAL_FIGURES_DIR / f"confusion_{Path(file).stem}.png"
    table, png, summary = evaluate(gold, predictions, figure)
    yield from format_table(table)
    yield f"confusion matrix: {png}"
    yield json.dumps(summary)


def format_table(table: list[dict]) -> Iterator[str]:
    yield f"{'intent':<26} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"
    for row in table:
        yield (f"{row['intent']:<26} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>7.3f} "
               f"{row['support']:>8d}")
