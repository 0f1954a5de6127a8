"""The int8 ONNX model agrees with the fp32 PyTorch model."""

from __future__ import annotations

import numpy as np

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


def test_int8_onnx_reads_a_message_the_same_whatever_is_batched_with_it(tiny_model_dir):
    # dynamic int8 scales activations per tensor: in a shared batch, neighbours would shift each other
    int8 = IntentClassifier.load(tiny_model_dir, use_onnx=True)
    message = "I was charged twice and want my money back, also where is my parcel"
    alone = int8.probabilities([message])[0]
    batched = int8.probabilities([message, "hi", "CAN I PAY WITH PAYPAL??? " * 5, "where is my parcel"])[0]
    assert np.allclose(alone, batched, rtol=0, atol=1e-6)  # only float rounding of the neighbour votes
    logits, embeddings = int8.backend.run([])
    assert logits.shape[0] == embeddings.shape[0] == 0
