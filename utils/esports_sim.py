"""A toy esports match whose win probability is known exactly at every snapshot (chapter 01).

Choi, Kim and Lee (arXiv:2309.06248) evaluate win-probability models on League of Legends game
snapshots, where the true probability is unknown. To check the metrics against the truth we use a
stand-in with the same shape and a closed-form answer:

* each game lasts ``n_minutes`` minutes; team 1's gold lead (in thousands) changes each minute by
  an independent step ``N(mu, step_sd**2)``, starting from 0;
* ``mu``, the hidden strength gap between the teams, is drawn once per game from
  ``N(0, drift_sd**2)``;
* team 1 wins when its final lead is positive;
* a snapshot is ``(minute t, lead D_t)`` for ``t = 1 .. n_minutes - 1``.

Given a snapshot, the lead is a sufficient statistic for ``mu`` (conjugate normal update), and the
rest of the game is a normal increment, so ``P(team 1 wins | D_t)`` has a closed form
(:func:`exact_win_probability`). That is the ``p_true`` the calibration metrics are checked against.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import norm

from utils.validation import check_array, check_positive_int

__all__ = [
    "drift_posterior",
    "exact_win_probability",
    "rollout_win_probability",
    "simulate_games",
]


def _check_setting(n_minutes, drift_sd, step_sd) -> None:
    if (
        isinstance(n_minutes, bool)
        or not isinstance(n_minutes, numbers.Integral)
        or n_minutes < 2
    ):
        raise ValueError(f"n_minutes must be an integer >= 2, got {n_minutes!r}")
    _check_sds(drift_sd, step_sd)


def _is_real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def _check_sds(drift_sd, step_sd) -> None:
    if not (_is_real(drift_sd) and np.isfinite(drift_sd) and drift_sd >= 0):
        raise ValueError(f"drift_sd must be a non-negative number, got {drift_sd!r}")
    if not (_is_real(step_sd) and np.isfinite(step_sd) and step_sd > 0):
        raise ValueError(f"step_sd must be a positive number, got {step_sd!r}")


def _check_snapshot(gold_diff, minute, n_minutes):
    gold_diff = check_array(gold_diff, "gold_diff", nonempty=False)
    check_array(minute, "minute", nonempty=False)  # numeric and finite
    minute = np.asarray(minute)
    if not np.issubdtype(minute.dtype, np.integer):
        if not np.all(np.mod(minute, 1) == 0):
            raise ValueError("minute must hold whole minutes")
        minute = minute.astype(int)
    if np.any(minute < 1) or np.any(minute >= n_minutes):
        raise ValueError(f"minute must lie in 1 .. n_minutes - 1 = {n_minutes - 1}")
    return np.broadcast_arrays(gold_diff, minute)


def drift_posterior(gold_diff, minute, drift_sd: float = 0.3, step_sd: float = 1.0):
    """Posterior mean and variance of the strength gap ``mu`` after ``minute`` steps summing to ``gold_diff``.

    Normal prior ``N(0, drift_sd**2)``, ``minute`` observations averaging ``gold_diff / minute``
    with noise ``step_sd**2``: precision ``1/drift_sd**2 + minute/step_sd**2``, mean
    ``(gold_diff / step_sd**2) / precision``. ``drift_sd=0`` gives mean 0, variance 0.
    Inputs broadcast; empty arrays give empty results; ``minute`` must be >= 0.
    """
    gold_diff = check_array(gold_diff, "gold_diff", nonempty=False)
    minute = check_array(minute, "minute", nonempty=False)
    if (minute < 0).any():
        raise ValueError(f"minute must be >= 0, got {float(minute.min())!r}")
    _check_sds(drift_sd, step_sd)
    if drift_sd == 0:
        zero = np.zeros(np.broadcast(gold_diff, minute).shape)
        return zero, zero
    precision = 1.0 / drift_sd**2 + minute / step_sd**2
    return (gold_diff / step_sd**2) / precision, 1.0 / precision


def exact_win_probability(
    gold_diff, minute, n_minutes: int = 30, drift_sd: float = 0.3, step_sd: float = 1.0
) -> np.ndarray:
    """``P(final lead > 0 | lead gold_diff at minute)``, exactly, for the game of this module.

    With ``R = n_minutes - minute`` minutes left and the posterior ``mu ~ N(m, v)``, the remaining
    change is ``N(R*m, R*step_sd**2 + R**2*v)`` (step noise plus uncertainty about ``mu``), so the
    probability is ``Phi((gold_diff + R*m) / sqrt(R*step_sd**2 + R**2*v))``. Inputs broadcast;
    ``minute`` must lie in ``1 .. n_minutes - 1``; empty inputs give an empty result.
    """
    _check_setting(n_minutes, drift_sd, step_sd)
    gold_diff, minute = _check_snapshot(gold_diff, minute, n_minutes)
    mean, var = drift_posterior(gold_diff, minute, drift_sd, step_sd)
    left = n_minutes - minute
    sd_final = np.sqrt(left * step_sd**2 + left**2 * var)
    return norm.cdf((gold_diff + left * mean) / sd_final)


def rollout_win_probability(
    gold_diff: float,
    minute: int,
    n_minutes: int = 30,
    drift_sd: float = 0.3,
    step_sd: float = 1.0,
    n_rollouts: int = 20_000,
    rng=None,
) -> float:
    """Monte Carlo estimate of the same probability by playing the rest of the game many times.

    Independent of the closed form: the strength gap is drawn from its *prior* and each roll-out is
    weighted by the likelihood of the lead seen so far (``N(gold_diff; minute*mu, minute*step_sd**2)``),
    then the remaining minutes are simulated step by step. Returns the weighted share of wins.
    """
    _check_setting(n_minutes, drift_sd, step_sd)
    for name, value in (("gold_diff", gold_diff), ("minute", minute)):
        if np.ndim(value) != 0:
            raise ValueError(
                f"{name} must be a single number, got shape {np.shape(value)}"
            )
    _check_snapshot(gold_diff, minute, n_minutes)
    n_rollouts = check_positive_int(n_rollouts, "n_rollouts")
    rng = np.random.default_rng(rng)
    mu = rng.normal(0.0, drift_sd, size=n_rollouts)  # (n_rollouts,)
    log_w = -((gold_diff - minute * mu) ** 2) / (2 * minute * step_sd**2)
    weight = np.exp(log_w - log_w.max())
    steps = rng.normal(
        mu[:, None], step_sd, size=(n_rollouts, n_minutes - minute)
    )  # (n_rollouts, R)
    final = gold_diff + steps.sum(axis=1)
    return float(np.sum(weight * (final > 0)) / np.sum(weight))


def simulate_games(
    n_games: int,
    n_minutes: int = 30,
    drift_sd: float = 0.3,
    rng=None,
    step_sd: float = 1.0,
) -> dict:
    """Simulate ``n_games`` games and return every snapshot with its exact win probability.

    Returns a dict of 1-D arrays, one entry per snapshot (``n_games * (n_minutes - 1)`` rows, game
    by game, minute 1 first): ``game`` (game index), ``minute``, ``gold_diff`` (team 1's lead),
    ``time_left`` (minutes), ``p_win`` (exact probability that team 1 wins) and ``winner`` (1 if
    team 1 won the game, the same for all snapshots of a game). Also ``drift`` (per game, the
    hidden strength gap). Snapshots of one game are correlated: split by game, not by row.
    """
    if (
        isinstance(n_games, bool)
        or not isinstance(n_games, numbers.Integral)
        or n_games < 1
    ):
        raise ValueError(f"n_games must be a positive integer, got {n_games!r}")
    _check_setting(n_minutes, drift_sd, step_sd)
    rng = np.random.default_rng(rng)
    drift = rng.normal(0.0, drift_sd, size=n_games)  # (G,)
    steps = rng.normal(drift[:, None], step_sd, size=(n_games, n_minutes))  # (G, T)
    lead = np.cumsum(steps, axis=1)  # (G, T)
    winner = (lead[:, -1] > 0).astype(int)  # (G,)
    minutes = np.arange(1, n_minutes)  # (T-1,)
    snap_lead = lead[:, :-1]  # (G, T-1)
    p_win = exact_win_probability(
        snap_lead, minutes[None, :], n_minutes, drift_sd, step_sd
    )
    n_snap = n_minutes - 1
    return {
        "game": np.repeat(np.arange(n_games), n_snap),
        "minute": np.tile(minutes, n_games),
        "gold_diff": snap_lead.ravel(),
        "time_left": np.tile(n_minutes - minutes, n_games),
        "p_win": p_win.ravel(),
        "winner": np.repeat(winner, n_snap),
        "drift": drift,
    }
