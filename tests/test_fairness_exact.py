"""Exact values, boundaries and error messages of utils.fairness (chapter 03).

Written to kill the mutants that tests/test_fairness.py lets survive (``python3 course.py
mutate fairness``): the arguments' names in the error messages, the boundaries of the checks,
three groups and three classes where two would hide a swapped shape, and the calibration and
Local pipeline against plain reference computations (explicit inverses and loops).
"""

import re
import warnings

import numpy as np
import pytest
from scipy.stats import binom, norm

from utils import fairness as F

T2 = np.array([[0.8, 0.2], [0.3, 0.7]])
P2 = np.array([0.4, 0.6])
H2 = np.array([[0.7, 0.3], [0.4, 0.6]])
T_WEAK = np.array([[0.75, 0.25], [0.35, 0.65]])

ERRORS = [
    (
        lambda: F.noisy_fairness_matrix(H2, T2, [0.4, 0.6 + 5e-6]),
        "p must sum to 1, got 1.00001",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, T2, [1.0, 0.0]),
        "p must be positive: group 1 has prior 0, and an empty group's row of H is undefined",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, T2, [0.0, 1.0]),
        "p must be positive: group 0 has prior 0, and an empty group's row of H is undefined",
    ),
    (
        lambda: F.noisy_fairness_matrix([0.7, 0.3], T2, P2),
        "H must be 2-D, got shape (2,)",
    ),
    (
        lambda: F.fairness_matrix([0, 1, 1], [0, 0, 2]),
        "group 1 has no rows: its fairness-matrix row P(f | A = i) is undefined",
    ),
    (
        lambda: F.dp_gap([[0.5, np.nan], [0.5, 0.5]]),
        "H must be finite; its element 1 (flat index) is nan",
    ),
    (lambda: F.dp_gap([0.5, 0.5]), "H must be 2-D, got shape (2,)"),
    (
        lambda: F.dp_gap([[0.5, 0.5], [1.5, -0.5]]),
        "H must hold probabilities in [0, 1]; element 2 (flat index) is 1.5",
    ),
    (
        lambda: F.dp_gap([[0.5, 0.5], [-1e-9, 1.0]]),
        "H must hold probabilities in [0, 1]; element 2 (flat index) is -1e-09",
    ),
    (
        lambda: F.equalized_odds_gaps([0, 1, -1, 0], [0, 1, 1, 0], [0, 1, 0, 1]),
        "pred must hold integer ids 0, 1, ...; element 2 (flat index) is -1.0",
    ),
    (
        lambda: F.equalized_odds_gaps(
            [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 2, 1], n_groups=2
        ),
        "group holds id 2 (flat index 2), out of range for 2 values (ids 0..1)",
    ),
    (
        lambda: F.equalized_odds_gaps([0, 1, 1], [0, 1, 1, 0], [0, 1, 0, 1]),
        "pred and y and group must have the same length, got 3 and 4 and 4",
    ),
    (
        lambda: F.equalized_odds_gaps([0, 1, 1, 0], [0, 1, 1], [0, 1, 0, 1]),
        "pred and y and group must have the same length, got 4 and 3 and 4",
    ),
    (
        lambda: F.equalized_odds_gaps([0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0]),
        "pred and y and group must have the same length, got 4 and 4 and 3",
    ),
    (
        lambda: F.normalized_error([0.2, 0.3], 0.25),
        "estimate must be 0-D, got shape (2,)",
    ),
    (lambda: F.normalized_error(0.2, [0.25]), "truth must be 0-D, got shape (1,)"),
    (
        lambda: F.normalized_error(0.2, np.nan),
        "truth must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: F.calibrate_fairness_matrix([[0.7, np.nan], [0.4, 0.6]], P2, T2, P2),
        "H_noisy must hold probabilities in [0, 1]; H_noisy[1] = nan (1 bad value(s))",
    ),
    (
        lambda: F.calibrate_fairness_matrix([0.7, 0.3], P2, T2, P2),
        "H_noisy must be 2-D, got shape (2,)",
    ),
    (
        lambda: F.estimate_transition(np.zeros((6, 3), int), n_groups=1),
        "n_groups must be an integer >= 2, got 1",
    ),
    (
        lambda: F.estimate_transition(np.zeros((6, 3), int), init_diagonal=np.nan),
        "init_diagonal must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: F.estimate_transition(np.zeros((6, 3), int), init_diagonal=[0.8]),
        "init_diagonal must be 0-D, got shape (1,)",
    ),
    (
        lambda: F.estimate_transition(np.zeros((6, 3), int), init_diagonal=0.4),
        "init_diagonal must lie in (1/K, 1) = (0.5, 1), got 0.4",
    ),
    (
        lambda: F.estimate_transition(
            np.zeros((6, 3), int), n_groups=4, init_diagonal=0.2
        ),
        "init_diagonal must lie in (1/K, 1) = (0.25, 1), got 0.2",
    ),
    (
        lambda: F.calibrated_dp_gap([0, 1], np.zeros((2, 3), int), n_groups=1),
        "n_groups must be an integer >= 2, got 1",
    ),
    (
        lambda: F.calibrated_dp_gap([0, 1], [[0, 1, 2], [0, 0, 1]]),
        "proxies holds id 2 (flat index 2), out of range for 2 values (ids 0..1)",
    ),
    (
        lambda: F.calibrated_dp_gap([0, -1], [[0, 1, 1], [0, 0, 1]]),
        "pred must hold integer ids 0, 1, ...; element 1 (flat index) is -1.0",
    ),
    (
        lambda: F.calibrated_dp_gap(
            [0, 1, 1], [[0, 1, 1], [1, 0, 2], [1, 1, 2]], n_groups=3
        ),
        "group 2 has no rows: its fairness-matrix row P(f | A = i) is undefined",
    ),
    (lambda: F.majority_vote([0, 1, 1]), "proxies must be 2-D, got shape (3,)"),
    (
        lambda: F.vote_accuracy([[0.8, np.nan], [0.3, 0.7]], P2),
        "T must be finite; its element 1 (flat index) is nan",
    ),
    (lambda: F.vote_accuracy([0.8, 0.2], P2), "T must be 2-D, got shape (2,)"),
    (
        lambda: F.noisy_fairness_matrix(H2, [[0.8, 0.1, 0.1], [0.3, 0.6, 0.1]], P2),
        "T must be a square [K, K] matrix with K >= 2, got shape (2, 3)",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, [[1.0]], P2),
        "T must be a square [K, K] matrix with K >= 2, got shape (1, 1)",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, [[1.2, -0.2], [0.3, 0.7]], P2),
        "T must hold probabilities in [0, 1]",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, [[1.5, 0.0], [0.3, 0.7]], P2),
        "T must hold probabilities in [0, 1]",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, [[0.8, 0.2], [0.3, 0.7 + 5e-6]], P2),
        "each row of T must sum to 1 (row i is P(proxy | A = i)); row 1 sums to 1.00001",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, [[0.8, 0.2], [0.3, 0.6]], P2),
        "each row of T must sum to 1 (row i is P(proxy | A = i)); row 1 sums to 0.9",
    ),
    (
        lambda: F.noisy_fairness_matrix(H2, [[0.8, 0.3], [0.3, 0.7]], P2),
        "each row of T must sum to 1 (row i is P(proxy | A = i)); row 0 sums to 1.1",
    ),
    (
        lambda: F.make_proxies([0, 1], T2, rng=0),
        "rng must be a numpy Generator (use course.rng)",
    ),
    (
        lambda: F.make_proxies([0, 2], T2, rng=np.random.default_rng(0)),
        "group holds id 2 (flat index 1), out of range for 2 values (ids 0..1)",
    ),
    (
        lambda: F.make_proxies([0, 1], T2, rng=np.random.default_rng(0), gamma=[0.5]),
        "gamma must be 0-D, got shape (1,)",
    ),
    (
        lambda: F.make_proxies([0, 1], T2, rng=np.random.default_rng(0), gamma=np.nan),
        "gamma must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: F.make_proxies([0, 1], T2, rng=np.random.default_rng(0), gamma=0.5),
        "driver is required when gamma > 0",
    ),
    (
        lambda: F.make_proxies(
            [0, 1], T2, rng=np.random.default_rng(0), gamma=0.5, driver=[[1.0, 2.0]]
        ),
        "driver must be 1-D, got shape (1, 2)",
    ),
    (
        lambda: F.make_proxies(
            [0, 1], T2, rng=np.random.default_rng(0), gamma=0.5, driver=[1.0, np.nan]
        ),
        "driver must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: F.consensus_statistics(np.zeros((4, 2), int)),
        "proxies must have exactly 3 columns, got 2: three conditionally independent "
        "proxies identify T, two do not (their agreement counts leave a family of "
        "solutions)",
    ),
    (lambda: F.model_consensus([0.5, 0.5], P2), "T must be 2-D, got shape (2,)"),
    (
        lambda: F.model_consensus([[0.5, np.nan], [0.5, 0.5]], P2),
        "T must hold probabilities in [0, 1]; T[1] = nan (1 bad value(s))",
    ),
    (
        lambda: F.model_consensus(T2, [0.5, 1.5]),
        "p must hold probabilities in [0, 1]; p[1] = 1.5 (1 bad value(s))",
    ),
    (lambda: F.model_consensus(T2, [0.2, 0.3, 0.5]), "p must have shape [2], got (3,)"),
    (
        lambda: F.majority_vote([[0, np.inf]]),
        "proxies must be finite; its element 1 (flat index) is inf",
    ),
    (
        lambda: F.vote_accuracy(T2, [0.5, 0.6]),
        "p must sum to 1, got 1.1",
    ),
    (lambda: F.proxy_transition([0.8], 0.05), "accuracy must be 0-D, got shape (1,)"),
    (
        lambda: F.proxy_transition(np.nan, 0.05),
        "accuracy must be finite; its element 0 (flat index) is nan",
    ),
    (lambda: F.proxy_transition(0.8, [0.05]), "skew must be 0-D, got shape (1,)"),
    (
        lambda: F.proxy_transition(0.8, np.inf),
        "skew must be finite; its element 0 (flat index) is inf",
    ),
    (
        lambda: F.proxy_transition(0.625, -0.125),
        "accuracy and skew must give error rates in [0, 0.5); got e0 = 0.5, e1 = 0.25 from "
        "accuracy = 0.625, skew = -0.125",
    ),
    (
        lambda: F.proxy_transition(0.625, 0.125),
        "accuracy and skew must give error rates in [0, 0.5); got e0 = 0.25, e1 = 0.5 from "
        "accuracy = 0.625, skew = 0.125",
    ),
    (
        lambda: F.simulate_population(5, 0),
        "rng must be a numpy Generator (use course.rng)",
    ),
    (
        lambda: F.simulate_population(5, np.random.default_rng(0), base_rate=[0.5]),
        "base_rate must be 0-D, got shape (1,)",
    ),
    (
        lambda: F.simulate_population(5, np.random.default_rng(0), base_rate=np.nan),
        "base_rate must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: F.simulate_population(5, np.random.default_rng(0), base_rate=0.0),
        "base_rate must lie in (0, 1), got 0.0",
    ),
]


