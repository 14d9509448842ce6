"""Exact values, boundaries and error messages of utils.voting (chapter 04).

Written to kill the mutants that tests/test_voting.py lets survive (``python3 course.py mutate
voting``): the arguments' names in the error messages, the stable tie rule, the swapping bias's
budget and pair probabilities, and the greedy Chamberlin-Courant rule against a plain
reference implementation.
"""

import re

import numpy as np
import pytest

from utils.voting import (
    committee_score,
    constrained_top_k,
    count_g2_above_g1,
    estimate_alpha,
    greedy_constrained_cc,
    item_scores,
    multiplicative_bias,
    position_weights,
    positions_from_utilities,
    quality_ratio,
    recovery_score,
    sample_utilities,
    swapping_bias,
    top_k,
)

SCORES = np.array([6.0, 7.0, 4.0, 1.0])
GROUP = np.array([0, 1, 0, 1])
LAT = np.array([[4.0, 2.0, 6.0], [6.0, 4.0, 2.0]])
RNG = np.random.default_rng  # a fresh generator per call keeps the cases independent

ERRORS = [
    (
        lambda: position_weights("bloc", 4),
        "t is required for rule='bloc' (a t-Bloc vote approves its top t)",
    ),
    (lambda: position_weights("borda", 0), "m must be in >= 1, got 0"),
    (lambda: position_weights("bloc", 4, t=5), "t must be in [1, 4], got 5"),
    (
        lambda: item_scores(np.array([0, 1, 2]), "borda"),
        "positions must be 2-D, got shape (3,)",
    ),
    (
        lambda: item_scores(np.array([[0, 1, 2], [0, 1, 1]]), "borda"),
        "positions: every row must be a permutation of 0..2; row 1 is [0, 1, 1]",
    ),
    (
        lambda: committee_score(SCORES, np.array([[0, 1]])),
        "committee must be a non-empty 1-D array of item ids",
    ),
    (
        lambda: committee_score(SCORES, np.array([0.0])),
        "committee must hold integer item ids",
    ),
    (
        lambda: committee_score(SCORES, np.array([1, 1])),
        "committee must not repeat an item",
    ),
    (lambda: top_k(np.ones((2, 2)), 1), "scores must be 1-D, got shape (2, 2)"),
    (
        lambda: top_k(np.array([np.nan, 1.0]), 1),
        "scores must be finite; its element 0 (flat index) is nan",
    ),
    (lambda: top_k(SCORES, 5), "k must be in [1, 4], got 5"),
    (
        lambda: constrained_top_k(SCORES, np.array([[0, 1, 0, 1]]), 2, 1),
        "group must be 1-D, got shape (1, 4)",
    ),
    (lambda: constrained_top_k(SCORES, GROUP, 5, 1), "k must be in [1, 4], got 5"),
    (
        lambda: constrained_top_k(SCORES, [0, 1, 1, 1], 3, 1),
        "k - ell = 2 exceeds the size of group G1 (1)",
    ),
    (
        lambda: quality_ratio(np.array([1.0, np.nan]), np.array([0])),
        "latent_scores must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: quality_ratio(np.array([1.0, -1.0]), np.array([0])),
        "latent_scores must be non-negative (scores are sums of points)",
    ),
    (
        lambda: quality_ratio(np.zeros(3), np.array([0])),
        "latent_scores: the best committee scores 0, the ratio is undefined",
    ),
    (
        lambda: recovery_score(np.inf, 0.9, 0.5),
        "ratio_biased must be finite; its element 0 (flat index) is inf",
    ),
    (
        lambda: recovery_score(0.5, np.nan, 0.5),
        "ratio_unbiased must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: recovery_score(0.5, 0.9, [0.1, np.nan]),
        "ratio_random must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: recovery_score(0.5, 0.5, 0.5),
        "ratio_unbiased must exceed ratio_random (else R is undefined)",
    ),
    (
        lambda: sample_utilities([0.0, np.nan], 2, RNG(0)),
        "log_quality must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: positions_from_utilities(np.array([0.0, 1.0, 2.0])),
        "utilities must be 2-D, got shape (3,)",
    ),
    (
        lambda: multiplicative_bias(np.array([0.0, 1.0, 2.0, 3.0]), GROUP, 0.5),
        "utilities must be 2-D, got shape (4,)",
    ),
    (
        lambda: swapping_bias(np.array([[0, 1, 2, 3]]), GROUP, True, 0.5, RNG(0)),
        "frac must be in [0, 1], got True",
    ),
    (
        lambda: swapping_bias(np.array([[0, 1, 2, 3]]), GROUP, 0.5, True, RNG(0)),
        "phi must be in (0, 1], got True",
    ),
    (
        lambda: estimate_alpha(LAT[0], LAT, n=2, tau1=1.0),
        "latent_scores must be 2-D, got shape (3,)",
    ),
    (
        lambda: estimate_alpha(LAT, LAT[0], n=2, tau1=1.0),
        "biased_scores must be 2-D, got shape (3,)",
    ),
    (
        lambda: estimate_alpha(LAT, LAT, n=2, tau1=np.inf),
        "tau1 must be a positive finite number, got inf",
    ),
]


