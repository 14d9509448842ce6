"""Bad-input rows of ``utils.esports_sim`` (chapter 01's simulator); format in
``__init__.py``.

The probability functions broadcast ``gold_diff`` and ``minute`` elementwise, so one more
leading axis is valid and empty arrays give empty results (tested in
``tests/test_esports_sim_exact.py``): neither is a corruption here.
"""

from __future__ import annotations

import numpy as np

from bad_inputs import Row
from utils import esports_sim as es

FINITE = ("nan", "inf", "dtype")
SD = ("nan", "inf", "negative", "dtype")
INT = ("nan", "negative", "dtype")


def _snapshot():
    return {
        "gold_diff": np.array([1.5, -2.0, 0.0]),
        "minute": np.array([3, 10, 20]),
        "n_minutes": 25,
        "drift_sd": 0.4,
        "step_sd": 1.2,
    }


def _posterior():
    kw = _snapshot()
    del kw["n_minutes"]
    return kw


def _rollout():
    return {
        "gold_diff": 1.5,
        "minute": 5,
        "n_minutes": 12,
        "drift_sd": 0.4,
        "step_sd": 1.2,
        "n_rollouts": 50,
        "rng": 0,
    }


def _games():
    return {"n_games": 3, "n_minutes": 5, "drift_sd": 0.4, "rng": 0, "step_sd": 1.2}


ROWS = [
    *[
        Row(es.drift_posterior, _posterior, arg, FINITE)
        for arg in ("gold_diff", "minute")
    ],
    Row(es.drift_posterior, _posterior, "minute", ("negative",)),
    *[Row(es.drift_posterior, _posterior, arg, SD) for arg in ("drift_sd", "step_sd")],
    Row(es.exact_win_probability, _snapshot, "gold_diff", FINITE),
    Row(
        es.exact_win_probability,
        _snapshot,
        "minute",
        (*FINITE, "negative", "id"),
        vocab=25,
    ),
    Row(es.exact_win_probability, _snapshot, "n_minutes", INT),
    *[
        Row(es.exact_win_probability, _snapshot, arg, SD)
        for arg in ("drift_sd", "step_sd")
    ],
    Row(es.rollout_win_probability, _rollout, "gold_diff", (*FINITE, "shape")),
    Row(
        es.rollout_win_probability,
        _rollout,
        "minute",
        (*FINITE, "shape", "id"),
        vocab=12,
    ),
    *[
        Row(es.rollout_win_probability, _rollout, arg, INT)
        for arg in ("n_minutes", "n_rollouts")
    ],
    *[
        Row(es.rollout_win_probability, _rollout, arg, SD)
        for arg in ("drift_sd", "step_sd")
    ],
    *[Row(es.simulate_games, _games, arg, INT) for arg in ("n_games", "n_minutes")],
    *[Row(es.simulate_games, _games, arg, SD) for arg in ("drift_sd", "step_sd")],
]
