"""Intent model latency: batch-1 p50/p99 of fp32 PyTorch vs int8 ONNX Runtime on 1 thread, and batch-16 throughput.

    .venv/bin/python bench/intent_latency.py [--model-dir DIR] [--rows 300] [--threads 1]

Times the network forward alone, the frozen MiniLM pass of the frozen-encoder member and the out-of-scope
score (the int8 query encoder, whose vector the FAQ search of the same turn reuses; uncached here), and the
whole `IntentClassifier.predict` (network, frozen pass, neighbour votes, calibration, clauses, policy, the
out-of-scope score) on real dev messages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WARMUP = 20
BATCH = 16


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def time_calls(fn, inputs: list) -> list[float]:
    for item in inputs[:WARMUP]:
        fn(item)
    timings = []
    for item in inputs:
        start = time.perf_counter()
        fn(item)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def bench_backend(classifier, texts: list[str]) -> dict[str, float]:
    network_ms = time_calls(lambda t: classifier.backend.run([t]), texts)
    frozen = {}
    if classifier.frozen_encoder is not None:
        frozen_ms = time_calls(lambda t: classifier.frozen_encoder([t]), texts)
        frozen = {"frozen_p50_ms": statistics.median(frozen_ms), "frozen_p99_ms": percentile(frozen_ms, 99)}
    predict_ms = time_calls(lambda t: classifier.predict([t]), texts)
    batches = [texts[i: i + BATCH] for i in range(0, len(texts) - BATCH + 1, BATCH)]
    start = time.perf_counter()
    for batch in batches:
        classifier.predict(batch)
    throughput = len(batches) * BATCH / (time.perf_counter() - start)
    return {"network_p50_ms": statistics.median(network_ms), "network_p99_ms": percentile(network_ms, 99),
            **frozen, "predict_p50_ms": statistics.median(predict_ms), "predict_p99_ms": percentile(predict_ms, 99),
            "batch16_msgs_per_s": throughput}


def main() -> None:
    from assistant.config import get_settings
    from assistant.intent.classifier import IntentClassifier
    from assistant.intent.data import cap_per_intent, load_bitext
    from retrieval.query_encoder import ensure_query_encoder

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=settings.resolved_intent_model_dir)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    rows = cap_per_intent(load_bitext(settings.data_dir, "dev"), max(1, args.rows // 27 + 1), seed=7)
    texts = [r.text for r in rows][: args.rows]
    print(f"model {args.model_dir}, {len(texts)} dev messages, {args.threads} thread(s), load {os.getloadavg()}")
    frozen_encoder = ensure_query_encoder(settings.state_dir).encode  # int8, as served, without the text cache
    for use_onnx in (False, True):
        classifier = IntentClassifier.load(args.model_dir, use_onnx=use_onnx, threads=args.threads,
                                           frozen_encoder=frozen_encoder)
        figures = bench_backend(classifier, texts)
        print(f"{classifier.backend.name:<11} " + "  ".join(f"{k}={v:.2f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
