"""Bad-input rows of ``utils.influence`` (chapter 09); format in ``__init__.py``."""

from __future__ import annotations

import numpy as np
import torch

from bad_inputs import ARRAY, Row
from utils import influence as inf

INT = ("nan", "negative", "dtype")  # a count: NaN, a negative float, a string
FRACTION = ("nan", "inf", "prob", "dtype")
POSITIVE = ("nan", "inf", "negative", "dtype")
ARR = (*ARRAY, "shape")
IDS = ("nan", "empty", "shape", "dtype", "id")  # token ids / class ids / indices
V = len(inf.VOCAB)


def _rng():
    return np.random.default_rng(0)


def _data(n=12):
    return inf.make_nli(n, np.random.default_rng(1), noise=0.2)


def _gen():
    return torch.Generator().manual_seed(0)


def _nli():
    return {
        "n": 5,
        "rng": _rng(),
        "noise": 0.1,
        "p_negation": 0.2,
        "p_location": 0.2,
        "p_filler": 0.5,
    }


def _tokens():
    data = _data(4)
    return {"premise": data.premise, "hypothesis": data.hypothesis}


def _gradients():
    data = _data(4)
    return {
        "model": inf.make_model(_gen(), dim=4, hidden=4),
        "premise": data.premise,
        "hypothesis": data.hypothesis,
        "labels": data.label,
    }


def _schedule():
    return {"indices": np.arange(5), "steps": 3, "batch_size": 2, "generator": _gen()}


def _train():
    data = _data(6)
    return {
        "model": inf.make_model(_gen(), dim=4, hidden=4),
        "data": data,
        "batches": [np.arange(3), np.arange(3, 6)],
        "lr": 0.01,
    }


def _scoring():
    return {
        "data": _data(6),
        "generator": _gen(),
        "epochs": 2,
        "batch_size": 4,
        "lr": 0.01,
        "dim": 4,
        "hidden": 4,
    }


def _retrain():
    return {
        "data": _data(6),
        "indices": np.array([0, 2, 5]),
        "generator": _gen(),
        "steps": 2,
        "batch_size": 2,
        "lr": 0.01,
        "dim": 4,
        "hidden": 4,
    }


def _vog():
    g = np.random.default_rng(2).normal(size=(3, 6, 4, 2))
    return {"grads": g, "labels": np.array([0, 1, 0, 1, 0, 1])}


def _normalize():
    return {
        "scores": np.array([0.1, 0.5, 0.3, 0.9, 0.2, 0.4]),
        "labels": np.array([0, 1, 0, 1, 0, 1]),
    }


def _el2n():
    p = np.random.default_rng(3).dirichlet(np.ones(3), size=(2, 4))
    return {"probs": p, "labels": np.array([0, 2, 1, 0])}


def _forgetting():
    correct = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=bool)
    return {"correct": correct, "never_learned": 7.0}


def _select():
    return {
        "scores": np.array([0.3, 0.9, 0.1, 0.5, 0.7]),
        "keep": 0.4,
        "mode": "drop_top_then_hardest",
        "drop": 0.2,
    }


def _noise():
    return {
        "scores": np.array([0.3, 0.9, 0.1, 0.5, 0.7]),
        "is_noisy": np.array([False, True, False, False, True]),
    }


def _enrichment():
    return {**_noise(), "top": 0.4}


ROWS = [
    Row(inf.make_nli, _nli, "n", INT),
    *[
        Row(inf.make_nli, _nli, arg, FRACTION)
        for arg in ("noise", "p_negation", "p_location", "p_filler")
    ],
    # empty ids decode to "" (documented and tested in tests/test_influence_exact.py)
    Row(
        inf.decode,
        lambda: {"ids": _data(1).premise[0]},
        "ids",
        IDS[:1] + IDS[2:],
        vocab=V,
    ),
    *[
        Row(
            inf.make_model, lambda: {"generator": _gen(), "dim": 4, "hidden": 3}, a, INT
        )
        for a in ("dim", "hidden")
    ],
    Row(inf.batch_schedule, _schedule, "indices", ("nan", "empty", "shape", "dtype")),
    *[Row(inf.batch_schedule, _schedule, a, INT) for a in ("steps", "batch_size")],
    Row(inf.train_classifier, _train, "lr", POSITIVE),
    *[
        Row(inf.input_gradients, _gradients, a, IDS, vocab=V)
        for a in ("premise", "hypothesis")
    ],
    Row(inf.input_gradients, _gradients, "labels", IDS, vocab=3),
    *[Row(inf.scoring_run, _scoring, a, INT) for a in ("epochs", "batch_size", "dim")],
    Row(inf.scoring_run, _scoring, "lr", POSITIVE),
    Row(inf.retrain_on_subset, _retrain, "indices", IDS, vocab=6),
    *[Row(inf.retrain_on_subset, _retrain, a, INT) for a in ("steps", "hidden")],
    Row(inf.retrain_on_subset, _retrain, "lr", POSITIVE),
    Row(inf.vog_scores, _vog, "grads", ARR),
    Row(inf.vog_scores, _vog, "labels", ("nan", "empty", "shape", "dtype", "negative")),
    Row(inf.normalize_scores, _normalize, "scores", ARR),
    Row(
        inf.normalize_scores,
        _normalize,
        "labels",
        ("nan", "empty", "shape", "dtype", "negative"),
    ),
    Row(inf.el2n_scores, _el2n, "probs", (*ARR, "prob")),
    Row(inf.el2n_scores, _el2n, "labels", IDS, vocab=3),
    Row(inf.forgetting_counts, _forgetting, "correct", (*ARR, "prob")),
    Row(inf.forgetting_counts, _forgetting, "never_learned", ("nan", "dtype")),
    *[
        Row(inf.token_count, _tokens, a, IDS, vocab=V)
        for a in ("premise", "hypothesis")
    ],
    Row(inf.select_subset, _select, "scores", ARR),
    *[Row(inf.select_subset, _select, a, FRACTION) for a in ("keep", "drop")],
    Row(inf.noise_auroc, _noise, "scores", ARR),
    Row(inf.noise_auroc, _noise, "is_noisy", (*ARR, "prob")),
    Row(inf.top_fraction_enrichment, _enrichment, "scores", ARR),
    Row(inf.top_fraction_enrichment, _enrichment, "is_noisy", (*ARR, "prob")),
    Row(inf.top_fraction_enrichment, _enrichment, "top", FRACTION),
]

NO_ARRAY_INPUT = {
    "influence.predict_proba": "a model and an NLIData (a dataclass)",
    "influence.accuracy": "a model and an NLIData (a dataclass)",
}
