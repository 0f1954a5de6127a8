"""Inference runtimes for the intent network: PyTorch fp32 and int8 ONNX Runtime, same inputs and outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from assistant.intent.network import IntentNetwork, load_classifier, load_tokenizer, tokenize

ONNX_FILE = "intent.int8.onnx"
ONNX_FP32_FILE = "intent.fp32.onnx"


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
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="np")
        feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                 "attention_mask": enc["attention_mask"].astype(np.int64)}
        logits, embeddings = self.session.run(["logits", "embedding"], feeds)
        return logits, embeddings


def onnx_available(model_dir: Path) -> bool:
    return (Path(model_dir) / ONNX_FILE).exists()


def export_onnx(model_dir: Path, max_length: int) -> Path:
    """Export the saved network to ONNX (fp32), then quantise its weights to int8 dynamically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model_dir = Path(model_dir)
    network = IntentNetwork(load_classifier(model_dir)).eval()
    sample = tokenize(load_tokenizer(model_dir), ["where is my order", "hi"], max_length)
    fp32_path = model_dir / ONNX_FP32_FILE
    torch.onnx.export(
        network, (sample["input_ids"], sample["attention_mask"]), str(fp32_path),
        input_names=["input_ids", "attention_mask"], output_names=["logits", "embedding"],
        dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                      "logits": {0: "batch"}, "embedding": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    int8_path = model_dir / ONNX_FILE
    # per-channel int8 weights of the MatMuls only: the small Gemm heads stay fp32 (agreement with fp32 torch)
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    fp32_path.unlink()
    return int8_path
