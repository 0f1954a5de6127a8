"""Training an intent model end to end: data splits, fine-tuning, calibration, fallback policy, card, ONNX.

Two phases. The calibration phase trains on everything except the hard rows (Bitext rows flagged
L/C/Q/Z, a held-out share of the project's lines and of the out-of-scope lines), and on those hard rows
chooses the neighbour weight, fits the temperature and picks the fallback policy; the figures of the
model card come from it. The final phase continues training on everything and keeps those choices.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.intent.augment import augment_examples
from assistant.intent.calibration import (
    ensemble_scores,
    expected_calibration_error,
    fit_temperature,
    save_reliability_diagram,
    softmax,
)
from assistant.intent.data import (
    Example,
    cap_per_intent,
    data_hashes,
    feedback_examples,
    is_shift_row,
    load_bitext,
    load_clinc_oos,
    load_shop_lines,
    split_by_hash,
)
from assistant.intent.finetune import FineTuneConfig, embed_texts, fine_tune, fit_head
from assistant.intent.knn import NeighbourVoter
from assistant.intent.labels import LABEL_TO_ID, LABELS, OUT_OF_SCOPE
from assistant.intent.metrics import summary_metrics
from assistant.intent.model_card import NEIGHBOURS_FILE, ModelCard, has_model
from assistant.intent.network import IntentNetwork, load_classifier, load_tokenizer
from assistant.intent.policy import FallbackPolicy, choose_policy, fallback_mask, group_weights

RELIABILITY_PNG = "reliability_diagram.png"


@dataclass(frozen=True)
class TrainingPlan:
    """Every knob of a training run (the full and quick presets are below)."""

    max_per_intent: int | None = 150  # Bitext rows per intent: near-templated, more adds time, not variety
    project_lines_cap_factor: int = 4
    eval_per_intent: int | None = None  # cap of the hard and dev rows scored for calibration (None: all)
    epochs: float = 2.0
    final_epochs: float = 0.5
    augment_copies: float = 0.5
    learning_rate: float = 8e-5
    final_learning_rate: float = 3e-5
    batch_size: int = 32
    max_length: int = 64
    warmup_share: float = 0.06
    head_weight_decay: float = 1e-4
    head_iterations: int = 100
    embedding_anchor: float = 0.0
    neighbour_k: int = 10
    neighbour_temperature: float = 0.05
    neighbour_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    held_out_share: float = 0.2
    clinc_held_out_share: float = 0.5
    max_fallback: float = 0.02
    balance_policy_groups: bool = True  # Bitext hard rows and the project's held-out lines weigh the same
    secondary_threshold: float = 0.5
    feedback_repeat: int = 3
    export_onnx: bool = True


FULL_PLAN = TrainingPlan()
# quick: frozen MiniLM, a linear probe and neighbour votes (about a minute on 2 cores; for tests and demos)
QUICK_PLAN = TrainingPlan(max_per_intent=16, eval_per_intent=8, epochs=0.0, final_epochs=0.0, augment_copies=0.25,
                          neighbour_weights=(0.5, 0.75), export_onnx=False)


@dataclass
class TrainingSplits:
    calibration_train: list[Example]
    hard_in_scope: list[Example]
    oos_tune: list[Example]
    oos_test: list[Example]
    dev: list[Example]
    everything: list[Example] = field(default_factory=list)


def build_splits(data_dir: Path, plan: TrainingPlan, feedback: Iterable[tuple[str, str]], seed: int) -> TrainingSplits:
    bitext = load_bitext(data_dir, "train")
    shop = load_shop_lines()
    shop_in_scope = [e for e in shop if e.intent != OUT_OF_SCOPE]
    written_oos = [e for e in shop if e.intent == OUT_OF_SCOPE]
    shop_kept, shop_held = split_by_hash(shop_in_scope, plan.held_out_share)
    oos_kept, oos_tune = split_by_hash(written_oos, plan.held_out_share)
    clinc_kept, clinc_held = split_by_hash(load_clinc_oos(data_dir), plan.clinc_held_out_share)
    corrections = feedback_examples(feedback) * plan.feedback_repeat
    ordinary = [e for e in bitext if not is_shift_row(e)]
    shift = [e for e in bitext if is_shift_row(e)]
    cap = plan.max_per_intent
    lines_cap = cap and cap * plan.project_lines_cap_factor  # the project's lines and out-of-scope are scarcer
    eval_cap = plan.eval_per_intent
    return TrainingSplits(
        calibration_train=cap_per_intent(ordinary, cap, seed) + corrections
        + cap_per_intent(shop_kept + oos_kept + clinc_kept, lines_cap, seed),
        hard_in_scope=cap_per_intent(shift, eval_cap, seed) + cap_per_intent(shop_held, eval_cap, seed),
        oos_tune=oos_tune,
        oos_test=clinc_held,
        dev=cap_per_intent(load_bitext(data_dir, "dev"), eval_cap, seed),
        everything=cap_per_intent(bitext, cap, seed) + corrections
        + cap_per_intent(shop + load_clinc_oos(data_dir), lines_cap, seed),
    )


def _with_augmentation(examples: Sequence[Example], plan: TrainingPlan, seed: int) -> list[Example]:
    return list(examples) + augment_examples(examples, plan.augment_copies, seed)


def _fine_tune_on(network, tokenizer, examples: Sequence[Example], plan: TrainingPlan, epochs: float,
                  learning_rate: float, seed: int, progress: bool, desc: str) -> dict:
    config = FineTuneConfig(epochs=epochs, learning_rate=learning_rate, batch_size=plan.batch_size,
                            max_length=plan.max_length, warmup_share=plan.warmup_share, seed=seed,
                            embedding_anchor=plan.embedding_anchor)
    return fine_tune(network, tokenizer, [e.text for e in examples], [LABEL_TO_ID[e.intent] for e in examples],
                     config, progress=progress, desc=desc)


def _fit_head_on(network, tokenizer, examples: Sequence[Example], plan: TrainingPlan, seed: int) -> dict:
    return fit_head(network, tokenizer, [e.text for e in examples], [LABEL_TO_ID[e.intent] for e in examples],
                    plan.max_length, plan.head_weight_decay, plan.head_iterations, seed)


def _build_neighbours(network, tokenizer, examples: Sequence[Example], plan: TrainingPlan,
                      progress: bool) -> NeighbourVoter:
    _, embeddings = embed_texts(network, tokenizer, [e.text for e in examples], plan.max_length, progress=progress)
    label_ids = np.array([LABEL_TO_ID[e.intent] for e in examples])
    return NeighbourVoter(embeddings, label_ids, len(LABELS), plan.neighbour_k, plan.neighbour_temperature)


@dataclass
class ScoredSet:
    """Uncalibrated ensemble inputs of an evaluation set."""

    targets: np.ndarray
    logits: np.ndarray
    votes: np.ndarray

    def scores(self, neighbour_weight: float) -> np.ndarray:
        return ensemble_scores(self.logits, self.votes, neighbour_weight)


def _score(network, tokenizer, neighbours: NeighbourVoter, examples: Sequence[Example],
           plan: TrainingPlan) -> ScoredSet:
    logits, embeddings = embed_texts(network, tokenizer, [e.text for e in examples], plan.max_length)
    targets = np.array([LABEL_TO_ID[e.intent] for e in examples])
    return ScoredSet(targets, logits, neighbours.probabilities(embeddings))


def _best_neighbour_weight(hard: ScoredSet, weights: Sequence[float]) -> float:
    accuracies = [float((hard.scores(w).argmax(1) == hard.targets).mean()) for w in weights]
    return float(weights[int(np.argmax(accuracies))])


def _policy_metrics(probs: np.ndarray, targets: np.ndarray, policy: FallbackPolicy) -> dict:
    fallbacks = fallback_mask(probs, LABEL_TO_ID[OUT_OF_SCOPE], policy.threshold, policy.margin)
    gold = [LABELS[t] for t in targets]
    return summary_metrics(gold, [LABELS[p] for p in probs.argmax(1)], list(fallbacks))


def calibrate(network, tokenizer, splits: TrainingSplits, neighbours: NeighbourVoter, plan: TrainingPlan,
              figures_dir: Path) -> tuple[float, float, FallbackPolicy, dict]:
    """Neighbour weight, temperature and policy from the hard rows; the calibration phase's figures."""
    scored = {name: _score(network, tokenizer, neighbours, getattr(splits, name), plan)
              for name in ("hard_in_scope", "oos_tune", "oos_test", "dev")}
    hard = scored["hard_in_scope"]
    weight = _best_neighbour_weight(hard, plan.neighbour_weights)
    fit_scores = np.vstack([hard.scores(weight), scored["oos_tune"].scores(weight)])
    fit_targets = np.concatenate([hard.targets, scored["oos_tune"].targets])
    temperature = fit_temperature(fit_scores, fit_targets)
    probs = {name: softmax(s.scores(weight), temperature) for name, s in scored.items()}
    bitext = np.array([e.source.startswith("bitext") for e in splits.hard_in_scope])
    # the project's everyday phrasings count as much as the far more numerous Bitext variation rows: the
    # threshold must suit how shoppers write, not only Bitext's templates
    policy = choose_policy(probs["hard_in_scope"], probs["oos_tune"], LABEL_TO_ID[OUT_OF_SCOPE], plan.max_fallback,
                           in_scope_weights=group_weights(bitext) if plan.balance_policy_groups else None)
    policy = policy.model_copy(update={"secondary_threshold": plan.secondary_threshold})
    oos_all = np.vstack([probs["oos_tune"], probs["oos_test"]])
    ece_set = np.vstack([probs["hard_in_scope"], oos_all])
    ece_targets = np.concatenate([hard.targets, scored["oos_tune"].targets, scored["oos_test"].targets])
    save_reliability_diagram(ece_set, ece_targets, figures_dir / RELIABILITY_PNG,
                             "held-out hard rows (calibration phase)")
    metrics = {
        "neighbour_weight_accuracy": {str(w): float((hard.scores(w).argmax(1) == hard.targets).mean())
                                      for w in plan.neighbour_weights},
        "shift_split": _policy_metrics(probs["hard_in_scope"][bitext], hard.targets[bitext], policy),
        "project_lines_held_out": _policy_metrics(probs["hard_in_scope"][~bitext], hard.targets[~bitext], policy),
        "hard_rows_top1_accuracy": float((probs["hard_in_scope"].argmax(1) == hard.targets).mean()),
        "dev_calibration_phase": _policy_metrics(probs["dev"], scored["dev"].targets, policy),
        "oos_recall_held_out": float(fallback_mask(probs["oos_test"], LABEL_TO_ID[OUT_OF_SCOPE],
                                                   policy.threshold, policy.margin).mean()),
        "oos_recall_tune": float(fallback_mask(probs["oos_tune"], LABEL_TO_ID[OUT_OF_SCOPE],
                                               policy.threshold, policy.margin).mean()),
        "ece_before_temperature": expected_calibration_error(softmax(fit_scores), fit_targets),
        "ece_after_temperature": expected_calibration_error(softmax(fit_scores, temperature), fit_targets),
        "reliability_diagram": str(figures_dir / RELIABILITY_PNG),
    }
    return weight, temperature, policy, metrics