@pytest.mark.parametrize("call, message", ERRORS, ids=[m[:50] for _, m in ERRORS])
def test_error_message_names_the_argument(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


def test_sums_within_the_tolerance_are_accepted():
    H_noisy, p_noisy = F.noisy_fairness_matrix(H2, T2, [0.4, 0.6 + 5e-7])
    assert p_noisy.sum() == pytest.approx(1.0, abs=1e-6)
    T = np.array([[0.8, 0.2 + 5e-7], [0.3, 0.7]])
    H_noisy, p_noisy = F.noisy_fairness_matrix(H2, T, P2)
    assert p_noisy.sum() == pytest.approx(1.0, abs=1e-6)


def test_dp_gap_tolerance_boundary_and_more_classes_than_groups():
    # exactly on the tolerance is accepted; two groups, three classes: TV distance
    assert F.dp_gap([[0.5, 0.5], [-1e-12, 1.0 + 1e-12]]) == pytest.approx(0.5)
    H = [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]
    assert F.dp_gap(H) == pytest.approx(0.4, abs=1e-15)


def test_equalized_odds_with_three_groups_by_hand():
    # y = 0 rows: groups 0, 1, 2 decide 1 with rates 0, 1/2, 1 -> mean pairwise gap 2/3
    # y = 1 rows: rates 1, 1, 0 -> gaps 0, 1, 1 -> 2/3
    pred = np.array([0, 0, 1, 1, 1, 1, 1, 1, 0])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    group = np.array([0, 1, 1, 2, 0, 1, 1, 0, 2])
    out = F.equalized_odds_gaps(pred, y, group, n_groups=3)
    assert out == {
        "equalized_odds": pytest.approx(2 / 3),
        "equal_opportunity": pytest.approx(2 / 3),
    }
    assert F.equalized_odds_gaps(pred, y, group) == out
    # a group absent from the y = 1 rows has no fairness-matrix row there
    with pytest.raises(ValueError, match="^group 2 has no rows"):
        F.equalized_odds_gaps(pred[:8], y[:8], group[:8], n_groups=3)
    with pytest.raises(ValueError, match="^group 2 has no rows"):  # K from all rows
        F.equalized_odds_gaps(pred[:8], y[:8], group[:8])
    with pytest.raises(ValueError, match="^group 3 has no rows"):
        F.equalized_odds_gaps(pred, y, group, n_groups=4)


def test_noisy_fairness_matrix_with_three_groups_and_two_classes():
    T3 = np.array([[0.8, 0.1, 0.1], [0.15, 0.7, 0.15], [0.05, 0.15, 0.8]])
    p3 = np.array([0.2, 0.3, 0.5])
    H3 = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    H_noisy, p_noisy = F.noisy_fairness_matrix(H3, T3, p3)
    # Bayes' rule term by term: P(proxy = j, f = k) / P(proxy = j)
    joint = np.array(
        [
            [sum(p3[i] * T3[i, j] * H3[i, k] for i in range(3)) for k in range(2)]
            for j in range(3)
        ]
    )
    np.testing.assert_allclose(p_noisy, joint.sum(1), atol=1e-15)
    np.testing.assert_allclose(H_noisy, joint / joint.sum(1, keepdims=True), atol=1e-15)
    back = F.calibrate_fairness_matrix(H_noisy, p_noisy, T3, p3)
    np.testing.assert_allclose(back, H3, atol=1e-12)
    with pytest.raises(ValueError, match=r"^H has 2 rows but T is 3x3$"):
        F.noisy_fairness_matrix(H2, T3, p3)
    with pytest.raises(ValueError, match=r"^H_noisy has 2 rows but T is 3x3$"):
        F.calibrate_fairness_matrix(H2, p3, T3, p3)


def _reference_calibration(H_noisy, p_noisy, T, p, clip=True):
    H = np.linalg.inv(T.T) @ (p_noisy[:, None] * H_noisy) / p[:, None]
    if not clip:
        return H
    out = np.empty_like(H)
    for i, row in enumerate(np.clip(H, 0.0, 1.0)):
        out[i] = row / row.sum() if row.sum() > 0 else np.full(row.size, 1.0 / row.size)
    return out


def test_calibration_clips_and_renormalizes_like_a_reference():
    rng = np.random.default_rng(20)
    clipped_rows = 0
    for _ in range(30):
        k, c = int(rng.integers(2, 4)), int(rng.integers(2, 4))
        T = rng.dirichlet(np.ones(k) * 0.5, size=k) * 0.5 + np.eye(k) * 0.5
        H_noisy = rng.dirichlet(np.ones(c), size=k)
        p_noisy, p = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        raw = _reference_calibration(H_noisy, p_noisy, T, p, clip=False)
        clipped_rows += int((np.abs(raw.sum(1) - 1) > 1e-6).sum())
        np.testing.assert_allclose(
            F.calibrate_fairness_matrix(H_noisy, p_noisy, T, p),
            _reference_calibration(H_noisy, p_noisy, T, p),
            atol=1e-10,
        )
        np.testing.assert_allclose(
            F.calibrate_fairness_matrix(H_noisy, p_noisy, T, p, clip=False),
            raw,
            atol=1e-10,
        )
    assert clipped_rows > 10  # the clipping and renormalization were exercised


def test_calibration_row_with_no_mass_becomes_uniform():
    # p_noisy is far from T^T p: group 1's solved joint row is negative in every column
    H_noisy = np.array([[0.5, 0.5], [0.5, 0.5]])
    T = np.array([[0.9, 0.1], [0.2, 0.8]])
    out = F.calibrate_fairness_matrix(
        H_noisy, np.array([0.95, 0.05]), T, np.array([0.5, 0.5])
    )
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.5, 0.5]], atol=1e-15)
    H_noisy = np.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]])
    out = F.calibrate_fairness_matrix(
        H_noisy, np.array([0.95, 0.05]), T, np.array([0.5, 0.5])
    )
    # by hand: T^T x = p_noisy * h gives x = (15/14) h and y = -(1/14) h per column, so
    # row 0 is (15/7) h before clipping (its last entry, 15/14, is clipped to 1)
    row0 = np.array([3 / 7, 9 / 14, 1.0])
    np.testing.assert_allclose(out[0], row0 / row0.sum(), atol=1e-15)
    np.testing.assert_allclose(out[1], [1 / 3, 1 / 3, 1 / 3], atol=1e-15)


