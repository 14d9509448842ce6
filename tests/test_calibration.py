"""Unit tests of utils.calibration (chapter 01), against scikit-learn and SciPy.

The game simulator of the chapter, utils.esports_sim, is tested in tests/test_esports_sim.py.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import accuracy_score, brier_score_loss  # noqa: E402

from utils import calibration as cal  # noqa: E402
from utils.plotting import reliability_diagram  # noqa: E402


def sample(n=2000, tau=1.0, shift=0.0, a=2.0, b=2.0, seed=0):
    """True p ~ Beta(a, b), outcomes y ~ Bernoulli(p), forecasts distorted in logit space."""
    rng = np.random.default_rng(seed)
    p = rng.beta(a, b, size=n)
    y = (rng.random(n) < p).astype(int)
    return p, y, cal.distort_probs(p, tau=tau, shift=shift)


# --- against scikit-learn -------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_brier_matches_sklearn(tau):
    _, y, p_hat = sample(tau=tau)
    assert cal.brier_score(p_hat, y) == pytest.approx(
        brier_score_loss(y, p_hat), abs=1e-12
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [3, 10, 25])
def test_reliability_curve_matches_sklearn(n_bins, strategy):
    _, y, p_hat = sample(n=500, tau=1.7, seed=3)
    mean_pred, freq, count = cal.reliability_curve(
        p_hat, y, n_bins=n_bins, strategy=strategy
    )
    ref_freq, ref_pred = calibration_curve(y, p_hat, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(mean_pred, ref_pred, atol=1e-12)
    np.testing.assert_allclose(freq, ref_freq, atol=1e-12)
    assert count.sum() == len(y) and np.all(count > 0)


def test_ece_matches_a_reference_built_on_sklearn():
    _, y, p_hat = sample(n=800, tau=2.0, seed=4)
    ref_freq, ref_pred = calibration_curve(y, p_hat, n_bins=10)
    edges = np.linspace(0, 1, 11)
    counts = np.bincount(np.searchsorted(edges[1:-1], p_hat), minlength=10)
    counts = counts[counts > 0]
    reference = np.sum(counts * np.abs(ref_freq - ref_pred)) / len(y)
    assert cal.ece_binned(p_hat, y, n_bins=10) == pytest.approx(reference, abs=1e-12)


def test_ece_by_hand_on_a_tiny_example():
    p_hat = [0.05, 0.15, 0.95, 0.85, 0.9]
    y = [0, 1, 1, 1, 0]
    # bins: [0,.1] {0.05 -> y 0}, (.1,.2] {0.15 -> y 1}, (.8,.9] {0.85, 0.9 -> 1, 0}, (.9,1] {0.95 -> 1}
    expected = (1 * 0.05 + 1 * 0.85 + 2 * abs(0.5 - 0.875) + 1 * 0.05) / 5
    assert cal.ece_binned(p_hat, y, n_bins=10) == pytest.approx(expected, abs=1e-12)


# --- Balance ----------------------------------------------------------------------------------
@pytest.mark.parametrize("tau,shift", [(1.0, 0.0), (2.0, 0.0), (0.5, 0.0), (1.0, 0.6)])
def test_balance_is_accuracy_minus_mean_confidence(tau, shift):
    _, y, p_hat = sample(tau=tau, shift=shift, seed=7)
    identity = accuracy_score(y, p_hat >= 0.5) - np.maximum(p_hat, 1 - p_hat).mean()
    assert cal.balance_score(p_hat, y) == pytest.approx(identity, abs=1e-12)
    assert cal.accuracy(p_hat, y) == pytest.approx(
        accuracy_score(y, p_hat >= 0.5), abs=1e-12
    )


def test_balance_terms_follow_the_four_cases():
    p_hat = np.array([0.8, 0.3, 0.8, 0.3, 0.5, 0.5])
    y = np.array([1, 0, 0, 1, 1, 0])
    expected = [
        1 - 0.8,
        0.3,
        -0.8,
        0.3 - 1,
        0.5,
        -0.5,
    ]  # the tie 0.5 counts as predicting y = 1
    np.testing.assert_allclose(cal.balance_terms(p_hat, y), expected, atol=1e-12)


def test_balance_terms_lie_in_their_range():
    _, y, p_hat = sample(n=5000, tau=3.0, seed=1)
    g = cal.balance_terms(p_hat, y)
    assert g.shape == (5000,)
    assert g.min() >= -1.0 and g.max() <= 0.5


def test_balance_sign_and_size_track_the_true_error_for_one_way_miscalibration():
    """E[Balance] = -TCE when every forecast is over-confident (+TCE when under-confident): an
    identity of Eq. (11), formerly chapter 01's first claim, kept here as a unit test."""
    p, y, over = sample(n=200_000, tau=2.0, seed=2)
    under = cal.distort_probs(p, tau=0.5)
    for p_hat, sign in [(over, -1), (under, +1)]:
        b = cal.balance_score(p_hat, y)
        tce = cal.true_calibration_error(p_hat, p)
        assert np.sign(b) == sign
        assert abs(abs(b) - tce) < 4 * cal.balance_standard_error(p_hat, y)