def train_intent_model(out_dir: Path, data_dir: Path, *, max_per_intent: int | None = None,
                       epochs: float | None = None, seed: int = 13, feedback: Iterable[tuple[str, str]] = (),
                       quick: bool = False, plan: TrainingPlan | None = None, progress: bool = True) -> dict:
    """Train, calibrate and save an intent model into `out_dir`; returns the model card as a dict."""
    from retrieval.embeddings import minilm_path

    started = time.monotonic()
    plan = plan or (QUICK_PLAN if quick else FULL_PLAN)
    plan = replace(plan, max_per_intent=max_per_intent if max_per_intent is not None else plan.max_per_intent,
                   epochs=epochs if epochs is not None else plan.epochs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    feedback = list(feedback)
    splits = build_splits(Path(data_dir), plan, feedback, seed)
    tokenizer = load_tokenizer(minilm_path())
    network = IntentNetwork(load_classifier(minilm_path(), LABELS))

    calibration_set = _with_augmentation(splits.calibration_train, plan, seed)
    log = {"linear_probe": _fit_head_on(network, tokenizer, calibration_set, plan, seed)}
    if plan.epochs > 0:
        log["calibration_phase"] = _fine_tune_on(network, tokenizer, calibration_set, plan, plan.epochs,
                                                 plan.learning_rate, seed, progress, "training (calibration phase)")
    neighbours = _build_neighbours(network, tokenizer, calibration_set, plan, progress)
    weight, temperature, policy, metrics = calibrate(network, tokenizer, splits, neighbours, plan, out_dir)

    final_set = _with_augmentation(splits.everything, plan, seed + 1)
    if plan.final_epochs > 0:
        log["final_phase"] = _fine_tune_on(network, tokenizer, final_set, plan, plan.final_epochs,
                                           plan.final_learning_rate, seed + 1, progress, "training (final phase)")
    else:
        log["final_linear_probe"] = _fit_head_on(network, tokenizer, final_set, plan, seed + 1)
    neighbours = _build_neighbours(network, tokenizer, final_set, plan, progress)
    neighbours.save(out_dir / NEIGHBOURS_FILE)
    network.classifier.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    dev = _score(network, tokenizer, neighbours, splits.dev, plan)
    metrics["dev"] = _policy_metrics(softmax(dev.scores(weight), temperature), dev.targets, policy)

    card = ModelCard(labels=list(LABELS), max_length=plan.max_length, temperature=temperature,
                     neighbour_weight=weight, policy=policy,
                     trained_at=datetime.now(UTC).isoformat(timespec="seconds"), metrics=metrics,
                     training={"plan": plan.__dict__ | {"neighbour_weights": list(plan.neighbour_weights)},
                               "seed": seed, "quick": quick, "feedback_rows": len(feedback),
                               "sizes": {k: len(v) for k, v in splits.__dict__.items()},
                               "data_hashes": data_hashes(Path(data_dir)), "log": log})
    card.save(out_dir)
    if plan.export_onnx:
        card.metrics["onnx_agreement_dev"] = export_and_check_onnx(out_dir, splits.dev)
    card.training["seconds"] = round(time.monotonic() - started, 1)
    card.save(out_dir)
    return card.model_dump()


def export_and_check_onnx(model_dir: Path, examples: Sequence[Example]) -> float:
    """Export int8 ONNX and return the share of `examples` where it gives the same intent as fp32 torch."""
    from assistant.intent.backends import export_onnx
    from assistant.intent.classifier import IntentClassifier

    export_onnx(model_dir, ModelCard.load(model_dir).max_length)
    texts = [e.text for e in examples]
    torch_intents = IntentClassifier.load(model_dir, use_onnx=False).probabilities(texts).argmax(1)
    onnx_intents = IntentClassifier.load(model_dir, use_onnx=True).probabilities(texts).argmax(1)
    return float((torch_intents == onnx_intents).mean())


def ensure_intent_model(settings, quick: bool = False, progress: bool = True) -> dict:
    """Train a model into the configured dir unless one is there; returns its model card."""
    model_dir = settings.resolved_intent_model_dir
    if has_model(model_dir):
        return ModelCard.load(model_dir).model_dump()
    return train_intent_model(model_dir, settings.data_dir, quick=quick, progress=progress,
                              feedback=stored_feedback(settings))


def stored_feedback(settings) -> list[tuple[str, str]]:
    """Agent corrections from the configured store (none when its SQLite file does not exist yet)."""
    from assistant.intent.feedback import load_feedback

    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    return load_feedback(url)
