"""Evaluation figures of an intent classifier under its fallback policy (the eval-intents summary)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.intent.labels import OUT_OF_SCOPE


def effective_predictions(intents: Sequence[str], fallbacks: Sequence[bool]) -> list[str]:
    """What the product does: a fallback counts as answering `out_of_scope`."""
    return [OUT_OF_SCOPE if fb else intent for intent, fb in zip(intents, fallbacks, strict=True)]


def summary_metrics(gold: Sequence[str], intents: Sequence[str], fallbacks: Sequence[bool]) -> dict:
    """{n, accuracy, macro_f1, fallback_rate, oos_recall, answered_accuracy} as issue 4 defines them."""
    from sklearn.metrics import f1_score

    predicted = effective_predictions(intents, fallbacks)
    in_scope = [i for i, g in enumerate(gold) if g != OUT_OF_SCOPE]
    oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
    answered = [i for i in in_scope if not fallbacks[i]]
    labels = sorted(set(gold))
    return {
        "n": len(gold),
        "accuracy": _share(in_scope, lambda i: predicted[i] == gold[i]),
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))
        if gold else None,
        "fallback_rate": _share(in_scope, lambda i: fallbacks[i]),
        "oos_recall": _share(oos, lambda i: predicted[i] == OUT_OF_SCOPE),
        "answered_accuracy": _share(answered, lambda i: intents[i] == gold[i]),
    }


def _share(indices: Sequence[int], hit) -> float | None:
    if not indices:
        return None
    return sum(1 for i in indices if hit(i)) / len(indices)


def per_intent_table(gold: Sequence[str], intents: Sequence[str], fallbacks: Sequence[bool]) -> list[dict]:
    """Precision, recall, F1 and support of every gold or predicted intent (fallbacks count as out_of_scope)."""
    from sklearn.metrics import precision_recall_fscore_support

    predicted = effective_predictions(intents, fallbacks)
    labels = sorted(set(gold) | set(predicted))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    return [{"intent": label, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
             "support": int(s[i])} for i, label in enumerate(labels)]