def test_pipeline_with_three_groups_and_three_classes_and_perfect_proxies():
    rng = np.random.default_rng(21)
    group = rng.choice(3, size=3000, p=[0.3, 0.3, 0.4])
    rates = np.array([[0.5, 0.3, 0.2], [0.3, 0.3, 0.4], [0.1, 0.4, 0.5]])
    pred = np.array([rng.choice(3, p=rates[g]) for g in group])
    truth = F.dp_gap(F.fairness_matrix(pred, group))
    proxies = np.column_stack([group] * 3)
    for local in (False, True):
        out = F.calibrated_dp_gap(pred, proxies, n_groups=3, local=local)
        assert set(out) == {"direct", "calibrated", "T_hat", "p_hat"}
        assert out["direct"] == pytest.approx(truth, abs=1e-12)
        assert out["calibrated"] == pytest.approx(truth, abs=2e-3)
        np.testing.assert_allclose(
            out["p_hat"], np.bincount(group) / group.size, atol=2e-3
        )
        T_hat = out["T_hat"] if not local else out["T_hat"][2]
        np.testing.assert_allclose(T_hat, np.eye(3), atol=2e-3)


def test_pipeline_with_more_classes_than_groups():
    rng = np.random.default_rng(22)
    group = rng.integers(0, 2, 2000)
    pred = (group + rng.integers(0, 2, 2000)).astype(int)  # classes 0, 1, 2
    out = F.calibrated_dp_gap(pred, np.column_stack([group] * 3))
    assert out["calibrated"] == pytest.approx(
        F.dp_gap(F.fairness_matrix(pred, group)), abs=2e-3
    )


