"""Bad-input rows of ``utils.distillation`` (chapter 14); format in ``__init__.py``."""

from __future__ import annotations

import numpy as np
import torch

from bad_inputs import ARRAY, Row
from utils import distillation as ds

INT = ("nan", "negative", "dtype")  # a count: NaN, a negative float, a string
POSITIVE = ("nan", "inf", "negative", "dtype")
ARR = (*ARRAY, "shape")
TENSOR = ("nan", "inf", "empty", "shape", "dtype")  # dtype: a float tensor made long


def _gen():
    return torch.Generator().manual_seed(0)


def _teacher():
    return ds.ScoreMLP(hidden=4, depth=1, generator=_gen())


def _points(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2))


def _sample():
    return {"n": 3, "generator": _gen(), "k": 4, "radius": 1.5, "std": 0.2}


def _score():
    return {"x": _points(), "sigma": np.array([0.5, 1.0, 0.2, 2.0]), "k": 4}


def _sigmas():
    return {"n": 3, "generator": _gen(), "lo": 0.1, "hi": 2.0}


def _loss():
    g = _gen()
    return {
        "model": _teacher(),
        "x0": torch.randn(4, 2, generator=g),
        "sigma": torch.rand(4, generator=g) + 0.1,
        "noise": torch.randn(4, 2, generator=g),
    }


def _direction():
    g = _gen()
    return {
        "fake": _teacher(),
        "target": ds.ScoreMLP(hidden=4, depth=1, generator=g),
        "xt": torch.randn(4, 2, generator=g),
        "sigma": torch.rand(4, generator=g) + 0.1,
    }


def _teach():
    return {"generator": _gen(), "steps": 1, "batch": 4, "lr": 1e-3, "hidden": 4}


def _record():
    teacher = _teacher()
    return {
        "teacher": teacher,
        "student": ds.OneStepGenerator(teacher),
        "save_at": [1, 2],
        "generator": _gen(),
        "lr": 1e-3,
        "batch": 4,
    }


def _schedule():
    return {"n_path": 4, "iters": 10, "walk_fraction": 0.5}


def _sw():
    return {"x": _points(), "y": _points(seed=1), "directions": _points(3, seed=2)}


def _eps():
    return {
        "model": _teacher(),
        "x0": _points(),
        "sigma": 0.5,
        "noise": _points(seed=1),
    }


def _distill():
    teacher = _teacher()
    g = _gen()
    return {
        "student": ds.OneStepGenerator(teacher),
        "fake_init": teacher,
        "path": [teacher, ds.ScoreMLP(hidden=4, depth=1, generator=g)],
        "schedule": np.array([1, 0]),
        "generator": g,
        "eval_z": torch.randn(4, 2, generator=g),
        "eval_data": torch.randn(4, 2, generator=g),
        "directions": torch.randn(3, 2, generator=g),
        "freeze_until": 1,
        "lr_g": 1e-4,
        "lr_fake": 1e-3,
        "batch": 4,
        "log_every": 1,
    }


ROWS = [
    *[Row(ds.ring_mixture_sample, _sample, a, INT) for a in ("n", "k")],
    *[Row(ds.ring_mixture_sample, _sample, a, POSITIVE) for a in ("radius", "std")],
    Row(ds.ring_mixture_score, _score, "x", ARR),
    Row(ds.ring_mixture_score, _score, "sigma", (*ARR, "negative")),
    Row(ds.ring_mixture_score, _score, "k", INT),
    Row(ds.sample_sigmas, _sigmas, "n", INT),
    *[Row(ds.sample_sigmas, _sigmas, a, POSITIVE) for a in ("lo", "hi")],
    *[Row(ds.denoising_loss, _loss, a, TENSOR) for a in ("x0", "noise")],
    Row(ds.denoising_loss, _loss, "sigma", (*TENSOR, "negative")),
    Row(ds.distillation_direction, _direction, "xt", TENSOR),
    Row(ds.distillation_direction, _direction, "sigma", (*TENSOR, "negative")),
    *[Row(ds.train_teacher, _teach, a, INT) for a in ("steps", "batch", "hidden")],
    Row(ds.train_teacher, _teach, "lr", POSITIVE),
    *[
        Row(ds.geometric_steps, lambda: {"total": 10, "n": 3}, a, INT)
        for a in ("total", "n")
    ],
    Row(
        ds.record_degradation, _record, "save_at", ("nan", "empty", "negative", "dtype")
    ),
    Row(ds.record_degradation, _record, "lr", POSITIVE),
    Row(ds.record_degradation, _record, "batch", INT),
    *[Row(ds.backtracking_schedule, _schedule, a, INT) for a in ("n_path", "iters")],
    Row(
        ds.backtracking_schedule,
        _schedule,
        "walk_fraction",
        ("nan", "inf", "prob", "dtype"),
    ),
    *[Row(ds.sliced_wasserstein, _sw, a, ARR) for a in ("x", "y", "directions")],
    *[Row(ds.eps_error, _eps, a, ARR) for a in ("x0", "noise")],
    Row(ds.eps_error, _eps, "sigma", POSITIVE),
    Row(
        ds.distill,
        _distill,
        "schedule",
        ("nan", "empty", "shape", "dtype", "id"),
        vocab=2,
    ),
    Row(ds.distill, _distill, "eval_z", TENSOR),
    # integer points are points: eval_data and directions accept any numeric dtype
    *[
        Row(ds.distill, _distill, a, ("nan", "inf", "empty", "shape"))
        for a in ("eval_data", "directions")
    ],
    *[
        Row(ds.distill, _distill, a, INT)
        for a in ("freeze_until", "batch", "log_every")
    ],
    *[Row(ds.distill, _distill, a, POSITIVE) for a in ("lr_g", "lr_fake")],
]
