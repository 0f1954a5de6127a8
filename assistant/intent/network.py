"""The intent network: fine-tuned MiniLM-BERT giving intent logits and a sentence embedding in one pass."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from retrieval.embeddings import mean_pool

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class IntentNetwork(nn.Module):
    """BertForSequenceClassification whose forward returns (logits, sentence embedding)."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.classifier(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.logits, mean_pool(out.hidden_states[-1], attention_mask)

    def head_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The pooled [CLS] vector the classification head reads."""
        return self.classifier.bert(input_ids=input_ids, attention_mask=attention_mask).pooler_output

    @property
    def head(self) -> nn.Linear:
        return self.classifier.classifier


def load_classifier(path: str | Path, labels: Sequence[str] | None = None) -> nn.Module:
    """Load a saved intent model, or the base MiniLM with a fresh head when `labels` is given."""
    from transformers import AutoModelForSequenceClassification

    if labels is None:
        return AutoModelForSequenceClassification.from_pretrained(str(path))
    return AutoModelForSequenceClassification.from_pretrained(
        str(path), num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
