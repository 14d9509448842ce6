"""Bad-input rows of utils.score_matching (chapter 12); the format is in ``__init__.py``."""

from __future__ import annotations

import numpy as np
import torch

from bad_inputs import ARRAY, Row
from utils import score_matching as sm

MATRIX = (*ARRAY, "shape")  # nan inf empty dtype, and one more axis
TIMES = ("nan", "inf", "empty", "negative", "dtype")


def _rng():
    return np.random.default_rng(0)


def _points(n=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2))


def _times(n=5):
    return np.linspace(0.1, 1.0, n)


def _pair(a, b):
    return lambda: {a: _points(seed=1), b: _points(seed=2)}


def _z(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(size=(n, 3)), np.ones(n)])


def _kernel():
    z, z_test = _z(), _z(3, seed=1)
    k = sm.relu_ntk(z, z)
    return {
        "k_train": k,
        "k_test": sm.relu_ntk(z_test, z),
        "y": _points(6),
        "eta": 0.5 / np.linalg.eigvalsh(k / 6).max(),
        "steps": [0, 1, 5],
    }


def _noise_sd():
    kw = _kernel()
    del kw["k_test"]
    kw["steps"] = [1, 2, 3]
    return kw


def _gd():
    return {
        "net": sm.TwoLayerReLU(4, 2, 8, generator=torch.Generator().manual_seed(0)),
        "z": _z(),
        "y": _points(6),
        "eta": 0.1,
        "steps": 2,
        "record_at": [0, 2],
        "z_test": _z(3, seed=1),
    }


def _dsm():
    return {
        "n": 5,
        "mixture": sm.four_corner_mixture(),
        "t_range": (0.1, 0.5),
        "rng": _rng(),
    }


def _stopping():
    return {"eigenvalues": 1.0 / np.arange(1, 20) ** 2, "eta": 1.0, "noise_sd": 0.1}


ROWS = [
    Row(sm.ou_alpha_h, lambda: {"t": _times()}, "t", TIMES),
    Row(
        sm.four_corner_mixture,
        lambda: {"spread": 1.0, "std": 0.3},
        "spread",
        ("nan", "inf"),
    ),
    Row(
        sm.four_corner_mixture,
        lambda: {"spread": 1.0, "std": 0.3},
        "std",
        ("nan", "inf", "negative"),
    ),
    *[
        Row(
            sm.score_from_denoiser,
            lambda: {"f": _points(seed=1), "x": _points(seed=2), "t": _times()},
            arg,
            MATRIX,
        )
        for arg in ("f", "x")
    ],
    Row(
        sm.score_from_denoiser,
        lambda: {"f": _points(seed=1), "x": _points(seed=2), "t": _times()},
        "t",
        TIMES,
    ),
    Row(sm.regression_inputs, lambda: {"x": _points(), "t": _times()}, "x", MATRIX),
    Row(sm.regression_inputs, lambda: {"x": _points(), "t": _times()}, "t", TIMES),
    *[
        Row(f, _dsm, "n", ("negative",))
        for f in (sm.make_dsm_regression_set, sm.make_test_set)
    ],
    *[
        Row(f, _dsm, "t_range", ("nan", "inf", "negative"))
        for f in (sm.make_dsm_regression_set, sm.make_test_set)
    ],
    Row(
        sm.label_noise_by_time,
        lambda: {
            "mixture": sm.four_corner_mixture(),
            "times": [0.1, 0.5],
            "n": 4,
            "rng": _rng(),
        },
        "times",
        (*TIMES, "shape"),
    ),
    Row(
        sm.label_noise_by_time,
        lambda: {
            "mixture": sm.four_corner_mixture(),
            "times": [0.1, 0.5],
            "n": 4,
            "rng": _rng(),
        },
        "n",
        ("negative",),
    ),
    Row(sm.mean_squared_error, _pair("pred", "truth"), "pred", MATRIX),
    Row(sm.mean_squared_error, _pair("pred", "truth"), "truth", MATRIX),
    Row(sm.relative_distance, _pair("a", "b"), "a", MATRIX),
    Row(sm.relative_distance, _pair("a", "b"), "b", MATRIX),
    Row(sm.relu_ntk, lambda: {"a": _z(), "b": _z(3, seed=1)}, "a", MATRIX),
    Row(sm.relu_ntk, lambda: {"a": _z(), "b": _z(3, seed=1)}, "b", MATRIX),
    *[Row(sm.train_full_batch_gd, _gd, arg, MATRIX) for arg in ("z", "y", "z_test")],
    Row(sm.train_full_batch_gd, _gd, "eta", ("nan", "inf", "negative")),
    *[
        Row(sm.kernel_gd_predict, _kernel, arg, MATRIX)
        for arg in ("k_train", "k_test", "y")
    ],
    Row(sm.kernel_gd_predict, _kernel, "eta", ("nan", "inf", "negative")),
    Row(
        sm.kernel_gd_predict, _kernel, "steps", ("negative", "empty", "shape", "dtype")
    ),
    Row(
        sm.best_step,
        lambda: {"steps": [0, 10, 100], "errors": [1.0, 0.2, 0.5]},
        "errors",
        ("empty", "shape", "dtype"),
    ),
    Row(
        sm.best_step,
        lambda: {"steps": [0, 10, 100], "errors": [1.0, 0.2, 0.5]},
        "steps",
        ("empty", "shape", "dtype"),
    ),
    Row(sm.eigenvalue_stopping_step, _stopping, "eigenvalues", MATRIX),
    Row(sm.eigenvalue_stopping_step, _stopping, "eta", ("nan", "inf", "negative")),
    Row(sm.eigenvalue_stopping_step, _stopping, "noise_sd", ("nan", "inf", "negative")),
    *[Row(sm.estimate_noise_sd, _noise_sd, arg, MATRIX) for arg in ("k_train", "y")],
    Row(sm.estimate_noise_sd, _noise_sd, "eta", ("nan", "inf", "negative")),
]

NO_ARRAY_INPUT: dict[str, str] = {}
