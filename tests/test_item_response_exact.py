"""Exact values, boundaries and error messages of utils.item_response (chapter 06).

Written to kill the mutants that tests/test_item_response.py lets survive (``python3 course.py
mutate item_response``): the arguments' names in the error messages, the defaults, the stable
tie rule of the filter, and the boundaries of the checks.
"""

import re

import numpy as np
import pytest
from scipy.special import log_expit

from utils.item_response import (
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
    matching_cost,
    shift_for_easier_pool,
    simulate_responses,
    solve_assignment,
    total_scores,
)

STATS = np.array([[0.0, 0.3], [1.0, 0.5]])
R = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1]], dtype=float)
RNG = np.random.default_rng(0)
FEAT = np.array([[0.5, -1.0], [0.0, 0.3], [-0.4, 1.2]])

ERRORS = [
    (lambda: shift_for_easier_pool([0.5]), "logits must be 0-D, got shape (1,)"),
    (
        lambda: shift_for_easier_pool(np.nan),
        "logits must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: difficulty_from_proportion([0.6, 1.5]),
        "p must hold probabilities in [0, 1]; p[1] = 1.5 (1 bad value(s))",
    ),
    (
        lambda: difficulty_from_proportion([[0.6, 0.7]]),
        "p must be 1-D, got shape (1, 2)",
    ),
    (
        lambda: difficulty_from_proportion([0.6], n_students=0),
        "n_students must be a positive integer, got 0",
    ),
    (
        lambda: filter_items([[0.1, 0.2]]),
        "item_rest_corr must be 1-D, got shape (1, 2)",
    ),
    (
        lambda: filter_items([0.1, np.nan]),
        "item_rest_corr must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: filter_items([0.1, 0.2], drop_frac=1.0),
        "drop_frac must be a number in [0, 1), got 1.0",
    ),
    (
        lambda: matching_cost([[0.0, np.nan]], STATS),
        "orig_stats must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: matching_cost(STATS, [0.0, 0.3]),
        "cand_stats must be 2-D, got shape (2,)",
    ),
    (
        lambda: matching_cost(STATS, [[0.0, np.inf]]),
        "cand_stats must be finite; its element 1 (flat index) is inf",
    ),
    (
        lambda: matching_cost(STATS, STATS, weights=[[1.0, 0.5]]),
        "weights must be 1-D, got shape (1, 2)",
    ),
    (
        lambda: matching_cost(STATS, STATS, weights=[1.0, np.nan]),
        "weights must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: matching_cost(STATS, STATS, weights=[1.0, -0.5]),
        "weights must be non-negative",
    ),
    (lambda: total_scores([1.0, 0.0, 1.0]), "R must be 2-D, got shape (3,)"),
    (lambda: make_item_world(0, RNG), "n_items must be a positive integer, got 0"),
    (
        lambda: make_item_world(3, RNG, vague_frac=1.0),
        "vague_frac must be a number in [0, 1), got 1.0",
    ),
    (
        lambda: make_item_world(3, RNG, difficulty_noise=-1.0),
        "difficulty_noise must be a non-negative number, got -1.0",
    ),
    (
        lambda: make_item_world(3, RNG, discrimination_noise=True),
        "discrimination_noise must be a non-negative number, got True",
    ),
    (
        lambda: make_item_world(3, RNG, vague_frac=True),
        "vague_frac must be a number in [0, 1), got True",
    ),
    (
        lambda: make_item_world(3, RNG, feature_shift=[[0.0] * 6]),
        "feature_shift must be 1-D, got shape (1, 6)",
    ),
    (
        lambda: make_item_world(3, RNG, feature_shift=[0.0] * 5 + [np.nan]),
        "feature_shift must be finite; its element 5 (flat index) is nan",
    ),
    (lambda: solve_assignment([1.0, 0.0]), "cost must be 2-D, got shape (2,)"),
    (
        lambda: irt_prob([0.0, np.nan], [1.0], [0.0]),
        "theta must be finite; its element 1 (flat index) is nan",
    ),
    (lambda: irt_prob([0.0], [[1.0]], [0.0]), "a must be 1-D, got shape (1, 1)"),
    (
        lambda: irt_prob([0.0], [np.inf], [0.0]),
        "a must be finite; its element 0 (flat index) is inf",
    ),
    (lambda: irt_prob([0.0], [1.0], [[0.0]]), "b must be 1-D, got shape (1, 1)"),
    (lambda: irt_prob([0.0], [0.0], [0.0]), "a (discrimination) must be positive"),
    (
        lambda: irt_prob([0.0], [1.0], [0.0], guess=True),
        "guess must be a number in [0, 1), got True",
    ),
    (
        lambda: irt_prob([0.0], [1.0], [0.0], guess=False),
        "guess must be a number in [0, 1), got False",
    ),
    (
        lambda: make_item_world(3, RNG, vague_frac=False),
        "vague_frac must be a number in [0, 1), got False",
    ),
    (
        lambda: irt_prob([0.0], [1.0], [np.nan]),
        "b must be finite; its element 0 (flat index) is nan",
    ),
    (
        lambda: simulate_responses([[0.5, 1.5]], RNG),
        "prob must hold probabilities in [0, 1]; prob[1] = 1.5 (1 bad value(s))",
    ),
    (
        lambda: simulate_responses([[0.5, 0.5]], 0),
        "rng must be a numpy Generator (use course.rng)",
    ),
    (
        lambda: fit_response_simulator([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], FEAT),
        "R gives every student the same total: abilities cannot be told apart",
    ),
    (
        lambda: item_statistics([[1.0, 2.0]] * 2),
        "R must hold outcomes 0 or 1; R[1] = 2.0",
    ),
    (
        lambda: item_statistics([[1.0], [0.0]]),
        "R needs at least 2 items (columns) for an item-rest correlation",
    ),
    (lambda: item_statistics([[1.0, 0.0]]), "R needs at least 2 students (rows)"),
    (lambda: fit_response_simulator(R[0], FEAT), "R must be 2-D, got shape (3,)"),
    (
        lambda: fit_response_simulator(R + 1, FEAT),
        "R must hold outcomes 0 or 1; R[0] = 2.0",
    ),
    (
        lambda: fit_response_simulator(R, FEAT[0]),
        "features must be 2-D, got shape (2,)",
    ),
    (
        lambda: fit_response_simulator(R, [[0.0, np.nan]] * 3),
        "features must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: fit_response_simulator(R[:, :2], FEAT),
        "features has 3 rows but R has 2 items (columns)",
    ),
    (
        lambda: fit_response_simulator(R, FEAT, steps=0),
        "steps must be a positive integer, got 0",
    ),
    (
        lambda: fit_response_simulator(R, FEAT, lr=0.0),
        "lr must be a positive finite number, got 0.0",
    ),
    (
        lambda: fit_response_simulator(R, FEAT, offset_sd=-1.0),
        "offset_sd must be a positive finite number, got -1.0",
    ),
    (
        lambda: _hand_simulator().item_parameters([1.0, 0.0]),
        "features must be 2-D, got shape (2,)",
    ),
    (
        lambda: _hand_simulator().item_parameters([[1.0, np.inf]]),
        "features must be finite; its element 1 (flat index) is inf",
    ),
    (
        lambda: _hand_simulator().item_parameters([[1.0, 0.0, 2.0]]),
        "features must have 2 columns, got 3",
    ),
    (
        lambda: solve_assignment([[1.0, np.nan]]),
        "cost must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: total_scores([[1.0, 2.0]]),
        "R must hold outcomes 0 or 1; R[1] = 2.0",
    ),
    (
        lambda: form_correlation([1.0, np.nan], [1.0, 2.0]),
        "totals_a must be finite; its element 1 (flat index) is nan",
    ),
    (
        lambda: form_correlation([[1.0, 2.0]], [1.0, 2.0]),
        "totals_a must be 1-D, got shape (1, 2)",
    ),
    (
        lambda: form_correlation([1.0, 2.0], [[1.0, 2.0]]),
        "totals_b must be 1-D, got shape (1, 2)",
    ),
    (
        lambda: form_correlation([1.0, 2.0], [1.0, np.inf]),
        "totals_b must be finite; its element 1 (flat index) is inf",
    ),
    (lambda: form_correlation([1.0], [2.0]), "totals_a needs at least 2 students"),
    (
        lambda: form_correlation([1.0, 2.0], [3.0, 3.0]),
        "totals_a or totals_b is constant: the correlation is undefined",
    ),
    (lambda: kr20([1.0, 0.0]), "R must be 2-D, got shape (2,)"),
    (lambda: kr20([[1.0, 0.5]]), "R must hold outcomes 0 or 1; R[1] = 0.5"),
    (lambda: kr20([[1.0], [0.0]]), "R needs at least 2 items (columns) for KR-20"),
    (
        lambda: kr20([[1.0, 0.0], [0.0, 1.0]]),
        "R gives every student the same total: KR-20 is undefined",
    ),
]


