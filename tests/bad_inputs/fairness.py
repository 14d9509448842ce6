"""Bad-input rows of ``utils.fairness`` (chapter 03); the format is in ``__init__.py``."""

from __future__ import annotations

import numpy as np

from bad_inputs import ARRAY, PROB, Row
from utils import fairness

MATRIX = (*ARRAY, "shape")
LABELS = (*MATRIX, "negative")  # integer ids 0, 1, ...
SCALAR = ("nan", "inf", "shape", "dtype")  # a 0-D number
COUNT = ("nan", "negative", "dtype")  # an integer >= a minimum
T2 = np.array([[0.8, 0.2], [0.3, 0.7]])
P2 = np.array([0.4, 0.6])
H2 = np.array([[0.7, 0.3], [0.4, 0.6]])


def _labels():
    return {
        "pred": np.array([0, 1, 1, 0, 1, 0]),
        "group": np.array([0, 0, 1, 1, 0, 1]),
        "n_groups": 2,
        "n_classes": 2,
    }


def _odds():
    return {
        "pred": np.array([0, 1, 1, 0, 1, 0, 1, 0]),
        "y": np.array([0, 1, 0, 1, 1, 0, 1, 0]),
        "group": np.array([0, 0, 1, 1, 0, 1, 1, 0]),
        "n_groups": 2,
    }


def _proxies(n=40):
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, n)
    flip = rng.random((n, 3)) < 0.2
    return np.where(flip, 1 - group[:, None], group[:, None])


def _noisy():
    return {"H": H2.copy(), "T": T2.copy(), "p": P2.copy()}


def _calibrate():
    H_noisy, p_noisy = fairness.noisy_fairness_matrix(H2, T2, P2)
    return {"H_noisy": H_noisy, "p_noisy": p_noisy, "T": T2.copy(), "p": P2.copy()}


def _estimate():
    return {"proxies": _proxies(), "n_groups": 2, "init_diagonal": 0.8, "max_iter": 50}


def _pipeline():
    rng = np.random.default_rng(1)
    return {"pred": rng.integers(0, 2, 40), "proxies": _proxies(), "n_groups": 2}


def _make(gamma=0.5):
    def build():
        return {
            "group": np.array([0, 1, 1, 0, 1, 0]),
            "T": T2.copy(),
            "n_proxies": 3,
            "rng": np.random.default_rng(0),
            "driver": np.array([0.1, -0.3, 2.0, 0.5, 1.0, -1.0]),
            "gamma": gamma,
        }

    return build


def _population():
    return {"n": 20, "rng": np.random.default_rng(0), "base_rate": 0.5}


ROWS = [
    Row(fairness.fairness_matrix, _labels, "pred", (*LABELS, "id"), vocab=2),
    Row(fairness.fairness_matrix, _labels, "group", (*LABELS, "id"), vocab=2),
    Row(fairness.fairness_matrix, _labels, "n_groups", COUNT),
    Row(fairness.fairness_matrix, _labels, "n_classes", COUNT),
    Row(fairness.dp_gap, lambda: {"H": H2.copy()}, "H", PROB),
    Row(fairness.equalized_odds_gaps, _odds, "pred", LABELS),
    Row(fairness.equalized_odds_gaps, _odds, "y", (*LABELS, "prob", "id"), vocab=2),
    Row(fairness.equalized_odds_gaps, _odds, "group", (*LABELS, "id"), vocab=2),
    Row(
        fairness.normalized_error,
        lambda: {"estimate": 0.2, "truth": 0.25},
        "estimate",
        SCALAR,
    ),
    Row(
        fairness.normalized_error,
        lambda: {"estimate": 0.2, "truth": 0.25},
        "truth",
        (*SCALAR, "negative"),
    ),
    Row(fairness.noisy_fairness_matrix, _noisy, "H", PROB),
    Row(fairness.noisy_fairness_matrix, _noisy, "T", PROB),
    Row(fairness.noisy_fairness_matrix, _noisy, "p", PROB),
    *[
        Row(fairness.calibrate_fairness_matrix, _calibrate, arg, PROB)
        for arg in ("H_noisy", "p_noisy", "T", "p")
    ],
    Row(fairness.model_consensus, lambda: {"T": T2.copy(), "p": P2.copy()}, "T", PROB),
    Row(fairness.model_consensus, lambda: {"T": T2.copy(), "p": P2.copy()}, "p", PROB),
    Row(
        fairness.consensus_statistics,
        lambda: {"proxies": _proxies(), "n_groups": 2},
        "proxies",
        (*LABELS, "id"),
        vocab=2,
    ),
    Row(
        fairness.consensus_statistics,
        lambda: {"proxies": _proxies(), "n_groups": 2},
        "n_groups",
        COUNT,
    ),
    Row(fairness.estimate_transition, _estimate, "proxies", (*LABELS, "id"), vocab=2),
    Row(fairness.estimate_transition, _estimate, "init_diagonal", (*SCALAR, "prob")),
    Row(fairness.estimate_transition, _estimate, "max_iter", COUNT),
    Row(fairness.calibrated_dp_gap, _pipeline, "pred", LABELS),
    Row(fairness.calibrated_dp_gap, _pipeline, "proxies", (*LABELS, "id"), vocab=2),
    Row(
        fairness.majority_vote,
        lambda: {"proxies": _proxies(8)},
        "proxies",
        LABELS,
    ),
    Row(
        fairness.vote_accuracy,
        lambda: {"T": T2.copy(), "p": P2.copy(), "n_proxies": 3},
        "T",
        PROB,
    ),
    Row(
        fairness.vote_accuracy,
        lambda: {"T": T2.copy(), "p": P2.copy(), "n_proxies": 3},
        "p",
        PROB,
    ),
    Row(
        fairness.vote_accuracy,
        lambda: {"T": T2.copy(), "p": P2.copy(), "n_proxies": 3},
        "n_proxies",
        COUNT,
    ),
    Row(
        fairness.proxy_transition,
        lambda: {"accuracy": 0.8, "skew": 0.05},
        "accuracy",
        (*SCALAR, "prob"),
    ),
    Row(
        fairness.proxy_transition,
        lambda: {"accuracy": 0.8, "skew": 0.05},
        "skew",
        SCALAR,
    ),
    Row(fairness.make_proxies, _make(0.0), "group", (*LABELS, "id"), vocab=2),
    Row(fairness.make_proxies, _make(0.0), "T", PROB),
    Row(fairness.make_proxies, _make(0.0), "n_proxies", COUNT),
    Row(fairness.make_proxies, _make(0.5), "driver", MATRIX),
    Row(fairness.make_proxies, _make(0.5), "gamma", (*SCALAR, "prob")),
    Row(fairness.simulate_population, _population, "n", COUNT),
    Row(fairness.simulate_population, _population, "base_rate", (*SCALAR, "prob")),
]
