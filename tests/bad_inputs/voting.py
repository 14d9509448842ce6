"""Bad-input rows of ``utils.voting`` (chapter 04); the format is in ``__init__.py``."""

from __future__ import annotations

import numpy as np

from bad_inputs import ARRAY, Row
from utils import voting

# 3 votes over 4 items as positions (0 = top); items 1 and 3 are in G2
PROFILE = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 1, 0, 3]])
GROUP = np.array([0, 1, 0, 1])
SCORES = np.array([6.0, 7.0, 4.0, 1.0])
M = 4

MATRIX = (*ARRAY, "shape")  # a 1-D or 2-D array: one more axis is wrong too
INT = ("nan", "inf", "negative", "dtype")  # an integer scalar
GROUP_KINDS = ("nan", "inf", "empty", "shape", "prob", "dtype")  # labels 0/1 only
POSITIONS = (*MATRIX, "negative", "id")  # each row a permutation of 0..m-1


def _weights():
    return {"rule": "bloc", "m": M, "t": 2}


def _profile():
    return {"positions": PROFILE.copy(), "group": GROUP.copy()}


def _committee():
    return {"scores": SCORES.copy(), "committee": np.array([0, 2])}


def _top():
    return {"scores": SCORES.copy(), "k": 2}


def _constrained():
    return {"scores": SCORES.copy(), "group": GROUP.copy(), "k": 2, "ell": 1}


def _fill():
    return {**_constrained(), "rng": np.random.default_rng(0)}


def _ratio():
    return {"latent_scores": SCORES.copy(), "committee": np.array([0, 2])}


def _recovery():
    return {
        "ratio_biased": np.array([0.7, 0.8]),
        "ratio_unbiased": np.array([0.9, 0.95]),
        "ratio_random": np.array([0.5, 0.6]),
    }


def _utilities():
    return {
        "log_quality": np.log([4.0, 2.0, 1.0, 1.0]),
        "n": 3,
        "rng": np.random.default_rng(0),
    }


def _bias():
    rng = np.random.default_rng(0)
    return {"utilities": rng.normal(size=(3, M)), "group": GROUP.copy(), "theta": 0.5}


def _swap():
    return {**_profile(), "frac": 0.5, "phi": 0.5, "rng": np.random.default_rng(0)}


def _alpha():
    latent = np.array([[4.0, 2.0, 6.0], [6.0, 4.0, 2.0]])
    biased = np.array([[4.0, 4.0, 1.0], [4.0, 4.0, 2.0]])
    return {"latent_scores": latent, "biased_scores": biased, "n": 2, "tau1": 5.0}


def _cc():
    return {"positions": PROFILE.copy(), "committee": np.array([0, 2])}


def _greedy():
    return {**_profile(), "k": 2, "ell": 1}


ROWS = [
    Row(voting.position_weights, _weights, "m", INT),
    Row(voting.position_weights, _weights, "t", ("nan", "dtype", "id"), vocab=M + 1),
    Row(
        voting.item_scores,
        lambda: {"positions": PROFILE.copy(), "rule": "borda"},
        "positions",
        POSITIONS,
        vocab=M,
    ),
    Row(voting.committee_score, _committee, "scores", MATRIX),
    Row(
        voting.committee_score,
        _committee,
        "committee",
        ("nan", "inf", "empty", "shape", "dtype", "id"),
        vocab=M,
    ),
    Row(voting.top_k, _top, "scores", MATRIX),
    Row(voting.top_k, _top, "k", (*INT, "id"), vocab=M + 1),
    Row(voting.constrained_top_k, _constrained, "scores", MATRIX),
    Row(voting.constrained_top_k, _constrained, "group", GROUP_KINDS),
    Row(voting.constrained_top_k, _constrained, "k", (*INT, "id"), vocab=M + 1),
    Row(voting.constrained_top_k, _constrained, "ell", (*INT, "id"), vocab=3),
    Row(voting.random_fill, _fill, "scores", MATRIX),
    Row(voting.random_fill, _fill, "group", GROUP_KINDS),
    Row(voting.random_fill, _fill, "ell", (*INT, "id"), vocab=3),
    Row(voting.quality_ratio, _ratio, "latent_scores", (*MATRIX, "negative")),
    Row(
        voting.quality_ratio,
        _ratio,
        "committee",
        ("nan", "empty", "shape", "id"),
        vocab=M,
    ),
    # recovery_score works elementwise on any shape, so "shape" is not an error
    *[
        Row(voting.recovery_score, _recovery, arg, ARRAY)
        for arg in ("ratio_biased", "ratio_unbiased", "ratio_random")
    ],
    Row(voting.sample_utilities, _utilities, "log_quality", MATRIX),
    Row(voting.sample_utilities, _utilities, "n", INT),
    Row(voting.sample_rankings, _utilities, "log_quality", MATRIX),
    Row(voting.sample_rankings, _utilities, "n", INT),
    Row(
        voting.positions_from_utilities,
        lambda: {"utilities": np.random.default_rng(0).normal(size=(3, M))},
        "utilities",
        MATRIX,
    ),
    Row(voting.multiplicative_bias, _bias, "utilities", MATRIX),
    Row(voting.multiplicative_bias, _bias, "group", GROUP_KINDS),
    Row(
        voting.multiplicative_bias,
        _bias,
        "theta",
        ("nan", "inf", "negative", "prob", "dtype"),
    ),
    Row(voting.count_g2_above_g1, _profile, "positions", POSITIONS, vocab=M),
    Row(voting.count_g2_above_g1, _profile, "group", GROUP_KINDS),
    Row(voting.swapping_bias, _swap, "positions", POSITIONS, vocab=M),
    Row(voting.swapping_bias, _swap, "group", GROUP_KINDS),
    Row(
        voting.swapping_bias, _swap, "frac", ("nan", "inf", "negative", "prob", "dtype")
    ),
    Row(
        voting.swapping_bias, _swap, "phi", ("nan", "inf", "negative", "prob", "dtype")
    ),
    Row(voting.estimate_alpha, _alpha, "latent_scores", MATRIX),
    Row(voting.estimate_alpha, _alpha, "biased_scores", MATRIX),
    Row(voting.estimate_alpha, _alpha, "n", INT),
    Row(voting.estimate_alpha, _alpha, "tau1", ("nan", "inf", "negative", "dtype")),
    Row(voting.chamberlin_courant_score, _cc, "positions", POSITIONS, vocab=M),
    Row(
        voting.chamberlin_courant_score,
        _cc,
        "committee",
        ("nan", "empty", "shape", "dtype", "id"),
        vocab=M,
    ),
    Row(voting.greedy_constrained_cc, _greedy, "positions", POSITIONS, vocab=M),
    Row(voting.greedy_constrained_cc, _greedy, "group", GROUP_KINDS),
    Row(voting.greedy_constrained_cc, _greedy, "k", (*INT, "id"), vocab=M + 1),
    Row(voting.greedy_constrained_cc, _greedy, "ell", (*INT, "id"), vocab=3),
]