@pytest.mark.parametrize("call, message", ERRORS, ids=[m[:50] for _, m in ERRORS])
def test_error_message_names_the_argument(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


def test_item_world_subset_takes_every_field():
    world = make_item_world(6, np.random.default_rng(0), vague_frac=0.5)
    for index in ([4, 1], np.array([4.0, 1.0])):  # float indices are whole numbers
        sub = world.subset(index)
        np.testing.assert_array_equal(sub.features, world.features[[4, 1]])
        np.testing.assert_array_equal(sub.a, world.a[[4, 1]])
        np.testing.assert_array_equal(sub.b, world.b[[4, 1]])
        np.testing.assert_array_equal(sub.vague, world.vague[[4, 1]])


def test_defaults_drop_thirty_percent_and_guess_one_half():
    corr = np.arange(10.0)[::-1]  # item 9 is the most ambiguous
    np.testing.assert_array_equal(filter_items(corr), np.arange(7))
    # theta = b: probability guess + (1 - guess) / 2 = 0.75 per item
    assert expected_total([0.0], [1.0, 3.0], [0.0, 0.0]) == pytest.approx(1.5)


def test_filter_ties_drop_the_lower_indices_first():
    # quicksort is not stable beyond 16 elements: 40 equal correlations tell them apart
    corr = np.zeros(40)
    corr[[3, 30]] = -1.0
    # dropped (10 of 40): items 3 and 30, then the equal ones by index, 0, 1, 2, 4, ..., 8
    kept = [9, *range(10, 30), *range(31, 40)]
    np.testing.assert_array_equal(filter_items(corr, drop_frac=0.25), kept)


def test_form_correlation_with_two_students():
    assert form_correlation([1.0, 2.0], [3.0, 5.0]) == pytest.approx(1.0)
    assert form_correlation([1.0, 2.0], [5.0, 3.0]) == pytest.approx(-1.0)


def _hand_simulator():
    """A simulator with chosen parameters (no fit): 2 students, 2 features, 3 seen items."""
    return ResponseSimulator(
        theta=np.array([-0.5, 1.0]),
        w_b=np.array([0.5, -1.0]),
        c_b=0.2,
        w_a=np.array([0.1, 0.3]),
        c_a=-0.1,
        b_offset=np.array([0.3, -0.2, 0.0]),
        log_a_offset=np.array([0.0, 0.4, -0.3]),
        seen_features=np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        guess=0.25,
        losses=np.zeros(1),
    )


def test_predict_seen_closed_form_and_errors():
    sim = _hand_simulator()
    f = sim.seen_features[[2]]
    a = np.exp(f @ sim.w_a + sim.c_a + sim.log_a_offset[[2]])
    b = f @ sim.w_b + sim.c_b + sim.b_offset[[2]]
    np.testing.assert_allclose(
        sim.predict_seen([2]), irt_prob(sim.theta, a, b, 0.25), atol=1e-15
    )
    message = "items must be a non-empty 1-D array of integer indices"
    for bad in ([[0, 1]], np.array([], dtype=int), [0.0]):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            sim.predict_seen(bad)
    with pytest.raises(
        ValueError, match=r"^items must be indices in \[0, 3\), got 0 to 3$"
    ):
        sim.predict_seen([0, 3])


def test_item_statistics_clips_by_half_a_student():
    # item 0 is always right: p = 1 is clipped to 1 - 1/(2 S) = 7/8 with S = 4 students
    R = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [1, 0, 0]], dtype=float)
    with pytest.warns(RuntimeWarning) as record:
        difficulty, corr = item_statistics(R, guess=0.5)
    assert difficulty[0] == pytest.approx(np.log((1 / 8) / (7 / 8 - 0.5)), abs=1e-12)
    assert corr[0] == 0.0
    message = (
        "1 item(s) (first: 0) have no variance in R or in the rest score; their "
        "item-rest correlation is set to 0"
    )
    assert str(record[0].message) == message


