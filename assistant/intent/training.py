"""Training an intent model end to end: data splits, fine-tuning, calibration, fallback policy, card, ONNX.

Two phases. The calibration phase trains on everything except the hard rows (Bitext rows flagged
L/C/Q/Z, a held-out share of the project's lines and of the out-of-scope lines), and on those hard rows
chooses the ensemble weights (network, neighbour votes, frozen-encoder member), fits the temperature, picks
the fallback policy and the out-of-scope score's threshold; the figures of the model card come from it. The
final phase continues training on everything except the held-out off-topic lines and keeps those choices.
The CLINC off-topic sample is never trained on: it measures how off-topic detection generalises.
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
from assistant.intent.catalogue_lines import catalogue_lines
from assistant.intent.data import (
    Example,
    cap_per_intent,
    data_hashes,
    feedback_examples,
    is_shift_row,
    load_bitext,
    load_calibration_phrasings,
    load_clinc_oos,
    load_shop_lines,
    split_by_hash,
)
from assistant.intent.finetune import FineTuneConfig, embed_texts, fine_tune, fit_head
from assistant.intent.frozen_member import (
    FROZEN_HEAD_FILE,
    FrozenEncoder,
    FrozenHead,
    default_frozen_encoder,
    frozen_encoder_from_settings,
    remembering,
)
from assistant.intent.in_scope_distance import (
    IN_SCOPE_VECTORS_FILE,
    InScopeDistance,
    InScopeDistanceCard,
    choose_policy_and_score,
    in_scope_confidence,
)
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
    neighbour_weights: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75)
    # the frozen-encoder member (frozen_member.py): weights tried on the hard rows, and its regularisation
    frozen_weights: tuple[float, ...] = (0.0, 0.2, 0.35, 0.5, 0.65)
    # ensemble weights chosen on the held-out off-topic lines as well as the hard rows (each half)
    weights_on_off_topic: bool = True
    frozen_inverse_regularisation: float = 4.0
    frozen_augment_copies: float = 1.5  # a linear model on fixed vectors learns variety only from the rows it sees
    held_out_share: float = 0.2
    clinc_held_out_share: float = 0.5
    # off-topic lines the model never trains on, so that every off-topic figure is a held-out one: the CLINC
    # sample (both halves), and the held-out share of the written off-topic lines (also in the final phase)
    train_on_clinc: bool = False
    final_trains_on_held_out_oos: bool = False
    max_fallback: float = 0.02
    # the in-scope distance (in_scope_distance.py): neighbours averaged (0: off); the shares of the fallback
    # budget left to the policy (the score gets the rest) and the weights of the classifier's doubt in the
    # score that calibration chooses from
    in_scope_distance_k: int = 10
    policy_budget_shares: tuple[float, ...] = (0.5, 0.0, 0.25, 0.75, 1.0)
    doubt_weights: tuple[float, ...] = (1.0, 0.0, 0.5, 2.0)
    balance_policy_groups: bool = True  # Bitext hard rows and the project's held-out lines weigh the same
    secondary_threshold: float = 0.5
    feedback_repeat: int = 3
    # lines that name products (catalogue_lines.py), x the per-intent counts there; trained on, never held out
    catalogue_scale: float = 0.5  # 1.0 cost off-topic recall on the held-out sets, 0.5 read as many products
    # calibration_phrasings.jsonl: held out from the calibration phase (the policy's and the score's budget is
    # measured on them with the project's held-out lines), trained on in the final phase
    calibration_phrasings: bool = True
    export_onnx: bool = True


FULL_PLAN = TrainingPlan()
# quick: frozen MiniLM, a linear probe and neighbour votes (about a minute on 2 cores; for tests and demos)
QUICK_PLAN = TrainingPlan(max_per_intent=16, eval_per_intent=8, epochs=0.0, final_epochs=0.0, augment_copies=0.25,
                          neighbour_weights=(0.5, 0.75), frozen_weights=(0.0,), catalogue_scale=0.1,
                          export_onnx=False)


@dataclass
class TrainingSplits:
    calibration_train: list[Example]
    hard_in_scope: list[Example]
    oos_tune: list[Example]
    oos_test: list[Example]
    dev: list[Example]
    everything: list[Example] = field(default_factory=list)
    calibration_in_scope: list[Example] = field(default_factory=list)  # with augmentation: the distance's lines


def build_splits(data_dir: Path, plan: TrainingPlan, feedback: Iterable[tuple[str, str]], seed: int) -> TrainingSplits:
    bitext = load_bitext(data_dir, "train")
    shop = load_shop_lines()
    shop_in_scope = [e for e in shop if e.intent != OUT_OF_SCOPE]
    written_oos = [e for e in shop if e.intent == OUT_OF_SCOPE]
    shop_kept, shop_held = split_by_hash(shop_in_scope, plan.held_out_share)
    oos_kept, oos_tune = split_by_hash(written_oos, plan.held_out_share)
    clinc_kept, clinc_held = split_by_hash(load_clinc_oos(data_dir), plan.clinc_held_out_share)
    if not plan.train_on_clinc:
        clinc_kept, clinc_held = [], clinc_kept + clinc_held
    final_oos = written_oos if plan.final_trains_on_held_out_oos else oos_kept
    corrections = feedback_examples(feedback) * plan.feedback_repeat
    ordinary = [e for e in bitext if not is_shift_row(e)]
    shift = [e for e in bitext if is_shift_row(e)]
    cap = plan.max_per_intent
    lines_cap = cap and cap * plan.project_lines_cap_factor  # the project's lines and out-of-scope are scarcer
    eval_cap = plan.eval_per_intent
    products = catalogue_lines(data_dir, plan.catalogue_scale, seed)
    everyday = load_calibration_phrasings() if plan.calibration_phrasings else []
    return TrainingSplits(
        calibration_train=cap_per_intent(ordinary, cap, seed) + corrections + products
        + cap_per_intent(shop_kept + oos_kept + clinc_kept, lines_cap, seed),
        hard_in_scope=cap_per_intent(shift, eval_cap, seed) + cap_per_intent(shop_held + everyday, eval_cap, seed),
        oos_tune=oos_tune,
        oos_test=clinc_held,
        dev=cap_per_intent(load_bitext(data_dir, "dev"), eval_cap, seed),
        everything=cap_per_intent(bitext, cap, seed) + corrections + products
        + cap_per_intent(shop_in_scope + everyday + final_oos + clinc_kept, lines_cap, seed),
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
    frozen: np.ndarray | None = None  # the frozen-encoder member's probabilities
    vectors: np.ndarray | None = None  # frozen sentence vectors (for the in-scope distance)

    def scores(self, weights: tuple[float, float]) -> np.ndarray:
        """Ensemble scores under (neighbour weight, frozen-member weight)."""
        return ensemble_scores(self.logits, self.votes, weights[0], self.frozen, weights[1])


def _score(network, tokenizer, neighbours: NeighbourVoter, examples: Sequence[Example], plan: TrainingPlan,
           frozen: FrozenMember | None = None) -> ScoredSet:
    logits, embeddings = embed_texts(network, tokenizer, [e.text for e in examples], plan.max_length)
    targets = np.array([LABEL_TO_ID[e.intent] for e in examples])
    if frozen is None:
        return ScoredSet(targets, logits, neighbours.probabilities(embeddings))
    vectors = frozen.encoder([e.text for e in examples])
    return ScoredSet(targets, logits, neighbours.probabilities(embeddings), frozen.head.probabilities(vectors),
                     vectors)


@dataclass
class FrozenMember:
    """The frozen encoder and the logistic regression fitted on its vectors for one phase."""

    encoder: FrozenEncoder
    head: FrozenHead


def _fit_frozen_member(encoder: FrozenEncoder | None, examples: Sequence[Example],
                       plan: TrainingPlan, seed: int) -> FrozenMember | None:
    if encoder is None:
        return None
    examples = list(examples) + augment_examples(examples, plan.frozen_augment_copies, seed + 7)
    vectors = encoder([e.text for e in examples])
    label_ids = np.array([LABEL_TO_ID[e.intent] for e in examples])
    return FrozenMember(encoder, FrozenHead.fit(vectors, label_ids, len(LABELS), plan.frozen_inverse_regularisation,
                                                seed))


def _weight_grid(plan: TrainingPlan, with_frozen: bool) -> list[tuple[float, float]]:
    frozen_weights = plan.frozen_weights if with_frozen else (0.0,)
    return [(n, f) for n in plan.neighbour_weights for f in frozen_weights if n + f < 1.0]


def _weight_accuracy(hard: ScoredSet, off_topic: ScoredSet | None, weights: tuple[float, float]) -> float:
    """Accuracy on the held-out in-scope rows and, when given, on the held-out off-topic lines, the two sets
    weighing the same: weights chosen on in-scope rows alone favoured the neighbour votes, which read a third
    fewer unseen off-topic lines as off-topic than the other members."""
    accuracy = float((hard.scores(weights).argmax(1) == hard.targets).mean())
    if off_topic is None or len(off_topic.targets) == 0:
        return accuracy
    return (accuracy + float((off_topic.scores(weights).argmax(1) == off_topic.targets).mean())) / 2


def _best_weights(hard: ScoredSet, grid: Sequence[tuple[float, float]],
                  off_topic: ScoredSet | None = None) -> tuple[float, float]:
    """The most accurate (neighbour, frozen) weights (`_weight_accuracy`); ties go to the earlier (simpler) pair."""
    return grid[int(np.argmax([_weight_accuracy(hard, off_topic, w) for w in grid]))]


def _policy_metrics(probs: np.ndarray, targets: np.ndarray, policy: FallbackPolicy) -> dict:
    fallbacks = fallback_mask(probs, LABEL_TO_ID[OUT_OF_SCOPE], policy.threshold, policy.margin)
    gold = [LABELS[t] for t in targets]
    return summary_metrics(gold, [LABELS[p] for p in probs.argmax(1)], list(fallbacks))


def calibrate(network, tokenizer, splits: TrainingSplits, neighbours: NeighbourVoter, plan: TrainingPlan,
              figures_dir: Path, frozen: FrozenMember | None = None
              ) -> tuple[tuple[float, float], float, FallbackPolicy, dict, InScopeDistanceCard | None]:
    """Ensemble weights, temperature, policy and out-of-scope score from the hard rows; the calibration
    phase's figures."""
    scored = {name: _score(network, tokenizer, neighbours, getattr(splits, name), plan, frozen)
              for name in ("hard_in_scope", "oos_tune", "oos_test", "dev")}
    hard = scored["hard_in_scope"]
    grid = _weight_grid(plan, frozen is not None)
    weights = _best_weights(hard, grid, scored["oos_tune"] if plan.weights_on_off_topic else None)
    fit_scores = np.vstack([hard.scores(weights), scored["oos_tune"].scores(weights)])
    fit_targets = np.concatenate([hard.targets, scored["oos_tune"].targets])
    temperature = fit_temperature(fit_scores, fit_targets)
    probs = {name: softmax(s.scores(weights), temperature) for name, s in scored.items()}
    bitext = np.array([e.source.startswith("bitext") for e in splits.hard_in_scope])
    # the project's everyday phrasings count as much as the far more numerous Bitext variation rows: the
    # threshold must suit how shoppers write, not only Bitext's templates
    in_scope_weights = group_weights(bitext) if plan.balance_policy_groups else None
    with_distance = frozen is not None and plan.in_scope_distance_k > 0
    distance_card, distance_metrics = None, {}
    if with_distance:
        policy, distance_card, distance_metrics = _fit_in_scope_distance(splits, scored, probs, frozen, plan,
                                                                         in_scope_weights)
    else:
        policy = choose_policy(probs["hard_in_scope"], probs["oos_tune"], LABEL_TO_ID[OUT_OF_SCOPE],
                               plan.max_fallback, in_scope_weights=in_scope_weights)
    policy = policy.model_copy(update={"secondary_threshold": plan.secondary_threshold})
    oos_all = np.vstack([probs["oos_tune"], probs["oos_test"]])
    ece_set = np.vstack([probs["hard_in_scope"], oos_all])
    ece_targets = np.concatenate([hard.targets, scored["oos_tune"].targets, scored["oos_test"].targets])
    save_reliability_diagram(ece_set, ece_targets, figures_dir / RELIABILITY_PNG,
                             "held-out hard rows (calibration phase)")
    metrics = {
        "ensemble_weight_accuracy": {f"neighbours {w[0]}, frozen {w[1]}":
                                     float((hard.scores(w).argmax(1) == hard.targets).mean()) for w in grid},
        "ensemble_weight_off_topic_recall": {f"neighbours {w[0]}, frozen {w[1]}": float(
            (scored["oos_tune"].scores(w).argmax(1) == scored["oos_tune"].targets).mean()) for w in grid},
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
        "in_scope_distance": distance_metrics,
    }
    return weights, temperature, policy, metrics, distance_card


