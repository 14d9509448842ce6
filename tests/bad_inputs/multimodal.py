"""Bad-input rows for utils.multimodal (chapter 11), run by tests/test_bad_inputs.py."""

import numpy as np
import torch

from bad_inputs import ARRAY, Row
from utils import multimodal as mm


def _rng(seed=0):
    return np.random.default_rng(seed)


def _scores():
    return {"scores": _rng().normal(size=(5, 3)), "labels": np.array([0, 1, 2, 1, 0])}


def _pair(shape_b=(4, 3)):
    def build():
        return {"a": _rng(1).normal(size=(4, 3)), "b": _rng(2).normal(size=shape_b)}

    return build


def _hidden():
    # numpy inputs (tensors work too): an integer tensor is a valid array of numbers, while
    # the "dtype" corruption of a numpy array is an array of strings
    return {"hidden": _rng(7).normal(size=(2, 5, 3)), "positions": [0, 2]}


def _layers():
    g = torch.Generator().manual_seed(0)
    return {
        "hidden": [torch.randn(2, 5, 3, generator=g) for _ in range(3)],
        "positions": [1, 3],
    }


def _alignment():
    rng = _rng(3)
    return {
        "p_states": [rng.normal(size=(4, 3)) for _ in range(2)],
        "text_states": [rng.normal(size=(5, 3)) for _ in range(2)],
        "labels": np.array([0, 4, 2, 1]),
    }


def _nearest():
    return {
        "P": _rng(8).normal(size=(2, 3, 4)),
        "embedding": _rng(9).normal(size=(6, 4)),
    }


def _mask():
    return {"mask": mm.ffn_skip_mask(3, 5, positions=[0, 1], layers=[1, 2])}


def _probe():
    rng = _rng(4)
    return {"h_a": rng.normal(size=(10, 3)), "h_b": rng.normal(2.0, 1.0, size=(10, 3))}


ROWS = [
    Row(mm.accuracy, _scores, "scores", ARRAY + ("shape",)),
    Row(
        mm.accuracy,
        _scores,
        "labels",
        ("nan", "empty", "shape", "dtype", "id"),
        vocab=3,
    ),
    Row(mm.cosine_matrix, _pair((6, 3)), "a", ARRAY + ("shape",)),
    Row(mm.cosine_matrix, _pair((6, 3)), "b", ARRAY + ("shape",)),
    Row(mm.paired_cosine, _pair(), "a", ARRAY + ("shape",)),
    Row(mm.paired_cosine, _pair(), "b", ARRAY + ("shape",)),
    Row(mm.token_average, _hidden, "hidden", ARRAY + ("shape",)),
    Row(mm.token_average, _hidden, "positions", ("empty", "id"), vocab=5),
    Row(mm.consecutive_cosine, _layers, "positions", ("empty", "id"), vocab=5),
    Row(
        mm.alignment_per_layer,
        _alignment,
        "labels",
        ("nan", "empty", "shape", "dtype", "id"),
        vocab=5,
    ),
    Row(
        mm.ima_score,
        lambda: {"per_layer": np.array([0.1, 0.3, 0.2])},
        "per_layer",
        ARRAY + ("shape",),
    ),
    Row(
        mm.spearman,
        lambda: {"x": _rng(5).normal(size=6), "y": _rng(6).normal(size=6)},
        "x",
        ARRAY + ("shape",),
    ),
    Row(
        mm.spearman,
        lambda: {"x": _rng(5).normal(size=6), "y": _rng(6).normal(size=6)},
        "y",
        ARRAY + ("shape",),
    ),
    Row(mm.nearest_words, _nearest, "P", ARRAY + ("shape",)),
    Row(mm.nearest_words, _nearest, "embedding", ARRAY + ("shape",)),
    Row(
        mm.ffn_fraction_skipped, _mask, "mask", ("nan", "inf", "prob", "shape", "empty")
    ),
    Row(mm.separability, _probe, "h_a", ARRAY + ("shape",)),
    Row(mm.separability, _probe, "h_b", ARRAY + ("shape",)),
]

NO_ARRAY_INPUT = {
    "multimodal.caption": "a digit, a caption kind and a generator",
    "multimodal.make_caption_corpus": "a count and a generator",
    "multimodal.answer_repeats_context": "one text",
    "multimodal.make_tokenizer": "no input",
    "multimodal.train_frozen_lm": "a corpus of texts and training settings",
    "multimodal.load_digit_split": "a seed",
    "multimodal.prompt_embeds": "a model, a tokenizer and the connector's output",
    "multimodal.perceptual_positions": "a count",
    "multimodal.run_multimodal": "a model, a tokenizer and the connector's output",
    "multimodal.digit_logits": "a model's logits and a tokenizer",
    "multimodal.train_connectors": "a model, a tokenizer, encoders and settings",
    "multimodal.class_word_states": "a model and a tokenizer",
    "multimodal.norm_matched_noise": "perceptual tokens and a generator (tested in "
    "tests/test_multimodal.py)",
    "multimodal.ffn_skip_mask": "sizes and index lists (tested in tests/test_multimodal.py)",
}
