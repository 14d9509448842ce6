"""utils.calibration: exact values at boundaries, defaults and error messages naming arguments
(the mutants the main tests in test_calibration.py let through)."""

from __future__ import annotations

import numpy as np
import pytest

from utils import calibration as cal

P = np.array([0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.72, 0.86, 0.94, 0.97])
Y = np.array([0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1])


@pytest.mark.parametrize(
    "func",
    [
        cal.brier_score,
        cal.ece_binned,
        cal.reliability_curve,
        cal.accuracy,
        cal.balance_terms,
        cal.balance_score,
        cal.balance_standard_error,
    ],
)
def test_pair_functions_name_the_bad_argument(func):
    with pytest.raises(ValueError, match=r"^p_hat must hold probabilities"):
        func([0.5, 1.5], [0, 1])
    with pytest.raises(ValueError, match=r"^y must hold outcomes 0 or 1; y\[1\] = 2.0"):
        func([0.5, 0.5], [0, 2])
    with pytest.raises(
        ValueError, match=r"^p_hat and y must have the same length, got 2 and 3"
    ):
        func([0.5, 0.5], [0, 1, 1])


@pytest.mark.parametrize("func", [cal.ece_binned, cal.reliability_curve])
def test_n_bins_is_named(func):
    with pytest.raises(ValueError, match=r"^n_bins must be a positive integer, got 0"):
        func(P, Y, n_bins=0)


def test_single_argument_functions_name_it():
    with pytest.raises(ValueError, match=r"^p_hat must hold probabilities"):
        cal.confidence([1.2])
    with pytest.raises(ValueError, match=r"^p must hold probabilities"):
        cal.logit([-0.2])
    with pytest.raises(ValueError, match=r"^p_hat must hold probabilities"):
        cal.true_calibration_error([1.2], [0.5])
    with pytest.raises(ValueError, match=r"^p_true must hold probabilities"):
        cal.true_calibration_error([0.5], [1.2])
    with pytest.raises(ValueError, match=r"^shift must be finite, got inf"):
        cal.distort_probs([0.5], shift=float("inf"))


def test_binned_sums_have_one_entry_per_bin_even_when_top_bins_are_empty():
    s_pred, s_true, count = cal._binned_sums([0.05, 0.1], [0, 1], 10, "uniform")
    assert s_pred.shape == s_true.shape == count.shape == (10,)
    assert count.tolist() == [2] + [0] * 9
    assert s_true.tolist() == [1.0] + [0.0] * 9


def test_defaults_are_ten_uniform_bins():
    assert cal.ece_binned(P, Y) == cal.ece_binned(P, Y, n_bins=10, strategy="uniform")
    assert cal.ece_binned(P, Y) != cal.ece_binned(P, Y, n_bins=11)
    # ten uniform bins: one forecast per bin, 0.94 and 0.97 share the last; eleven bins differ
    assert cal.reliability_curve(P, Y)[2].tolist() == [1] * 9 + [2]
    assert cal.reliability_curve(P, Y, n_bins=11)[2].tolist() == [1] * 6 + [2, 1, 2]


def test_accuracy_counts_a_forecast_of_exactly_one_half_as_predicting_one():
    assert cal.accuracy([0.5], [1]) == 1.0
    assert cal.accuracy([0.5], [0]) == 0.0


def test_balance_standard_error_exact_and_its_boundary():
    # terms: p=0.8,y=1 -> 0.2; p=0.8,y=0 -> -0.8; p=0.3,y=0 -> 0.3
    g = np.array([0.2, -0.8, 0.3])
    se = cal.balance_standard_error([0.8, 0.8, 0.3], [1, 0, 0])
    assert se == pytest.approx(np.std(g, ddof=1) / np.sqrt(3), abs=1e-15)
    se2 = cal.balance_standard_error([0.8, 0.8], [1, 0])
    assert se2 == pytest.approx(np.std([0.2, -0.8], ddof=1) / np.sqrt(2), abs=1e-15)
    with pytest.raises(
        ValueError, match="^a standard error needs at least two forecasts$"
    ):
        cal.balance_standard_error([0.8], [1])


def test_sigmoid_accepts_booleans_and_integers_as_numbers():
    np.testing.assert_allclose(cal.sigmoid([True, False]), [1 / (1 + np.exp(-1)), 0.5])
    np.testing.assert_allclose(
        cal.sigmoid(np.array([2, -3])), 1 / (1 + np.exp([-2.0, 3.0]))
    )


def test_distort_probs_shift_is_added_on_the_logit_scale():
    assert cal.distort_probs([0.5], shift=1.0)[0] == pytest.approx(
        1 / (1 + np.exp(-1.0))
    )
    out = cal.distort_probs([0.2], tau=2.0, shift=-0.5)[0]
    z = 2.0 * np.log(0.2 / 0.8) - 0.5
    assert out == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-12)