def _fit_in_scope_distance(splits: TrainingSplits, scored: dict[str, ScoredSet], probs: dict[str, np.ndarray],
                           frozen: FrozenMember, plan: TrainingPlan, in_scope_weights: np.ndarray | None
                           ) -> tuple[FallbackPolicy, InScopeDistanceCard, dict]:
    """The policy and the out-of-scope score, chosen together (`choose_policy_and_score`) on the held-out
    in-scope rows and the held-out written off-topic lines, the set the policy alone was chosen on before; the
    CLINC sample stays unseen and is reported, not fitted."""
    oos_id = LABEL_TO_ID[OUT_OF_SCOPE]
    store = InScopeDistance(frozen.encoder([e.text for e in splits.calibration_in_scope]), plan.in_scope_distance_k)
    distances = {name: store.distances(scored[name].vectors) for name in scored}
    policy, card, recalls = choose_policy_and_score(
        (probs["hard_in_scope"], distances["hard_in_scope"]), (probs["oos_tune"], distances["oos_tune"]), oos_id,
        plan.in_scope_distance_k, plan.max_fallback, plan.policy_budget_shares, plan.doubt_weights, in_scope_weights)
    card = card.model_copy(update={"calibration": card.calibration | {
        "rows": len(distances["hard_in_scope"]), "max_fallback": plan.max_fallback,
        "source": "held-out in-scope rows of the calibration phase (Bitext variation rows, the project's lines, "
                  "calibration_phrasings.jsonl)"}})
    metrics = {"written_off_topic_recall_by_choice": recalls}
    for name in ("hard_in_scope", "dev", "oos_tune", "oos_test"):
        policy_says = fallback_mask(probs[name], oos_id, policy.threshold, policy.margin)
        far = card.scores(distances[name], in_scope_confidence(probs[name], oos_id)) > card.threshold
        metrics[name] = {"rows": len(far), "policy": float(policy_says.mean()), "distance": float(far.mean()),
                         "either": float((policy_says | far).mean())}
    return policy, card, metrics