def test_item_world_noise_and_vagueness_distributions():
    clear = make_item_world(4000, np.random.default_rng(1), vague_frac=0.0)
    # clear items: |N(0, 0.3)| vagueness, mean 0.3 sqrt(2 / pi)
    assert abs(clear.features[:, 4:].mean() - 0.3 * np.sqrt(2 / np.pi)) < 0.01
    assert abs(clear.features[:, 4:].std() - 0.3 * np.sqrt(1 - 2 / np.pi)) < 0.01
    # the noise of b and log a is drawn per item: sd 0.35 and 0.2 around the features' part
    from utils.item_response import DIFFICULTY_WEIGHTS, DISCRIMINATION_WEIGHTS

    noise_b = clear.b - clear.features @ DIFFICULTY_WEIGHTS
    noise_a = np.log(clear.a) - 0.9 - clear.features @ DISCRIMINATION_WEIGHTS
    assert abs(noise_b.std() - 0.35) < 0.02 and abs(noise_a.std() - 0.2) < 0.015
    vague = make_item_world(2000, np.random.default_rng(2), vague_frac=0.9999)
    shown = vague.features[vague.vague, 4:]
    assert len(shown) > 1900 and shown.min() > 2.0  # 2 plus |N(0, 0.3)|
    assert abs(shown.mean() - 2.0 - 0.3 * np.sqrt(2 / np.pi)) < 0.02


