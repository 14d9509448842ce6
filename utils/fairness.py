"""Fairness audits when the sensitive attribute is missing: proxies, noise, calibration.

Chapter 03 of the course. Paper: Z. Zhu, Y. Yao, J. Sun, H. Li, Y. Liu, "Weak Proxies
are Sufficient and Preferable for Fairness with Missing Sensitive Attributes", ICML
2023, arXiv:2210.03175v2. Official code: https://github.com/UCSC-REAL/fair-eval. This
module is written from the paper's definitions; every public function names the part of
the paper it implements in a ``Paper:`` line of its docstring.

Notation. ``group`` holds the true sensitive attribute A in {0..K-1} (unobserved in
practice, known here because the data are simulated); ``pred`` the classifier's decision
f(X) in {0..C-1}; ``proxies`` an ``[N, 3]`` array of proxy guesses of A. The *fairness
matrix* ``H[i, k] = P(f(X) = k | A = i)`` has shape ``[K, C]``; the proxies' *transition
matrix* ``T[i, j] = P(proxy = j | A = i)`` has shape ``[K, K]``; the prior is
``p[i] = P(A = i)``.

The paper's Algorithm 1, one function per step:

1. :func:`fairness_matrix` with a proxy in place of A gives the noisy matrix (the
   *direct* estimate practitioners report);
2. :func:`consensus_statistics` counts how often the three proxies agree (first, second
   and third order) and :func:`estimate_transition` fits ``T`` and ``p`` to those counts
   through :func:`model_consensus` (HOC, high-order consensus);
3. :func:`calibrate_fairness_matrix` undoes the mixing that
   :func:`noisy_fairness_matrix` describes;
4. :func:`dp_gap` turns a fairness matrix into the demographic-parity disparity.

:func:`calibrated_dp_gap` runs the whole pipeline. Every function raises ``ValueError``
naming the argument on bad input (wrong shape, NaN, ids out of range, an empty group, a
transition matrix whose rows do not sum to 1 or that cannot be inverted).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, softmax
from scipy.stats import binom, norm
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from utils.validation import check_array, check_probabilities, check_same_length

__all__ = [
    "fairness_matrix",
    "dp_gap",
    "equalized_odds_gaps",
    "normalized_error",
    "noisy_fairness_matrix",
    "calibrate_fairness_matrix",
    "model_consensus",
    "consensus_statistics",
    "estimate_transition",
    "calibrated_dp_gap",
    "majority_vote",
    "vote_accuracy",
    "proxy_transition",
    "make_proxies",
    "simulate_population",
]

ROW_SUM_TOL = 1e-6  # rows of T, and p, must sum to 1 within this
PROB_TOL = 1e-12  # dp_gap: rounding may put a computed rate this far outside [0, 1]
COND_WARN = 1e3  # cond(T) above this: the proxies carry almost no information
COND_FAIL = 1e12  # cond(T) above this: T is treated as singular


# -------------------------------------------------------------------------- validation
def _check_labels(
    values, name: str, n_values: int | None = None, ndim: int = 1
) -> np.ndarray:
    """``values`` as int ids in {0..n_values-1}; a ValueError names ``name``."""
    arr = check_array(values, name, ndim=ndim)
    bad = (arr != np.round(arr)) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{name} must hold integer ids 0, 1, ...; element {i} (flat "
            f"index) is {float(arr.ravel()[i])!r}"
        )
    arr = arr.astype(int)
    if n_values is not None and arr.max() >= n_values:
        i = int(np.flatnonzero(arr.ravel() >= n_values)[0])
        raise ValueError(
            f"{name} holds id {arr.ravel()[i]} (flat index {i}), out of "
            f"range for {n_values} values (ids 0..{n_values - 1})"
        )
    return arr


def _check_count(value, name: str, minimum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_transition(T, name: str = "T") -> np.ndarray:
    """A square row-stochastic matrix that can be inverted (warns if near-singular)."""
    T = check_array(T, name, ndim=2)
    k = len(T)
    if T.shape != (k, k) or k < 2:
        raise ValueError(
            f"{name} must be a square [K, K] matrix with K >= 2, got shape {T.shape}"
        )
    if (T < 0).any() or (T > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    sums = T.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=ROW_SUM_TOL):
        i = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(
            f"each row of {name} must sum to 1 (row i is P(proxy | A = "
            f"i)); row {i} sums to {sums[i]:.6g}"
        )
    cond = np.linalg.cond(T)
    if not np.isfinite(cond) or cond > COND_FAIL:
        raise ValueError(
            f"{name} is singular (condition number {cond:.3g}): proxies "
            "whose guesses do not depend on A carry no information"
        )
    if cond > COND_WARN:
        warnings.warn(
            f"{name} is nearly singular (condition number {cond:.3g}): the "
            "proxies are barely better than chance and calibration will "
            "amplify noise",
            RuntimeWarning,
            stacklevel=3,  # pragma: no mutate (where the warning points, no result)
        )
    return T


def _check_prior(p, name: str, k: int) -> np.ndarray:
    p = check_probabilities(p, name)
    if p.shape != (k,):
        raise ValueError(
            f"{name} must have shape [{k}] (one entry per group), got {p.shape}"
        )
    if not np.isclose(p.sum(), 1.0, rtol=0.0, atol=ROW_SUM_TOL):
        raise ValueError(f"{name} must sum to 1, got {p.sum():.6g}")
    if (p <= 0).any():
        raise ValueError(
            f"{name} must be positive: group {int(np.argmin(p))} has "
            "prior 0, and an empty group's row of H is undefined"
        )
    return p


def _check_three_proxies(proxies, n_groups: int) -> np.ndarray:
    proxies = _check_labels(proxies, "proxies", n_groups, ndim=2)
    if proxies.shape[1] != 3:
        raise ValueError(
            f"proxies must have exactly 3 columns, got {proxies.shape[1]}:"
            " three conditionally independent proxies identify T, two do "
            "not (their agreement counts leave a family of solutions)"
        )
    return proxies


# -------------------------------------------------------------------- fairness metrics
def fairness_matrix(
    pred, group, n_groups: int | None = None, n_classes: int | None = None
) -> np.ndarray:
    """The fairness matrix ``H[i, k] = P(f(X) = k | A = i)``, shape ``[K, C]``.

    Paper: the fairness matrix H, Preliminaries (arXiv:2210.03175v2).

    ``group`` may be the true attribute or a proxy (then the result is the noisy matrix
    the paper writes with a tilde). ``n_groups`` and ``n_classes`` default to the
    largest id + 1. Raises ``ValueError`` when a group has no rows (its row would be
    0/0).
    """
    if n_groups is not None:
        n_groups = _check_count(n_groups, "n_groups", 1)
    if n_classes is not None:
        n_classes = _check_count(n_classes, "n_classes", 1)
    pred = _check_labels(pred, "pred", n_classes)
    group = _check_labels(group, "group", n_groups)
    check_same_length(pred=pred, group=group)
    k = int(group.max()) + 1 if n_groups is None else n_groups
    c = int(pred.max()) + 1 if n_classes is None else n_classes
    counts = np.zeros((k, c))  # [K, C]
    np.add.at(counts, (group, pred), 1.0)  # pragma: no mutate (a scale cancels below)
    sizes = counts.sum(axis=1)
    if (sizes == 0).any():
        raise ValueError(
            f"group {int(np.argmin(sizes))} has no rows: its "
            "fairness-matrix row P(f | A = i) is undefined"
        )
    return counts / sizes[:, None]


def dp_gap(H) -> float:
    """Demographic-parity disparity of a fairness matrix ``H`` of shape ``[K, C]``.

    Paper: the demographic-parity disparity, Preliminaries (arXiv:2210.03175v2).

    The mean, over pairs of groups, of the total-variation distance between their rows,
    ``1/2 * sum_k |H[i, k] - H[j, k]|``. For two groups and a yes/no decision this is
    the familiar ``|P(f = 1 | A = 0) - P(f = 1 | A = 1)|``.
    """
    H = check_array(H, "H", ndim=2)
    outside = (H < -PROB_TOL) | (H > 1.0 + PROB_TOL)
    if outside.any():
        i = int(np.flatnonzero(outside.ravel())[0])
        raise ValueError(
            f"H must hold probabilities in [0, 1]; element {i} (flat index) is "
            f"{float(H.ravel()[i])!r}"
        )
    if H.shape[0] < 2:
        raise ValueError(f"H needs at least two rows (groups), got shape {H.shape}")
    pairs = list(itertools.combinations(range(H.shape[0]), 2))
    return float(np.mean([0.5 * np.abs(H[i] - H[j]).sum() for i, j in pairs]))


def equalized_odds_gaps(pred, y, group, n_groups: int | None = None) -> dict:
    """Equalized-odds and equal-opportunity disparities: DP gaps within each ``Y``.

    Paper: the EOd and EOp disparities, Preliminaries (arXiv:2210.03175v2).

    Within each outcome ``Y = y`` compute the DP disparity of the fairness matrix;
    equalized odds is their mean over ``y`` in {0, 1}, equal opportunity the one within
    ``Y = 1``. Returns ``{"equalized_odds": float, "equal_opportunity": float}``.
    """
    pred = _check_labels(pred, "pred")
    y = _check_labels(y, "y", 2)
    group = _check_labels(group, "group", n_groups)
    check_same_length(pred=pred, y=y, group=group)
    k = int(group.max()) + 1 if n_groups is None else n_groups
    gaps = []
    for outcome in (0, 1):
        rows = y == outcome
        if not rows.any():
            raise ValueError(f"y has no rows with outcome {outcome}")
        # a class absent from these rows is a zero column, which adds nothing to the gap
        gaps.append(dp_gap(fairness_matrix(pred[rows], group[rows], k)))
    return {"equalized_odds": float(np.mean(gaps)), "equal_opportunity": gaps[1]}


def normalized_error(estimate, truth) -> float:
    """``|estimate - truth| / truth``, the error measure of the paper's tables.

    Paper: the normalized error (NE) of the COMPAS experiments (arXiv:2210.03175v2).
    """
    estimate = float(check_array(estimate, "estimate", ndim=0))
    truth = float(check_array(truth, "truth", ndim=0))
    if truth <= 0:
        raise ValueError(f"truth must be positive to normalize by it, got {truth!r}")
    return abs(estimate - truth) / truth


# ----------------------------------------------------------- the noise and its undoing
def noisy_fairness_matrix(H, T, p) -> tuple[np.ndarray, np.ndarray]:
    """The fairness matrix seen through a proxy: ``(H_noisy [K, C], p_noisy [K])``.

    Paper: closed form of the noisy fairness matrix (arXiv:2210.03175v2).

    When the proxy errs independently of ``f(X)`` given ``A``: ``p_noisy = T^T p`` and
    ``p_noisy * H_noisy[:, k] = T^T (p * H[:, k])`` for every class ``k``. Each noisy
    row is a prior-weighted mixture of the true rows, so the groups blur together.
    """
    H = check_probabilities(H, "H", ndim=2)
    T = _check_transition(T)
    k = len(T)  # T is square
    p = _check_prior(p, "p", k)
    if H.shape[0] != k:
        raise ValueError(f"H has {H.shape[0]} rows but T is {k}x{k}")
    p_noisy = T.T @ p  # [K]
    H_noisy = (T.T @ (p[:, None] * H)) / p_noisy[:, None]  # [K, C]
    return H_noisy, p_noisy


def calibrate_fairness_matrix(H_noisy, p_noisy, T, p, clip: bool = True) -> np.ndarray:
    """Undo the proxy noise, one column ``k`` of the fairness matrix at a time.

    Paper: Algorithm 1, the calibration step (arXiv:2210.03175v2).

    ``H[:, k] = diag(p)^-1 (T^T)^-1 (p_noisy * H_noisy[:, k])``, the inverse of
    :func:`noisy_fairness_matrix`.

    ``H_noisy [K, C]`` and ``p_noisy [K]`` are measured with proxies; ``T`` and ``p``
    are the transition matrix and the prior (estimated by :func:`estimate_transition`,
    or the true ones in a simulation). With ``clip`` the result is clipped to [0, 1] and
    each row renormalized to sum to 1: estimated ``T, p`` can push rates outside the
    simplex.
    """
    H_noisy = check_probabilities(H_noisy, "H_noisy", ndim=2)
    T = _check_transition(T)
    k = len(T)  # T is square
    p_noisy = _check_prior(p_noisy, "p_noisy", k)
    p = _check_prior(p, "p", k)
    if H_noisy.shape[0] != k:
        raise ValueError(f"H_noisy has {H_noisy.shape[0]} rows but T is {k}x{k}")
    joint = np.linalg.solve(T.T, p_noisy[:, None] * H_noisy)  # [K, C]: P(A = i, f = k)
    H = joint / p[:, None]
    if clip:
        H = np.clip(H, 0.0, 1.0)
        sums = H.sum(axis=1, keepdims=True)
        safe = np.where(sums > 0, sums, 1.0)  # pragma: no mutate (rows <= 0 replaced)
        H = np.where(sums > 0, H / safe, 1.0 / H.shape[1])
    return H


# --------------------------------------------------------- HOC: T and p from agreement
def model_consensus(T, p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The consensus of three proxies that ``(T, p)`` predict, first to third order.

    Paper: the high-order consensus equations of HOC (arXiv:2210.03175v2).

    ``c1[j] = sum_i p_i T_ij`` ``[K]``, ``c2[j, l] = sum_i p_i T_ij T_il`` ``[K, K]``
    and ``c3[j, l, m] = sum_i p_i T_ij T_il T_im`` ``[K, K, K]``: the probabilities that
    one, two, three proxies say ``j``, ``(j, l)``, ``(j, l, m)`` when they err
    independently given A.
    """
    T = check_probabilities(T, "T", ndim=2)
    if T.shape[0] != T.shape[1]:
        raise ValueError(f"T must be square [K, K], got shape {T.shape}")
    p = check_probabilities(p, "p")
    k = len(T)  # T is square
    if p.shape != (k,):
        raise ValueError(f"p must have shape [{k}], got {p.shape}")
    # pragma: no mutate start (einsum reads upper-case labels as the same sum)
    c1 = np.einsum("i,ij->j", p, T)
    c2 = np.einsum("i,ij,il->jl", p, T, T)
    c3 = np.einsum("i,ij,il,im->jlm", p, T, T, T)
    # pragma: no mutate end
    return c1, c2, c3


