"""An int8 ONNX copy of MiniLM for the one-message queries of a chat turn.

Documents (FAQ entries, products) are embedded in batches by sentence-transformers in fp32; a shopper's
message is one short text embedded on every turn, where the int8 copy is about four times faster and
lands within ~0.99 cosine of the fp32 vector, so it searches the same fp32 index.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

QUERY_ONNX_FILE = "minilm-query.int8.onnx"
MAX_QUERY_TOKENS = 128  # shopper messages are short; the fp32 model reads up to 256


def export_query_encoder(out_dir: Path, model_path: str | None = None) -> Path:
    """Export MiniLM with mean pooling and L2 normalisation as int8 ONNX into `out_dir`."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from retrieval.embeddings import mean_pool, minilm_path
    from retrieval.onnx_int8 import export_int8_onnx

    class Pooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return mean_pool(self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
                             attention_mask)

    path = model_path or minilm_path()
    sample = AutoTokenizer.from_pretrained(path)(["where is my order", "hi"], padding=True, return_tensors="pt")
    inputs = {"input_ids": sample["input_ids"], "attention_mask": sample["attention_mask"]}
    return export_int8_onnx(Pooled(AutoModel.from_pretrained(path)), inputs, ["embedding"],
                            Path(out_dir) / QUERY_ONNX_FILE)


class QueryEncoder:
    """Encodes short texts with the int8 ONNX copy (one intra-op thread: calls run side by side)."""

    def __init__(self, onnx_path: Path, model_path: str | None = None, threads: int = 1) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from retrieval.embeddings import minilm_path

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = AutoTokenizer.from_pretrained(model_path or minilm_path())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        enc = self._tokenizer(list(texts), padding=True, truncation=True, max_length=MAX_QUERY_TOKENS,
                              return_tensors="np")
        feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                 "attention_mask": enc["attention_mask"].astype(np.int64)}
        return self._session.run(["embedding"], feeds)[0].astype(np.float32)


def ensure_query_encoder(state_dir: Path) -> QueryEncoder:
    """The int8 query encoder from the state dir, exported there first if missing (about 20 s, once)."""
    path = Path(state_dir) / QUERY_ONNX_FILE
    if not path.exists():
        export_query_encoder(Path(state_dir))
    return QueryEncoder(path)
