"""Bad-input rows of ``utils.essay_scoring`` (chapter 05); the format is in ``__init__.py``."""

from __future__ import annotations

import numpy as np
import torch

from bad_inputs import ARRAY, OUTCOME, Row
from utils import essay_scoring as es

MATRIX = (*ARRAY, "shape")
COUNT = ("nan", "negative", "dtype")  # a positive integer
FRACTION = ("nan", "inf", "prob", "dtype")  # a number in [0, 1]
IDS = (
    "nan",
    "inf",
    "empty",
    "shape",
    "dtype",
    "id",
)  # a LongTensor [B, L] of token ids
VOCAB = es.make_vocabulary()
V = VOCAB.size
ESSAY = [
    [es.CONNECTIVES[0], es.FUNCTION_WORDS[0], es.TOPIC_WORDS[0], es.END],
    [es.CONNECTIVES[-1], es.ADVANCED_WORDS[0], es.BASIC_WORDS[0], es.END],
]


def _ids():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, V, (4, 6), generator=g)
    ids[1, 4:] = 0  # padding at the end
    return ids


def _model():
    return es.EssayScorer(
        V, dim=4, hidden=4, generator=torch.Generator().manual_seed(0)
    )


def _kappa():
    return {
        "y_true": np.array([0, 2, 3, 4, 1]),
        "y_pred": np.array([1, 2, 3, 3, 1]),
        "min_rating": 0,
        "max_rating": 4,
    }


def _train():
    return {
        "ids": _ids(),
        "scores": np.array([3.0, 5.0, 4.0, 6.0]),
        "vocab_size": V,
        "generator": torch.Generator().manual_seed(0),
        "epochs": 1,
        "batch_size": 2,
        "lr": 1e-3,
        "dim": 4,
        "hidden": 4,
    }


def _ig():
    return {"model": _model(), "ids": _ids(), "steps": 2, "scale": 1.0, "chunk": 2}


def _trigger():
    ids = _ids()
    attributions = np.random.default_rng(0).normal(size=tuple(ids.shape))
    return {
        "ids": ids,
        "attributions": attributions,
        "vocab": VOCAB,
        "k": 1,
        "min_count": 1,
    }


def _features():
    rng = np.random.default_rng(0)
    mask = np.ones((3, 5))
    mask[2, 3:] = 0
    return {"attributions": rng.normal(size=(3, 5)), "mask": mask}


def _detect():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 5)
    return {
        "features": rng.normal(size=(10, 2)) + labels[:, None],
        "labels": labels,
        "seed": 0,
        "folds": 2,
    }


def _keep():
    return {"essay": ESSAY, "attributions": np.arange(8.0), "fraction": 0.5}


def _slope():
    return {
        "model_change": np.array([0.5, 1.0, 2.5]),
        "rubric_change": np.array([1.0, 2.0, 3.0]),
    }


def _changed():
    return {
        "before": np.array([3.2, 5.0, 7.7]),
        "after": np.array([3.4, 6.0, 8.4]),
        "low": 0,
        "high": 10,
    }


ROWS = [
    Row(
        es.generate_essays,
        lambda: {"n": 2, "rng": np.random.default_rng(0)},
        "n",
        COUNT,
    ),
    Row(
        es.generate_essays,
        lambda: {"n": 2, "rng": np.random.default_rng(0), "disorder_rate": 0.1},
        "disorder_rate",
        FRACTION,
    ),
    Row(es.quadratic_weighted_kappa, _kappa, "y_true", (*MATRIX, "id"), vocab=5),
    Row(es.quadratic_weighted_kappa, _kappa, "y_pred", (*MATRIX, "id"), vocab=5),
    Row(es.quadratic_weighted_kappa, _kappa, "min_rating", ("nan", "dtype")),
    Row(
        es.quadratic_weighted_kappa, _kappa, "max_rating", ("nan", "dtype", "negative")
    ),
    Row(
        es.encode,
        lambda: {"essays": [ESSAY], "vocab": VOCAB, "max_len": 10},
        "max_len",
        COUNT,
    ),
    Row(es.train_scorer, _train, "ids", IDS, vocab=V),
    Row(es.train_scorer, _train, "scores", MATRIX),
    Row(es.train_scorer, _train, "epochs", COUNT),
    Row(es.train_scorer, _train, "batch_size", COUNT),
    Row(es.train_scorer, _train, "lr", ("nan", "inf", "negative", "dtype")),
    Row(es.train_scorer, _train, "dim", COUNT),
    Row(es.train_scorer, _train, "hidden", COUNT),
    Row(
        es.predict_scores,
        lambda: {"model": _model(), "ids": _ids(), "standardization": (5.0, 2.0)},
        "ids",
        IDS,
        vocab=V,
    ),
    Row(es.integrated_gradients, _ig, "ids", IDS, vocab=V),
    Row(es.integrated_gradients, _ig, "steps", COUNT),
    Row(es.integrated_gradients, _ig, "chunk", COUNT),
    Row(es.integrated_gradients, _ig, "scale", ("nan", "inf", "dtype")),
    Row(es.keep_tokens, _keep, "attributions", MATRIX),
    Row(es.keep_tokens, _keep, "fraction", FRACTION),
    Row(es.trigger_words, _trigger, "ids", IDS, vocab=V),
    Row(es.trigger_words, _trigger, "attributions", MATRIX),
    Row(es.trigger_words, _trigger, "k", COUNT),
    Row(es.trigger_words, _trigger, "min_count", COUNT),
    Row(es.attribution_features, _features, "attributions", MATRIX),
    Row(es.attribution_features, _features, "mask", OUTCOME),
    Row(es.detection_accuracy, _detect, "features", MATRIX),
    Row(es.detection_accuracy, _detect, "labels", OUTCOME),
    Row(es.detection_accuracy, _detect, "folds", COUNT),
    Row(es.change_slope, _slope, "model_change", MATRIX),
    Row(es.change_slope, _slope, "rubric_change", MATRIX),
    Row(es.fraction_changed, _changed, "before", MATRIX),
    Row(es.fraction_changed, _changed, "after", MATRIX),
    Row(es.fraction_changed, _changed, "low", ("nan", "inf", "dtype")),
    Row(es.fraction_changed, _changed, "high", ("nan", "inf", "dtype")),
]

# functions whose inputs are text (essays: lists of sentences of words) or nothing
_TEXT = "its input is an essay (lists of words), not an array; tests/test_essay_scoring.py pins its errors"
NO_ARRAY_INPUT = {
    "essay_scoring.make_vocabulary": "takes no input",
    "essay_scoring.essay_tokens": _TEXT,
    "essay_scoring.coherence": _TEXT,
    "essay_scoring.rubric_raw": _TEXT,
    "essay_scoring.rubric_points": _TEXT,
    "essay_scoring.rubric_score": _TEXT,
    "essay_scoring.shuffle_sentences": _TEXT,
    "essay_scoring.shuffle_words": _TEXT,
    "essay_scoring.add_words": _TEXT,
}