def _local_reference(seed, n, rates):
    """The paper's Local variant written out: T_k fitted on the rows with f = k, column k of
    the calibrated matrix from T_k, then clipped to [0, 1] and each row renormalized."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    pred = (rng.random(n) < np.array(rates)[group]).astype(int)
    proxies = F.make_proxies(group, T_WEAK, 3, rng)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", RuntimeWarning
        )  # small samples: weak local fits
        out = F.calibrated_dp_gap(pred, proxies, local=True)
        pooled = proxies.ravel()
        pooled_pred = np.repeat(pred, 3)
        H_noisy = np.array(
            [[np.mean(pooled_pred[pooled == j] == k) for k in (0, 1)] for j in (0, 1)]
        )
        p_noisy = np.array([np.mean(pooled == j) for j in (0, 1)])
        _, p_hat = F.estimate_transition(proxies)
        columns = []
        for k in (0, 1):
            T_k, _ = F.estimate_transition(proxies[pred == k])
            np.testing.assert_allclose(out["T_hat"][k], T_k, atol=1e-12)
            raw_k = _reference_calibration(H_noisy, p_noisy, T_k, p_hat, clip=False)
            columns.append(raw_k[:, k])
    raw = np.stack(columns, axis=1)
    H = np.clip(raw, 0.0, 1.0)
    H = H / H.sum(axis=1, keepdims=True)
    assert out["calibrated"] == pytest.approx(abs(H[0, 1] - H[1, 1]), abs=1e-9)
    np.testing.assert_allclose(out["p_hat"], p_hat, atol=1e-12)
    return raw


def test_local_pipeline_matches_a_reference_computation():
    raw = _local_reference(23, 300, [0.3, 0.6])
    assert np.abs(raw.sum(1) - 1).max() > 0.01  # the renormalization matters here
    assert (_local_reference(35, 300, [0.3, 0.6]) > 2).any()  # clipped from above
    assert (_local_reference(36, 120, [0.15, 0.85]) < 0).any()  # clipped from below


def test_local_pipeline_needs_ten_rows_per_class():
    rng = np.random.default_rng(24)
    group = rng.integers(0, 2, 400)
    proxies = F.make_proxies(group, T_WEAK, 3, rng)
    pred = np.zeros(400, dtype=int)
    pred[:10] = 1  # exactly 10 rows of class 1: allowed
    with pytest.warns(RuntimeWarning):  # from 10 rows T is noisy, and the code says so
        F.calibrated_dp_gap(pred, proxies, local=True)
    pred[9] = 0
    with pytest.raises(
        ValueError,
        match=r"^pred has only 9 rows of class 1: too few to estimate a local transition matrix$",
    ):
        F.calibrated_dp_gap(pred, proxies, local=True)


def test_vote_accuracy_with_five_proxies_closed_form():
    T = np.array([[0.8, 0.2], [0.3, 0.7]])
    p = np.array([0.4, 0.6])
    expected = 0.4 * binom.sf(2, 5, 0.8) + 0.6 * binom.sf(2, 5, 0.7)  # >= 3 of 5 right
    assert F.vote_accuracy(T, p, 5) == pytest.approx(expected, abs=1e-15)
    assert F.vote_accuracy(T, p, 1) == pytest.approx(0.4 * 0.8 + 0.6 * 0.7, abs=1e-15)


def test_proxy_transition_boundaries():
    # e0 = 0 and e1 = 0 are allowed (exact binary fractions)
    np.testing.assert_array_equal(
        F.proxy_transition(0.875, 0.125), [[1.0, 0.0], [0.25, 0.75]]
    )
    np.testing.assert_array_equal(
        F.proxy_transition(0.875, -0.125), [[0.75, 0.25], [0.0, 1.0]]
    )


def test_normal_scores_within_each_group():
    group = np.array([0, 1, 0, 1, 0, 1, 1])
    driver = np.array([3.0, 0.5, 1.0, 2.0, 2.0, -1.0, 9.0])
    scores = F._normal_scores_within(group, driver, np.random.default_rng(0))
    # group 0: driver 3, 1, 2 -> ranks 2, 0, 1 of 3; group 1: 0.5, 2, -1, 9 -> 1, 2, 0, 3 of 4
    expected = np.empty(7)
    expected[[0, 2, 4]] = norm.ppf((np.array([2, 0, 1]) + 0.5) / 3)
    expected[[1, 3, 5, 6]] = norm.ppf((np.array([1, 2, 0, 3]) + 0.5) / 4)
    np.testing.assert_allclose(scores, expected, atol=1e-15)


def test_simulate_population_types_and_feature_columns():
    pop = F.simulate_population(400, np.random.default_rng(25), base_rate=0.3)
    for key in ("group", "priors", "age_band", "male", "felony", "y"):
        assert np.issubdtype(pop[key].dtype, np.integer), key
    X = pop["X"]
    assert X.dtype == np.float64 and X.shape == (400, 6)
    np.testing.assert_array_equal(X[:, 0], pop["priors"])
    np.testing.assert_array_equal(X[:, 1], pop["age_band"] == 0)
    np.testing.assert_array_equal(X[:, 2], pop["age_band"] == 2)
    np.testing.assert_array_equal(X[:, 3], pop["male"])
    np.testing.assert_array_equal(X[:, 4], pop["felony"])
    np.testing.assert_allclose(X[:, 5], np.log1p(pop["priors"]), atol=1e-15)
    assert set(np.unique(pop["age_band"])) == {0, 1, 2}


def test_initial_transition_of_the_fit():
    np.testing.assert_allclose(
        F._initial_transition(3, 0.7),
        [[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]],
    )
    np.testing.assert_allclose(F._initial_transition(2, 0.8), [[0.8, 0.2], [0.2, 0.8]])


def test_useless_proxies_warn():
    rng = np.random.default_rng(26)
    group = rng.integers(0, 2, 3000)
    useless = F.make_proxies(group, np.array([[0.8, 0.2], [0.6, 0.4]]), 3, rng)
    message = (
        "the estimated T is not diagonally dominant: the fit may have swapped group "
        "labels, or the proxies are no better than chance"
    )
    with pytest.warns(RuntimeWarning, match=f"^{re.escape(message)}$"):
        F.estimate_transition(useless)


def test_singular_and_nearly_singular_transition_matrices():
    with pytest.raises(
        ValueError,
        match=r"^T is singular \(condition number .+\): proxies whose guesses do not "
        r"depend on A carry no information$",
    ):
        F.noisy_fairness_matrix(H2, [[0.5, 0.5], [0.5, 0.5]], P2)
    message = (
        "T is nearly singular (condition number 1.67e+03): the proxies are barely better "
        "than chance and calibration will amplify noise"
    )
    with pytest.warns(RuntimeWarning, match=f"^{re.escape(message)}$"):
        F.noisy_fairness_matrix(H2, [[0.5003, 0.4997], [0.4997, 0.5003]], P2)


def test_make_proxies_default_count_and_integer_output():
    rng = np.random.default_rng(27)
    group = rng.integers(0, 2, 50)
    out = F.make_proxies(group, T2, rng=rng)
    assert out.shape == (50, 3) and np.issubdtype(out.dtype, np.integer)
    out = F.make_proxies(group, T2, 2, rng=rng, driver=rng.normal(size=50), gamma=0.5)
    assert out.shape == (50, 2) and np.issubdtype(out.dtype, np.integer)


def test_normal_scores_within_three_groups():
    group = np.array([2, 0, 1, 2, 0, 2])
    driver = np.array([5.0, 1.0, 7.0, -2.0, 0.0, 3.0])
    scores = F._normal_scores_within(group, driver, np.random.default_rng(0))
    expected = np.empty(6)
    expected[[1, 4]] = norm.ppf((np.array([1, 0]) + 0.5) / 2)
    expected[2] = norm.ppf(0.5)
    expected[[0, 3, 5]] = norm.ppf((np.array([2, 0, 1]) + 0.5) / 3)
    np.testing.assert_allclose(scores, expected, atol=1e-15)
