"""Frustration signal: precision / recall of the lexicon, the intent model's complaint belief, and their
combination (the served signal) on the labelled set bench/data/frustration.jsonl.

    .venv/bin/python bench/frustration_eval.py [--model-dir DIR] [--data FILE]

`--data bench/data/frustration_probe.jsonl`: 60 messages written after the lexicon was fixed, never tuned to
(the default set was written beside the lexicon, so its figures are in-sample).

"frustrated" counts a message labelled frustrated or angry; "angry" is the immediate-handover class.
Without a model dir (or a missing model) only the lexicon is measured.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.intent.frustration import FrustrationPolicy, complaint_belief, lexicon_score  # noqa: E402

DATA = Path(__file__).parent / "data" / "frustration.jsonl"


def precision_recall(predicted: list[bool], actual: list[bool]) -> dict[str, float]:
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3)}


def readings(texts: list[str], model_dir: Path | None) -> list[dict | None]:
    if model_dir is None or not model_dir.exists():
        return [None] * len(texts)
    from assistant.intent.classifier import IntentClassifier

    clf = IntentClassifier.load(model_dir)
    return [r.model_dump() for r in clf.predict(texts)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=DATA, help="a labelled .jsonl of {text, label}")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    upset = [r["label"] != "calm" for r in rows]
    angry = [r["label"] == "angry" for r in rows]
    policy = FrustrationPolicy()
    reads = readings(texts, args.model_dir)
    moods = [policy.read_mood(t, r) for t, r in zip(texts, reads, strict=True)]
    result = {
        "rows": len(rows),
        "lexicon_frustrated": precision_recall([lexicon_score(t) >= policy.frustrated_at for t in texts], upset),
        "lexicon_and_sentiment_frustrated": precision_recall(
            [FrustrationPolicy(complaint_weight=0).read_mood(t).label != "calm" for t in texts], upset),
        "combined_frustrated": precision_recall([m.label != "calm" for m in moods], upset),
        "combined_angry": precision_recall([m.label == "angry" for m in moods], angry),
    }
    if reads[0] is not None:
        result["intent_frustrated"] = precision_recall([complaint_belief(r) >= 0.5 for r in reads], upset)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
