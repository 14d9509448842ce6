"""Unit tests of utils.item_response (chapter 06).

Exact values are pinned by hand-solved cases and closed forms; the assignment solver is
compared with ``scipy.optimize.linear_sum_assignment`` and with brute force; KR-20 with
Cronbach's alpha from the item covariance matrix; the item-rest correlation with
``numpy.corrcoef``; the simulator with the known parameters it was fitted to recover.
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import log_expit
from scipy.stats import spearmanr

from utils.item_response import (
    DIFFICULTY_WEIGHTS,
    ItemWorld,
    ResponseSimulator,
    difficulty_from_proportion,
    expected_total,
    filter_items,
    fit_response_simulator,
    form_correlation,
    irt_prob,
    item_statistics,
    kr20,
    make_item_world,
    match_parallel_form,
    matching_cost,
    shift_for_easier_pool,
    simulate_responses,
    solve_assignment,
    total_scores,
)


# ----------------------------------------------------------------------------- irt_prob
def test_irt_prob_by_hand():
    p = irt_prob([0.0, 1.0], [1.0, 2.0], [0.0, 1.0], guess=0.0)
    sig = 1 / (1 + np.exp(-np.array([[0.0, -2.0], [1.0, 0.0]])))
    np.testing.assert_allclose(p, sig, rtol=1e-12)
    assert p.shape == (2, 2)


def test_irt_prob_guess_floor():
    p = irt_prob([0.0, -50.0, 50.0], [1.5], [0.0], guess=0.5)
    np.testing.assert_allclose(p[:, 0], [0.75, 0.5, 1.0], atol=1e-12)
    q = irt_prob([0.3], [2.0], [-0.4], guess=0.2)
    assert float(q[0, 0]) == pytest.approx(
        0.2 + 0.8 / (1 + np.exp(-2.0 * 0.7)), rel=1e-12
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(theta=[0.0], a=[0.0], b=[0.0]), "a .*positive"),
        (dict(theta=[0.0], a=[-1.0], b=[0.0]), "a .*positive"),
        (dict(theta=[0.0], a=[1.0], b=[0.0, 1.0]), "a and b"),
        (dict(theta=[np.nan], a=[1.0], b=[0.0]), "theta"),
        (dict(theta=[[0.0]], a=[1.0], b=[0.0]), "theta"),
        (dict(theta=[0.0], a=[1.0], b=[0.0], guess=1.0), "guess"),
        (dict(theta=[0.0], a=[1.0], b=[0.0], guess=-0.1), "guess"),
        (dict(theta=[0.0], a=[1.0], b=[np.inf]), "b"),
    ],
)
def test_irt_prob_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        irt_prob(**kwargs)


# --------------------------------------------------------------------- simulate_responses
def test_simulate_responses_frequencies_and_extremes():
    rng = np.random.default_rng(0)
    prob = np.tile([0.0, 0.2, 0.7, 1.0], (20000, 1))
    R = simulate_responses(prob, rng)
    assert set(np.unique(R)) <= {0.0, 1.0}
    np.testing.assert_array_equal(R[:, 0], 0.0)
    np.testing.assert_array_equal(R[:, 3], 1.0)
    np.testing.assert_allclose(R.mean(axis=0), [0.0, 0.2, 0.7, 1.0], atol=0.015)


def test_simulate_responses_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="prob"):
        simulate_responses([[1.2]], rng)
    with pytest.raises(ValueError, match="prob"):
        simulate_responses([0.5], rng)
    with pytest.raises(ValueError, match="rng"):
        simulate_responses([[0.5]], 0)


# ------------------------------------------------------------------------ the item world
def test_make_item_world_structure_and_noise_free_difficulty():
    rng = np.random.default_rng(1)
    world = make_item_world(400, rng, vague_frac=0.3, difficulty_noise=0.0)
    assert world.features.shape == (400, 6) and world.a.shape == world.b.shape == (400,)
    np.testing.assert_allclose(world.b, world.features @ DIFFICULTY_WEIGHTS, atol=1e-12)
    assert 0.22 < world.vague.mean() < 0.38
    # vague items have vagueness features about 2 higher and discriminate far worse
    assert world.features[world.vague, 4:].mean() > 1.8
    assert np.median(world.a[world.vague]) < 0.3 * np.median(world.a[~world.vague])
    sub = world.subset([3, 1])
    assert isinstance(sub, ItemWorld)
    np.testing.assert_array_equal(sub.b, world.b[[3, 1]])
    np.testing.assert_array_equal(sub.vague, world.vague[[3, 1]])


def test_make_item_world_noise_and_no_vague_items():
    world = make_item_world(
        3000,
        np.random.default_rng(2),
        vague_frac=0.0,
        difficulty_noise=0.5,
        discrimination_noise=0.0,
    )
    assert not world.vague.any()
    resid = world.b - world.features @ DIFFICULTY_WEIGHTS
    assert np.std(resid) == pytest.approx(0.5, rel=0.05)
    log_a = np.log(world.a)
    np.testing.assert_allclose(
        log_a,
        0.9 + world.features @ np.array([0.05, 0.0, -0.05, 0.0, -0.6, -0.6]),
        atol=1e-12,
    )


def test_shift_for_easier_pool_moves_mean_difficulty_exactly():
    shift = shift_for_easier_pool(0.5)
    assert float(DIFFICULTY_WEIGHTS @ shift) == pytest.approx(-0.5, abs=1e-12)
    np.testing.assert_array_equal(shift[4:], 0.0)  # vagueness untouched
    a = make_item_world(50, np.random.default_rng(3), difficulty_noise=0.0)
    b = make_item_world(
        50, np.random.default_rng(3), difficulty_noise=0.0, feature_shift=shift
    )
    np.testing.assert_allclose(b.b - a.b, -0.5, atol=1e-12)
    assert float(DIFFICULTY_WEIGHTS @ shift_for_easier_pool(-1.0)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="logits"):
        shift_for_easier_pool(np.nan)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_items=0), "n_items"),
        (dict(n_items=2.5), "n_items"),
        (dict(n_items=5, vague_frac=1.0), "vague_frac"),
        (dict(n_items=5, difficulty_noise=-0.1), "difficulty_noise"),
        (dict(n_items=5, discrimination_noise=np.nan), "discrimination_noise"),
        (dict(n_items=5, feature_shift=[1.0, 2.0]), "feature_shift"),
    ],
)
def test_make_item_world_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_item_world(rng=np.random.default_rng(0), **kwargs)


# ---------------------------------------------------------------------- the simulator
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(4)
    bank = make_item_world(60, rng, vague_frac=0.2)
    theta = rng.normal(size=800)
    R = simulate_responses(irt_prob(theta, bank.a, bank.b, 0.5), rng)
    sim = fit_response_simulator(R, bank.features, guess=0.5, steps=300)
    return rng, bank, theta, R, sim


def test_fit_response_simulator_recovers_known_parameters(fitted):
    rng, bank, theta, R, sim = fitted
    assert sim.theta.shape == (800,) and np.corrcoef(sim.theta, theta)[0, 1] > 0.8
    assert sim.theta.mean() == pytest.approx(0.0, abs=0.02)  # soft N(0, 1) scale
    assert np.mean(sim.theta**2) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(sim.w_b, DIFFICULTY_WEIGHTS, atol=0.2)
    assert sim.w_a[4] < -0.3 and sim.w_a[5] < -0.3  # vagueness lowers a
    new = make_item_world(300, rng, vague_frac=0.3)
    a_hat, b_hat = sim.item_parameters(new.features)
    assert spearmanr(b_hat, new.b).statistic > 0.85
    assert spearmanr(a_hat, new.a).statistic > 0.6
    assert sim.losses[-1] < sim.losses[0]


def test_fitted_loss_is_the_bernoulli_log_likelihood(fitted):
    _, _, _, R, sim = fitted
    items = np.arange(R.shape[1])
    a, b = sim.item_parameters(sim.seen_features)
    z = (a * np.exp(sim.log_a_offset))[None, :] * (
        sim.theta[:, None] - (b + sim.b_offset)[None, :]
    )
    nll = -np.mean(
        R * np.logaddexp(np.log(0.5), np.log(0.5) + log_expit(z))
        + (1 - R) * (np.log(0.5) + log_expit(-z))
    )
    assert nll == pytest.approx(sim.losses[-1], abs=2e-4)
    P = sim.predict_seen(items)
    assert np.all(P[R == 1] > 0.5 - 1e-12)
    # the first step starts from zero item weights (a = 1, b = 0) and standardised totals
    totals = R.sum(1)
    start = irt_prob(
        (totals - totals.mean()) / totals.std(),
        np.ones(R.shape[1]),
        np.zeros(R.shape[1]),
        0.5,
    )
    nll0 = -np.mean(R * np.log(start) + (1 - R) * np.log(1 - start))
    assert nll0 == pytest.approx(sim.losses[0], rel=1e-9)


def test_seen_items_use_their_offsets_new_items_do_not(fitted):
    _, bank, _, R, sim = fitted
    items = np.array([0, 5, 7])
    a, b = sim.item_parameters(bank.features[items])
    expected = irt_prob(
        sim.theta, a * np.exp(sim.log_a_offset[items]), b + sim.b_offset[items], 0.5
    )
    np.testing.assert_allclose(sim.predict_seen(items), expected, rtol=1e-12)
    np.testing.assert_allclose(
        sim.predict_proba(bank.features[items]),
        irt_prob(sim.theta, a, b, 0.5),
        rtol=1e-12,
    )
    # offsets carry what features miss: seen items fit their own difficulty better
    seen_b = b + sim.b_offset[items]
    assert np.abs(sim.b_offset).max() > 0.05
    with pytest.raises(ValueError, match="items"):
        sim.predict_seen([60])
    with pytest.raises(ValueError, match="items"):
        sim.predict_seen([-1])
    with pytest.raises(ValueError, match="items"):
        sim.predict_seen([0.5])
    with pytest.raises(ValueError, match="features"):
        sim.predict_proba(np.zeros((2, 3)))
    assert seen_b.shape == (3,)


def test_offset_prior_and_guess_change_the_fit():
    rng = np.random.default_rng(5)
    bank = make_item_world(20, rng, difficulty_noise=0.8)
    theta = rng.normal(size=300)
    R = simulate_responses(irt_prob(theta, bank.a, bank.b, 0.0), rng)
    tight = fit_response_simulator(
        R, bank.features, guess=0.0, steps=150, offset_sd=0.01
    )
    loose = fit_response_simulator(
        R, bank.features, guess=0.0, steps=150, offset_sd=2.0
    )
    assert np.abs(tight.b_offset).max() < 0.1 < np.abs(loose.b_offset).max()
    assert loose.losses[-1] < tight.losses[-1]
    floor = fit_response_simulator(R, bank.features, guess=0.5, steps=150)
    assert floor.guess == 0.5 and floor.losses[-1] > loose.losses[-1]
    direct = ResponseSimulator(
        theta=np.zeros(2),
        w_b=np.zeros(6),
        c_b=0.0,
        w_a=np.zeros(6),
        c_a=0.0,
        b_offset=np.zeros(1),
        log_a_offset=np.zeros(1),
        seen_features=np.zeros((1, 6)),
        guess=0.25,
        losses=np.zeros(1),
    )
    np.testing.assert_allclose(direct.predict_proba(np.zeros((3, 6))), 0.625)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(R=[[0, 2], [1, 0]]), "R"),
        (dict(features=np.zeros((3, 6))), "features"),
        (dict(steps=0), "steps"),
        (dict(lr=-1.0), "lr"),
        (dict(offset_sd=0.0), "offset_sd"),
        (dict(guess=1.0), "guess"),
        (dict(R=[[1, 0], [1, 0]]), "R gives every student the same total"),
    ],
)
def test_fit_response_simulator_rejects_bad_input(kwargs, message):
    args = dict(R=[[1, 0], [0, 0]], features=np.zeros((2, 6)))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit_response_simulator(**args)


# ------------------------------------------------------------------- item statistics
def test_difficulty_from_proportion_by_hand():
    d = difficulty_from_proportion([0.75, 0.9, 0.6], guess=0.5)
    np.testing.assert_allclose(d, [0.0, np.log(0.25), np.log(4.0)], atol=1e-12)
    assert float(difficulty_from_proportion([0.5], guess=0.0)[0]) == pytest.approx(0.0)
    assert float(difficulty_from_proportion([0.2], guess=0.0)[0]) == pytest.approx(
        np.log(4.0)
    )
    grid = difficulty_from_proportion(np.linspace(0.55, 0.95, 9), guess=0.5)
    assert np.all(np.diff(grid) < 0)  # easier items: lower d


def test_difficulty_clips_at_chance_and_at_one():
    d = difficulty_from_proportion([0.5, 0.3, 1.0], guess=0.5, n_students=100)
    eps = 0.005
    np.testing.assert_allclose(
        d, [np.log((0.5 - eps) / eps)] * 2 + [np.log(eps / (0.5 - eps))]
    )
    d0 = difficulty_from_proportion([1.0], guess=0.5)
    assert float(d0[0]) == pytest.approx(np.log(1e-6 / (0.5 - 1e-6)))
    with pytest.raises(ValueError, match="p"):
        difficulty_from_proportion([1.2])
    with pytest.raises(ValueError, match="n_students"):
        difficulty_from_proportion([0.7], n_students=0)


def test_item_statistics_matches_numpy_corrcoef_of_item_and_rest():
    rng = np.random.default_rng(6)
    R = simulate_responses(
        irt_prob(rng.normal(size=300), np.full(8, 1.5), rng.normal(size=8), 0.5), rng
    )
    d, r = item_statistics(R, guess=0.5)
    for j in range(8):
        rest = R.sum(axis=1) - R[:, j]
        assert r[j] == pytest.approx(np.corrcoef(R[:, j], rest)[0, 1], abs=1e-12)
    np.testing.assert_allclose(d, difficulty_from_proportion(R.mean(0), 0.5, 300))
    d0, _ = item_statistics(R, guess=0.0)
    assert not np.allclose(d0, d)


def test_item_rest_correlation_excludes_the_item_itself():
    rng = np.random.default_rng(7)
    noise = (rng.random((200, 1)) < 0.5).astype(float)  # unrelated to the rest
    rest = simulate_responses(
        irt_prob(rng.normal(size=200), np.full(6, 2.0), np.zeros(6), 0.0), rng
    )
    _, r = item_statistics(np.hstack([noise, rest]), guess=0.0)
    assert abs(r[0]) < 0.2 and r[1:].min() > 0.3


def test_item_statistics_flat_item_warns_and_gets_zero():
    R = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 1]], dtype=float)
    with pytest.warns(RuntimeWarning, match="item-rest correlation is set to 0"):
        _, r = item_statistics(R, guess=0.0)
    assert r[0] == 0.0 and np.isfinite(r).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        item_statistics(R[:, 1:], guess=0.0)


@pytest.mark.parametrize(
    "R, message",
    [
        ([[1], [0]], "at least 2 items"),
        ([[1, 0]], "at least 2 students"),
        ([[1, 0.5], [0, 1]], "R"),
        ([1, 0], "R"),
    ],
)
def test_item_statistics_rejects_bad_input(R, message):
    with pytest.raises(ValueError, match=message):
        item_statistics(R)


def test_filter_items_by_hand():
    corr = [0.3, 0.1, 0.5, 0.2]
    np.testing.assert_array_equal(filter_items(corr, 0.5), [0, 2])
    np.testing.assert_array_equal(filter_items(corr, 0.0), [0, 1, 2, 3])
    np.testing.assert_array_equal(
        filter_items([0.4, 0.3, 0.2, 0.1, 0.5], 0.3), [0, 1, 2, 4]
    )  # floor(1.5) = 1 dropped
    np.testing.assert_array_equal(filter_items(corr, 0.26), [0, 2, 3])
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="drop_frac"):
            filter_items(corr, bad)
    with pytest.raises(ValueError, match="item_rest_corr"):
        filter_items([])


# -------------------------------------------------------------------------- matching
def test_matching_cost_by_hand():
    orig = [[0.0, 0.5], [1.0, 0.2]]
    cand = [[0.0, 0.1], [2.0, 0.2], [1.0, 0.5]]
    cost = matching_cost(orig, cand, weights=(1.0, 0.5))
    expected = np.array(
        [[0.5 * 0.16, 4.0 + 0.5 * 0.09, 1.0], [1.0 + 0.5 * 0.01, 1.0, 0.5 * 0.09]]
    )
    np.testing.assert_allclose(cost, expected, atol=1e-12)
    np.testing.assert_allclose(
        matching_cost(orig, cand, weights=(0.0, 1.0)),
        [[0.16, 0.09, 0.0], [0.01, 0.0, 0.09]],
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (([[0.0, 1.0]], [[0.0]], (1.0, 1.0)), "same number of columns"),
        (([[0.0, 1.0]], [[0.0, 1.0]], (1.0,)), "weights"),
        (([[0.0, 1.0]], [[0.0, 1.0]], (1.0, -1.0)), "weights"),
        (([0.0, 1.0], [[0.0, 1.0]], (1.0, 1.0)), "orig_stats"),
        (([[0.0, 1.0]], [[np.nan, 1.0]], (1.0, 1.0)), "cand_stats"),
    ],
)
def test_matching_cost_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        matching_cost(*args)


def test_solve_assignment_matches_scipy_and_brute_force():
    rng = np.random.default_rng(8)
    for trial in range(150):
        n_rows = int(rng.integers(1, 6))
        n_cols = n_rows + int(rng.integers(0, 4))
        cost = (
            rng.normal(size=(n_rows, n_cols))
            if trial % 2
            else rng.integers(0, 3, size=(n_rows, n_cols)).astype(float)
        )  # ties
        col = solve_assignment(cost)
        assert col.shape == (n_rows,) and len(set(col.tolist())) == n_rows
        rows, cols = linear_sum_assignment(cost)
        best = cost[rows, cols].sum()
        assert cost[np.arange(n_rows), col].sum() == pytest.approx(best, abs=1e-9)
        if n_cols <= 5:
            brute = min(
                cost[np.arange(n_rows), list(p)].sum()
                for p in itertools.permutations(range(n_cols), n_rows)
            )
            assert best == pytest.approx(brute, abs=1e-9)


def test_solve_assignment_larger_rectangular_case_and_errors():
    cost = np.random.default_rng(9).random((40, 120))
    rows, cols = linear_sum_assignment(cost)
    col = solve_assignment(cost)
    assert cost[np.arange(40), col].sum() == pytest.approx(
        cost[rows, cols].sum(), abs=1e-9
    )
    np.testing.assert_array_equal(solve_assignment([[5.0, 0.0], [0.0, 5.0]]), [1, 0])
    with pytest.raises(ValueError, match="at least as many columns"):
        solve_assignment(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="cost"):
        solve_assignment([[np.inf]])


def test_match_parallel_form_finds_planted_twins():
    rng = np.random.default_rng(10)
    orig = np.column_stack([rng.normal(size=12), rng.uniform(0.2, 0.6, 12)])
    decoys = np.column_stack([rng.normal(size=30) + 3.0, rng.uniform(0.0, 0.1, 30)])
    order = rng.permutation(42)
    cand = np.vstack([orig, decoys])[order]
    form = match_parallel_form(orig, cand)
    np.testing.assert_allclose(cand[form], orig, atol=1e-12)


def test_one_dimensional_matching_pairs_sorted_orders():
    rng = np.random.default_rng(11)
    orig = rng.normal(size=(10, 1))
    cand = rng.normal(size=(10, 1))
    form = match_parallel_form(orig, cand, weights=(1.0,))
    # the k-th easiest original item gets the k-th easiest candidate (1-D transport)
    np.testing.assert_array_equal(np.argsort(orig[:, 0]), np.argsort(cand[form, 0]))


# --------------------------------------------------------------------- form statistics
def test_total_scores_and_expected_total():
    R = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(total_scores(R), [2, 0, 3])
    with pytest.raises(ValueError, match="R"):
        total_scores([[1, 2]])
    theta, a, b = np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([0.0, 1.0])
    for guess in (0.0, 0.5):
        assert expected_total(theta, a, b, guess) == pytest.approx(
            irt_prob(theta, a, b, guess).sum(axis=1).mean(), rel=1e-12
        )
    assert expected_total([0.0], [1.0], [0.0], guess=0.5) == pytest.approx(0.75)


def test_form_correlation_matches_numpy():
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert form_correlation(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert form_correlation([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert form_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same length"):
        form_correlation([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="constant"):
        form_correlation([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        form_correlation([1.0], [2.0])
    with pytest.raises(ValueError, match="totals_b"):
        form_correlation([1.0, 2.0], [np.nan, 1.0])


def test_kr20_equals_cronbach_alpha_from_the_covariance_matrix():
    rng = np.random.default_rng(13)
    R = simulate_responses(
        irt_prob(rng.normal(size=150), np.full(10, 1.2), rng.normal(size=10), 0.5), rng
    )
    cov = np.cov(R, rowvar=False, ddof=0)
    k = R.shape[1]
    alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    assert kr20(R) == pytest.approx(alpha, abs=1e-12)


def test_kr20_by_hand():
    R = np.array([[1, 1], [0, 0], [1, 0], [1, 1]], dtype=float)
    # p = (0.75, 0.5); var(total) = var([2, 0, 1, 2]) = 0.6875
    expected = 2 * (1 - (0.75 * 0.25 + 0.25) / 0.6875)
    assert kr20(R) == pytest.approx(expected, abs=1e-12)
    assert kr20(np.array([[1, 1, 1], [0, 0, 0]])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2 items"):
        kr20([[1], [0]])
    with pytest.raises(ValueError, match="same total"):
        kr20([[1, 0], [0, 1]])
