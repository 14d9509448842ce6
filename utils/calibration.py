"""Scores for probability estimates: Brier, binned ECE, reliability curves and the Balance score.

Chapter 01 of the course. Paper: E. Choi, J. Kim, W. Lee, "Rethinking Evaluation Metric for
Probability Estimation Models Using Esports Data", arXiv:2309.06248v1 (2023). No official code; this
module is written from the paper's definitions.

Notation (binary events, e.g. "team 1 wins"): ``p_hat`` is the predicted probability of the event,
``y`` the observed outcome (0 or 1), ``p_true`` the true probability (known only in simulation).
The predicted side is ``p_hat >= 0.5`` and the confidence is ``max(p_hat, 1 - p_hat)``.

Every function takes 1-D array-likes and raises ``ValueError`` with a clear message on empty input,
arrays of different lengths, probabilities outside [0, 1] (naming the first offending index), or
outcomes other than 0/1. The generic metrics (:func:`brier_score`, :func:`reliability_curve`) are
shared by later chapters; the tests compare them with scikit-learn.
"""

from __future__ import annotations

import numpy as np

from utils.validation import (
    check_outcomes,
    check_positive_int,
    check_probabilities,
    check_same_length,
)

__all__ = [
    "brier_score",
    "reliability_curve",
    "ece_binned",
    "accuracy",
    "confidence",
    "balance_terms",
    "balance_score",
    "balance_standard_error",
    "true_calibration_error",
    "distort_probs",
    "logit",
    "sigmoid",
]

LOGIT_CLIP = 1e-12  # probabilities are clipped to [eps, 1 - eps] before a logit


# ----------------------------------------------------------------------------------- validation
def _check_pair(p_hat, y) -> tuple[np.ndarray, np.ndarray]:
    p_hat = check_probabilities(p_hat, "p_hat")
    y = check_outcomes(y, "y")
    check_same_length(p_hat=p_hat, y=y)
    return p_hat, y


def _check_n_bins(n_bins) -> int:
    return check_positive_int(n_bins, "n_bins")


# ---------------------------------------------------------------------------- standard metrics
def brier_score(p_hat, y) -> float:
    """Brier score, the mean squared error of the probabilities: ``mean((p_hat - y)**2)``.

    The first of the two replacements for accuracy that the paper examines (Brier, 1950). Lower
    is better, range [0, 1]. Same value as ``sklearn.metrics.brier_score_loss(y, p_hat)``.
    Paper: the Brier score and its decomposition, Eqs. (1)-(3) (arXiv:2309.06248v1).
    """
    p_hat, y = _check_pair(p_hat, y)
    return float(np.mean((p_hat - y) ** 2))