def train_intent_model(out_dir: Path, data_dir: Path, *, max_per_intent: int | None = None,
                       epochs: float | None = None, seed: int = 13, feedback: Iterable[tuple[str, str]] = (),
                       quick: bool = False, plan: TrainingPlan | None = None, progress: bool = True,
                       frozen_encoder: FrozenEncoder | None = None) -> dict:
    """Train, calibrate and save an intent model into `out_dir`; returns the model card as a dict.
    `frozen_encoder` gives the base MiniLM's vectors as served (default: the process-wide embedder's)."""
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
    uses_frozen = max(plan.frozen_weights) > 0
    frozen_encoder = remembering(frozen_encoder or default_frozen_encoder()) if uses_frozen else None

    calibration_set = _with_augmentation(splits.calibration_train, plan, seed)
    splits.calibration_in_scope = [e for e in calibration_set if e.intent != OUT_OF_SCOPE]
    frozen = _fit_frozen_member(frozen_encoder, splits.calibration_train, plan, seed)
    log = {"linear_probe": _fit_head_on(network, tokenizer, calibration_set, plan, seed)}
    if plan.epochs > 0:
        log["calibration_phase"] = _fine_tune_on(network, tokenizer, calibration_set, plan, plan.epochs,
                                                 plan.learning_rate, seed, progress, "training (calibration phase)")
    neighbours = _build_neighbours(network, tokenizer, calibration_set, plan, progress)
    weights, temperature, policy, metrics, distance_card = calibrate(network, tokenizer, splits, neighbours, plan,
                                                                     out_dir, frozen)

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
    frozen = _fit_frozen_member(frozen_encoder, splits.everything, plan, seed + 1)
    if frozen is not None:
        frozen.head.save(out_dir / FROZEN_HEAD_FILE)
    if distance_card is not None:
        InScopeDistance(frozen_encoder([e.text for e in final_set if e.intent != OUT_OF_SCOPE]),
                        distance_card.k).save(out_dir / IN_SCOPE_VECTORS_FILE)
    dev = _score(network, tokenizer, neighbours, splits.dev, plan, frozen)
    metrics["dev"] = _policy_metrics(softmax(dev.scores(weights), temperature), dev.targets, policy)

    card = ModelCard(labels=list(LABELS), max_length=plan.max_length, temperature=temperature,
                     neighbour_weight=weights[0], frozen_weight=weights[1], policy=policy,
                     in_scope_distance=distance_card,
                     trained_at=datetime.now(UTC).isoformat(timespec="seconds"), metrics=metrics,
                     training={"plan": {k: list(v) if isinstance(v, tuple) else v for k, v in plan.__dict__.items()},
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
                              feedback=stored_feedback(settings), frozen_encoder=frozen_encoder_from_settings(settings))


def stored_feedback(settings) -> list[tuple[str, str]]:
    """Agent corrections from the configured store (none when its SQLite file does not exist yet)."""
    from assistant.intent.feedback import load_feedback

    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    return load_feedback(url)