def consensus_statistics(proxies, n_groups: int = 2):
    """Empirical consensus of three proxies: ``(c1 [K], c2 [K, K], c3 [K, K, K])``.

    Paper: Algorithm 1, the consensus counts of HOC (arXiv:2210.03175v2).

    The frequencies of one proxy saying ``j``, two saying ``(j, l)`` and three saying
    ``(j, l, m)``. The paper averages the counts over G random orderings of the proxies;
    here the average runs over all 3! orderings, the limit of that average, which keeps
    the result symmetric and free of randomness.
    """
    n_groups = _check_count(n_groups, "n_groups", 2)
    proxies = _check_three_proxies(proxies, n_groups)
    n, k = proxies.shape[0], n_groups
    c1, c2, c3 = np.zeros(k), np.zeros((k, k)), np.zeros((k, k, k))
    orders = list(itertools.permutations(range(3)))
    for a, b, c in orders:
        np.add.at(c1, proxies[:, a], 1.0)
        np.add.at(c2, (proxies[:, a], proxies[:, b]), 1.0)
        np.add.at(c3, (proxies[:, a], proxies[:, b], proxies[:, c]), 1.0)
    scale = n * len(orders)
    return c1 / scale, c2 / scale, c3 / scale


def _softmax_backward(probs: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. the logits of ``probs = softmax(logits)`` along the last axis."""
    return probs * (grad - np.sum(probs * grad, axis=-1, keepdims=True))


def _consensus_loss(theta: np.ndarray, targets, k: int) -> tuple[float, np.ndarray]:
    """HOC's loss ``sum_r ||c_r(T, p) - c_r||`` and its gradient w.r.t. ``theta``.

    ``theta`` holds the ``K*K`` logits of ``T`` (row by row), then the ``K``
    logits of ``p``.
    """
    T = softmax(theta[: k * k].reshape(k, k), axis=1)
    p = softmax(theta[k * k :])
    residuals = [m - c for m, c in zip(model_consensus(T, p), targets)]
    norms = [np.linalg.norm(r.ravel()) for r in residuals]
    g1, g2, g3 = (r / max(nrm, 1e-15) for r, nrm in zip(residuals, norms))  # d||r||/dr
    # each order adds one term per position in which T[i, j] appears
    grad_T = p[:, None] * (
        g1[None, :]
        + T @ g2.T
        + T @ g2
        + np.einsum("il,im,jlm->ij", T, T, g3)
        + np.einsum("ij,im,jlm->il", T, T, g3)
        + np.einsum("ij,il,jlm->im", T, T, g3)
    )
    grad_p = (
        T @ g1
        + np.einsum("ij,il,jl->i", T, T, g2)
        + np.einsum("ij,il,im,jlm->i", T, T, T, g3)
    )
    grad = np.concatenate(
        [_softmax_backward(T, grad_T).ravel(), _softmax_backward(p, grad_p)]
    )
    return float(sum(norms)), grad


def _initial_transition(k: int, init_diagonal: float) -> np.ndarray:
    """The fit's start ``[K, K]``: ``init_diagonal`` on the diagonal, rest shared."""
    off = (1.0 - init_diagonal) / (k - 1)
    return np.full((k, k), off) + np.eye(k) * (init_diagonal - off)


def estimate_transition(
    proxies,
    n_groups: int = 2,
    init_diagonal: float = 0.8,
    max_iter: int = 500,  # pragma: no mutate (the fits converge long before)
) -> tuple[np.ndarray, np.ndarray]:
    """HOC: the transition matrix ``T [K, K]`` and prior ``p [K]`` from proxies alone.

    Paper: Algorithm 1, estimating T and p by HOC (arXiv:2210.03175v2).

    Minimizes ``sum_r ||c_r(T, p) - c_r(data)||`` over the orders r = 1, 2, 3
    (:func:`model_consensus` against :func:`consensus_statistics`), each row of ``T``
    and ``p`` being a softmax of free parameters, by L-BFGS with an exact gradient, from
    a diagonally dominant start (``init_diagonal`` on the diagonal, a uniform prior).
    Warns when the answer is not diagonally dominant (swapped labels, or useless
    proxies).
    """
    n_groups = _check_count(n_groups, "n_groups", 2)
    targets = consensus_statistics(proxies, n_groups)
    init_diagonal = float(check_array(init_diagonal, "init_diagonal", ndim=0))
    if not 1.0 / n_groups < init_diagonal < 1.0:
        raise ValueError(
            f"init_diagonal must lie in (1/K, 1) = ({1 / n_groups:.3g}, "
            f"1), got {init_diagonal!r}"
        )
    max_iter = _check_count(max_iter, "max_iter", 1)
    k = n_groups
    T0 = _initial_transition(k, init_diagonal)
    theta0 = np.concatenate([np.log(T0).ravel(), np.zeros(k)])
    # tight tolerances: with the default ones L-BFGS stops early from a strong start.
    # One BLAS thread: on a busy machine, threads fighting over these tiny vectors made
    # the fit twenty times slower.
    with threadpool_limits(limits=1, user_api="blas"):  # pragma: no mutate (speed only)
        fit = minimize(
            _consensus_loss,
            theta0,
            args=(targets, k),
            jac=True,
            method="L-BFGS-B",  # pragma: no mutate (SciPy reads it case-insensitively)
            options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-12},
        )
    T_hat = softmax(fit.x[: k * k].reshape(k, k), axis=1)
    p_hat = softmax(fit.x[k * k :])
    if not np.all(np.argmax(T_hat, axis=1) == np.arange(k)):
        warnings.warn(
            "the estimated T is not diagonally dominant: the fit may have "
            "swapped group labels, or the proxies are no better than chance",
            RuntimeWarning,
            stacklevel=2,  # pragma: no mutate (where the warning points, no result)
        )
    return T_hat, p_hat


