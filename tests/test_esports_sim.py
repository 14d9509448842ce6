"""Unit tests of utils.esports_sim, chapter 01's game with a known win probability.

The closed form is checked against Monte Carlo roll-outs and SciPy, at the defaults and away
from them; the simulator is checked draw by draw and for calibration. Exact errors and empty
input are in tests/test_esports_sim_exact.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from utils import calibration as cal
from utils import esports_sim as es
from utils.esports_sim import (
    drift_posterior,
    exact_win_probability,
    rollout_win_probability,
    simulate_games,
)


# --- the esports simulator --------------------------------------------------------------------
@pytest.mark.parametrize(
    "lead,minute", [(0.0, 5), (2.0, 5), (-3.0, 15), (4.0, 25), (1.0, 1)]
)
def test_exact_win_probability_matches_a_monte_carlo_rollout(lead, minute):
    exact = float(exact_win_probability(lead, minute, n_minutes=30, drift_sd=0.3))
    mc = rollout_win_probability(
        lead, minute, n_minutes=30, drift_sd=0.3, n_rollouts=40_000, rng=11
    )
    # the roll-out is weighted; its standard error is below 0.005 for these states
    assert abs(exact - mc) < 0.015, (exact, mc)


def test_exact_win_probability_without_drift_is_a_normal_tail():
    p = exact_win_probability(
        np.array([1.0, -2.0]), np.array([10, 20]), n_minutes=30, drift_sd=0.0
    )
    np.testing.assert_allclose(
        p, norm.cdf([1.0 / np.sqrt(20), -2.0 / np.sqrt(10)]), atol=1e-12
    )


def test_exact_win_probability_is_symmetric_and_monotone():
    leads = np.linspace(-5, 5, 21)
    p = exact_win_probability(leads, 12)
    np.testing.assert_allclose(p + p[::-1], 1.0, atol=1e-12)
    assert np.all(np.diff(p) > 0)


def test_simulated_games_have_the_documented_shape_and_are_calibrated():
    games = simulate_games(2000, n_minutes=30, drift_sd=0.3, rng=0)
    n = 2000 * 29
    for key in ("game", "minute", "gold_diff", "time_left", "p_win", "winner"):
        assert games[key].shape == (n,), key
    assert games["drift"].shape == (2000,)
    assert set(np.unique(games["minute"])) == set(range(1, 30))
    # the exact probabilities are calibrated: on the last snapshots (nearly independent of
    # earlier ones) the mean probability matches the win rate within sampling error
    late = games["minute"] == 29
    assert abs(games["p_win"][late].mean() - games["winner"][late].mean()) < 0.03
    assert abs(cal.balance_score(games["p_win"], games["winner"])) < 0.02


def test_simulator_rejects_bad_settings():
    with pytest.raises(ValueError, match="n_games"):
        simulate_games(0)
    with pytest.raises(ValueError, match="minute"):
        exact_win_probability(1.0, 30, n_minutes=30)
    with pytest.raises(ValueError, match="drift_sd"):
        simulate_games(5, drift_sd=-1.0)


# --- away from the defaults ---------------------------------------------------------------
SETTING = {"n_minutes": 12, "drift_sd": 0.5, "step_sd": 2.0}


def test_drift_posterior_by_hand_away_from_the_defaults():
    lead, minute = np.array([3.0, -1.0, 0.5]), np.array([2, 5, 0])
    mean, var = drift_posterior(lead, minute, drift_sd=0.5, step_sd=2.0)
    precision = 1 / 0.25 + minute / 4.0
    np.testing.assert_allclose(mean, (lead / 4.0) / precision, rtol=1e-12)
    np.testing.assert_allclose(var, 1 / precision, rtol=1e-12)
    assert var[2] == pytest.approx(0.25)  # minute 0: the prior itself
    default = drift_posterior(lead, minute)
    explicit = drift_posterior(lead, minute, drift_sd=0.3, step_sd=1.0)
    np.testing.assert_array_equal(default, explicit)


def test_drift_posterior_without_drift_is_zero_with_the_broadcast_shape():
    mean, var = drift_posterior(np.array([1.0, 2.0]), np.array([[1], [2], [3]]), 0.0)
    assert mean.shape == var.shape == (3, 2)
    assert not mean.any() and not var.any()


def test_exact_win_probability_by_hand_away_from_the_defaults():
    lead, minute = np.array([1.0, -2.0, 4.0]), np.array([1, 6, 11])
    mean, var = drift_posterior(lead, minute, 0.5, 2.0)
    left = 12 - minute
    expected = norm.cdf((lead + left * mean) / np.sqrt(left * 4.0 + left**2 * var))
    p = exact_win_probability(lead, minute, **SETTING)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    # by hand at minute 11: one minute left, so the sd is sqrt(4 + v)
    m11, v11 = 4.0 / 4 / (4 + 11 / 4), 1 / (4 + 11 / 4)
    assert p[2] == pytest.approx(norm.cdf((4 + m11) / np.sqrt(4 + v11)), rel=1e-12)
    default = exact_win_probability(lead, minute)
    np.testing.assert_array_equal(
        default, exact_win_probability(lead, minute, 30, 0.3, 1.0)
    )
    # whole minutes stored as floats are accepted
    np.testing.assert_array_equal(default, exact_win_probability(lead, minute * 1.0))


@pytest.mark.parametrize("minute", [0, 12])
def test_exact_win_probability_refuses_minutes_outside_the_game(minute):
    with pytest.raises(
        ValueError, match=r"^minute must lie in 1 \.\. n_minutes - 1 = 11$"
    ):
        exact_win_probability(1.0, minute, **SETTING)


@pytest.mark.parametrize("n_minutes", [1, 2.0, True])
def test_a_game_needs_at_least_two_whole_minutes(n_minutes):
    with pytest.raises(ValueError, match=r"^n_minutes must be an integer >= 2, got "):
        exact_win_probability(1.0, 1, n_minutes=n_minutes)
    assert exact_win_probability(0.0, 1, n_minutes=2) == pytest.approx(0.5)


@pytest.mark.parametrize("lead, minute", [(1.0, 1), (-2.0, 6), (3.0, 9)])
def test_rollouts_match_the_closed_form_away_from_the_defaults(lead, minute):
    exact = float(exact_win_probability(lead, minute, **SETTING))
    mc = rollout_win_probability(lead, minute, **SETTING, n_rollouts=40_000, rng=5)
    assert abs(exact - mc) < 0.015, (exact, mc)


def test_rollouts_are_seeded_and_use_the_default_setting():
    a = rollout_win_probability(1.5, 4, rng=3, n_rollouts=500)
    assert a == rollout_win_probability(1.5, 4, 30, 0.3, 1.0, 500, rng=3)
    assert a != rollout_win_probability(1.5, 4, rng=4, n_rollouts=500)
    default = rollout_win_probability(1.5, 4, rng=3)  # 20,000 roll-outs by default
    assert default == rollout_win_probability(1.5, 4, n_rollouts=20_000, rng=3)
    assert default != rollout_win_probability(1.5, 4, n_rollouts=20_001, rng=3)


def test_rollout_weights_follow_the_lead_seen_so_far():
    # without drift every roll-out has the same weight: the share of wins of a random walk
    p = rollout_win_probability(2.0, 20, drift_sd=0.0, n_rollouts=40_000, rng=1)
    assert p == pytest.approx(norm.cdf(2.0 / np.sqrt(10)), abs=0.01)
    # a big lead early says the strength gap is positive: the weights must see it
    big = rollout_win_probability(8.0, 4, drift_sd=1.0, n_rollouts=40_000, rng=1)
    exact = float(exact_win_probability(8.0, 4, drift_sd=1.0))
    assert big == pytest.approx(exact, abs=0.01)


def test_simulated_games_reproduce_their_draws():
    games = simulate_games(3, rng=np.random.default_rng(9), **SETTING)
    rng = np.random.default_rng(9)
    drift = rng.normal(0.0, 0.5, size=3)
    lead = np.cumsum(rng.normal(drift[:, None], 2.0, size=(3, 12)), axis=1)
    np.testing.assert_array_equal(games["drift"], drift)
    np.testing.assert_array_equal(games["gold_diff"], lead[:, :-1].ravel())
    np.testing.assert_array_equal(games["game"], np.repeat([0, 1, 2], 11))
    np.testing.assert_array_equal(games["minute"], np.tile(np.arange(1, 12), 3))
    np.testing.assert_array_equal(games["time_left"], np.tile(np.arange(11, 0, -1), 3))
    np.testing.assert_array_equal(games["winner"], np.repeat(lead[:, -1] > 0, 11))
    np.testing.assert_allclose(
        games["p_win"],
        exact_win_probability(games["gold_diff"], games["minute"], **SETTING),
        rtol=1e-12,
    )


def test_simulated_games_default_setting():
    default = simulate_games(2, rng=4)
    explicit = simulate_games(2, 30, 0.3, rng=4, step_sd=1.0)
    for key, value in default.items():
        np.testing.assert_array_equal(value, explicit[key])
    assert default["gold_diff"].shape == (58,)


def test_simulated_steps_have_the_drift_and_the_step_sd():
    games = simulate_games(3000, rng=2, **SETTING)
    lead = games["gold_diff"].reshape(3000, 11)
    assert games["drift"].std() == pytest.approx(0.5, rel=0.05)
    steps = np.diff(lead, axis=1) - games["drift"][:, None]
    assert steps.mean() == pytest.approx(0.0, abs=0.03)
    assert steps.std() == pytest.approx(2.0, rel=0.02)
    assert (lead[:, 0] - games["drift"]).std() == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("n_games", [0, 1.5, True])
def test_simulate_games_needs_a_positive_whole_number_of_games(n_games):
    with pytest.raises(ValueError, match=r"^n_games must be a positive integer, got "):
        simulate_games(n_games)
    assert simulate_games(1, rng=0)["drift"].shape == (1,)


def test_sd_checks_accept_their_boundaries():
    assert drift_posterior(1.0, 2, drift_sd=0.0)[1] == 0.0
    with pytest.raises(
        ValueError, match=r"^drift_sd must be a non-negative number, got -0.1$"
    ):
        drift_posterior(1.0, 2, drift_sd=-0.1)
    for bad in (np.inf, np.nan):
        with pytest.raises(
            ValueError, match=r"^drift_sd must be a non-negative number"
        ):
            drift_posterior(1.0, 2, drift_sd=bad)
        with pytest.raises(ValueError, match=r"^step_sd must be a positive number"):
            drift_posterior(1.0, 2, step_sd=bad)
    with pytest.raises(
        ValueError, match=r"^step_sd must be a positive number, got -1.0$"
    ):
        drift_posterior(1.0, 2, step_sd=-1.0)
    assert es._is_real(1.5) and es._is_real(2) and not es._is_real(True)


def test_rollouts_survive_a_lead_far_outside_the_prior():
    # every likelihood underflows to 0 unless the weights are taken relative to the largest
    p = rollout_win_probability(200.0, 1, drift_sd=0.1, n_rollouts=1000, rng=0)
    assert p == 1.0
    with pytest.raises(
        ValueError, match=r"^gold_diff must be a single number, got shape \(2,\)$"
    ):
        rollout_win_probability(np.array([1.0, 2.0]), 3)


def test_the_winner_is_an_integer_read_from_the_final_lead():
    games = simulate_games(40, rng=np.random.default_rng(6), **SETTING)
    rng = np.random.default_rng(6)
    drift = rng.normal(0.0, 0.5, size=40)
    final = np.cumsum(rng.normal(drift[:, None], 2.0, size=(40, 12)), axis=1)[:, -1]
    assert games["winner"].dtype.kind == "i"
    np.testing.assert_array_equal(games["winner"][::11], (final > 0).astype(int))
