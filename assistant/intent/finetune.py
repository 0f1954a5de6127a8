"""Fine-tuning loop for the intent network (plain PyTorch, fixed seed, progress bar, dynamic padding)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from assistant.intent.network import IntentNetwork, tokenize


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: float
    learning_rate: float
    batch_size: int
    max_length: int
    warmup_share: float
    seed: int
    # weight of the loss that keeps the sentence embedding close to the base model's (general paraphrase sense)
    embedding_anchor: float = 0.0


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(n: int, batch_size: int, rng: np.random.Generator, steps: int) -> list[np.ndarray]:
    batches: list[np.ndarray] = []
    while len(batches) < steps:
        order = rng.permutation(n)
        batches.extend(order[i: i + batch_size] for i in range(0, n, batch_size))
    return batches[:steps]


def _schedule(optimizer, steps: int, warmup_share: float):
    warmup = max(1, int(steps * warmup_share))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))


@torch.inference_mode()
def embed_texts(network: IntentNetwork, tokenizer, texts: Sequence[str], max_length: int,
                batch_size: int = 128, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(logits, embeddings) of `texts` from the network in eval mode, batched by similar length."""
    network.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    logits = embeddings = None
    for start in tqdm(range(0, len(texts), batch_size), desc="encoding", disable=not progress, leave=False):
        idx = order[start: start + batch_size]
        out_logits, out_emb = network(**tokenize(tokenizer, [texts[i] for i in idx], max_length))
        if logits is None:
            logits = np.zeros((len(texts), out_logits.shape[1]), dtype=np.float32)
            embeddings = np.zeros((len(texts), out_emb.shape[1]), dtype=np.float32)
        logits[idx], embeddings[idx] = out_logits.numpy(), out_emb.numpy()
    return logits, embeddings


@torch.inference_mode()
def _head_features(network: IntentNetwork, tokenizer, texts: Sequence[str], max_length: int,
                   batch_size: int = 128) -> torch.Tensor:
    network.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    features = torch.zeros((len(texts), network.head.in_features))
    for start in range(0, len(texts), batch_size):
        idx = torch.from_numpy(order[start: start + batch_size])
        features[idx] = network.head_features(**tokenize(tokenizer, [texts[i] for i in idx], max_length))
    return features


def fit_head(network: IntentNetwork, tokenizer, texts: Sequence[str], label_ids: Sequence[int], max_length: int,
             weight_decay: float, iterations: int, seed: int) -> dict:
    """Fit only the linear classification head on frozen features (a linear probe, L-BFGS, full batch):
    the whole of quick training, and a warm start before fine-tuning."""
    set_seed(seed)
    features = _head_features(network, tokenizer, texts, max_length).clone()
    targets = torch.tensor(list(label_ids), dtype=torch.long)
    head = network.head
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(head(features), targets) + weight_decay * head.weight.pow(2).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    accuracy = float((head(features).argmax(1) == targets).float().mean())
    return {"examples": len(texts), "loss": loss.item(), "train_accuracy": accuracy}


def fine_tune(network: IntentNetwork, tokenizer, texts: Sequence[str], label_ids: Sequence[int],
              config: FineTuneConfig, progress: bool = True, desc: str = "fine-tuning") -> dict:
    """Train `network` in place with cross-entropy (plus the optional embedding anchor); returns a log."""
    set_seed(config.seed)
    targets = torch.tensor(list(label_ids), dtype=torch.long)
    anchors = None
    if config.embedding_anchor > 0:
        anchors = torch.from_numpy(embed_texts(network, tokenizer, texts, config.max_length)[1])
    steps = max(1, int(np.ceil(config.epochs * len(texts) / config.batch_size)))
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=0.01)
    scheduler = _schedule(optimizer, steps, config.warmup_share)
    network.train()
    losses = []
    batches = _batches(len(texts), config.batch_size, np.random.default_rng(config.seed), steps)
    for idx in (bar := tqdm(batches, desc=desc, disable=not progress)):
        logits, embeddings = network(**tokenize(tokenizer, [texts[i] for i in idx], config.max_length))
        loss = nn.functional.cross_entropy(logits, targets[idx])
        if anchors is not None:
            loss = loss + config.embedding_anchor * (1 - (embeddings * anchors[idx]).sum(dim=1)).mean()
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    network.eval()
    return {"steps": steps, "examples": len(texts), "final_loss": float(np.mean(losses[-20:]))}
