"""Bad input of utils.esports_sim (chapter 01's simulator): the exact errors, and the
documented results for empty and broadcast input."""

import numpy as np
import pytest

from utils import esports_sim as es


def test_empty_snapshots_give_empty_results():
    empty = np.array([])
    mean, var = es.drift_posterior(empty, empty)
    assert mean.shape == var.shape == (0,)
    assert es.exact_win_probability(empty, np.array([], dtype=int)).shape == (0,)


def test_drift_posterior_by_hand_and_its_checks():
    # prior N(0, 0.5^2), 4 minutes summing to 2 with step_sd 1: precision 4 + 4 = 8
    mean, var = es.drift_posterior(2.0, 4, drift_sd=0.5, step_sd=1.0)
    assert float(mean) == pytest.approx(0.25) and float(var) == pytest.approx(0.125)
    with pytest.raises(ValueError, match=r"^gold_diff must be finite"):
        es.drift_posterior(np.nan, 3)
    with pytest.raises(ValueError, match=r"^minute must be numeric"):
        es.drift_posterior(1.0, ["3"])
    with pytest.raises(ValueError, match=r"^minute must be >= 0, got -1.0"):
        es.drift_posterior(1.0, -1)
    with pytest.raises(ValueError, match=r"^step_sd must be a positive number, got 0"):
        es.drift_posterior(1.0, 3, step_sd=0)
    with pytest.raises(ValueError, match=r"^drift_sd must be a non-negative number"):
        es.drift_posterior(1.0, 3, drift_sd="0.3")


def test_snapshot_and_setting_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"^gold_diff must be numeric"):
        es.exact_win_probability(["a"], 3)
    with pytest.raises(ValueError, match=r"^minute must be finite"):
        es.exact_win_probability(1.0, np.inf)
    with pytest.raises(ValueError, match=r"^minute must hold whole minutes"):
        es.exact_win_probability(1.0, 2.5)
    with pytest.raises(ValueError, match=r"^drift_sd must be a non-negative number"):
        es.simulate_games(2, drift_sd=np.array([0.3]))
    with pytest.raises(ValueError, match=r"^step_sd must be a positive number"):
        es.simulate_games(2, step_sd=True)


def test_rollout_takes_one_snapshot_and_a_positive_count():
    with pytest.raises(ValueError, match=r"^gold_diff must be a single number"):
        es.rollout_win_probability(np.array([1.0, 2.0]), 3)
    with pytest.raises(ValueError, match=r"^minute must be a single number"):
        es.rollout_win_probability(1.0, [3])
    with pytest.raises(ValueError, match=r"^n_rollouts must be a positive integer"):
        es.rollout_win_probability(1.0, 3, n_rollouts=0)
    p = es.rollout_win_probability(1.0, 3, n_rollouts=200, rng=0)
    assert 0.5 < p < 1.0  # a lead of 1 is more likely kept than lost
