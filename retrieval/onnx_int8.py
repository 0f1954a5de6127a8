"""Export a MiniLM-based torch module to ONNX and quantise its MatMul weights to int8 (dynamic, per channel).

Shared by the query encoder here and the intent model; the file appears atomically, so a reader never
sees half of it and two exporters never clash.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path


def export_int8_onnx(network, inputs: dict, output_names: Sequence[str], path: Path) -> Path:
    """Trace `network` on the token `inputs` (input_ids, attention_mask) with dynamic batch and length."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=path.parent, prefix=".onnx-export-"))
    try:
        fp32_path, int8_path = work / "model.fp32.onnx", work / path.name
        dynamic = {name: {0: "batch", 1: "tokens"} for name in inputs} | {name: {0: "batch"} for name in output_names}
        torch.onnx.export(network.eval(), tuple(inputs.values()), str(fp32_path), input_names=list(inputs),
                          output_names=list(output_names), dynamic_axes=dynamic, opset_version=17, dynamo=False)
        # per-channel int8 weights of the MatMuls only: small Gemm heads stay fp32 (agreement with fp32 torch)
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        os.replace(int8_path, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path
