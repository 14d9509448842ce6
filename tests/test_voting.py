"""Tests of utils.voting (chapter 04): scores, selections, biases, smoothness."""

from itertools import combinations

import numpy as np
import pytest
from scipy.stats import rankdata

from utils.voting import (
    RULES,
    chamberlin_courant_score,
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
    random_fill,
    recovery_score,
    sample_rankings,
    sample_utilities,
    swapping_bias,
    top_k,
)

# A hand-checked profile: 3 votes over 4 items, as positions (0 = top).
#   vote 0: a > b > c > d    vote 1: b > a > d > c    vote 2: c > b > a > d
PROFILE = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 1, 0, 3]])
GROUP4 = np.array([0, 1, 0, 1])  # items b and d are in G2


def random_profile(rng, n, m):
    return np.argsort(rng.random((n, m)), axis=1).argsort(axis=1)


# ------------------------------------------------------------------------ score
# functions
def test_position_weights_exact():
    np.testing.assert_array_equal(position_weights("borda", 4), [3, 2, 1, 0])
    np.testing.assert_array_equal(position_weights("bloc", 4, t=2), [1, 1, 0, 0])
    np.testing.assert_array_equal(position_weights("bloc", 4, t=4), [1, 1, 1, 1])
    np.testing.assert_array_equal(position_weights("sntv", 4), [1, 0, 0, 0])
    np.testing.assert_array_equal(position_weights("borda", 1), [0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rule="plurality", m=4), "rule"),
        (dict(rule="bloc", m=4), "t is required"),
        (dict(rule="bloc", m=4, t=0), "t must"),
        (dict(rule="bloc", m=4, t=5), "t must"),
        (dict(rule="borda", m=0), "m must"),
        (dict(rule="borda", m=2.5), "m must"),
    ],
)
def test_position_weights_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        position_weights(**kwargs)


def test_item_scores_by_hand():
    np.testing.assert_array_equal(item_scores(PROFILE, "borda"), [6, 7, 4, 1])
    np.testing.assert_array_equal(item_scores(PROFILE, "sntv"), [1, 1, 1, 0])
    np.testing.assert_array_equal(item_scores(PROFILE, "bloc", t=2), [2, 3, 1, 0])


def test_borda_equals_scipy_ranks():
    rng = np.random.default_rng(0)
    utilities = rng.normal(size=(40, 9))
    positions = positions_from_utilities(utilities)
    np.testing.assert_array_equal(
        positions, rankdata(-utilities, axis=1, method="ordinal") - 1
    )
    borda = (rankdata(utilities, axis=1) - 1).sum(axis=0)  # points = items below
    np.testing.assert_allclose(item_scores(positions, "borda"), borda)
    firsts = np.bincount(utilities.argmax(axis=1), minlength=9)
    np.testing.assert_array_equal(item_scores(positions, "sntv"), firsts)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0, 1, 1]]), "permutation"),
        (np.array([[0, 1, 3]]), "permutation"),
        (np.array([0, 1, 2]), "2-D"),
        (np.array([[0.0, 1.5, 2.0]]), "integer"),
        (np.array([[0, np.nan, 1]]), "finite"),
        (np.zeros((2, 0)), "empty|no items"),
    ],
)
def test_positions_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        item_scores(bad, "borda")


