"""Inference runtimes for the intent network: PyTorch fp32 and int8 ONNX Runtime, same inputs and outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from assistant.intent.network import IntentNetwork, load_classifier, load_tokenizer, tokenize

ONNX_FILE = "intent.int8.onnx"


class TorchBackend:
    """Runs the saved network with PyTorch (fp32)."""

    name = "torch-fp32"

    def __init__(self, model_dir: Path, max_length: int, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = load_tokenizer(model_dir)
        self.network = IntentNetwork(load_classifier(model_dir)).eval()
        self.max_length = max_length

    @torch.inference_mode()
    def run(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        logits, embeddings = self.network(**tokenize(self.tokenizer, texts, self.max_length))
        return logits.numpy(), embeddings.numpy()


class OnnxBackend:
    """Runs the exported, dynamically int8-quantised network with ONNX Runtime."""

    name = "onnx-int8"

    def __init__(self, model_dir: Path, max_length: int, threads: int | None = None,
                 file_name: str = ONNX_FILE) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(Path(model_dir) / file_name), options,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer(model_dir)
        self.max_length = max_length

    def run(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        # one text per call: dynamic int8 quantises activations with one scale per tensor, so in a batch a
        # message's intent could change with the other messages (and the padding) around it
        if not texts:
            widths = [output.shape[1] for output in self.session.get_outputs()]
            return np.zeros((0, widths[0]), np.float32), np.zeros((0, widths[1]), np.float32)
        outputs = [self._run_one(text) for text in texts]
        return np.vstack([o[0] for o in outputs]), np.vstack([o[1] for o in outputs])

    def _run_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        enc = self.tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="np")
        feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                 "attention_mask": enc["attention_mask"].astype(np.int64)}
        logits, embeddings = self.session.run(["logits", "embedding"], feeds)
        return logits, embeddings


def onnx_available(model_dir: Path) -> bool:
    return (Path(model_dir) / ONNX_FILE).exists()


def export_onnx(model_dir: Path, max_length: int) -> Path:
    """Export the saved network (logits and sentence embedding) as dynamically quantised int8 ONNX."""
    from retrieval.onnx_int8 import export_int8_onnx

    model_dir = Path(model_dir)
    network = IntentNetwork(load_classifier(model_dir))
    sample = tokenize(load_tokenizer(model_dir), ["where is my order", "hi"], max_length)
    return export_int8_onnx(network, sample, ["logits", "embedding"], model_dir / ONNX_FILE)
