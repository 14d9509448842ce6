"""Exact values, boundaries and error messages of utils.risk_scores (chapter 02).

Written against the mutants of ``python3 course.py mutate risk_scores``: the numeric helpers
(true risk, the two-option score, digits, sharpening, AUC, the evaluation dict, the calibration
slope) pinned by closed forms, hand-solved cases and scikit-learn / SciPy on random inputs.
The validation of ``auc_score`` and ``sharpen`` is pinned in tests/test_bad_inputs.py.
"""

import re

import numpy as np
import pytest
import torch
from scipy.special import expit, logit
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from utils.risk_scores import (
    Feature,
    RiskTask,
    auc_score,
    calibration_slope,
    digits_to_risk,
    evaluate_risk_scores,
    sample_population,
    sharpen,
    true_risk,
    true_risk_probit,
    two_option_risk,
)

SMALL = RiskTask(
    name="Small",
    target="score",
    threshold=10.0,
    question="Is the score above 10?",
    features=(
        Feature("a", ("a0", "a1"), ("has a0", "has a1"), (0.5, 0.5), (-1.0, 1.0)),
        Feature(
            "b",
            ("b0", "b1", "b2"),
            ("has b0", "has b1", "has b2"),
            (0.2, 0.3, 0.5),
            (0.0, 0.5, 2.0),
        ),
    ),
    intercept=0.25,
    interaction=("a", "b", 0.5),
    noise_scale=0.8,
)


def test_true_risk_probit_by_hand():
    X = np.array([[0, 0], [1, 2], [0, 1]])
    sd_a, sd_b = np.std([-1.0, 1.0]), np.std([0.0, 0.5, 2.0])
    za, zb = np.array([-1.0, 1.0, -1.0]), np.array([0.0, 2.0, 0.5])
    expected = 0.25 + za + zb + 0.5 * za * zb / (sd_a * sd_b)
    np.testing.assert_allclose(true_risk_probit(SMALL, X), expected, atol=1e-14)
    np.testing.assert_allclose(true_risk(SMALL, X), norm.cdf(expected), atol=1e-14)


def test_sample_population_labels_and_true_risk():
    pop = sample_population(SMALL, 400, np.random.default_rng(0))
    np.testing.assert_array_equal(pop.y, (pop.target > 10.0).astype(int))
    np.testing.assert_allclose(pop.p_true, true_risk(SMALL, pop.X), atol=1e-14)
    assert pop.X.shape == (400, 2) and len(pop) == 400
    # log(target) = log(threshold) + 0.8 (eta + eps): eps is standard normal
    eps = (np.log(pop.target) - np.log(10.0)) / 0.8 - true_risk_probit(SMALL, pop.X)
    assert abs(eps.mean()) < 0.15 and abs(eps.std() - 1.0) < 0.1
    # category shares follow the feature's shares
    assert abs(np.mean(pop.X[:, 1] == 2) - 0.5) < 0.08
    for bad in (0, 2.0, True):
        with pytest.raises(
            ValueError, match=f"^n must be a positive integer, got {bad!r}$"
        ):
            sample_population(SMALL, bad, np.random.default_rng(0))


