"""Multiwinner score functions, biased rankings and fairness-constrained subset
selection.

Chapter 04 of the course. Paper: N. Boehmer, L. E. Celis, L. Huang, A. Mehrotra, N. K.
Vishnoi, "Subset Selection Based On Multiple Rankings in the Presence of Bias:
Effectiveness of Fairness Constraints for Multiwinner Voting Score Functions", ICML
2023, arXiv:2306.09835v1. Official code:
github.com/AnayMehrotra/Selection-with-Multiple-Rankings-with-Bias (one notebook); this
module is written from the paper's definitions, not from that code.

Notation. ``m`` items, ``n`` rankings (votes), committee size ``k``. A profile of
rankings is stored as **positions**: an integer array ``[n, m]`` whose row ``v`` says
where each item sits in vote ``v`` (0 = top); every row is a permutation of ``0..m-1``.
``group`` is an array ``[m]`` of 0/1 labels: 0 = the advantaged group G1, 1 = the
disadvantaged group G2 (the one the bias moves down).

Positional committee scores are additive, ``F(S) = sum_{i in S} F_i`` with item totals
``F_i = sum_v s(pos_v(i))``; so the best committee is the k items with the largest
totals, and the fairness-constrained committee ``S_ell`` is the top ``k - ell`` of G1
plus the top ``ell`` of G2, both by the (biased) totals. Quality is always measured with
the latent (unbiased) totals.

Ties are broken by item index (a stable sort): SNTV leaves many items tied at 0, and a
hidden random tie rule would make results irreproducible.
"""

from __future__ import annotations

import numbers

import numpy as np

from utils.validation import check_array, check_positive

__all__ = [
    "RULES",
    "position_weights",
    "item_scores",
    "committee_score",
    "top_k",
    "constrained_top_k",
    "random_fill",
    "quality_ratio",
    "recovery_score",
    "sample_utilities",
    "positions_from_utilities",
    "sample_rankings",
    "multiplicative_bias",
    "swapping_bias",
    "count_g2_above_g1",
    "estimate_alpha",
    "chamberlin_courant_score",
    "greedy_constrained_cc",
]

RULES = ("borda", "bloc", "sntv")
STABLE = "stable"  # pragma: no mutate (numpy reads the sort kind case-insensitively)


