"""Precision and recall of each personal-data detector on a labelled set, and the numbers masking must keep.

    .venv/bin/python bench/redaction_quality.py [--data bench/data/pii_labelled.jsonl] [--show-errors]

Each line of the set is {"text": ..., "card"|"iban"|"password"|"email"|"phone": [exact substrings],
"keep": [substrings such as order numbers and prices that masking must leave intact]}. A finding counts
as a true positive when its text equals a labelled substring of its kind (partial masks are errors).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from assistant.privacy.redaction import CONTACT_KINDS, SECRET_KINDS, find, mask_personal

KINDS = SECRET_KINDS + CONTACT_KINDS
DEFAULT_DATA = Path(__file__).parent / "data" / "pii_labelled.jsonl"


def evaluate(rows: list[dict], show_errors: bool = False) -> dict[str, Counter]:
    counts = {kind: Counter() for kind in (*KINDS, "keep")}
    for row in rows:
        text = row["text"]
        found: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for f in find(text):
            found[f.kind].append(f.value(text))
        for kind in KINDS:
            expected = list(row.get(kind, []))
            for value in found[kind]:
                if value in expected:
                    expected.remove(value)
                    counts[kind]["tp"] += 1
                else:
                    counts[kind]["fp"] += 1
                    if show_errors:
                        print(f"FP {kind:8} {value!r:32} in {text!r}")
            counts[kind]["fn"] += len(expected)
            if show_errors:
                for value in expected:
                    print(f"FN {kind:8} {value!r:32} in {text!r}")
        masked = mask_personal(text)
        for value in row.get("keep", []):
            counts["keep"]["kept" if value in masked else "mangled"] += 1
            if show_errors and value not in masked:
                print(f"MANGLED {value!r} in {text!r} -> {masked!r}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts = evaluate(rows, args.show_errors)
    with_data = sum(1 for r in rows if any(r.get(k) for k in KINDS))
    print(f"{len(rows)} lines ({with_data} with personal data, {len(rows) - with_data} without)")
    print(f"{'detector':10} {'labelled':>8} {'found':>6} {'precision':>9} {'recall':>7}")
    for kind in KINDS:
        c = counts[kind]
        found, labelled = c["tp"] + c["fp"], c["tp"] + c["fn"]
        precision = c["tp"] / found if found else float("nan")
        recall = c["tp"] / labelled if labelled else float("nan")
        print(f"{kind:10} {labelled:8d} {found:6d} {precision:9.3f} {recall:7.3f}")
    keep = counts["keep"]
    print(f"order numbers, prices, dates kept intact: {keep['kept']}/{keep['kept'] + keep['mangled']}")


if __name__ == "__main__":
    main()