def test_item_statistics_default_guess_and_two_students():
    R2 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    with pytest.warns(RuntimeWarning):  # item 2 is flat
        difficulty, corr = item_statistics(R2)
    # p = 1/2 is clipped up to 1/2 + 1/4 (guess 0.5 plus half a student of 2): 0 logits
    assert difficulty[0] == pytest.approx(np.log((1 - 0.75) / (0.75 - 0.5)), abs=1e-12)
    np.testing.assert_allclose(corr, [-1.0, -1.0, 0.0], atol=1e-12)


def _small_fit(steps):
    rng = np.random.default_rng(3)
    R = (rng.random((40, 6)) < 0.6).astype(float)
    features = rng.normal(size=(6, 2))
    return R, fit_response_simulator(R, features, guess=0.25, steps=steps, lr=0.1)


def _nll(R, p):
    return -np.mean(R * np.log(p) + (1 - R) * np.log(1 - p))


def test_fit_first_loss_is_the_likelihood_at_the_start():
    # start: standardized totals as abilities, b = 0 and a = 1 for every item
    R, sim = _small_fit(1)
    totals = R.sum(axis=1)
    theta0 = (totals - totals.mean()) / totals.std()
    p0 = irt_prob(theta0, np.ones(6), np.zeros(6), 0.25)
    assert sim.losses[0] == pytest.approx(_nll(R, p0), rel=1e-13)


def test_fit_returns_the_parameters_its_loss_was_computed_with():
    # the fit is deterministic: the loss of step 31 is computed at the parameters that a
    # 30-step fit returns, so the returned (theta, w, c, offsets) must reproduce it
    _, sim30 = _small_fit(30)
    R, sim31 = _small_fit(31)
    f = sim30.seen_features
    a = np.exp(f @ sim30.w_a + sim30.c_a + sim30.log_a_offset)
    b = f @ sim30.w_b + sim30.c_b + sim30.b_offset
    z = a[None, :] * (sim30.theta[:, None] - b[None, :])  # [S, J]
    g = sim30.guess
    log_right = np.logaddexp(np.log(g), np.log1p(-g) + log_expit(z))
    log_wrong = np.log1p(-g) + log_expit(-z)
    nll = -np.mean(R * log_right + (1 - R) * log_wrong)
    assert sim31.losses[-1] == pytest.approx(nll, rel=1e-12)
    np.testing.assert_allclose(
        np.exp(log_right), sim30.predict_seen(np.arange(6)), rtol=1e-12
    )
    assert sim30.losses.shape == (30,)