# ------------------------------------------------------------------------------
# validation
def _check_int(value, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {bound}, got {value}")
    return value


def _check_positions(positions, name: str = "positions") -> np.ndarray:
    """``positions`` as an int array ``[n, m]``, rows permutations of ``0..m-1``."""
    arr = check_array(positions, name, ndim=2)  # also refuses [n, 0]: empty
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer positions")
    arr = arr.astype(np.int64)
    m = arr.shape[1]
    ok = np.sort(arr) == np.arange(m)  # each row sorted
    if not ok.all():
        v = int(np.flatnonzero(~ok.all(axis=1))[0])
        raise ValueError(
            f"{name}: every row must be a permutation of 0..{m - 1}; "
            f"row {v} is {arr[v].tolist()}"
        )
    return arr


def _check_scores(scores, name: str = "scores") -> np.ndarray:
    return check_array(scores, name, ndim=1)


def _check_group(group, m: int, name: str = "group") -> np.ndarray:
    arr = check_array(group, name, ndim=1)
    if arr.size != m:
        raise ValueError(f"{name} must have one label per item ({m}), got {arr.size}")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold 0 (group G1) or 1 (group G2) labels")
    return arr.astype(np.int64)  # pragma: no mutate (float 0/1 labels act the same)


def _check_rule(rule: str, t) -> None:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if rule == "bloc" and t is None:
        raise ValueError(
            "t is required for rule='bloc' (a t-Bloc vote approves its top t)"
        )


# ------------------------------------------------------------------------ score
# functions
def position_weights(rule: str, m: int, t: int | None = None) -> np.ndarray:
    """Points ``s(r)`` an item earns at position ``r`` (0 = top) of one vote, shape
    ``[m]``.

    Borda: ``m - 1 - r``; t-Bloc: 1 for the top ``t`` positions; SNTV: 1 for first place
    only.

    Paper: k-Borda, k-Bloc and SNTV committee rules, §3 (arXiv:2306.09835v1).
    """
    m = _check_int(m, "m", 1)
    _check_rule(rule, t)
    r = np.arange(m)
    if rule == "borda":
        return (m - 1 - r).astype(float)  # pragma: no mutate (astype(None) is float)
    if rule == "bloc":
        t = _check_int(t, "t", 1, m)
        return (r < t).astype(float)  # pragma: no mutate (astype(None) is float)
    return (r == 0).astype(float)  # pragma: no mutate (astype(None) is float)


def item_scores(positions, rule: str, t: int | None = None) -> np.ndarray:
    """Total points of every item over all votes, ``F_i = sum_v s(pos_v(i))``, shape
    ``[m]``.

    Paper: additive committee score functions, §3 (arXiv:2306.09835v1).
    """
    positions = _check_positions(positions)
    weights = position_weights(rule, positions.shape[1], t)
    return weights[positions].sum(axis=0)


def committee_score(scores, committee) -> float:
    """``F(S)``: the sum of the item totals of the members of ``committee``.

    Paper: additive committee score F(S) = sum_{i in S} F_i, §3 (arXiv:2306.09835v1).
    """
    scores = _check_scores(scores)
    committee = np.asarray(committee)
    if committee.ndim != 1 or committee.size == 0:
        raise ValueError("committee must be a non-empty 1-D array of item ids")
    if not np.issubdtype(committee.dtype, np.integer):
        raise ValueError("committee must hold integer item ids")
    if committee.min() < 0 or committee.max() >= scores.size:
        raise ValueError(
            f"committee ids must be in [0, {scores.size - 1}], got {committee.tolist()}"
        )
    if np.unique(committee).size != committee.size:
        raise ValueError("committee must not repeat an item")
    return float(scores[committee].sum())


def top_k(scores, k: int) -> np.ndarray:
    """The ``k`` items with the largest scores (ties: lower index first), shape ``[k]``.

    For an additive score function this maximizes F(S) over all committees of size k.

    Paper: the unconstrained selection argmax_{|S|=k} F(S), §3 (arXiv:2306.09835v1).
    """
    scores = _check_scores(scores)
    k = _check_int(k, "k", 1, scores.size)
    return np.argsort(-scores, kind=STABLE)[:k]


def constrained_top_k(scores, group, k: int, ell: int) -> np.ndarray:
    """``S_ell``: the top ``k - ell`` items of G1 and the top ``ell`` items of G2, by
    ``scores``.

    With biased scores this is the fairness-constrained selection; it maximizes an
    additive F over all committees with exactly ``ell`` members from G2. Returns item
    ids, shape ``[k]``.

    Paper: S_ell under the representational constraint, §3-4 (arXiv:2306.09835v1).
    """
    scores = _check_scores(scores)
    group = _check_group(group, scores.size)
    k = _check_int(k, "k", 1, scores.size)
    ell = _check_int(ell, "ell", 0, k)
    g1, g2 = np.flatnonzero(group == 0), np.flatnonzero(group == 1)
    if ell > g2.size:
        raise ValueError(f"ell = {ell} exceeds the size of group G2 ({g2.size})")
    if k - ell > g1.size:
        raise ValueError(
            f"k - ell = {k - ell} exceeds the size of group G1 ({g1.size})"
        )
    best_g1 = g1[np.argsort(-scores[g1], kind=STABLE)[: k - ell]]
    best_g2 = g2[np.argsort(-scores[g2], kind=STABLE)[:ell]]
    return np.concatenate([best_g1, best_g2])


def random_fill(
    scores, group, k: int, ell: int, rng: np.random.Generator
) -> np.ndarray:
    """A control for the constraint: the top ``k - ell`` of G1 plus ``ell`` random G2
    items.

    It meets the same quota as :func:`constrained_top_k` but ignores the rankings inside
    G2, so any quality the constraint gains over it comes from the scores, not from the
    quota alone.

    Paper: course addition — the quota-only control arm for the claim check.
    """
    quota = constrained_top_k(scores, group, k, ell)  # validates everything
    g2 = np.flatnonzero(np.asarray(group) == 1)
    fill = rng.choice(g2, size=ell, replace=False)  # pragma: no mutate (None is False)
    return np.concatenate([quota[: k - ell], fill])


def quality_ratio(latent_scores, committee) -> float:
    """``F(S) / OPT`` with latent scores, OPT being the best size-``|S|`` committee, in
    [0, 1].

    Paper: quality OPT^{-1} F(S) of the simulations (arXiv:2306.09835v1).
    """
    latent_scores = _check_scores(latent_scores, "latent_scores")
    if (latent_scores < 0).any():
        raise ValueError(
            "latent_scores must be non-negative (scores are sums of points)"
        )
    value = committee_score(latent_scores, committee)
    best = committee_score(
        latent_scores, top_k(latent_scores, len(np.asarray(committee)))
    )
    if best == 0:
        raise ValueError(
            "latent_scores: the best committee scores 0, the ratio is undefined"
        )
    return value / best


def recovery_score(ratio_biased, ratio_unbiased, ratio_random):
    """Normalized recovery ``R = (biased - random) / (unbiased - random)``.

    R = 1: the constrained selection from biased rankings is as good as from unbiased
    ones; R = 0: no better than filling the G2 quota at random. Works elementwise on
    arrays.

    Paper: course addition — puts rules with different random baselines on one scale.
    """
    b = check_array(ratio_biased, "ratio_biased")  # any shape: elementwise
    u = check_array(ratio_unbiased, "ratio_unbiased")
    r = check_array(ratio_random, "ratio_random")
    if np.any(u <= r):
        raise ValueError(
            "ratio_unbiased must exceed ratio_random (else R is undefined)"
        )
    out = (b - r) / (u - r)
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------------- rankings and
# biases
def sample_utilities(log_quality, n: int, rng: np.random.Generator) -> np.ndarray:
    """Random utilities ``log u_i + Gumbel`` of ``n`` voters, shape ``[n, m]``.

    Sorting each row gives a Plackett-Luce ranking: item i is first with probability
    ``u_i / sum_j u_j``. Equal qualities give the impartial culture (uniform rankings).

    Paper: course addition — a vectorized stand-in for the paper's mapel cultures.
    """
    log_quality = check_array(log_quality, "log_quality", ndim=1)
    n = _check_int(n, "n", 1)
    return log_quality + rng.gumbel(size=(n, log_quality.size))


def positions_from_utilities(utilities) -> np.ndarray:
    """Positions ``[n, m]`` (0 = top) from utilities ``[n, m]``: higher utility, better
    place.

    Paper: course addition — turns utilities into rankings (ties: lower index first).
    """
    utilities = check_array(utilities, "utilities", ndim=2)
    order = np.argsort(-utilities, kind=STABLE)  # [n, m] item at each place (row-wise)
    positions = np.empty_like(order)
    np.put_along_axis(positions, order, np.arange(utilities.shape[1])[None, :], axis=1)
    return positions


def sample_rankings(log_quality, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` Plackett-Luce rankings of the items, as positions ``[n, m]``.

    Paper: course addition — the latent rankings drawn from the culture mu.
    """
    return positions_from_utilities(sample_utilities(log_quality, n, rng))


def multiplicative_bias(utilities, group, theta: float) -> np.ndarray:
    """Biased utilities: G2 items' quality multiplied by ``theta`` in (0, 1], same
    noise.

    Adds ``log(theta)`` to the G2 columns of ``utilities [n, m]``. Inside one vote the
    order within each group is unchanged; only G1-G2 comparisons flip.

    Paper: course addition — a vectorized bias in the spirit of §3's general model.

    (The paper's simulations use :func:`swapping_bias`.)
    """
    utilities = check_array(utilities, "utilities", ndim=2)
    group = _check_group(group, utilities.shape[1])
    if (
        isinstance(theta, bool)
        or not isinstance(theta, numbers.Real)
        or not 0 < theta <= 1
    ):
        raise ValueError(f"theta must be in (0, 1], got {theta!r}")
    return utilities + np.log(theta) * group


def count_g2_above_g1(positions, group) -> np.ndarray:
    """Per vote, the number of (G2 item, G1 item) pairs with the G2 item ranked higher,
    ``[n]``.

    Paper: swaps available to the simulations' swapping bias (arXiv:2306.09835v1).
    """
    positions = _check_positions(positions)
    group = _check_group(group, positions.shape[1])
    p1 = positions[:, group == 0]  # [n, |G1|]
    p2 = positions[:, group == 1]  # [n, |G2|]
    above = p2[:, None, :] < p1[:, :, None]  # pragma: no mutate (two items never tie)
    return above.sum(axis=(1, 2))


def swapping_bias(
    positions, group, frac: float, phi: float, rng: np.random.Generator
) -> np.ndarray:
    """The paper's swapping bias: in each vote, swap a fraction ``frac`` of the
    G2-above-G1 pairs.

    Vote by vote, ``t = floor(frac * P)`` swaps are made, ``P`` being the vote's number
    of (G2 above G1) pairs. Each swap picks one such pair, a G2 item at place ``a``
    above a G1 item at place ``b > a``, with probability proportional to ``phi ** (b -
    a)`` (nearby pairs are preferred), and exchanges the two; the weights are recomputed
    from the current places after every swap. All votes are processed together, shape
    ``[n, m]`` in and out.

    Paper: the swapping bias of the simulations (arXiv:2306.09835v1).
    """
    positions = _check_positions(positions)
    group = _check_group(group, positions.shape[1])
    if (
        isinstance(frac, bool)
        or not isinstance(frac, numbers.Real)
        or not 0 <= frac <= 1
    ):
        raise ValueError(f"frac must be in [0, 1], got {frac!r}")
    if isinstance(phi, bool) or not isinstance(phi, numbers.Real) or not 0 < phi <= 1:
        raise ValueError(f"phi must be in (0, 1], got {phi!r}")
    g1, g2 = np.flatnonzero(group == 0), np.flatnonzero(group == 1)
    out = positions.copy()
    p1, p2 = out[:, g1], out[:, g2]  # [n, |G1|], [n, |G2|]
    # swaps per vote (a whole number, kept as float); an empty group or frac = 0 gives 0
    budget = np.floor(frac * count_g2_above_g1(positions, group) + 1e-9)
    decay = float(phi) ** np.arange(positions.shape[1])  # phi ** distance
    active = np.flatnonzero(budget > 0)
    done = 0
    while active.size:
        gap = p1[active][:, :, None] - p2[active][:, None, :]  # [A, |G1|, |G2|]
        gap = np.maximum(gap, 0).reshape(active.size, g1.size * g2.size)  # 0: no swap
        # phi ** (gap - 1): the same probabilities as phi ** gap, and no underflow, as a
        # vote with a G2 item above a G1 item always has such an adjacent pair (gap 1).
        # Index -1 (gap 0, not swappable) is read but masked out.
        weight = np.where(gap > 0, decay[gap - 1], 0.0)
        cumulative = np.cumsum(weight, axis=1)
        left = cumulative[:, -1] > 0  # a pair is left to swap
        active, cumulative = active[left], cumulative[left]
        draw = rng.uniform(size=active.size) * cumulative[:, -1]
        # u = 0 exactly (probability 2**-53) is the only case where "<" and "<=" differ
        below = cumulative <= draw[:, None]  # pragma: no mutate (see above)
        last = weight.shape[1] - 1  # pragma: no mutate (a guard: draw < cumulative[-1])
        pick = np.minimum(below.sum(axis=1), last)
        i, j = np.divmod(pick, g2.size)  # G1 index, G2 index
        old = p1[active, i].copy()
        p1[active, i] = p2[active, j]
        p2[active, j] = old
        done += 1
        active = active[budget[active] > done]
    out[:, g1], out[:, g2] = p1, p2
    return out


# -----------------------------------------------------------------------------
# smoothness
def estimate_alpha(latent_scores, biased_scores, n: int, tau1: float) -> float:
    """Smoothness estimate ``alpha ~ min_i min(E F_i, E F^_i) / (tau1 * n)``.

    ``latent_scores`` and ``biased_scores`` hold item totals of repeated draws,
    ``[draws, m]``, each from ``n`` votes; the expectations are their means over draws.
    A small alpha means some item's expected per-vote score is close to 0, so a few
    votes cannot rank it.

    Paper: alpha of Definition 4.1 and the smoothness tool (arXiv:2306.09835v1).
    """
    latent = check_array(latent_scores, "latent_scores", ndim=2)
    biased = check_array(biased_scores, "biased_scores", ndim=2)
    if latent.shape != biased.shape:
        raise ValueError(
            f"latent_scores and biased_scores must have the same shape, got "
            f"{latent.shape} and {biased.shape}"
        )
    n = _check_int(n, "n", 1)
    tau1 = check_positive(tau1, "tau1")
    expected = np.minimum(latent.mean(axis=0), biased.mean(axis=0))
    return float(expected.min() / (tau1 * n))


# ------------------------------------------------------------------ Chamberlin-Courant
def chamberlin_courant_score(positions, committee) -> float:
    """Chamberlin-Courant score: each vote counts the Borda points of its best member.

    ``CC(S) = sum_v max_{i in S} (m - 1 - pos_v(i))``: monotone and submodular, not
    additive.

    Paper: Chamberlin-Courant, a submodular rule of §3 (arXiv:2306.09835v1).
    """
    positions = _check_positions(positions)
    m = positions.shape[1]
    committee_score(np.zeros(m), committee)  # validates the ids
    best_place = positions[:, np.asarray(committee)].min(axis=1)  # [n]
    return float((m - 1 - best_place).sum())


def greedy_constrained_cc(positions, group, k: int, ell: int) -> np.ndarray:
    """Greedy Chamberlin-Courant committee with exactly ``ell`` members from G2,
    ``[k]``.

    Adds, one at a time, the item with the largest marginal CC gain among the items
    whose group still has room (G1: ``k - ell`` seats, G2: ``ell``); ties go to the
    lower index.

    Paper: greedy submodular selection under §3 constraints (arXiv:2306.09835v1).
    """
    positions = _check_positions(positions)
    m = positions.shape[1]
    group = _check_group(group, m)
    constrained_top_k(np.zeros(m), group, k, ell)  # validates k and ell
    seats = {0: k - ell, 1: ell}
    points = m - 1 - positions  # pragma: no mutate (gains ignore a constant shift)
    best = np.full(positions.shape[0], -1.0)  # [n] best member so far
    chosen: list[int] = []
    for _ in range(k):
        gain = np.maximum(points - best[:, None], 0).sum(axis=0)  # [m]
        allowed = np.array([seats[g] > 0 for g in group]) & ~np.isin(
            np.arange(m), chosen
        )
        gain = np.where(allowed, gain, -np.inf)
        pick = int(np.argmax(gain))
        chosen.append(pick)
        seats[int(group[pick])] -= 1
        best = np.maximum(best, points[:, pick])
    return np.array(chosen)
