"""Parallel test forms from simulated students: difficulty, filtering, matching.

Chapter 06 of the course. Paper: E. Zelikman, W. A. Ma, J. E. Tran, D. Yang, J. D.
Yeatman, N. Haber, "Generating and Evaluating Tests for K-12 Students with Language
Model Simulations: A Case Study on Sentence Reading Efficiency", EMNLP 2023,
arXiv:2310.06837v1. No official code; this module is written from the paper's
description of its pipeline:

1. an *item-response simulator* predicts how past students would answer items nobody has
   seen (the paper fine-tunes a language model; here an explanatory item response model
   that reads a few numeric item features plays that role:
   :func:`fit_response_simulator`);
2. simulated responses give each new item a difficulty and an ambiguity statistic
   (:func:`item_statistics`), and ambiguous items are filtered out
   (:func:`filter_items`);
3. an optimal-transport-inspired step gives every item of the original form its own
   partner among the kept candidates, so the new form copies the original's distribution
   of item statistics (:func:`match_parallel_form`, an assignment problem solved from
   scratch);
4. forms are compared by total scores, their correlation and KR-20 reliability
   (:func:`total_scores`, :func:`form_correlation`, :func:`kr20`).

Shapes: ``S`` students, ``J`` items, ``F`` item features. Response matrices are
``[S, J]`` arrays of 0/1; abilities ``theta`` are ``[S]``; discriminations ``a`` and
difficulties ``b`` are ``[J]``; ``guess`` is the chance of a right answer by guessing
(1/2 for the paper's true/false sentences). Bad input raises ``ValueError`` naming the
argument.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from utils.validation import (
    check_array,
    check_binary,
    check_positive,
    check_positive_int,
    check_probabilities,
)

__all__ = [
    "irt_prob",
    "simulate_responses",
    "ItemWorld",
    "make_item_world",
    "shift_for_easier_pool",
    "ResponseSimulator",
    "fit_response_simulator",
    "difficulty_from_proportion",
    "item_statistics",
    "filter_items",
    "matching_cost",
    "solve_assignment",
    "match_parallel_form",
    "total_scores",
    "expected_total",
    "form_correlation",
    "kr20",
]


STABLE = "stable"  # pragma: no mutate (numpy reads the sort kind case-insensitively)


# ------------------------------------------------------------------------ local checks
def _check_guess(guess) -> float:
    if (
        isinstance(guess, bool)
        or not isinstance(guess, numbers.Real)
        or not (0.0 <= guess < 1.0)
    ):
        raise ValueError(f"guess must be a number in [0, 1), got {guess!r}")
    return float(guess)


def _check_fraction(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0.0 <= value < 1.0)
    ):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


# ----------------------------------------------------------------- item response model
def irt_prob(theta, a, b, guess: float = 0.0) -> np.ndarray:
    """Probability of a right answer: ``guess + (1 - guess) sigmoid(a (theta - b))``.

    Shapes ``theta [S]``, ``a [J]``, ``b [J]`` -> ``[S, J]``. ``a`` must be positive and
    ``guess`` in [0, 1). The standard item response model with a guessing floor.

    Paper: course addition — the IRT model behind the paper's item statistics.
    """
    theta = check_array(theta, "theta", ndim=1)
    a = check_array(a, "a", ndim=1)
    b = check_array(b, "b", ndim=1)
    guess = _check_guess(guess)
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {a.shape} and {b.shape}"
        )
    if np.any(a <= 0):
        raise ValueError("a (discrimination) must be positive")
    z = a[None, :] * (theta[:, None] - b[None, :])  # [S, J]
    return guess + (1.0 - guess) * expit(z)  # expit(z) = 1 / (1 + exp(-z))


def simulate_responses(prob, rng: np.random.Generator) -> np.ndarray:
    """Draw 0/1 answers with the given right-answer probabilities: ``[S, J] -> [S, J]``.

    Paper: course addition — draws answers for real and for simulated students.
    """
    prob = check_probabilities(prob, "prob", ndim=2)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator (use course.rng)")
    # "<" or "<=" differ only where a uniform draw equals prob (probability 0)
    right = rng.random(prob.shape) < prob  # pragma: no mutate (see above)
    return right.astype(float)  # pragma: no mutate (astype(None) is float)


# ---------------------------------------------------------------- synthetic item world
@dataclass
class ItemWorld:
    """Items with known truth: ``features [J, F]``, ``a [J]``, ``b [J]``, ``vague [J]``.

    The feature vector plays the role of an item's text.

    Paper: course addition — synthetic test items with known true parameters.
    """

    features: np.ndarray
    a: np.ndarray
    b: np.ndarray
    vague: np.ndarray

    def subset(self, index) -> ItemWorld:
        """The items at ``index`` (an integer array), as a new world."""
        index = np.asarray(index, dtype=int)
        return ItemWorld(
            self.features[index], self.a[index], self.b[index], self.vague[index]
        )


# Item features [F]: four content features (length, rare words, negation, clauses),
# then two vagueness features that only lower the discrimination.
DIFFICULTY_WEIGHTS = np.array([0.6, 0.5, 0.3, -0.2, 0.0, 0.0])
DISCRIMINATION_WEIGHTS = np.array([0.05, 0.0, -0.05, 0.0, -0.6, -0.6])
VAGUE_OFFSET = 2.0  # vague items have vagueness features about 2 higher


def shift_for_easier_pool(logits: float) -> np.ndarray:
    """Feature shift ``[F]`` that makes items ``logits`` easier on average.

    Paper: course addition — an easier candidate pool, so that matching has work to do.
    """
    logits = float(check_array(logits, "logits", ndim=0))
    w = DIFFICULTY_WEIGHTS
    return -logits * w / float(w @ w)


def make_item_world(
    n_items: int,
    rng: np.random.Generator,
    vague_frac: float = 0.1,
    feature_shift=None,
    difficulty_noise: float = 0.35,
    discrimination_noise: float = 0.2,
) -> ItemWorld:
    """Draw ``n_items`` items with features and true parameters.

    Four content features ~ N(0, 1) (+ ``feature_shift``), two vagueness features (near
    0 for clear items, about 2 for vague ones), then the true parameters
    ``b = w_b . f + noise`` and ``a = exp(0.9 + w_a . f + noise)``. Vague items
    discriminate poorly (small ``a``): the ambiguous items the paper filters out.

    The bank stands in for the paper's expert-written sentences, the pool for GPT-4's.

    Paper: course addition — the synthetic item bank and the "generated" candidate pool.
    """
    n_items = check_positive_int(n_items, "n_items")
    vague_frac = _check_fraction(vague_frac, "vague_frac")
    for name, value in [
        ("difficulty_noise", difficulty_noise),
        ("discrimination_noise", discrimination_noise),
    ]:
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not (np.isfinite(value) and value >= 0)
        ):
            raise ValueError(f"{name} must be a non-negative number, got {value}")
    n_feat = DIFFICULTY_WEIGHTS.size
    shift = (
        np.zeros(n_feat)
        if feature_shift is None
        else check_array(feature_shift, "feature_shift", ndim=1)
    )
    if shift.size != n_feat:
        raise ValueError(f"feature_shift must have {n_feat} entries, got {shift.size}")
    # "<" or "<=": a uniform draw equal to vague_frac has probability 0
    vague = rng.random(n_items) < vague_frac  # pragma: no mutate (see above) [J]
    content = rng.normal(size=(n_items, 4))  # [J, 4]
    vagueness = np.abs(rng.normal(0.0, 0.3, size=(n_items, 2)))  # [J, 2]
    vagueness[vague] += VAGUE_OFFSET
    features = np.column_stack([content, vagueness]) + shift  # [J, F]
    b = features @ DIFFICULTY_WEIGHTS + rng.normal(0.0, difficulty_noise, n_items)
    a = np.exp(
        0.9
        + features @ DISCRIMINATION_WEIGHTS
        + rng.normal(0.0, discrimination_noise, n_items)
    )
    return ItemWorld(features=features, a=a, b=b, vague=vague)


# --------------------------------------------------------- the item-response simulator
@dataclass
class ResponseSimulator:
    """A fitted simulator: abilities of past students, item parameters from features.

    ``theta [S]``; a new item with features ``f [F]`` gets ``b = f . w_b + c_b`` and ``a
    = exp(f . w_a + c_a)``; a *seen* item j (one in the training data) also gets its
    learned offsets ``b_offset[j]`` and ``log_a_offset[j]`` (what a fine-tuned model
    remembers about items it was trained on).

    Paper: the item-response simulator (arXiv:2310.06837v1); IRT in place of an LLM.
    """

    theta: np.ndarray
    w_b: np.ndarray
    c_b: float
    w_a: np.ndarray
    c_a: float
    b_offset: np.ndarray
    log_a_offset: np.ndarray
    seen_features: np.ndarray
    guess: float
    losses: np.ndarray

    def item_parameters(self, features) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ``(a [J], b [J])`` for new items with ``features [J, F]``."""
        features = check_array(features, "features", ndim=2)
        if features.shape[1] != self.w_b.size:
            raise ValueError(
                f"features must have {self.w_b.size} columns, got {features.shape[1]}"
            )
        return np.exp(features @ self.w_a + self.c_a), features @ self.w_b + self.c_b

    def predict_proba(self, features) -> np.ndarray:
        """``[S, J]``: how likely each past student is to answer each new item right."""
        a, b = self.item_parameters(features)
        return irt_prob(self.theta, a, b, self.guess)

    def predict_seen(self, items) -> np.ndarray:
        """``[S, J]`` for seen items, given by their column indices ``items [J]`` in the
        training matrix: features plus each item's learned offsets."""
        items = np.asarray(items)
        n_seen = self.b_offset.size
        if (
            items.ndim != 1
            or items.size == 0
            or not np.issubdtype(items.dtype, np.integer)
        ):
            raise ValueError("items must be a non-empty 1-D array of integer indices")
        if items.min() < 0 or items.max() >= n_seen:
            raise ValueError(
                f"items must be indices in [0, {n_seen}), got "
                f"{items.min()} to {items.max()}"
            )
        a, b = self.item_parameters(self.seen_features[items])
        a = a * np.exp(self.log_a_offset[items])
        return irt_prob(self.theta, a, b + self.b_offset[items], self.guess)