def test_committee_score_and_errors():
    scores = np.array([5.0, 1.0, 3.0])
    assert committee_score(scores, np.array([0, 2])) == 8.0
    for bad, match in [
        (np.array([0, 3]), r"\[0, 2\]"),
        (np.array([0, 0]), "repeat"),
        (np.array([], dtype=int), "non-empty"),
        (np.array([0.0]), "integer"),
        (np.array([-1]), r"\[0, 2\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            committee_score(scores, bad)


# ------------------------------------------------------------------------------
# selections
def test_top_k_ties_and_values():
    np.testing.assert_array_equal(top_k(np.array([1.0, 3.0, 3.0, 0.0, 3.0]), 2), [1, 2])
    np.testing.assert_array_equal(top_k(np.array([0.0, 0.0, 0.0]), 3), [0, 1, 2])
    for k in (0, 4, 1.0):
        with pytest.raises(ValueError, match="k must"):
            top_k(np.array([1.0, 2.0, 3.0]), k)


def test_selections_match_brute_force():
    rng = np.random.default_rng(1)
    m, k = 8, 4
    for _ in range(20):
        scores = rng.integers(0, 30, size=m).astype(float) + rng.random(m) * 0.01
        group = rng.permutation(np.array([0] * 4 + [1] * 4))
        best = max(combinations(range(m), k), key=lambda s: scores[list(s)].sum())
        assert committee_score(scores, top_k(scores, k)) == pytest.approx(
            scores[list(best)].sum()
        )
        for ell in range(k + 1):
            feasible = [
                s for s in combinations(range(m), k) if group[list(s)].sum() == ell
            ]
            best_ell = max(scores[list(s)].sum() for s in feasible)
            chosen = constrained_top_k(scores, group, k, ell)
            assert group[chosen].sum() == ell and len(set(chosen.tolist())) == k
            assert committee_score(scores, chosen) == pytest.approx(best_ell)


def test_constrained_top_k_by_hand_and_errors():
    scores = np.array([6.0, 7.0, 4.0, 1.0])
    np.testing.assert_array_equal(constrained_top_k(scores, GROUP4, 2, 0), [0, 2])
    np.testing.assert_array_equal(constrained_top_k(scores, GROUP4, 2, 1), [0, 1])
    np.testing.assert_array_equal(constrained_top_k(scores, GROUP4, 2, 2), [1, 3])
    np.testing.assert_array_equal(constrained_top_k(scores, [0, 1, 1, 1], 2, 2), [1, 2])
    with pytest.raises(ValueError, match="exceeds the size of group G2"):
        constrained_top_k(scores, [0, 0, 0, 1], 2, 2)
    with pytest.raises(ValueError, match="exceeds the size of group G1"):
        constrained_top_k(scores, [0, 1, 1, 1], 2, 0)
    with pytest.raises(ValueError, match="ell must"):
        constrained_top_k(scores, GROUP4, 2, 3)
    with pytest.raises(ValueError, match="group must hold 0"):
        constrained_top_k(scores, [0, 2, 0, 1], 2, 1)
    with pytest.raises(ValueError, match="group must have one label per item"):
        constrained_top_k(scores, [0, 1, 0], 2, 1)


def test_random_fill_keeps_quota_and_g1_part():
    rng = np.random.default_rng(2)
    scores = rng.random(20)
    group = np.array([0, 1] * 10)
    seen = set()
    for _ in range(30):
        chosen = random_fill(scores, group, 6, 3, rng)
        np.testing.assert_array_equal(
            chosen[:3], constrained_top_k(scores, group, 6, 3)[:3]
        )
        assert group[chosen].sum() == 3 and len(set(chosen.tolist())) == 6
        seen.update(chosen[3:].tolist())
    assert len(seen) > 6  # the G2 members vary, they are not the top ones
    np.testing.assert_array_equal(
        random_fill(scores, group, 4, 0, rng), constrained_top_k(scores, group, 4, 0)
    )
    with pytest.raises(ValueError, match="ell must"):
        random_fill(scores, group, 4, 5, rng)


def test_quality_ratio_values_and_errors():
    latent = np.array([6.0, 7.0, 4.0, 1.0])
    assert quality_ratio(latent, np.array([0, 1])) == pytest.approx(1.0)
    assert quality_ratio(latent, np.array([2, 3])) == pytest.approx(5 / 13)
    assert quality_ratio(latent, np.array([3])) == pytest.approx(1 / 7)
    with pytest.raises(ValueError, match="non-negative"):
        quality_ratio(np.array([1.0, -1.0]), np.array([0]))
    with pytest.raises(ValueError, match="undefined"):
        quality_ratio(np.zeros(3), np.array([0]))


def test_recovery_score():
    assert recovery_score(0.9, 0.9, 0.5) == pytest.approx(1.0)
    assert recovery_score(0.5, 0.9, 0.5) == pytest.approx(0.0)
    assert recovery_score(0.8, 0.9, 0.5) == pytest.approx(0.75)
    np.testing.assert_allclose(
        recovery_score([0.7, 0.6], [0.9, 0.8], [0.5, 0.4]), [0.5, 0.5]
    )
    with pytest.raises(ValueError, match="ratio_unbiased must exceed"):
        recovery_score(0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="ratio_biased"):
        recovery_score(np.nan, 0.9, 0.5)


# --------------------------------------------------------------------- rankings and
# biases
def test_plackett_luce_first_place_frequencies():
    rng = np.random.default_rng(3)
    log_quality = np.log([4.0, 2.0, 1.0, 1.0])
    positions = sample_rankings(log_quality, 20000, rng)
    assert positions.shape == (20000, 4)
    np.testing.assert_array_equal(
        np.sort(positions, axis=1), np.tile(np.arange(4), (20000, 1))
    )
    first = np.bincount(np.argmin(positions, axis=1), minlength=4) / 20000
    np.testing.assert_allclose(first, [0.5, 0.25, 0.125, 0.125], atol=0.015)
    with pytest.raises(ValueError, match="n must"):
        sample_utilities(log_quality, 0, rng)
    with pytest.raises(ValueError, match="log_quality"):
        sample_utilities([[0.0, 1.0]], 3, rng)


def test_multiplicative_bias():
    rng = np.random.default_rng(4)
    utilities = sample_utilities(np.zeros(6), 50, rng)
    group = np.array([0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(multiplicative_bias(utilities, group, 1.0), utilities)
    biased = multiplicative_bias(utilities, group, 0.5)
    np.testing.assert_allclose(
        biased - utilities, np.log(0.5) * group[None, :].repeat(50, 0)
    )
    for theta in (0.0, 1.5, -0.2, True):
        with pytest.raises(ValueError, match="theta"):
            multiplicative_bias(utilities, group, theta)


def test_count_g2_above_g1():
    assert count_g2_above_g1(PROFILE, GROUP4).tolist() == [1, 3, 1]
    rng = np.random.default_rng(5)
    positions = random_profile(rng, 30, 7)
    group = np.array([1, 0, 0, 1, 1, 0, 0])
    brute = [
        sum(
            p[j] < p[i]
            for i in range(7)
            for j in range(7)
            if group[i] == 0 and group[j] == 1
        )
        for p in positions
    ]
    assert count_g2_above_g1(positions, group).tolist() == brute


def test_swapping_bias_basic_properties():
    rng = np.random.default_rng(6)
    positions = random_profile(rng, 200, 10)
    group = np.array([0, 1] * 5)
    np.testing.assert_array_equal(
        swapping_bias(positions, group, 0.0, 0.5, rng), positions
    )
    before = count_g2_above_g1(positions, group)
    for frac in (0.3, 1.0):
        biased = swapping_bias(positions, group, frac, 0.5, rng)
        np.testing.assert_array_equal(
            np.sort(biased, axis=1), np.sort(positions, axis=1)
        )
        after = count_g2_above_g1(biased, group)
        # every swap removes at least one G2-above-G1 pair
        assert np.all(after <= before - np.floor(frac * before))
    assert np.all(
        count_g2_above_g1(swapping_bias(positions, group, 1.0, 0.5, rng), group) == 0
    )
    # the places held by each group only change by exchange: G1's set of places is
    # preserved
    # as a multiset union with G2's, and no vote loses an item
    same_group = swapping_bias(positions, np.zeros(10, int), 1.0, 0.5, rng)
    np.testing.assert_array_equal(same_group, positions)


def test_swapping_bias_pair_probabilities():
    # vote: G2 item at place 0, G1 items at places 1 and 2; P = 2 pairs, frac 0.5 -> 1
    # swap.
    # The near pair (distance 1) has weight phi, the far one phi**2: P(near) = 1 / (1 +
    # phi).
    rng = np.random.default_rng(7)
    positions = np.tile([0, 1, 2], (6000, 1))
    group = np.array([1, 0, 0])
    for phi in (0.5, 0.2, 1.0):
        biased = swapping_bias(positions, group, 0.5, phi, rng)
        near = np.mean(biased[:, 1] == 0)  # item 1 moved to the top
        far = np.mean(biased[:, 2] == 0)
        assert near + far == pytest.approx(1.0)
        assert near == pytest.approx(1 / (1 + phi), abs=0.025)
    # tiny phi: only adjacent swaps, so within-group order is kept
    tiny = swapping_bias(np.tile([0, 1, 2], (50, 1)), group, 0.5, 1e-12, rng)
    np.testing.assert_array_equal(tiny, np.tile([1, 0, 2], (50, 1)))


def test_swapping_bias_errors():
    rng = np.random.default_rng(8)
    for kwargs, match in [
        (dict(frac=1.2, phi=0.5), "frac"),
        (dict(frac=-0.1, phi=0.5), "frac"),
        (dict(frac=0.5, phi=0.0), "phi"),
        (dict(frac=0.5, phi=1.5), "phi"),
    ]:
        with pytest.raises(ValueError, match=match):
            swapping_bias(PROFILE, GROUP4, rng=rng, **kwargs)


# ------------------------------------------------------------------------------
# smoothness
def test_estimate_alpha_by_hand():
    latent = np.array([[4.0, 2.0, 6.0], [6.0, 4.0, 2.0]])  # means 5, 3, 4
    biased = np.array([[4.0, 4.0, 0.0], [4.0, 4.0, 2.0]])  # means 4, 4, 1
    assert estimate_alpha(latent, biased, n=2, tau1=5) == pytest.approx(1 / 10)
    assert estimate_alpha(latent, latent, n=2, tau1=1) == pytest.approx(3 / 2)
    with pytest.raises(ValueError, match="same shape"):
        estimate_alpha(latent, biased[:, :2], n=2, tau1=5)
    with pytest.raises(ValueError, match="tau1"):
        estimate_alpha(latent, biased, n=2, tau1=0)
    with pytest.raises(ValueError, match="n must"):
        estimate_alpha(latent, biased, n=0, tau1=1)


def test_alpha_orders_the_rules_without_bias():
    rng = np.random.default_rng(9)
    positions = sample_rankings(np.zeros(6), 6000, rng)
    draws = positions.reshape(600, 10, 6)
    alpha = {}
    for rule in RULES:
        totals = np.stack(
            [
                item_scores(d, rule, t=2) if rule == "bloc" else item_scores(d, rule)
                for d in draws
            ]
        )
        alpha[rule] = estimate_alpha(totals, totals, n=10, tau1=6)
    # impartial culture: expected points per vote are 2.5 (Borda), 2/6 (2-Bloc), 1/6
    # (SNTV)
    assert alpha["borda"] == pytest.approx(2.5 / 6, abs=0.03)
    assert alpha["bloc"] == pytest.approx(2 / 36, abs=0.01)
    assert alpha["sntv"] == pytest.approx(1 / 36, abs=0.006)


# ----------------------------------------------------------------------
# Chamberlin-Courant
def test_chamberlin_courant_by_hand():
    # committee {a, c}: votes' best members are a (3 pts), a (2 pts), c (3 pts)
    assert chamberlin_courant_score(PROFILE, np.array([0, 2])) == 8.0
    for i in range(4):  # a single member: CC equals its Borda total
        assert (
            chamberlin_courant_score(PROFILE, np.array([i]))
            == item_scores(PROFILE, "borda")[i]
        )
    with pytest.raises(ValueError, match="repeat"):
        chamberlin_courant_score(PROFILE, np.array([1, 1]))


def test_greedy_constrained_cc():
    np.testing.assert_array_equal(greedy_constrained_cc(PROFILE, GROUP4, 2, 0), [0, 2])
    np.testing.assert_array_equal(greedy_constrained_cc(PROFILE, GROUP4, 1, 1), [1])
    rng = np.random.default_rng(10)
    group = np.array([0, 1] * 4)
    for _ in range(10):
        positions = random_profile(rng, 15, 8)
        for ell in (0, 1, 2):
            chosen = greedy_constrained_cc(positions, group, 3, ell)
            assert group[chosen].sum() == ell and len(set(chosen.tolist())) == 3
            best = max(
                chamberlin_courant_score(positions, np.array(s))
                for s in combinations(range(8), 3)
                if group[list(s)].sum() == ell
            )
            assert chamberlin_courant_score(positions, chosen) >= 0.5 * best
    with pytest.raises(ValueError, match="exceeds the size of group G2"):
        greedy_constrained_cc(PROFILE, [0, 0, 0, 1], 2, 2)


def test_top_k_is_stable_beyond_small_arrays():
    scores = np.zeros(40)
    scores[[30, 5]] = 1.0
    np.testing.assert_array_equal(top_k(scores, 5), [5, 30, 0, 1, 2])


def test_greedy_cc_differs_from_borda_where_voters_overlap():
    # a and b please the same two voters; c pleases the third. Borda's top 2 is {a, b}
    # (b wins the tie with c by index); Chamberlin-Courant's greedy adds c instead.
    votes = np.array([[0, 1, 2, 3], [1, 0, 2, 3], [2, 3, 0, 1]])
    np.testing.assert_array_equal(item_scores(votes, "borda"), [6, 5, 5, 2])
    np.testing.assert_array_equal(top_k(item_scores(votes, "borda"), 2), [0, 1])
    chosen = greedy_constrained_cc(votes, np.zeros(4, dtype=int), 2, 0)
    np.testing.assert_array_equal(chosen, [0, 2])
    assert chamberlin_courant_score(votes, chosen) == 3 + 2 + 3