def calibrated_dp_gap(pred, proxies, n_groups: int = 2, local: bool = False) -> dict:
    """The paper's pipeline end to end: direct and calibrated DP disparity.

    Paper: Algorithm 1, with Global or Local estimates of T (arXiv:2210.03175v2).

    The direct estimate uses the first proxy as if it were A. The calibrated one pools
    the noisy fairness matrices of the three proxies (they share T), estimates T and p
    by :func:`estimate_transition` on all rows (``local=False``, Global: assumes the
    proxies err independently of ``f(X)`` given A) or a separate ``T_k`` on the rows
    with ``f(X) = k`` (``local=True``, Local), then applies
    :func:`calibrate_fairness_matrix` column by column. Returns a dict with keys
    ``direct``, ``calibrated``, ``T_hat`` and ``p_hat``; ``T_hat`` is a list of
    ``[K, K]`` matrices, one per class, when ``local``.
    """
    n_groups = _check_count(n_groups, "n_groups", 2)
    proxies = _check_three_proxies(proxies, n_groups)
    pred = _check_labels(pred, "pred")
    check_same_length(pred=pred, proxies=proxies)
    c = int(pred.max()) + 1  # classes; the matrices below have c columns
    direct = dp_gap(fairness_matrix(pred, proxies[:, 0], n_groups))
    pooled_pred, pooled_proxy = np.repeat(pred, 3), proxies.ravel()  # [3N]
    # every group occurs in pooled_proxy, or fairness_matrix above has raised
    H_noisy = fairness_matrix(pooled_pred, pooled_proxy)
    p_noisy = np.bincount(pooled_proxy) / pooled_proxy.size
    T_hat, p_hat = estimate_transition(proxies, n_groups)
    if not local:
        H = calibrate_fairness_matrix(H_noisy, p_noisy, T_hat, p_hat)
        return {
            "direct": direct,
            "calibrated": dp_gap(H),
            "T_hat": T_hat,
            "p_hat": p_hat,
        }
    T_local, columns = [], []
    for k in range(c):
        rows = pred == k
        if rows.sum() < 10:
            raise ValueError(
                f"pred has only {int(rows.sum())} rows of class {k}: too "
                "few to estimate a local transition matrix"
            )
        T_k, _ = estimate_transition(proxies[rows], n_groups)
        T_local.append(T_k)
        H_k = calibrate_fairness_matrix(H_noisy, p_noisy, T_k, p_hat, clip=False)
        columns.append(H_k[:, k])
    H = np.clip(np.stack(columns, axis=1), 0.0, 1.0)
    H = H / H.sum(axis=1, keepdims=True)
    return {"direct": direct, "calibrated": dp_gap(H), "T_hat": T_local, "p_hat": p_hat}