def fit_response_simulator(
    R,
    features,
    guess: float = 0.5,
    steps: int = 400,  # pragma: no mutate (a default that every caller overrides)
    lr: float = 0.05,
    offset_sd: float = 0.5,
) -> ResponseSimulator:
    """Fit the simulator to past answers ``R [S, J]`` of items with ``features [J, F]``.

    Maximises the Bernoulli log-likelihood of ``irt_prob(theta, a, b, guess)``, with ``b
    = f . w_b + c_b + b_offset`` and ``log a = f . w_a + c_a + log_a_offset``, by
    full-batch Adam in torch (maximum a posteriori). Abilities have a standard normal
    prior plus a soft constraint ``mean(theta)^2 + (mean(theta^2) - 1)^2`` that fixes
    their scale: otherwise shrinking every ability and stretching every ``a`` would fit
    equally well. The per-item offsets have a normal prior with sd ``offset_sd``; new
    items get offset 0. Abilities start at the standardised totals, everything else at
    zero, so the fit is deterministic.

    Paper: training the item-response simulator on past answers (arXiv:2310.06837v1).
    """
    import torch

    R = check_binary(R, "R", ndim=2)
    features = check_array(features, "features", ndim=2)
    guess = _check_guess(guess)
    if features.shape[0] != R.shape[1]:
        raise ValueError(
            f"features has {features.shape[0]} rows but R has "
            f"{R.shape[1]} items (columns)"
        )
    steps = check_positive_int(steps, "steps")
    lr = check_positive(lr, "lr")
    offset_sd = check_positive(offset_sd, "offset_sd")
    totals = R.sum(axis=1)
    if totals.std() == 0:
        raise ValueError(
            "R gives every student the same total: abilities cannot be told apart"
        )
    n_students, n_items = R.shape
    dtype = torch.float64
    # R and features are float64 arrays already (the checks above): dtype changes nothing
    y = torch.as_tensor(R, dtype=dtype)  # pragma: no mutate (see above) [S, J]
    f = torch.as_tensor(features, dtype=dtype)  # pragma: no mutate (see above) [J, F]
    theta = torch.tensor(
        (totals - totals.mean()) / totals.std(), dtype=dtype, requires_grad=True
    )  # [S]
    w = torch.zeros((2, features.shape[1]), dtype=dtype, requires_grad=True)  # w_b, w_a
    c = torch.zeros(2, dtype=dtype, requires_grad=True)  # c_b, c_a
    offset = torch.zeros((2, n_items), dtype=dtype, requires_grad=True)  # b, log a
    opt = torch.optim.Adam([theta, w, c, offset], lr=lr)
    log_g = torch.log(torch.tensor(guess, dtype=dtype))
    log_1mg = torch.log1p(torch.tensor(-guess, dtype=dtype))
    logsigmoid = torch.nn.functional.logsigmoid
    prior_weight = 0.5 / (offset_sd**2 * n_students * n_items)  # per-answer units
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        b = f @ w[0] + c[0] + offset[0]  # [J]
        a = torch.exp(f @ w[1] + c[1] + offset[1])  # [J]
        z = a * (theta[:, None] - b)  # [S, J]
        log_right = torch.logaddexp(log_g, log_1mg + logsigmoid(z))
        log_wrong = log_1mg + logsigmoid(-z)
        nll = -(y * log_right + (1 - y) * log_wrong).mean()
        scale = theta.mean() ** 2 + (theta.pow(2).mean() - 1.0) ** 2  # 0 at N(0, 1)
        loss = (
            nll
            + prior_weight * (offset**2).sum()
            + scale
            + 0.5 * theta.pow(2).sum() / (n_students * n_items)
        )
        loss.backward()
        opt.step()
        losses.append(float(nll.detach()))
    with torch.no_grad():
        ability = theta.numpy().copy()
        w_np, c_np, off = w.numpy().copy(), c.numpy().copy(), offset.numpy().copy()
    return ResponseSimulator(
        theta=ability,
        w_b=w_np[0],
        c_b=float(c_np[0]),
        w_a=w_np[1],
        c_a=float(c_np[1]),
        b_offset=off[0],
        log_a_offset=off[1],
        seen_features=features.copy(),
        guess=guess,
        losses=np.array(losses),
    )


