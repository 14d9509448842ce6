"""Bad-input rows of ``utils.psychometrics`` (chapter 07); format in ``__init__.py``."""

from __future__ import annotations

import numpy as np
import torch

from bad_inputs import ARRAY, PROB, Row
from utils import psychometrics as psy

INT = ("nan", "negative", "dtype")  # a count: NaN, a negative float, a string
NONNEG = ("nan", "inf", "negative", "dtype")  # a finite number >= 0
ARR = (*ARRAY, "shape")  # an array of fixed rank: NaN, inf, empty, str, one more axis


def _rng():
    return np.random.default_rng(0)


def _signs():
    return np.array([[1.0, -1, 1, -1], [-1, -1, 1, 1], [1, 1, -1, -1]])


def _statements():
    rng = _rng()
    return {
        "z": rng.normal(size=(3, 4)),
        "r": rng.uniform(size=(3, 2, 4)),
        "U": psy.axis_directions(8, 2, rng),
        "rng": rng,
        "strength": 2.0,
    }


def _indicativeness():
    rng = _rng()
    return {"z": rng.normal(size=(3, 4)), "r": rng.uniform(size=(3, 4))}


def _judge():
    rng = _rng()
    return {
        "X": rng.normal(size=(3, 8)),
        "signs": _signs(),
        "U": psy.axis_directions(8, 2, rng),
        "rng": rng,
        "n_votes": 3,
        "gain": 1.5,
        "bias_sd": 0.5,
    }


def _margin():
    return {
        "s_i": np.array([0.3, -0.2, 1.0]),
        "s_j": np.array([0.1, 0.4, 0.2]),
        "target": np.array([1.0, -1.0, 1.0]),
        "margin": 0.2,
    }


def _pairs():
    return {
        "proxy": np.linspace(0, 1, 24).reshape(6, 4),
        "n_pairs": 20,
        "rng": _rng(),
        "min_gap": 0.05,
    }


def _train():
    rng = _rng()
    return {
        "model": psy.ScoreModel(
            6, hidden=4, generator=torch.Generator().manual_seed(0)
        ),
        "X": rng.normal(size=(3, 6)),
        "signs": _signs(),
        "proxy": np.array([[0.0, 0.2, 0.4, 1.0], [1.0, 0.8, 0.6, 0.0], [0.5] * 4]),
        "rng": rng,
        "steps": 1,
        "batch": 4,
        "margin": 0.2,
        "min_gap": 0.1,
        "lr": 1e-3,
    }


def _ridge():
    rng = _rng()
    return {
        "X": rng.normal(size=(3, 5)),
        "signs": _signs(),
        "proxy": rng.uniform(size=(3, 4)),
        "alpha": 0.5,
    }


def _pairwise():
    return {
        "scores": np.array([0.3, 0.1, 0.9, 0.5]),
        "truth": np.array([0.0, 0.2, 1.0, 0.7]),
        "min_gap": 0.1,
    }


def _table():
    return {"table": np.arange(16.0) - 3.0}


def _choose():
    evidence = np.array([[0.5, -1.0, 2.0, 0.1], [1.0, 1.0, -0.2, 0.3]])
    return {"table": evidence @ psy.mbti_types().T, "evidence": evidence}


def _rank():
    return {"table": np.arange(32.0).reshape(2, 16), "true_signs": _signs()[:2]}


def _sessions():
    rng = _rng()
    return {
        "initial_scores": rng.normal(size=(2, 3, 4)),
        "answer_scores": rng.normal(size=(2, 3, 4, 4)),
        "policy": "adaptive",
        "rng": rng,
    }


def _model_and_x():
    model = psy.ScoreModel(5, hidden=3, generator=torch.Generator().manual_seed(0))
    return {"model": model, "X": np.ones((2, 5))}


