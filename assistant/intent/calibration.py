"""Confidence calibration: ensemble scores, temperature scaling, expected calibration error, reliability diagram."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PROBABILITY_FLOOR = 1e-6


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ensemble_scores(logits: np.ndarray, neighbour_probs: np.ndarray | None, neighbour_weight: float,
                    frozen_probs: np.ndarray | None = None, frozen_weight: float = 0.0) -> np.ndarray:
    """Log of the mixture of the network's softmax, the neighbour votes and the frozen-encoder member's
    probabilities, each member with its weight and the network with the rest: the uncalibrated scores."""
    members = [(p, w) for p, w in ((neighbour_probs, neighbour_weight), (frozen_probs, frozen_weight))
               if p is not None and w > 0]
    probs = (1 - sum(w for _, w in members)) * softmax(logits)
    for member, weight in members:
        probs = probs + weight * member
    return np.log(np.clip(probs, PROBABILITY_FLOOR, 1.0))


def negative_log_likelihood(scores: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    probs = softmax(scores, temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(targets)), targets], 1e-12, 1.0))))


def fit_temperature(scores: np.ndarray, targets: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(scores / T) (a 1-d bounded search over log T)."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(lambda log_t: negative_log_likelihood(scores, targets, float(np.exp(log_t))),
                             bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def reliability_bins(probs: np.ndarray, targets: np.ndarray, n_bins: int = 15) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of the top-1 prediction in equal-width confidence bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        in_bin = which == b
        if in_bin.any():
            bins.append((float(confidence[in_bin].mean()), float(correct[in_bin].mean()), int(in_bin.sum())))
    return bins


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, n_bins: int = 15) -> float:
    """Sum over bins of |accuracy - confidence| weighted by the share of examples in the bin."""
    n = len(targets)
    return float(sum(count / n * abs(acc - conf) for conf, acc, count in reliability_bins(probs, targets, n_bins)))


def save_reliability_diagram(probs: np.ndarray, targets: np.ndarray, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = reliability_bins(probs, targets)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], "o-", label="model")
    ax.set_xlabel("confidence of the top intent")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title}\nECE = {expected_calibration_error(probs, targets):.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
