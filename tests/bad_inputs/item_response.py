"""Bad-input rows of ``utils.item_response`` (chapter 06); the format is in ``__init__.py``."""

from __future__ import annotations

import numpy as np

from bad_inputs import ARRAY, OUTCOME, PROB, Row
from utils import item_response as ir

MATRIX = (*ARRAY, "shape")
COUNT = ("nan", "negative", "dtype")  # a positive integer
FRACTION = ("nan", "inf", "prob", "dtype")  # a number in [0, 1)
POSITIVE = ("nan", "inf", "negative", "dtype")  # a positive finite number
R = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=float)
FEATURES = np.array([[0.5, -1.0], [0.0, 0.3], [-0.4, 1.2]])


def _irt():
    return {
        "theta": np.array([-1.0, 0.0, 1.5]),
        "a": np.array([1.0, 2.0]),
        "b": np.array([0.0, -0.5]),
        "guess": 0.25,
    }


def _world():
    return {
        "n_items": 5,
        "rng": np.random.default_rng(0),
        "vague_frac": 0.2,
        "feature_shift": np.zeros(6),
        "difficulty_noise": 0.3,
        "discrimination_noise": 0.2,
    }


def _fit():
    return {"R": R.copy(), "features": FEATURES.copy(), "guess": 0.5, "steps": 3}


def _difficulty():
    return {"p": np.array([0.6, 0.75, 0.9]), "guess": 0.5, "n_students": 20}


def _stats():
    return {
        "orig_stats": np.array([[0.0, 0.3], [1.0, 0.5]]),
        "cand_stats": np.array([[0.2, 0.4], [0.9, 0.1], [-0.5, 0.6]]),
        "weights": np.array([1.0, 0.5]),
    }


def _totals():
    return {
        "totals_a": np.array([3.0, 5.0, 2.0, 4.0]),
        "totals_b": np.array([2.0, 6.0, 1.0, 4.0]),
    }


ROWS = [
    Row(ir.irt_prob, _irt, "theta", MATRIX),
    Row(ir.irt_prob, _irt, "a", (*MATRIX, "negative")),
    Row(ir.irt_prob, _irt, "b", MATRIX),
    Row(ir.irt_prob, _irt, "guess", (*FRACTION, "negative")),
    Row(
        ir.simulate_responses,
        lambda: {
            "prob": np.array([[0.2, 0.9], [0.5, 0.1]]),
            "rng": np.random.default_rng(0),
        },
        "prob",
        PROB,
    ),
    Row(
        ir.shift_for_easier_pool,
        lambda: {"logits": 0.5},
        "logits",
        ("nan", "inf", "shape", "dtype"),
    ),
    Row(ir.make_item_world, _world, "n_items", COUNT),
    Row(ir.make_item_world, _world, "vague_frac", FRACTION),
    Row(ir.make_item_world, _world, "feature_shift", MATRIX),
    Row(ir.make_item_world, _world, "difficulty_noise", POSITIVE),
    Row(ir.make_item_world, _world, "discrimination_noise", POSITIVE),
    Row(ir.fit_response_simulator, _fit, "R", OUTCOME),
    Row(ir.fit_response_simulator, _fit, "features", MATRIX),
    Row(ir.fit_response_simulator, _fit, "guess", FRACTION),
    Row(ir.fit_response_simulator, _fit, "steps", COUNT),
    Row(ir.fit_response_simulator, lambda: {**_fit(), "lr": 0.05}, "lr", POSITIVE),
    Row(
        ir.fit_response_simulator,
        lambda: {**_fit(), "offset_sd": 0.5},
        "offset_sd",
        POSITIVE,
    ),
    Row(ir.difficulty_from_proportion, _difficulty, "p", PROB),
    Row(ir.difficulty_from_proportion, _difficulty, "guess", FRACTION),
    Row(ir.difficulty_from_proportion, _difficulty, "n_students", COUNT),
    Row(ir.item_statistics, lambda: {"R": R.copy()}, "R", OUTCOME),
    Row(ir.item_statistics, lambda: {"R": R.copy(), "guess": 0.5}, "guess", FRACTION),
    Row(
        ir.filter_items,
        lambda: {"item_rest_corr": np.array([0.3, -0.1, 0.5, 0.2]), "drop_frac": 0.25},
        "item_rest_corr",
        MATRIX,
    ),
    Row(
        ir.filter_items,
        lambda: {"item_rest_corr": np.array([0.3, -0.1, 0.5, 0.2]), "drop_frac": 0.25},
        "drop_frac",
        FRACTION,
    ),
    Row(ir.matching_cost, _stats, "orig_stats", MATRIX),
    Row(ir.matching_cost, _stats, "cand_stats", MATRIX),
    Row(ir.matching_cost, _stats, "weights", (*MATRIX, "negative")),
    Row(
        ir.solve_assignment,
        lambda: {"cost": np.array([[1.0, 2.0, 0.5], [0.3, 4.0, 1.0]])},
        "cost",
        MATRIX,
    ),
    Row(ir.match_parallel_form, _stats, "orig_stats", MATRIX),
    Row(ir.match_parallel_form, _stats, "cand_stats", MATRIX),
    Row(ir.total_scores, lambda: {"R": R.copy()}, "R", OUTCOME),
    Row(ir.expected_total, _irt, "theta", MATRIX),
    Row(ir.expected_total, _irt, "a", (*MATRIX, "negative")),
    Row(ir.expected_total, _irt, "b", MATRIX),
    Row(ir.expected_total, _irt, "guess", FRACTION),
    Row(ir.form_correlation, _totals, "totals_a", MATRIX),
    Row(ir.form_correlation, _totals, "totals_b", MATRIX),
    Row(ir.kr20, lambda: {"R": R.copy()}, "R", OUTCOME),
]