ROWS = [
    Row(psy.type_name, lambda: {"signs": np.array([1.0, -1, -1, 1])}, "signs", ARR),
    Row(
        psy.sample_traits,
        lambda: {"n_users": 3, "rng": _rng(), "push": 0.3},
        "n_users",
        INT,
    ),
    Row(
        psy.sample_traits,
        lambda: {"n_users": 3, "rng": _rng(), "push": 0.3},
        "push",
        NONNEG,
    ),
    *[
        Row(
            psy.axis_directions,
            lambda: {"n_features": 8, "n_active": 2, "rng": _rng()},
            arg,
            INT,
        )
        for arg in ("n_features", "n_active")
    ],
    Row(psy.sample_statements, _statements, "z", ARR),
    Row(psy.sample_statements, _statements, "r", (*PROB, "negative")),
    Row(psy.sample_statements, _statements, "U", ARR),
    Row(psy.sample_statements, _statements, "strength", NONNEG),
    Row(psy.hidden_indicativeness, _indicativeness, "z", ARR),
    Row(psy.hidden_indicativeness, _indicativeness, "r", (*PROB, "negative")),
    *[Row(psy.judge_proxy, _judge, arg, ARR) for arg in ("X", "signs", "U")],
    Row(psy.judge_proxy, _judge, "n_votes", INT),
    *[Row(psy.judge_proxy, _judge, arg, NONNEG) for arg in ("gain", "bias_sd")],
    *[Row(psy.margin_ranking_loss, _margin, arg, ARR) for arg in ("s_i", "s_j")],
    Row(psy.margin_ranking_loss, _margin, "target", ARR),
    Row(psy.margin_ranking_loss, _margin, "margin", NONNEG),
    Row(psy.sample_ranking_pairs, _pairs, "proxy", ARR),
    Row(psy.sample_ranking_pairs, _pairs, "n_pairs", INT),
    Row(psy.sample_ranking_pairs, _pairs, "min_gap", NONNEG),
    *[
        Row(
            psy.ScoreModel,
            lambda: {"n_features": 3, "hidden": 2, "generator": None},
            arg,
            INT,
        )
        for arg in ("n_features", "hidden")
    ],
    *[Row(psy.train_score_model, _train, arg, ARR) for arg in ("X", "signs", "proxy")],
    *[Row(psy.train_score_model, _train, arg, INT) for arg in ("steps", "batch")],
    *[
        Row(psy.train_score_model, _train, arg, NONNEG)
        for arg in ("lr", "margin", "min_gap")
    ],
    Row(psy.score_statements, _model_and_x, "X", ARRAY),
    *[Row(psy.fit_ridge_scores, _ridge, arg, ARR) for arg in ("X", "signs", "proxy")],
    Row(psy.fit_ridge_scores, _ridge, "alpha", NONNEG),
    *[Row(psy.pairwise_accuracy, _pairwise, arg, ARR) for arg in ("scores", "truth")],
    Row(psy.pairwise_accuracy, _pairwise, "min_gap", NONNEG),
    Row(
        psy.type_table,
        lambda: {"statement_scores": np.arange(12.0).reshape(3, 4)},
        "statement_scores",
        ARRAY,
    ),
    Row(
        psy.update_table,
        lambda: {"table": np.zeros(16), "scores": np.array([0.5, -1, 0, 2])},
        "table",
        ARRAY,
    ),
    Row(
        psy.update_table,
        lambda: {"table": np.zeros(16), "scores": np.array([0.5, -1, 0, 2])},
        "scores",
        ARRAY,
    ),
    Row(psy.type_posterior, lambda: {**_table(), "temperature": 2.0}, "table", ARRAY),
    Row(
        psy.type_posterior,
        lambda: {**_table(), "temperature": 2.0},
        "temperature",
        NONNEG,
    ),
    Row(psy.top_two_types, _table, "table", ARRAY),
    *[Row(psy.choose_axis, _choose, arg, ARR) for arg in ("table", "evidence")],
    *[Row(psy.true_type_rank, _rank, arg, ARR) for arg in ("table", "true_signs")],
    *[
        Row(psy.run_sessions, _sessions, arg, ARR)
        for arg in ("initial_scores", "answer_scores")
    ],
]

NO_ARRAY_INPUT = {
    "psychometrics.mbti_types": "takes no argument",
}