def test_balance_expectation_equals_signed_error_per_state():
    """|E[g]| = |p_hat - p| exactly: the expected gain over y ~ Bernoulli(p), computed in closed form."""
    p = np.linspace(0.01, 0.99, 99)
    p_hat = cal.distort_probs(p, tau=1.8, shift=0.3)
    expected_g = p * cal.balance_terms(p_hat, np.ones_like(p)) + (
        1 - p
    ) * cal.balance_terms(p_hat, np.zeros_like(p))
    np.testing.assert_allclose(np.abs(expected_g), np.abs(p_hat - p), atol=1e-12)


def test_calibrated_forecasts_have_balance_near_zero():
    p, y, _ = sample(n=200_000, seed=5)
    assert abs(cal.balance_score(p, y)) < 4 * cal.balance_standard_error(p, y)


def test_opposite_errors_cancel_in_balance():
    """The pitfall the chapter shows: a logit shift is over-confident on one side, under on the other."""
    p, y, p_hat = sample(n=200_000, shift=0.6, seed=6)
    assert abs(cal.balance_score(p_hat, y)) < 0.6 * cal.true_calibration_error(p_hat, p)


def test_distort_probs_identity_and_direction():
    p = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(cal.distort_probs(p), p, atol=1e-9)
    sharp = cal.distort_probs(p, tau=2.0)
    assert np.all(np.abs(sharp - 0.5) >= np.abs(p - 0.5) - 1e-12)
    assert np.all(np.isfinite(cal.distort_probs([0.0, 1.0], tau=3.0)))


def test_confidence_logit_and_sigmoid_pinned_values():
    np.testing.assert_allclose(
        cal.confidence([0.2, 0.5, 0.9, 0.0]), [0.8, 0.5, 0.9, 1.0], atol=1e-15
    )
    np.testing.assert_allclose(cal.logit([0.5, 0.8]), [0.0, np.log(4.0)], atol=1e-12)
    np.testing.assert_allclose(
        cal.sigmoid([0.0, np.log(4.0), -800.0, 800.0]), [0.5, 0.8, 0.0, 1.0], atol=1e-12
    )
    p = np.linspace(0.01, 0.99, 9)
    np.testing.assert_allclose(cal.sigmoid(cal.logit(p)), p, atol=1e-12)
    assert np.isfinite(cal.logit([0.0, 1.0])).all()  # clipped, not infinite
    with pytest.raises(ValueError, match="p"):
        cal.logit([1.5])


def test_balance_is_minus_a_one_bin_signed_top_label_ece():
    """Accuracy minus mean confidence is the signed calibration gap of a single confidence bin,
    so |Balance| equals the top-label ECE with one bin (why errors of opposite sign cancel)."""
    _, y, p_hat = sample(n=3000, tau=1.6, shift=0.4, seed=8)
    correct = ((p_hat >= 0.5) == (y == 1)).astype(int)
    one_bin = cal.ece_binned(cal.confidence(p_hat), correct, n_bins=1)
    assert one_bin == pytest.approx(abs(cal.balance_score(p_hat, y)), abs=1e-12)
    # with more bins the top-label ECE no longer cancels: it is at least the one-bin value
    assert cal.ece_binned(cal.confidence(p_hat), correct, n_bins=10) >= one_bin - 1e-12


