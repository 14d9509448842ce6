"""Unit tests of utils.fairness (chapter 03): fairness matrices, proxy noise, HOC.

Exact values come from cases solved by hand, closed forms (Bayes' rule, binomial
tails), pandas and scikit-learn on random inputs, SciPy's finite-difference gradient,
and known-truth simulations (perfect proxies, a known transition matrix recovered
within tolerance).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from sklearn.metrics import confusion_matrix

from utils import fairness as F
from utils.fairness import (
    calibrate_fairness_matrix,
    calibrated_dp_gap,
    consensus_statistics,
    dp_gap,
    equalized_odds_gaps,
    estimate_transition,
    fairness_matrix,
    majority_vote,
    make_proxies,
    model_consensus,
    noisy_fairness_matrix,
    normalized_error,
    proxy_transition,
    simulate_population,
    vote_accuracy,
)

T_WEAK = np.array([[0.75, 0.25], [0.35, 0.65]])
T3 = np.array([[0.8, 0.1, 0.1], [0.15, 0.7, 0.15], [0.05, 0.15, 0.8]])


def random_population(n, prior, seed):
    rng = np.random.default_rng(seed)
    return rng, rng.choice(len(prior), size=n, p=prior)


# ------------------------------------------------------------------- fairness matrices
def test_fairness_matrix_by_hand():
    pred = [1, 0, 1, 1, 0, 0, 1]
    group = [0, 0, 0, 1, 1, 1, 1]
    H = fairness_matrix(pred, group)
    np.testing.assert_allclose(H, [[1 / 3, 2 / 3], [2 / 4, 2 / 4]], atol=1e-15)


def test_fairness_matrix_pads_unseen_classes_and_matches_pandas():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 3, 500)
    pred = rng.integers(0, 2, 500)
    H = fairness_matrix(pred, group, n_groups=3, n_classes=4)
    assert H.shape == (3, 4)
    np.testing.assert_array_equal(H[:, 2:], 0.0)
    ref = pd.crosstab(group, pred, normalize="index").to_numpy()
    np.testing.assert_allclose(H[:, :2], ref, atol=1e-12)


@pytest.mark.parametrize(
    "pred, group, kwargs, message",
    [
        ([0, 1], [0, 0], {"n_groups": 2}, "group 1 has no rows"),
        ([0, 1], [0, 2], {}, "group 1 has no rows"),
        ([0, 1, 1], [0, 1], {}, "pred and group must have the same length"),
        ([0, 1.5], [0, 1], {}, "pred must hold integer ids"),
        ([0, 1], [0, -1], {}, "group must hold integer ids"),
        ([0, 1], [0, 2], {"n_groups": 2}, "group holds id 2"),
        ([0, 3], [0, 1], {"n_classes": 3}, "pred holds id 3"),
        ([0, 1], [0, 1], {"n_groups": 0}, "n_groups must be an integer >= 1"),
        ([0, 1], [0, 1], {"n_classes": True}, "n_classes must be an integer >= 1"),
        ([], [], {}, "pred is empty"),
        ([0, np.nan], [0, 1], {}, "pred must be finite"),
    ],
)
def test_fairness_matrix_rejects_bad_input(pred, group, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fairness_matrix(pred, group, **kwargs)


def test_dp_gap_binary_is_the_difference_in_rates():
    H = np.array([[0.7, 0.3], [0.45, 0.55]])
    assert dp_gap(H) == pytest.approx(0.25, abs=1e-15)


def test_dp_gap_averages_total_variation_over_pairs():
    H = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    # pairs: (0,1) 0.5, (0,2) 1.0, (1,2) 0.5*(0.5+0.3+0.8)=0.8
    assert dp_gap(H) == pytest.approx((0.5 + 1.0 + 0.8) / 3, abs=1e-15)


def test_dp_gap_rejects_a_single_group():
    with pytest.raises(ValueError, match="H needs at least two rows"):
        dp_gap([[0.5, 0.5]])


def test_equalized_odds_by_hand():
    pred = [1, 1, 0, 0, 1, 0, 1, 0]
    y = [1, 1, 1, 1, 0, 0, 0, 0]
    group = [0, 0, 1, 1, 0, 1, 0, 1]
    # Y=1: group 0 flags 2/2, group 1 0/2 -> gap 1; Y=0: group 0 flags 2/2, group 1 0/2
    out = equalized_odds_gaps(pred, y, group)
    assert out["equal_opportunity"] == pytest.approx(1.0)
    assert out["equalized_odds"] == pytest.approx(1.0)
    pred2 = [1, 0, 1, 0, 1, 1, 0, 0]
    # Y=1: g0 1/2, g1 1/2 -> 0; Y=0: g0 (rows 4, 6) 1/2, g1 (rows 5, 7) 1/2 -> 0
    out2 = equalized_odds_gaps(pred2, y, group)
    assert out2["equal_opportunity"] == pytest.approx(0.0)
    assert out2["equalized_odds"] == pytest.approx(0.0)


def test_equalized_odds_matches_subset_gaps_on_random_data():
    rng = np.random.default_rng(3)
    group, y = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    pred = (rng.random(400) < 0.3 + 0.3 * group + 0.2 * y).astype(int)
    out = equalized_odds_gaps(pred, y, group)
    gaps = [dp_gap(fairness_matrix(pred[y == v], group[y == v], 2, 2)) for v in (0, 1)]
    assert out["equal_opportunity"] == pytest.approx(gaps[1], abs=1e-15)
    assert out["equalized_odds"] == pytest.approx(np.mean(gaps), abs=1e-15)


@pytest.mark.parametrize(
    "y, message",
    [([0, 2, 1, 0], "y holds id 2"), ([1, 1, 1, 1], "y has no rows with outcome 0")],
)
def test_equalized_odds_rejects_bad_outcomes(y, message):
    with pytest.raises(ValueError, match=message):
        equalized_odds_gaps([0, 1, 0, 1], y, [0, 0, 1, 1])


def test_normalized_error():
    assert normalized_error(0.15, 0.2) == pytest.approx(0.25)
    assert normalized_error(0.3, 0.2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="truth must be positive"):
        normalized_error(0.1, 0.0)
    with pytest.raises(ValueError, match="estimate must be finite"):
        normalized_error(np.nan, 0.2)


# --------------------------------------------------------------- noise and calibration
def test_noisy_fairness_matrix_by_bayes_rule():
    H = np.array([[0.7, 0.3], [0.45, 0.55]])
    p = np.array([0.49, 0.51])
    H_noisy, p_noisy = noisy_fairness_matrix(H, T_WEAK, p)
    # P(proxy = 1) = .49*.25 + .51*.65; P(f = 1, proxy = 1) = .49*.25*.3 + .51*.65*.55
    p1 = 0.49 * 0.25 + 0.51 * 0.65
    np.testing.assert_allclose(p_noisy, [1 - p1, p1], atol=1e-15)
    flagged_1 = (0.49 * 0.25 * 0.3 + 0.51 * 0.65 * 0.55) / p1
    flagged_0 = (0.49 * 0.75 * 0.3 + 0.51 * 0.35 * 0.55) / (1 - p1)
    np.testing.assert_allclose(H_noisy[:, 1], [flagged_0, flagged_1], atol=1e-14)
    np.testing.assert_allclose(H_noisy.sum(axis=1), 1.0, atol=1e-14)
    assert dp_gap(H_noisy) < dp_gap(H)  # the proxy hides part of the gap


def test_noisy_fairness_matrix_matches_a_simulation():
    rng, group = random_population(400_000, [0.3, 0.7], seed=5)
    H = np.array([[0.8, 0.2], [0.5, 0.5]])
    pred = (rng.random(group.size) < H[group, 1]).astype(int)
    proxy = make_proxies(group, T_WEAK, 1, rng)[:, 0]
    H_noisy, p_noisy = noisy_fairness_matrix(H, T_WEAK, np.array([0.3, 0.7]))
    np.testing.assert_allclose(fairness_matrix(pred, proxy), H_noisy, atol=0.005)
    np.testing.assert_allclose(np.bincount(proxy) / proxy.size, p_noisy, atol=0.005)


def test_identity_transition_changes_nothing():
    H = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.3, 0.3, 0.4]])
    p = np.array([0.2, 0.3, 0.5])
    H_noisy, p_noisy = noisy_fairness_matrix(H, np.eye(3), p)
    np.testing.assert_allclose(H_noisy, H, atol=1e-15)
    np.testing.assert_allclose(p_noisy, p, atol=1e-15)


def test_calibration_inverts_the_noise_for_three_groups():
    rng = np.random.default_rng(1)
    H = rng.dirichlet(np.ones(4), size=3)
    p = np.array([0.2, 0.3, 0.5])
    H_noisy, p_noisy = noisy_fairness_matrix(H, T3, p)
    np.testing.assert_allclose(
        calibrate_fairness_matrix(H_noisy, p_noisy, T3, p), H, atol=1e-12
    )
    np.testing.assert_allclose(
        calibrate_fairness_matrix(H_noisy, p_noisy, T3, p, clip=False), H, atol=1e-12
    )


def test_calibration_with_true_T_on_a_large_sample():
    rng, group = random_population(200_000, [0.49, 0.51], seed=2)
    pred = (rng.random(group.size) < np.array([0.35, 0.6])[group]).astype(int)
    proxy = make_proxies(group, T_WEAK, 1, rng)[:, 0]
    H_noisy = fairness_matrix(pred, proxy)
    p_noisy = np.bincount(proxy) / proxy.size
    p = np.bincount(group) / group.size
    H = calibrate_fairness_matrix(H_noisy, p_noisy, T_WEAK, p)
    assert abs(dp_gap(H) - dp_gap(fairness_matrix(pred, group))) < 0.005


def test_clipping_keeps_rates_in_the_simplex():
    T = np.array([[0.9, 0.1], [0.1, 0.9]])
    H_noisy = np.array([[0.98, 0.02], [0.5, 0.5]])  # too extreme for T: negative rate
    p_noisy = np.array([0.5, 0.5])
    p = np.array([0.5, 0.5])
    raw = calibrate_fairness_matrix(H_noisy, p_noisy, T, p, clip=False)
    # solve by hand: joint = inv(T^T) @ (p_noisy * H_noisy); H = joint / p
    joint = np.linalg.inv(T.T) @ (p_noisy[:, None] * H_noisy)
    np.testing.assert_allclose(raw, joint / p[:, None], atol=1e-14)
    assert raw[0, 1] < 0
    clipped = calibrate_fairness_matrix(H_noisy, p_noisy, T, p)
    np.testing.assert_allclose(clipped[0], [1.0, 0.0], atol=1e-15)
    expected_row1 = np.clip(raw[1], 0, 1) / np.clip(raw[1], 0, 1).sum()
    np.testing.assert_allclose(clipped[1], expected_row1, atol=1e-15)


def test_transition_checks():
    H_noisy, p = np.array([[0.6, 0.4], [0.4, 0.6]]), np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="T is singular"):
        calibrate_fairness_matrix(H_noisy, p, [[0.5, 0.5], [0.5, 0.5]], p)
    with pytest.raises(ValueError, match="each row of T must sum to 1"):
        calibrate_fairness_matrix(H_noisy, p, [[0.9, 0.2], [0.1, 0.9]], p)
    with pytest.raises(ValueError, match="T must hold probabilities"):
        calibrate_fairness_matrix(H_noisy, p, [[1.1, -0.1], [0.1, 0.9]], p)
    with pytest.raises(ValueError, match="T must be a square"):
        calibrate_fairness_matrix(H_noisy, p, [[0.9, 0.1]], p)
    with pytest.warns(RuntimeWarning, match="nearly singular"):
        calibrate_fairness_matrix(H_noisy, p, [[0.5001, 0.4999], [0.4999, 0.5001]], p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calibrate_fairness_matrix(H_noisy, p, [[0.7, 0.3], [0.3, 0.7]], p)  # no warn


@pytest.mark.parametrize(
    "p_noisy, p, message",
    [
        ([0.5, 0.5, 0.0], [0.5, 0.5], "p_noisy must have shape"),
        ([0.5, 0.5], [0.6, 0.6], "p must sum to 1"),
        ([0.5, 0.5], [1.0, 0.0], "p must be positive"),
        ([0.5, 0.5], [1.5, -0.5], "p must hold probabilities"),
    ],
)
def test_calibration_prior_checks(p_noisy, p, message):
    with pytest.raises(ValueError, match=message):
        calibrate_fairness_matrix([[0.6, 0.4], [0.4, 0.6]], p_noisy, T_WEAK, p)


def test_calibration_and_noise_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="H_noisy has 3 rows"):
        calibrate_fairness_matrix(np.full((3, 2), 0.5), [0.5, 0.5], T_WEAK, [0.5, 0.5])
    with pytest.raises(ValueError, match="H has 3 rows"):
        noisy_fairness_matrix(np.full((3, 2), 0.5), T_WEAK, [0.5, 0.5])
    with pytest.raises(ValueError, match="H must hold probabilities"):
        noisy_fairness_matrix([[1.2, -0.2], [0.5, 0.5]], T_WEAK, [0.5, 0.5])


# --------------------------------------------------------------------------------- HOC
def test_model_consensus_by_hand():
    p = np.array([0.4, 0.6])
    c1, c2, c3 = model_consensus(T_WEAK, p)
    np.testing.assert_allclose(c1, [0.4 * 0.75 + 0.6 * 0.35, 0.4 * 0.25 + 0.6 * 0.65])
    assert c2[0, 1] == pytest.approx(0.4 * 0.75 * 0.25 + 0.6 * 0.35 * 0.65)
    assert c2[1, 1] == pytest.approx(0.4 * 0.25**2 + 0.6 * 0.65**2)
    assert c3[0, 0, 1] == pytest.approx(0.4 * 0.75**2 * 0.25 + 0.6 * 0.35**2 * 0.65)
    assert c3[1, 1, 1] == pytest.approx(0.4 * 0.25**3 + 0.6 * 0.65**3)
    for c in (c1, c2, c3):
        assert c.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(c3, np.transpose(c3, (2, 0, 1)), atol=1e-15)


def test_model_consensus_matches_counted_frequencies():
    p = np.array([0.2, 0.3, 0.5])
    rng, group = random_population(300_000, p, seed=4)
    counted = consensus_statistics(make_proxies(group, T3, 3, rng), n_groups=3)
    for seen, model in zip(counted, model_consensus(T3, p)):
        np.testing.assert_allclose(seen, model, atol=0.004)


def test_model_consensus_rejects_bad_shapes():
    with pytest.raises(ValueError, match="T must be square"):
        model_consensus(np.full((2, 3), 0.3), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"p must have shape \[2\]"):
        model_consensus(T_WEAK, [0.2, 0.3, 0.5])


def test_consensus_statistics_by_hand():
    proxies = np.array([[0, 0, 1], [1, 1, 1]])
    c1, c2, c3 = consensus_statistics(proxies)
    np.testing.assert_allclose(c1, [2 / 6, 4 / 6])
    # row 0, ordered pairs of 6 orderings: (0,0) x2, (0,1) x2, (1,0) x2; row 1: (1,1) x6
    np.testing.assert_allclose(c2, [[2 / 12, 2 / 12], [2 / 12, 6 / 12]])
    assert c3[0, 0, 1] == pytest.approx(2 / 12)
    assert c3[1, 1, 1] == pytest.approx(6 / 12)
    assert c3[0, 1, 1] == 0.0


def test_consensus_statistics_rejects_bad_proxies():
    with pytest.raises(ValueError, match="proxies must have exactly 3 columns"):
        consensus_statistics(np.zeros((5, 2), dtype=int))
    with pytest.raises(ValueError, match="proxies holds id 2"):
        consensus_statistics(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="n_groups must be an integer >= 2"):
        consensus_statistics(np.zeros((5, 3), dtype=int), n_groups=1)
    with pytest.raises(ValueError, match="proxies must be 2-D"):
        consensus_statistics([0, 1, 1])


def test_consensus_loss_gradient_matches_finite_differences():
    rng, group = random_population(2_000, [0.3, 0.3, 0.4], seed=6)
    targets = consensus_statistics(make_proxies(group, T3, 3, rng), 3)
    theta = rng.normal(size=12)
    value, grad = F._consensus_loss(theta, targets, 3)
    numeric = approx_fprime(theta, lambda t: F._consensus_loss(t, targets, 3)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, atol=1e-5)
    assert value > 0


def test_hoc_recovers_the_empirical_transition_matrix():
    # at 6,000 people chance within-group correlations of +-0.02 move the fit by ~0.04
    rng, group = random_population(30_000, [0.49, 0.51], seed=7)
    proxies = make_proxies(group, T_WEAK, 3, rng)
    T_hat, p_hat = estimate_transition(proxies)
    empirical = confusion_matrix(np.repeat(group, 3), proxies.ravel(), normalize="true")
    np.testing.assert_allclose(T_hat, empirical, atol=0.03)
    np.testing.assert_allclose(p_hat, np.bincount(group) / group.size, atol=0.03)


def test_hoc_recovers_three_groups_and_needs_iterations():
    rng, group = random_population(100_000, [0.2, 0.3, 0.5], seed=8)
    proxies = make_proxies(group, T3, 3, rng)
    T_hat, p_hat = estimate_transition(proxies, n_groups=3)
    np.testing.assert_allclose(T_hat, T3, atol=0.02)
    np.testing.assert_allclose(p_hat, [0.2, 0.3, 0.5], atol=0.02)
    T_one_step, _ = estimate_transition(proxies, n_groups=3, max_iter=1)
    assert np.abs(T_one_step - T3).max() > 0.03  # one step is not a fit


def test_hoc_start_matters_only_through_its_basin():
    rng, group = random_population(20_000, [0.5, 0.5], seed=9)
    proxies = make_proxies(group, T_WEAK, 3, rng)
    a, _ = estimate_transition(proxies, init_diagonal=0.6)
    b, _ = estimate_transition(proxies, init_diagonal=0.95)
    np.testing.assert_allclose(a, b, atol=1e-4)
    with pytest.raises(ValueError, match="init_diagonal must lie in"):
        estimate_transition(proxies, init_diagonal=0.5)
    with pytest.raises(ValueError, match="init_diagonal must lie in"):
        estimate_transition(proxies, init_diagonal=1.0)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        estimate_transition(proxies, max_iter=0)


def test_hoc_warns_when_proxies_are_worse_than_chance_for_a_group():
    rng, group = random_population(20_000, [0.5, 0.5], seed=10)
    # group 1 is called 0 more often than 1: no labelling makes T diagonally dominant
    useless = make_proxies(group, np.array([[0.8, 0.2], [0.6, 0.4]]), 3, rng)
    with pytest.warns(RuntimeWarning, match="not diagonally dominant"):
        estimate_transition(useless)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate_transition(make_proxies(group, T_WEAK, 3, rng))


# ---------------------------------------------------------------------------- pipeline
def test_perfect_proxies_give_the_exact_gap():
    rng, group = random_population(5_000, [0.4, 0.6], seed=11)
    pred = (rng.random(group.size) < np.array([0.3, 0.55])[group]).astype(int)
    truth = dp_gap(fairness_matrix(pred, group))
    out = calibrated_dp_gap(pred, np.column_stack([group] * 3))
    assert out["direct"] == pytest.approx(truth, abs=1e-12)
    assert out["calibrated"] == pytest.approx(truth, abs=1e-3)
    np.testing.assert_allclose(out["T_hat"], np.eye(2), atol=1e-3)


def test_pipeline_direct_uses_the_first_proxy_and_calibration_fixes_it():
    rng, group = random_population(30_000, [0.49, 0.51], seed=12)
    pred = (rng.random(group.size) < np.array([0.35, 0.6])[group]).astype(int)
    proxies = make_proxies(group, T_WEAK, 3, rng)
    truth = dp_gap(fairness_matrix(pred, group))
    out = calibrated_dp_gap(pred, proxies)
    assert out["direct"] == pytest.approx(
        dp_gap(fairness_matrix(pred, proxies[:, 0])), abs=1e-15
    )
    assert out["direct"] < 0.6 * truth
    assert abs(out["calibrated"] - truth) < 0.03
    local = calibrated_dp_gap(pred, proxies, local=True)
    assert isinstance(local["T_hat"], list) and len(local["T_hat"]) == 2
    assert abs(local["calibrated"] - truth) < 0.06
    np.testing.assert_allclose(local["T_hat"][0], T_WEAK, atol=0.05)


def test_pipeline_rejects_bad_input():
    with pytest.raises(ValueError, match="pred and proxies must have the same length"):
        calibrated_dp_gap([0, 1], np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match="proxies must have exactly 3 columns"):
        calibrated_dp_gap([0, 1], np.zeros((2, 4), dtype=int))
    rng, group = random_population(2_000, [0.5, 0.5], seed=13)
    pred = np.zeros(group.size, dtype=int)
    pred[:5] = 1
    with pytest.raises(ValueError, match="pred has only 5 rows of class 1"):
        calibrated_dp_gap(pred, make_proxies(group, T_WEAK, 3, rng), local=True)


# ----------------------------------------------------------------------------- privacy
def test_majority_vote_by_hand():
    proxies = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(majority_vote(proxies), [0, 1, 1, 0])
    np.testing.assert_array_equal(majority_vote([[2, 2], [1, 0]]), [2, 0])


def test_vote_accuracy_closed_form_and_simulation():
    T = np.array([[0.7, 0.3], [0.4, 0.6]])
    p = np.array([0.5, 0.5])
    by_hand = 0.5 * (0.7**3 + 3 * 0.7**2 * 0.3) + 0.5 * (0.6**3 + 3 * 0.6**2 * 0.4)
    assert vote_accuracy(T, p) == pytest.approx(by_hand, abs=1e-12)
    assert vote_accuracy(T, p, n_proxies=1) == pytest.approx(0.65, abs=1e-12)
    assert vote_accuracy(T, p, n_proxies=5) > vote_accuracy(T, p)
    rng, group = random_population(200_000, p, seed=14)
    counted = np.mean(majority_vote(make_proxies(group, T, 3, rng)) == group)
    assert counted == pytest.approx(by_hand, abs=0.005)


def test_vote_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="n_proxies must be odd"):
        vote_accuracy(T_WEAK, [0.5, 0.5], n_proxies=2)
    with pytest.raises(ValueError, match="T must be 2x2"):
        vote_accuracy(T3, [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="n_proxies must be an integer >= 1"):
        vote_accuracy(T_WEAK, [0.5, 0.5], n_proxies=0)


# -------------------------------------------------------------------------- simulation
def test_proxy_transition_values():
    np.testing.assert_allclose(proxy_transition(0.7), [[0.75, 0.25], [0.35, 0.65]])
    np.testing.assert_allclose(
        proxy_transition(0.9, skew=0.0), [[0.9, 0.1], [0.1, 0.9]]
    )
    np.testing.assert_allclose(
        proxy_transition(0.8, skew=0.02), [[0.82, 0.18], [0.22, 0.78]]
    )
    with pytest.raises(ValueError, match="error rates in"):
        proxy_transition(0.5)
    with pytest.raises(ValueError, match="error rates in"):
        proxy_transition(1.0)


def test_make_proxies_follow_T_and_are_independent():
    rng, group = random_population(100_000, [0.2, 0.3, 0.5], seed=15)
    proxies = make_proxies(group, T3, 4, rng)
    assert proxies.shape == (100_000, 4)
    empirical = confusion_matrix(np.repeat(group, 4), proxies.ravel(), normalize="true")
    np.testing.assert_allclose(empirical, T3, atol=0.01)
    in_group = proxies[group == 2]
    assert abs(np.corrcoef(in_group[:, 0], in_group[:, 1])[0, 1]) < 0.02


def test_gamma_keeps_T_but_makes_proxies_err_together():
    rng, group = random_population(100_000, [0.5, 0.5], seed=16)
    driver = rng.poisson(3.0, size=group.size)
    proxies = make_proxies(group, T_WEAK, 3, rng, driver=driver, gamma=0.5)
    empirical = confusion_matrix(np.repeat(group, 3), proxies.ravel(), normalize="true")
    np.testing.assert_allclose(empirical, T_WEAK, atol=0.01)
    in_group = proxies[group == 1]
    assert np.corrcoef(in_group[:, 0], in_group[:, 1])[0, 1] > 0.1
    high = driver[group == 1] > np.median(driver[group == 1])
    assert in_group[high].mean() > in_group[~high].mean() + 0.1  # errs with the driver


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rng": None}, "rng must be a numpy Generator"),
        ({"gamma": 1.0}, "gamma must lie in"),
        ({"gamma": -0.1}, "gamma must lie in"),
        ({"gamma": 0.3}, "driver is required"),
        (
            {"gamma": 0.3, "driver": [1.0, 2.0]},
            "group and driver must have the same len",
        ),
        ({"n_proxies": 0}, "n_proxies must be an integer >= 1"),
    ],
)
def test_make_proxies_rejects_bad_input(kwargs, message):
    args = {"rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ValueError, match=message):
        make_proxies([0, 1, 1], T_WEAK, **args)


def test_make_proxies_gamma_needs_two_groups():
    with pytest.raises(ValueError, match="gamma > 0 needs two groups"):
        make_proxies(
            [0, 1, 2],
            T3,
            rng=np.random.default_rng(0),
            driver=[1.0, 2.0, 3.0],
            gamma=0.2,
        )


def test_simulated_population():
    data = simulate_population(20_000, np.random.default_rng(17))
    assert data["X"].shape == (20_000, 6)
    assert data["group"].mean() == pytest.approx(0.51, abs=0.015)
    assert data["priors"][data["group"] == 1].mean() == pytest.approx(4.2, abs=0.1)
    assert data["priors"][data["group"] == 0].mean() == pytest.approx(2.0, abs=0.1)
    assert 0.3 < data["y"].mean() < 0.8
    # the group is not a feature, but it shifts the arrests: the features carry it
    np.testing.assert_array_equal(data["X"][:, 0], data["priors"])
    again = simulate_population(20_000, np.random.default_rng(17))
    np.testing.assert_array_equal(again["y"], data["y"])
    other = simulate_population(1_000, np.random.default_rng(0), base_rate=0.2)
    assert other["group"].mean() == pytest.approx(0.2, abs=0.04)


@pytest.mark.parametrize(
    "n, rng, base_rate, message",
    [
        (0, np.random.default_rng(0), 0.5, "n must be an integer >= 1"),
        (10, 0, 0.5, "rng must be a numpy Generator"),
        (10, np.random.default_rng(0), 1.0, "base_rate must lie in"),
    ],
)
def test_simulated_population_rejects_bad_input(n, rng, base_rate, message):
    with pytest.raises(ValueError, match=message):
        simulate_population(n, rng, base_rate=base_rate)


def test_simulated_features_follow_the_documented_model():
    data = simulate_population(200_000, np.random.default_rng(18))
    np.testing.assert_allclose(
        np.bincount(data["age_band"]) / 200_000, [0.25, 0.55, 0.20], atol=0.005
    )
    assert data["male"].mean() == pytest.approx(0.8, abs=0.005)
    assert data["felony"].mean() == pytest.approx(0.65, abs=0.005)
    logit = (
        -1.1
        + 0.75 * np.log1p(data["priors"])
        + np.array([0.6, 0.0, -0.7])[data["age_band"]]
        + 0.3 * data["male"]
        + 0.2 * data["felony"]
    )
    expected = 1.0 / (1.0 + np.exp(-logit))
    for band in range(3):
        rows = data["age_band"] == band
        assert data["y"][rows].mean() == pytest.approx(expected[rows].mean(), abs=0.006)
    np.testing.assert_array_equal(data["X"][:, 1], data["age_band"] == 0)
    np.testing.assert_array_equal(data["X"][:, 5], np.log1p(data["priors"]))


def test_clipping_caps_rates_at_one_before_renormalizing():
    T = np.array([[0.9, 0.1], [0.1, 0.9]])
    H_noisy = np.array([[0.95, 0.05, 0.0], [0.0, 0.2, 0.8]])
    half = np.array([0.5, 0.5])
    raw = calibrate_fairness_matrix(H_noisy, half, T, half, clip=False)
    # inverse of T^T: [[1.125, -0.125], [-0.125, 1.125]], so row 0 = 1.125 H0 - 0.125 H1
    np.testing.assert_allclose(raw[0], [1.06875, 0.03125, -0.1], atol=1e-12)
    clipped = calibrate_fairness_matrix(H_noisy, half, T, half)
    np.testing.assert_allclose(
        clipped[0], np.array([1.0, 0.03125, 0.0]) / 1.03125, atol=1e-12
    )