# -------------------------------------------------------------- privacy of the proxies
def majority_vote(proxies) -> np.ndarray:
    """Each person's most frequent proxy guess (ties go to the smaller id), ``[N]``.

    Paper: course addition — how much the proxies reveal about one person.
    """
    proxies = _check_labels(proxies, "proxies", ndim=2)
    k = int(proxies.max()) + 1  # pragma: no mutate (more columns: zeros, never argmax)
    counts = np.stack([(proxies == j).sum(axis=1) for j in range(k)], axis=1)  # [N, K]
    return np.argmax(counts, axis=1)


def vote_accuracy(T, p, n_proxies: int = 3) -> float:
    """Closed-form accuracy of the majority vote of independent binary proxies.

    Paper: course addition — how often the proxies' vote names a person's group.

    For two groups and an odd ``n_proxies`` the vote is right when more than half of the
    proxies are: ``sum_i p_i P(Binomial(n_proxies, T_ii) > n_proxies / 2)``.
    """
    T = _check_transition(T)
    if T.shape != (2, 2):
        raise ValueError(f"T must be 2x2 for the closed form, got shape {T.shape}")
    p = _check_prior(p, "p", 2)
    n = _check_count(n_proxies, "n_proxies", 1)
    if n % 2 == 0:
        raise ValueError(f"n_proxies must be odd (no ties), got {n}")
    return float(sum(p[i] * binom.sf(n // 2, n, T[i, i]) for i in range(2)))


# ---------------------------------------------------------------------- the simulation
def proxy_transition(accuracy: float, skew: float = 0.05) -> np.ndarray:
    """Binary transition matrix ``[2, 2]`` with error rates ``1 - accuracy -/+ skew``.

    Paper: course addition — proxies of a chosen accuracy with asymmetric errors.

    Group 0 is mislabelled at the rate ``e0 = 1 - accuracy - skew``, group 1 at the
    rate ``e1 = 1 - accuracy + skew``; with balanced groups the accuracy is about
    ``accuracy``.
    """
    accuracy = float(check_array(accuracy, "accuracy", ndim=0))
    skew = float(check_array(skew, "skew", ndim=0))
    e0, e1 = 1.0 - accuracy - skew, 1.0 - accuracy + skew
    if not (0.0 <= e0 < 0.5 and 0.0 <= e1 < 0.5):
        raise ValueError(
            f"accuracy and skew must give error rates in [0, 0.5); got "
            f"e0 = {e0:.3g}, e1 = {e1:.3g} from accuracy = {accuracy}, "
            f"skew = {skew}"
        )
    return np.array([[1.0 - e0, e0], [e1, 1.0 - e1]])


def _normal_scores_within(group: np.ndarray, driver: np.ndarray, rng) -> np.ndarray:
    """Rank-based normal scores of ``driver`` within each group (random tie-breaks)."""
    scores = np.empty(group.size)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        order = np.lexsort((rng.random(rows.size), driver[rows]))
        ranks = np.empty(rows.size)
        ranks[order] = np.arange(rows.size)
        scores[rows] = norm.ppf((ranks + 0.5) / rows.size)
    return scores


def make_proxies(
    group, T, n_proxies: int = 3, rng=None, driver=None, gamma: float = 0.0
) -> np.ndarray:
    """Proxy guesses of the attribute, ``[N, n_proxies]`` ints, erring as ``T`` says.

    Paper: course addition — synthetic proxies with a known transition matrix.

    ``gamma = 0``: each proxy draws its guess from row ``T[group]``, independently of
    everything else (HOC's assumption holds exactly). ``gamma > 0`` (two groups only):
    proxy ``m`` is ``1[mu_A + gamma * r + sqrt(1 - gamma**2) * eps_m > 0]`` with ``r``
    the normal score of ``driver`` within the person's group and ``eps_m`` fresh noise.
    Each proxy keeps the same ``T``, but the proxies now err together, and more often
    for some values of ``driver`` (say, the classifier's main input): conditional
    independence fails.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator (use course.rng)")
    T = _check_transition(T)
    group = _check_labels(group, "group", len(T))
    n_proxies = _check_count(n_proxies, "n_proxies", 1)
    gamma = float(check_array(gamma, "gamma", ndim=0))
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    n = group.size
    if gamma == 0.0:
        u = rng.random((n, n_proxies))
        cum = np.cumsum(T, axis=1)[group]  # [N, K]
        # "<" or "<=": a draw equal to a cumulative probability has probability 0
        above = u[:, :, None] > cum[:, None, :-1]  # pragma: no mutate (see above)
        return above.sum(axis=2)  # [N, n_proxies]
    if T.shape != (2, 2):
        raise ValueError(
            f"gamma > 0 needs two groups (T of shape [2, 2]), got {T.shape}"
        )
    if driver is None:
        raise ValueError("driver is required when gamma > 0")
    driver = check_array(driver, "driver", ndim=1)
    check_same_length(group=group, driver=driver)
    r = _normal_scores_within(group, driver, rng)  # [N]
    mu = norm.ppf(T[:, 1])[group]  # P(proxy = 1 | A) = Phi(mu_A)
    eps = rng.standard_normal((n, n_proxies))
    z = mu[:, None] + gamma * r[:, None] + np.sqrt(1.0 - gamma**2) * eps
    positive = z > 0  # pragma: no mutate (z is continuous: z = 0 has probability 0)
    return positive.astype(int)


def simulate_population(n: int, rng, base_rate: float = 0.51) -> dict:
    """A COMPAS-like population whose sensitive attribute is known, for auditing.

    Paper: course addition — synthetic data with ground truth (the paper uses COMPAS).

    ``group`` A ~ Bernoulli(``base_rate``). A never enters the features, yet shapes one:
    prior arrests ~ Poisson(4.2) for A = 1 and Poisson(2.0) for A = 0 (unequal
    historical exposure). Age band (0: under 25, 1: 25-45, 2: over 45), sex (1 = male)
    and a felony flag are independent of A. Reoffending ``y`` follows a logistic model
    of the features. Returns a dict of ``[N]`` arrays (keys ``group``, ``priors``,
    ``age_band``, ``male``, ``felony``, ``y``) and the classifier's features
    ``X [N, 6]``.
    """
    n = _check_count(n, "n", 1)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator (use course.rng)")
    base_rate = float(check_array(base_rate, "base_rate", ndim=0))
    if not 0.0 < base_rate < 1.0:
        raise ValueError(f"base_rate must lie in (0, 1), got {base_rate!r}")
    # "<" and "<=" differ only where a uniform draw hits p exactly (probability 0)
    group = rng.random(n) < base_rate  # pragma: no mutate (see above)
    group = group.astype(int)
    priors = rng.poisson(np.where(group == 1, 4.2, 2.0))
    age_band = rng.choice(3, size=n, p=[0.25, 0.55, 0.20])
    male = rng.random(n) < 0.8  # pragma: no mutate (see above)
    felony = rng.random(n) < 0.65  # pragma: no mutate (see above)
    male, felony = male.astype(int), felony.astype(int)
    logit = (
        -1.1
        + 0.75 * np.log1p(priors)
        + np.array([0.6, 0.0, -0.7])[age_band]
        + 0.3 * male
        + 0.2 * felony
    )
    y = rng.random(n) < expit(logit)  # pragma: no mutate (see above)
    y = y.astype(int)
    X = np.column_stack(
        [priors, age_band == 0, age_band == 2, male, felony, np.log1p(priors)]
    )  # [N, 6]
    X = X.astype(float)  # pragma: no mutate (astype(None) is float)
    return {
        "group": group,
        "priors": priors,
        "age_band": age_band,
        "male": male,
        "felony": felony,
        "y": y,
        "X": X,
    }