# ------------------------------------------------------- item statistics and filtering
def difficulty_from_proportion(
    p, guess: float = 0.5, n_students: int | None = None
) -> np.ndarray:
    """Difficulty in logits, ``log((1 - p) / (p - guess))``, from proportions correct.

    The inverse of the response curve of an average student (``theta = 0``, ``a = 1``):
    an item that half the way-above-chance students get right has difficulty 0.
    Proportions are clipped into ``[guess + eps, 1 - eps]`` with ``eps = 1 / (2
    n_students)`` (half a student; ``1e-6`` when ``n_students`` is None), so items at or
    below chance stay finite.

    Paper: item difficulty from simulated responses (arXiv:2310.06837v1).
    """
    p = check_probabilities(p, "p")  # 1-D
    guess = _check_guess(guess)
    eps = 1e-6
    if n_students is not None:
        eps = 0.5 / check_positive_int(n_students, "n_students")
    p = np.clip(p, guess + eps, 1.0 - eps)
    return np.log((1.0 - p) / (p - guess))


def item_statistics(R, guess: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(difficulty [J], item_rest_corr [J])`` from a response matrix ``R [S, J]``.

    Difficulty: :func:`difficulty_from_proportion` of each item's proportion correct.
    Item-rest correlation: Pearson correlation of an item's answers with the total of
    the *other* items; a low value marks an ambiguous item (strong readers miss it as
    often as weak ones). An item everyone answers alike has no correlation: it gets 0
    and a warning.

    Paper: difficulty and ambiguity from simulated responses (arXiv:2310.06837v1).
    """
    R = check_binary(R, "R", ndim=2)
    if R.shape[1] < 2:
        raise ValueError(
            "R needs at least 2 items (columns) for an item-rest correlation"
        )
    if R.shape[0] < 2:
        raise ValueError("R needs at least 2 students (rows)")
    difficulty = difficulty_from_proportion(
        R.mean(axis=0), guess, n_students=R.shape[0]
    )
    rest = R.sum(axis=1, keepdims=True) - R  # [S, J]
    xc = R - R.mean(axis=0)
    rc = rest - rest.mean(axis=0)
    denom = np.sqrt((xc**2).sum(axis=0) * (rc**2).sum(axis=0))  # [J]
    flat = denom == 0
    if flat.any():
        first = int(np.flatnonzero(flat)[0])
        warnings.warn(
            f"{int(flat.sum())} item(s) (first: {first}) have no variance "
            "in R or in the rest score; their item-rest correlation is set "
            "to 0",
            RuntimeWarning,
            stacklevel=2,  # pragma: no mutate (where the warning points, no result)
        )
    # a flat item's numerator is 0, so any non-zero divisor gives it correlation 0
    safe = np.where(flat, 1.0, denom)  # pragma: no mutate (see above)
    corr = (xc * rc).sum(axis=0) / safe
    return difficulty, corr


def filter_items(item_rest_corr, drop_frac: float = 0.3) -> np.ndarray:
    """Indices (ascending) of the items kept after filtering out ambiguous ones.

    Drops the ``drop_frac`` share of items with the lowest item-rest correlation (the
    most ambiguous). ``drop_frac=0`` keeps everything.

    Paper: filtering generated items by simulated statistics (arXiv:2310.06837v1).
    """
    corr = check_array(item_rest_corr, "item_rest_corr", ndim=1)
    drop_frac = _check_fraction(drop_frac, "drop_frac")
    n_drop = int(np.floor(drop_frac * corr.size))
    order = np.argsort(corr, kind=STABLE)  # most ambiguous first
    return np.sort(order[n_drop:])


# ---------------------------------------------------------- optimal-transport matching
def matching_cost(orig_stats, cand_stats, weights=(1.0, 0.5)) -> np.ndarray:
    """Cost ``[J, K]`` of replacing original item j by candidate k.

    A weighted squared distance between their statistics,
    ``sum_m weights[m] * (orig_stats[j, m] - cand_stats[k, m])**2``.

    ``orig_stats [J, M]`` and ``cand_stats [K, M]`` hold per-item statistics, e.g.
    columns (difficulty, item-rest correlation) from the same simulator.

    The paper matches items in the space of simulated item statistics; this cost's exact
    form (squared distance, the weights) is this course's choice.

    Paper: cost of the optimal-transport-inspired matching (arXiv:2310.06837v1).
    """
    orig = check_array(orig_stats, "orig_stats", ndim=2)
    cand = check_array(cand_stats, "cand_stats", ndim=2)
    w = check_array(weights, "weights", ndim=1)
    if orig.shape[1] != cand.shape[1]:
        raise ValueError(
            f"orig_stats and cand_stats must have the same number of "
            f"columns, got {orig.shape[1]} and {cand.shape[1]}"
        )
    if w.size != orig.shape[1]:
        raise ValueError(
            f"weights must have one entry per statistic ({orig.shape[1]}), got {w.size}"
        )
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    diff = orig[:, None, :] - cand[None, :, :]  # [J, K, M]
    return (diff**2 * w).sum(axis=2)


def solve_assignment(cost) -> np.ndarray:
    """Minimum-cost one-to-one assignment of rows to columns of ``cost [J, K]``, J <= K.

    Each row gets a distinct column; returns ``col [J]`` with ``cost[j, col[j]]``
    summing to the minimum.

    The Hungarian method with row and column potentials (shortest augmenting paths,
    ``O(J^2 K)``): each new row is joined by the cheapest path of reduced costs,
    which never become negative. Same optimum as
    ``scipy.optimize.linear_sum_assignment``.

    With equal masses on the items and a one-to-one plan, discrete optimal transport is
    exactly this problem.

    Paper: the optimal-transport matching, as an assignment (arXiv:2310.06837v1).
    """
    cost = check_array(cost, "cost", ndim=2)
    n_rows, n_cols = cost.shape
    if n_rows > n_cols:
        raise ValueError(
            f"cost must have at least as many columns (candidates, "
            f"{n_cols}) as rows (original items, {n_rows})"
        )
    # 1-based arrays, index 0 of the columns is a virtual start column.
    u = np.zeros(n_rows + 1)  # pragma: no mutate (row potentials; extra entries unread)
    v = np.zeros(n_cols + 1)  # column potentials
    row_of = np.zeros(n_cols + 1, dtype=int)  # row matched to column c (0: none)
    for i in range(1, n_rows + 1):
        row_of[0] = i
        c0 = 0
        min_reduced = np.full(n_cols + 1, np.inf)  # cheapest way to reach column c
        came_from = np.zeros(n_cols + 1, dtype=int)
        used = np.zeros(n_cols + 1, dtype=bool)
        while True:
            used[c0] = True
            r0 = row_of[c0]
            reduced = cost[r0 - 1] - u[r0] - v[1:]  # [K], columns 1..K
            free = ~used[1:]
            better = free & (reduced < min_reduced[1:])
            min_reduced[1:][better] = reduced[better]
            came_from[1:][better] = c0
            masked = np.where(free, min_reduced[1:], np.inf)
            c1 = int(np.argmin(masked)) + 1
            delta = masked[c1 - 1]
            u[row_of[used]] += delta
            v[used] -= delta
            min_reduced[~used] -= delta
            c0 = c1
            if row_of[c0] == 0:
                break
        while c0:  # augment along the path
            c1 = came_from[c0]
            row_of[c0] = row_of[c1]
            c0 = c1
    col = np.empty(n_rows, dtype=int)
    for c in range(1, n_cols + 1):  # pragma: no mutate (0 is virtual, overwritten)
        if row_of[c]:
            col[row_of[c] - 1] = c - 1
    return col


def match_parallel_form(orig_stats, cand_stats, weights=(1.0, 0.5)) -> np.ndarray:
    """The new form: indices ``[J]`` into the candidates, one partner per original item.

    Partners are chosen so that the summed :func:`matching_cost` is minimal and no
    candidate is used twice.

    Paper: optimal-transport-inspired parallel test construction (arXiv:2310.06837v1).
    """
    return solve_assignment(matching_cost(orig_stats, cand_stats, weights))


# ---------------------------------------------------------------- test-form statistics
def total_scores(R) -> np.ndarray:
    """Each student's number of right answers: ``[S, J] -> [S]``.

    Paper: total scores compared across forms, Figure 1 (arXiv:2310.06837v1).
    """
    return check_binary(R, "R", ndim=2).sum(axis=1)


def expected_total(theta, a, b, guess: float = 0.5) -> float:
    """Noise-free mean total score of a form over students ``theta``.

    The mean over students of the summed right-answer probabilities (no answer noise).

    Paper: course addition — a form's mean total score without answer noise.
    """
    return float(irt_prob(theta, a, b, guess).sum(axis=1).mean())


def form_correlation(totals_a, totals_b) -> float:
    """Pearson correlation of the same students' totals on two forms.

    Paper: AI-form vs Lab-form correlation, r = 0.93, Figure 1 (arXiv:2310.06837v1).
    """
    x = check_array(totals_a, "totals_a", ndim=1)
    y = check_array(totals_b, "totals_b", ndim=1)
    if x.shape != y.shape:
        raise ValueError(
            f"totals_a and totals_b must have the same length, "
            f"got {x.size} and {y.size}"
        )
    if x.size < 2:
        raise ValueError("totals_a needs at least 2 students")
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc**2).sum() * (yc**2).sum())
    if denom == 0:
        raise ValueError(
            "totals_a or totals_b is constant: the correlation is undefined"
        )
    return float((xc * yc).sum() / denom)


def kr20(R) -> float:
    """Kuder-Richardson 20 reliability of a form of right/wrong items, ``R [S, J]``:
    ``J / (J - 1) * (1 - sum_j p_j (1 - p_j) / Var(total))`` (population variances).
    Equal to Cronbach's alpha for 0/1 items; close to 1 when items measure the same
    ability precisely.

    Paper: reliability of generated vs original forms (arXiv:2310.06837v1).
    """
    R = check_binary(R, "R", ndim=2)
    if R.shape[1] < 2:
        raise ValueError("R needs at least 2 items (columns) for KR-20")
    var_total = R.sum(axis=1).var()
    if var_total == 0:
        raise ValueError("R gives every student the same total: KR-20 is undefined")
    p = R.mean(axis=0)
    k = R.shape[1]
    return float(k / (k - 1) * (1.0 - (p * (1 - p)).sum() / var_total))