def test_two_option_risk_equals_the_softmax_of_the_pair():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 5, generator=g) * 3
    for yes, no in ((1, 3), (4, 0), (0, 4)):
        expected = torch.softmax(logits[:, [yes, no]].double(), -1)[:, 0].numpy()
        np.testing.assert_allclose(
            two_option_risk(logits, yes, no), expected, atol=1e-7
        )


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((torch.zeros(3), 0, 1), ValueError, "logits must have shape [n, V], got (3,)"),
        (
            (torch.zeros(2, 4), 4, 1),
            ValueError,
            "yes_id=4 is outside the vocabulary [0, 4)",
        ),
        (
            (torch.zeros(2, 4), 0, -1),
            ValueError,
            "no_id=-1 is outside the vocabulary [0, 4)",
        ),
        (
            (torch.zeros(2, 4), 2, 2),
            ValueError,
            "yes_id and no_id must be different tokens",
        ),
        (
            (np.zeros((2, 4)), 0, 1),
            TypeError,
            "logits must be a torch.Tensor of shape [n, V], got ndarray",
        ),
    ],
)
def test_two_option_risk_errors(args, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        two_option_risk(*args)


def test_digits_to_risk_by_hand_and_errors():
    np.testing.assert_allclose(
        digits_to_risk([[1, 2], [0, 9], [9, 9]]), [0.12, 0.09, 0.99]
    )
    np.testing.assert_allclose(digits_to_risk([[0], [9]]), [0.0, 0.9])
    np.testing.assert_allclose(digits_to_risk([[3, 0, 5]]), [0.305])
    shape = "digits must have shape [n, k] with n, k >= 1, got {}"
    for bad, got in (
        ([1, 2], "(2,)"),
        (np.zeros((2, 0), int), "(2, 0)"),
        (np.zeros((0, 2), int), "(0, 2)"),
    ):
        with pytest.raises(ValueError, match=f"^{re.escape(shape.format(got))}$"):
            digits_to_risk(bad)
    for bad in ([[10]], [[-1]], [[0.5]]):
        with pytest.raises(
            ValueError, match="^digits must be integers between 0 and 9$"
        ):
            digits_to_risk(bad)


def test_sharpen_closed_form():
    r = np.array([0.1, 0.5, 0.8, 0.99])
    np.testing.assert_allclose(sharpen(r, 0.5), expit(logit(r) / 0.5), atol=1e-12)
    np.testing.assert_allclose(sharpen(r, 2.0), expit(logit(r) / 2.0), atol=1e-12)
    np.testing.assert_allclose(sharpen(r, 1.0), r, atol=1e-12)


def test_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        y = rng.integers(0, 2, 50)
        y[:2] = [0, 1]
        scores = rng.integers(0, 5, 50).astype(float)  # many ties
        assert auc_score(y, scores) == pytest.approx(
            roc_auc_score(y, scores), abs=1e-12
        )
    assert auc_score([0, 1], [0.2, 0.8]) == 1.0
    assert auc_score([0, 1], [0.8, 0.2]) == 0.0
    assert auc_score([0, 1], [0.5, 0.5]) == 0.5


def test_evaluate_risk_scores_by_hand():
    y = np.array([0, 1, 1, 0])
    risk = np.array([0.5, 0.5, 0.9, 0.2])
    out = evaluate_risk_scores(y, risk, n_bins=2)
    assert set(out) == {"auc", "ece", "brier", "accuracy", "sd", "mean"}
    assert out["auc"] == pytest.approx(roc_auc_score(y, risk))
    assert out["brier"] == pytest.approx(np.mean((risk - y) ** 2))
    assert out["accuracy"] == pytest.approx(0.75)  # 0.5 counts as a "yes"
    assert out["sd"] == pytest.approx(np.std(risk)) and out["mean"] == pytest.approx(
        0.525
    )
    # two bins [0, 0.5) and [0.5, 1]: |0.2 - 0| * 1/4 + |0.633 - 0.667| * 3/4
    assert out["ece"] == pytest.approx(0.25 * 0.2 + 0.75 * abs(1.9 / 3 - 2 / 3))


def test_calibration_slope_matches_scikit_learn():
    rng = np.random.default_rng(2)
    risk = rng.uniform(0.02, 0.98, 300)
    y = (rng.random(300) < expit(1.7 * logit(risk) - 0.3)).astype(int)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
    ref.fit(logit(risk)[:, None], y)
    assert calibration_slope(y, risk) == pytest.approx(ref.coef_[0, 0], rel=1e-6)
    # scores at 0 and 1 are clipped before the logit
    risk[:3] = [0.0, 1.0, 0.0]
    clipped = np.clip(risk, 1e-3, 1 - 1e-3)
    ref.fit(logit(clipped)[:, None], y)
    assert calibration_slope(y, risk, clip=1e-3) == pytest.approx(
        ref.coef_[0, 0], rel=1e-6
    )


def test_calibration_slope_errors():
    with pytest.raises(
        ValueError, match=r"^y and risk must have the same length, got 2 and 3$"
    ):
        calibration_slope([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="^the calibration slope needs both outcomes$"):
        calibration_slope([1, 1], [0.1, 0.2])
    with pytest.raises(
        ValueError, match="^the calibration slope needs scores that are not all equal$"
    ):
        calibration_slope([0, 1], [0.3, 0.3])