def _bin_edges(p_hat: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.quantile(p_hat, np.linspace(0.0, 1.0, n_bins + 1))
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def _binned_sums(p_hat, y, n_bins, strategy):
    """Per-bin (sum of p_hat, sum of y, count), each of shape (n_bins,)."""
    p_hat, y = _check_pair(p_hat, y)
    n_bins = _check_n_bins(n_bins)
    edges = _bin_edges(p_hat, n_bins, strategy)
    # Bin b holds edges[b] < p <= edges[b+1] (bin 0 also holds its left edge): the same
    # assignment as sklearn.calibration.calibration_curve.
    bin_id = np.searchsorted(edges[1:-1], p_hat)  # (n,)
    count = np.bincount(bin_id, minlength=n_bins)  # (n_bins,)
    sum_pred = np.bincount(bin_id, weights=p_hat, minlength=n_bins)
    sum_true = np.bincount(bin_id, weights=y, minlength=n_bins)
    return sum_pred, sum_true, count


def reliability_curve(p_hat, y, n_bins: int = 10, strategy: str = "uniform"):
    """Reliability diagram data: per non-empty bin, the mean prediction, the observed frequency, the count.

    Returns ``(mean_pred, freq, count)``, three arrays of equal length (<= ``n_bins``; empty bins
    are dropped). ``mean_pred`` and ``freq`` equal ``calibration_curve(y, p_hat, n_bins=n_bins,
    strategy=strategy)`` of scikit-learn, in that order swapped (sklearn returns freq first).
    Paper: course addition — the per-bin data of a reliability diagram and of the binned ECE.
    """
    sum_pred, sum_true, count = _binned_sums(p_hat, y, n_bins, strategy)
    keep = count > 0
    return sum_pred[keep] / count[keep], sum_true[keep] / count[keep], count[keep]


def ece_binned(p_hat, y, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Binned expected calibration error (Naeini et al., 2015), the second metric the paper examines.

    ``ECE = sum_b |I_b|/n * |mean(y in I_b) - mean(p_hat in I_b)|`` over ``n_bins`` bins of ``p_hat``
    (``strategy="uniform"``: equal width; ``"quantile"``: equal count). Note the binning knob
    ``n_bins`` and the upward bias at small n, the two flaws the paper points out.

    This is the *positive-class* form: bins over the forecast ``p_hat`` of the event, each
    comparing the event's frequency with the mean forecast. The *top-label* form of Guo et
    al. (2017), which the paper follows, bins the confidence ``max(p_hat, 1 - p_hat)`` and
    compares accuracy with mean confidence: ``ece_binned(confidence(p_hat), correct)``.
    Paper: the binned ECE, Eq. (7), here in its positive-class form (arXiv:2309.06248v1).
    """
    mean_pred, freq, count = reliability_curve(p_hat, y, n_bins, strategy)
    return float(np.sum(count * np.abs(freq - mean_pred)) / np.sum(count))


def accuracy(p_hat, y) -> float:
    """Share of correct decisions, the decision being ``p_hat >= 0.5``.

    Paper: accuracy, the discrimination-only metric the paper replaces (arXiv:2309.06248v1).
    """
    p_hat, y = _check_pair(p_hat, y)
    return float(np.mean((p_hat >= 0.5) == (y == 1.0)))


def confidence(p_hat) -> np.ndarray:
    """Confidence of each forecast in its predicted side: ``max(p_hat, 1 - p_hat)``, in [0.5, 1].

    Paper: the confidence q inside the gain/loss function, Eq. (8) (arXiv:2309.06248v1).
    """
    p_hat = check_probabilities(p_hat, "p_hat")
    return np.maximum(p_hat, 1.0 - p_hat)


# ------------------------------------------------------------------------------ Balance score
def balance_terms(p_hat, y) -> np.ndarray:
    """Per-forecast gain or loss of the Balance score: the paper's piecewise gain/loss function.

    A forecast whose predicted side (``p_hat >= 0.5``) wins gains ``1 - confidence``; one whose
    side loses pays ``confidence``: ``g = 1[correct] - max(p_hat, 1 - p_hat)``, each in [-1, 0.5].
    Given the true probability p, ``E[g] = p - p_hat`` on the side ``p_hat >= 0.5`` and
    ``p_hat - p`` below it, so ``|E[g]| = |p_hat - p|`` (the paper's ``|g(q; p)| = |q - p|``).
    Returns an array of shape (n,).
    Paper: the gain/loss function g(q; p), Eq. (8), and its property Eq. (11) (arXiv:2309.06248v1).
    """
    p_hat, y = _check_pair(p_hat, y)
    correct = (p_hat >= 0.5) == (y == 1.0)
    return correct.astype(float) - np.maximum(p_hat, 1.0 - p_hat)


def balance_score(p_hat, y) -> float:
    """Balance score: the mean gain/loss, equal to accuracy minus mean confidence.

    Ideal value 0; negative means over-confident (forecasts further from 0.5 than the truth),
    positive under-confident. When all miscalibration goes one way, ``|Balance|`` estimates the
    true calibration error ``mean|p_hat - p|`` without bins; opposite errors cancel otherwise.
    Paper: the Balance score, Eq. (9), with ideal value 0 (Eq. (10)) (arXiv:2309.06248v1).
    """
    return float(np.mean(balance_terms(p_hat, y)))


def balance_standard_error(p_hat, y) -> float:
    """Standard error of the Balance score, ``sd(g) / sqrt(n)`` (it is a plain mean).

    Paper: course addition — the standard error of Balance, a plain mean.
    """
    g = balance_terms(p_hat, y)
    if g.size < 2:
        raise ValueError("a standard error needs at least two forecasts")
    return float(np.std(g, ddof=1) / np.sqrt(g.size))


# ----------------------------------------------------------------------- simulation-only truth
def true_calibration_error(p_hat, p_true) -> float:
    """True calibration error ``mean|p_hat - p_true|``; needs the true probabilities (simulation only).

    This is the paper's target, the binning-free expected calibration error
    ``E|P(y = 1 | p_hat) - p_hat|``, whenever ``p_hat`` is an invertible function of ``p_true``
    (as for :func:`distort_probs`); for other forecasts (a fitted model) it is an upper bound of
    it, because averaging ``p_true`` over forecasts with the same ``p_hat`` can only shrink
    ``|p_hat - p_true|`` (Jensen's inequality).
    Paper: the true ECE, Eq. (6), in its simulation form (see above) (arXiv:2309.06248v1).
    """
    p_hat = check_probabilities(p_hat, "p_hat")
    p_true = check_probabilities(p_true, "p_true")
    if p_hat.shape != p_true.shape:
        raise ValueError(
            f"p_hat and p_true must have the same length, got {p_hat.size} and "
            f"{p_true.size}"
        )
    return float(np.mean(np.abs(p_hat - p_true)))


def logit(p) -> np.ndarray:
    """``log(p / (1 - p))`` after clipping ``p`` to ``[1e-12, 1 - 1e-12]``.

    Paper: course addition — the logit used to simulate miscalibrated forecasts.
    """
    p = np.clip(check_probabilities(p, "p"), LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(p) - np.log1p(-p)


def sigmoid(z) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, computed without overflow.

    Paper: course addition — the inverse of :func:`logit`.
    """
    z = np.asarray(z, dtype=float)
    return np.exp(-np.logaddexp(0.0, -z))


def distort_probs(p, tau: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """Miscalibrate probabilities in logit space: ``sigmoid(tau * logit(p) + shift)``.

    ``tau > 1`` sharpens (over-confident), ``0 < tau < 1`` flattens (under-confident), ``shift``
    moves every forecast towards one side (over-confident on one side of 0.5, under-confident on
    the other). ``tau=1, shift=0`` returns ``p`` (up to the logit clipping).
    Paper: course addition — forecasts with a known kind of miscalibration.
    """
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau!r}")
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift!r}")
    return sigmoid(tau * logit(p) + shift)