def test_tce_bounds_the_binning_free_ece_of_a_non_invertible_forecast():
    """TCE equals the binning-free ECE when p_hat is an invertible function of p, and is an upper
    bound of it otherwise (here p_hat takes 4 values, each averaging several true p)."""
    p = np.linspace(0.05, 0.95, 40)
    p_hat = np.repeat([0.2, 0.4, 0.6, 0.8], 10)  # a coarse model: 4 distinct forecasts
    binning_free = np.mean(np.abs(np.repeat(p.reshape(4, 10).mean(1), 10) - p_hat))
    assert cal.true_calibration_error(p_hat, p) >= binning_free
    assert cal.true_calibration_error(p_hat, p) == pytest.approx(0.0626923077, abs=1e-9)
    assert binning_free == pytest.approx(0.0307692308, abs=1e-9)
    invertible = cal.distort_probs(p, tau=2.0)
    assert cal.true_calibration_error(invertible, p) == pytest.approx(
        np.mean(np.abs(invertible - p)), abs=1e-15
    )


def test_true_calibration_error_by_hand():
    assert cal.true_calibration_error([0.2, 0.9], [0.1, 0.6]) == pytest.approx(0.2)


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "func",
    [
        cal.brier_score,
        cal.ece_binned,
        cal.balance_score,
        cal.balance_terms,
        cal.reliability_curve,
        cal.accuracy,
    ],
)
def test_probabilities_outside_unit_interval_are_rejected_with_index(func):
    with pytest.raises(ValueError, match=r"p_hat\[1\] = 1\.2"):
        func([0.3, 1.2, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match=r"p_hat\[0\] = nan"):
        func([np.nan, 0.2], [0, 1])
    with pytest.raises(ValueError, match=r"p_hat\[2\] = -0\.1"):
        func([0.3, 0.2, -0.1], [0, 1, 1])


@pytest.mark.parametrize("func", [cal.brier_score, cal.ece_binned, cal.balance_score])
def test_bad_outcomes_lengths_shapes_and_empty_input(func):
    with pytest.raises(ValueError, match=r"y\[1\] = 2"):
        func([0.3, 0.4], [0, 2])
    with pytest.raises(ValueError, match="same length"):
        func([0.3, 0.4, 0.5], [0, 1])
    with pytest.raises(ValueError, match="1-D"):
        func([[0.3, 0.4]], [[0, 1]])
    with pytest.raises(ValueError, match="empty"):
        func([], [])


@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True, "10"])
def test_bad_bin_counts(n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        cal.ece_binned([0.2, 0.7], [0, 1], n_bins=n_bins)


def test_bad_strategy_tau_and_tce_lengths():
    with pytest.raises(ValueError, match="strategy"):
        cal.ece_binned([0.2, 0.7], [0, 1], strategy="equal")
    with pytest.raises(ValueError, match="tau"):
        cal.distort_probs([0.2], tau=0.0)
    with pytest.raises(ValueError, match="same length"):
        cal.true_calibration_error([0.2, 0.3], [0.2])
    with pytest.raises(ValueError, match="p_true"):
        cal.true_calibration_error([0.2], [1.5])


# --- the shared reliability diagram -----------------------------------------------------------
def test_reliability_diagram_draws_the_curve_it_returns():
    _, y, p_hat = sample(n=500, tau=2.0)
    fig, ax = plt.subplots()
    mean_pred, freq, count = reliability_diagram(ax, p_hat, y, n_bins=10, label="tau 2")
    reliability_diagram(ax, p_hat, y, n_bins=5, label="again")
    lines = [line for line in ax.get_lines() if line.get_label() == "tau 2"]
    np.testing.assert_allclose(lines[0].get_xdata(), mean_pred)
    np.testing.assert_allclose(lines[0].get_ydata(), freq)
    assert (
        sum(line.get_label() == "perfect calibration" for line in ax.get_lines()) == 1
    )
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(fig)
