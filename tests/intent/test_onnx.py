"""The int8 ONNX model agrees with the fp32 PyTorch model."""

from __future__ import annotations

from assistant.intent.classifier import IntentClassifier
from assistant.intent.data import cap_per_intent, load_bitext

AGREEMENT_FLOOR = 0.95  # on a 6-rows-per-intent probe model; the trained model is held to 99.5 % on dev


def test_int8_onnx_agrees_with_fp32_torch(tiny_model_dir, data_dir):
    texts = [e.text for e in cap_per_intent(load_bitext(data_dir, "dev"), 5, seed=1)]
    fp32 = IntentClassifier.load(tiny_model_dir, use_onnx=False)
    int8 = IntentClassifier.load(tiny_model_dir, use_onnx=True)
    assert int8.backend.name == "onnx-int8" and fp32.backend.name == "torch-fp32"
    agreement = (fp32.probabilities(texts).argmax(1) == int8.probabilities(texts).argmax(1)).mean()
    assert agreement >= AGREEMENT_FLOOR