@pytest.mark.parametrize("call, message", ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_error_message_names_the_argument(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


def test_boundaries_that_are_valid():
    np.testing.assert_array_equal(position_weights("bloc", 4, t=1), [1, 0, 0, 0])
    assert sample_utilities([0.0, 1.0], 1, RNG(0)).shape == (1, 2)
    assert estimate_alpha(LAT, LAT, n=1, tau1=1.0) == pytest.approx(3.0)
    out = recovery_score(0.8, 0.9, 0.5)
    assert type(out) is float and out == pytest.approx(0.75)


def test_estimate_alpha_takes_the_minimum_per_item():
    # latent means per item: 1 and 9 (mean of all 5); biased means 6 and 6
    latent = np.array([[0.0, 8.0], [2.0, 10.0]])
    biased = np.full((2, 2), 6.0)
    assert estimate_alpha(latent, biased, n=2, tau1=4.0) == pytest.approx(1 / 8)


def test_ties_keep_the_lower_index_in_long_arrays():
    # quicksort is not stable beyond 16 elements: these cases tell the sorts apart
    scores = np.zeros(40)
    scores[[30, 5]] = 1.0
    group = np.zeros(40, dtype=int)
    group[20:] = 1
    np.testing.assert_array_equal(
        constrained_top_k(scores, group, 6, 3), [5, 0, 1, 30, 20, 21]
    )
    utilities = np.zeros((2, 40))
    utilities[:, [30, 5]] = 1.0
    positions = positions_from_utilities(utilities)
    np.testing.assert_array_equal(np.argsort(positions[0])[:5], [5, 30, 0, 1, 2])


def test_swapping_bias_spends_exactly_the_budget_of_adjacent_swaps():
    # with phi tiny only adjacent pairs are swapped, and each removes exactly one pair
    rng = np.random.default_rng(11)
    positions = np.argsort(rng.random((300, 7)), axis=1).argsort(axis=1)
    group = np.array([1, 0, 1, 1, 0, 0, 1])
    before = count_g2_above_g1(positions, group)
    for frac in (0.25, 0.5):
        biased = swapping_bias(positions, group, frac, 1e-12, rng)
        after = count_g2_above_g1(biased, group)
        np.testing.assert_array_equal(after, before - np.floor(frac * before))


def test_swapping_bias_leaves_votes_with_no_budget_alone():
    # vote 0 has one G2-above-G1 pair (budget floor(0.5) = 0); vote 1 has two (budget 1)
    group = np.array([1, 0, 0])
    positions = np.array([[1, 0, 2], [0, 1, 2]])
    biased = swapping_bias(positions, group, 0.5, 0.5, RNG(0))
    np.testing.assert_array_equal(biased[0], [1, 0, 2])
    assert count_g2_above_g1(biased, group).tolist() == [1, 1]


def test_swapping_bias_with_one_g1_item_or_an_empty_group():
    group = np.array(
        [1, 1, 0]
    )  # one G1 item, last in the vote: both G2 items are above it
    biased = swapping_bias(np.array([[0, 1, 2]]), group, 1.0, 1e-12, RNG(0))
    np.testing.assert_array_equal(biased, [[1, 2, 0]])  # it climbs to the top
    same = np.array([[2, 0, 1]])
    np.testing.assert_array_equal(
        swapping_bias(same, np.ones(3, int), 1.0, 0.5, RNG(0)), same
    )


def test_swapping_bias_three_pair_probabilities():
    # G2 item on top, G1 items at places 1, 2, 3: one swap (frac 1/3 of 3 pairs) picks the
    # pair at distance d with probability phi**(d - 1) / (1 + phi + phi**2)
    n, phi = 8000, 0.5
    positions = np.tile([0, 1, 2, 3], (n, 1))
    group = np.array([1, 0, 0, 0])
    biased = swapping_bias(positions, group, 1 / 3, phi, RNG(12))
    top = np.argmin(biased, axis=1)  # the G1 item that took place 0
    freq = np.bincount(top, minlength=4)[1:] / n
    np.testing.assert_allclose(freq, np.array([4, 2, 1]) / 7, atol=0.02)


def _reference_greedy_cc(positions, group, k, ell):
    """Greedy Chamberlin-Courant with loops: the marginal gain of each allowed item."""
    n, m = positions.shape
    seats = {0: k - ell, 1: ell}
    chosen = []
    for _ in range(k):
        best_item, best_gain = None, None
        for i in range(m):
            if i in chosen or seats[int(group[i])] == 0:
                continue
            gain = 0
            for v in range(n):
                now = max((m - 1 - positions[v, j] for j in chosen), default=0)
                gain += max(m - 1 - positions[v, i] - now, 0)
            if best_gain is None or gain > best_gain:
                best_item, best_gain = i, gain
        chosen.append(best_item)
        seats[int(group[best_item])] -= 1
    return chosen


def test_greedy_cc_matches_a_reference_implementation():
    rng = np.random.default_rng(13)
    for trial in range(40):
        n, m = int(rng.integers(1, 6)), int(rng.integers(3, 8))
        positions = np.argsort(rng.random((n, m)), axis=1).argsort(axis=1)
        group = rng.integers(0, 2, m)
        g2 = int(group.sum())
        k = int(rng.integers(1, m + 1))
        for ell in range(max(0, k - (m - g2)), min(k, g2) + 1):
            expected = _reference_greedy_cc(positions, group, k, ell)
            got = greedy_constrained_cc(positions, group, k, ell).tolist()
            assert got == expected, (trial, positions.tolist(), group.tolist(), k, ell)


def test_greedy_cc_never_repeats_an_item_once_gains_are_zero():
    # one vote: after its top item every gain is 0, and the next pick must be a new item
    np.testing.assert_array_equal(
        greedy_constrained_cc(np.array([[0, 1, 2]]), np.zeros(3, int), 3, 0), [0, 1, 2]
    )
