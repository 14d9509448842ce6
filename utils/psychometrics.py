"""PsyDI in miniature: a score model learned from the rank of a proxy, and a multi-turn
test.

Chapter 07 of the course. Paper: X. Li, X. Chen, Y. Niu, S. Hu, Y. Liu, "PsyDI: Towards
a Personalized and Progressively In-depth Chatbot for Psychological Measurements",
arXiv:2408.03337v4 (2024). Official code: https://github.com/opendilab/PsyDI (its
``backend/reward_model_inference.py`` holds the type-table logic); this module is
written from the paper's description and uses neither the code nor the published score
model.

Notation. An MBTI type is four binary axes (E/I, N/S, F/T, J/P), written as signs ``t in
{+1, -1}^4`` with the first letter of each pair as +1 (E, N, F, J), as in the official
code. A *statement* is a feature vector ``x`` of length ``F`` (a stand-in for a
sentence). The score model maps it to four signed scores ``s(x)`` of shape ``[4]``; for
a candidate type ``t`` the statement's support is ``sum_d t_d s_d(x)``. Shapes are
written like ``[N, K, F]``: N users, K statements per user, F features.

Two kinds of functions live here:

* the paper's method: :func:`margin_ranking_loss`, :func:`sample_ranking_pairs`,
  :class:`ScoreModel`, :func:`train_score_model` (learning the rank of a proxy
  variable), :func:`type_table`, :func:`update_table`, :func:`type_posterior`,
  :func:`top_two_types`, :func:`choose_axis` and :func:`run_sessions` (the progressive,
  multi-turn measurement);
* course additions that the paper does not have: a simulated population with a *known*
  indicativeness of every statement (:func:`sample_traits`, :func:`axis_directions`,
  :func:`sample_statements`, :func:`judge_proxy`), the evaluation
  (:func:`pairwise_accuracy`, :func:`true_type_rank`) and a linear control
  (:func:`fit_ridge_scores`).
"""

from __future__ import annotations

import numbers

import numpy as np

from utils.validation import check_array, check_positive, check_positive_int

__all__ = [
    "AXES",
    "POLES",
    "mbti_types",
    "type_name",
    "sample_traits",
    "axis_directions",
    "sample_statements",
    "hidden_indicativeness",
    "judge_proxy",
    "margin_ranking_loss",
    "sample_ranking_pairs",
    "ScoreModel",
    "train_score_model",
    "score_statements",
    "fit_ridge_scores",
    "pairwise_accuracy",
    "type_table",
    "update_table",
    "type_posterior",
    "top_two_types",
    "choose_axis",
    "true_type_rank",
    "run_sessions",
    "POLICIES",
]

AXES = ("E/I", "N/S", "F/T", "J/P")
POLES = (("E", "I"), ("N", "S"), ("F", "T"), ("J", "P"))  # (+1 pole, -1 pole) per axis
POLICIES = ("adaptive", "round_robin", "random")


# ------------------------------------------------------------------------ validation
def _check_signs(signs, name: str, ndim: int | None = None) -> np.ndarray:
    """``signs`` as a float array of +1/-1 whose last axis has length 4."""
    arr = check_array(signs, name, ndim=ndim)
    if arr.shape[-1] != 4:
        raise ValueError(
            f"{name} must have 4 columns (one per MBTI axis), got shape {arr.shape}"
        )
    if not np.isin(arr, (-1.0, 1.0)).all():
        bad = arr[~np.isin(arr, (-1.0, 1.0))].ravel()[0]
        raise ValueError(
            f"{name} must hold only +1 and -1 (the pole of each axis), found {bad!r}"
        )
    return arr


def _check_unit_interval(values, name: str) -> np.ndarray:
    arr = check_array(values, name)
    if (arr < 0).any() or (arr > 1).any():
        raise ValueError(
            f"{name} must lie in [0, 1], found values from "
            f"{arr.min():.3g} to {arr.max():.3g}"
        )
    return arr


def _check_nonnegative(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (np.isfinite(value) and value >= 0)
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_table(table, name: str = "table") -> np.ndarray:
    arr = check_array(table, name)
    if arr.shape[-1] != 16:
        raise ValueError(
            f"{name} must have 16 entries (one per MBTI type) on its last "
            f"axis, got shape {arr.shape}"
        )
    return arr


# ------------------------------------------------------------------------ MBTI types
def mbti_types() -> np.ndarray:
    """All 16 types as signs, shape ``[16, 4]``, in the order of the official code's
    list.

    Paper: the MBTI framework, four binary axes and 16 types (arXiv:2408.03337v4).
    The +1/-1 coding and the order (INTJ, INTP, ENTJ, ...) follow the official code.
    """
    names = [
        "INTJ",
        "INTP",
        "ENTJ",
        "ENTP",
        "INFJ",
        "INFP",
        "ENFJ",
        "ENFP",
        "ISTJ",
        "ISFJ",
        "ESTJ",
        "ESFJ",
        "ISTP",
        "ISFP",
        "ESTP",
        "ESFP",
    ]
    return np.array(
        [[1.0 - 2.0 * POLES[d].index(name[d]) for d in range(4)] for name in names]
    )


def type_name(signs) -> str:
    """The four-letter name of one type given as 4 signs, e.g. ``[-1, 1, 1, -1] ->
    "INFP"``.

    Paper: course addition — readable names for the 16 MBTI types.
    """
    t = _check_signs(signs, "signs", ndim=1)
    return "".join(POLES[d][0] if t[d] == 1 else POLES[d][1] for d in range(4))


# ---------------------------------------------------------- the simulated population
def sample_traits(
    n_users: int, rng: np.random.Generator, push: float = 0.3
) -> np.ndarray:
    """Latent traits ``z`` of shape ``[n_users, 4]``: N(0, 1) pushed ``push`` away from
    0.

    The type is ``sign(z)``; ``|z_d|`` is how clearly the user leans to one pole. Users
    with ``z_d`` near 0 are genuinely ambiguous on axis d.

    Paper: course addition — a synthetic population with known types (the paper uses
    real users and role-play bots).
    """
    n_users = check_positive_int(n_users, "n_users")
    push = _check_nonnegative(push, "push")
    z = rng.standard_normal((n_users, 4))
    return z + push * np.sign(z)


def axis_directions(
    n_features: int, n_active: int, rng: np.random.Generator
) -> np.ndarray:
    """Four unit directions in feature space with disjoint supports, shape ``[4,
    n_features]``.

    Axis d speaks through ``n_active`` features of its own (random signs, unit norm):
    the stand-in for the words and topics that reveal, say, introversion.

    Paper: course addition — the hidden feature geometry of the simulated statements.
    """
    n_features = check_positive_int(n_features, "n_features")
    n_active = check_positive_int(n_active, "n_active")
    if 4 * n_active > n_features:
        raise ValueError(
            f"n_active={n_active} is too large: 4 axes need "
            f"4 * n_active <= n_features={n_features}"
        )
    columns = rng.permutation(n_features)[: 4 * n_active].reshape(4, n_active)
    U = np.zeros((4, n_features))
    for d in range(4):
        U[d, columns[d]] = rng.choice([-1.0, 1.0], size=n_active) / np.sqrt(n_active)
    return U


def sample_statements(
    z, r, U, rng: np.random.Generator, strength: float = 2.5
) -> np.ndarray:
    """Statements ``x = strength * sum_d r_d z_d u_d + noise``, shape ``[..., F]``.

    ``z``: traits ``[N, 4]``; ``r``: hidden indicativeness in [0, 1] of each statement
    on each axis, ``[N, K, 4]`` (or ``[N, 4]`` for one statement per user); ``U``: ``[4,
    F]``. The noise is N(0, 1) in every feature. A statement with ``r_d = 0`` says
    nothing about axis d.

    Paper: course addition — simulated user statements with a known indicativeness (in
    the paper, posts and dialogue summaries written by people).
    """
    z = check_array(z, "z", ndim=2)
    U = check_array(U, "U", ndim=2)
    r = _check_unit_interval(r, "r")
    strength = _check_nonnegative(strength, "strength")
    if z.shape[1] != 4 or U.shape[0] != 4:
        raise ValueError(f"z must be [N, 4] and U [4, F], got {z.shape} and {U.shape}")
    if r.ndim not in (2, 3) or r.shape[0] != z.shape[0] or r.shape[-1] != 4:
        raise ValueError(
            f"r must be [N, 4] or [N, K, 4] with N={z.shape[0]}, got {r.shape}"
        )
    zz = z if r.ndim == 2 else z[:, None, :]
    signal = strength * (r * zz) @ U  # [..., F]
    return signal + rng.standard_normal(signal.shape)


def hidden_indicativeness(z, r) -> np.ndarray:
    """The quantity no one can measure: ``kappa_d = r_d |z_d|``, shape like ``r``.

    How strongly a statement points to its author's pole on axis d. The simulation knows
    it; the score model never sees it.

    Paper: course addition — the ground truth behind the paper's "unmeasurable"
    variable.
    """
    z = check_array(z, "z", ndim=2)
    r = _check_unit_interval(r, "r")
    if r.shape[0] != z.shape[0] or r.shape[-1] != 4 or z.shape[1] != 4:
        raise ValueError(
            f"r must be [N, (K,) 4] and z [N, 4] with the same N, got "
            f"{r.shape} and {z.shape}"
        )
    return r * np.abs(z if r.ndim == 2 else z[:, None, :])


def judge_proxy(
    X,
    signs,
    U,
    rng: np.random.Generator,
    n_votes: int = 5,
    gain: float = 1.0,
    bias_sd: float = 0.8,
) -> np.ndarray:
    """The measurable proxy: the share of ``n_votes`` judge guesses that find the
    author's pole.

    For axis d the judge is right with probability ``sigmoid(gain * t_d * (u_d . x) +
    b)``, where ``b ~ N(0, bias_sd^2)`` is drawn once per statement and axis (a judge
    that misreads some statements whatever their content). ``X``: ``[n, F]``; ``signs``:
    the authors' types ``[n, 4]``. Returns ``[n, 4]`` values in {0, 1/n_votes, ..., 1}.

    Paper: the proxy variable, a judge's accuracy on the statement (arXiv:2408.03337v4).
    Simulated here: the paper's judges are language models reading real posts.
    """
    X = check_array(X, "X", ndim=2)
    signs = _check_signs(signs, "signs", ndim=2)
    U = check_array(U, "U", ndim=2)
    n_votes = check_positive_int(n_votes, "n_votes")
    gain = _check_nonnegative(gain, "gain")
    bias_sd = _check_nonnegative(bias_sd, "bias_sd")
    if signs.shape[0] != X.shape[0] or U.shape != (4, X.shape[1]):
        raise ValueError(
            f"X [n, F], signs [n, 4] and U [4, F] must agree, got "
            f"{X.shape}, {signs.shape} and {U.shape}"
        )
    logit = gain * signs * (X @ U.T) + bias_sd * rng.standard_normal(signs.shape)
    p_right = 1.0 / (1.0 + np.exp(-logit))  # [n, 4]
    votes = rng.uniform(size=(n_votes,) + p_right.shape) < p_right  # [V, n, 4]
    return votes.mean(axis=0)


# ------------------------------------------------------------------- the score model
def margin_ranking_loss(s_i, s_j, target, margin: float = 0.2):
    """Pairwise hinge ``mean(max(0, -target * (s_i - s_j) + margin))``.

    ``target`` is +1 where ``s_i`` should be the larger score and -1 where ``s_j``
    should. Works on numpy arrays and torch tensors alike (same shapes, e.g. ``[B]``);
    equals ``torch.nn.MarginRankingLoss(margin)``.

    Paper: score-model training, a margin ranking loss (arXiv:2408.03337v4).
    """
    margin = _check_nonnegative(margin, "margin")
    if hasattr(s_i, "detach"):  # torch tensors
        return (-target * (s_i - s_j) + margin).clamp(min=0).mean()
    s_i, s_j = check_array(s_i, "s_i"), check_array(s_j, "s_j")
    target = check_array(target, "target")
    if not (s_i.shape == s_j.shape == target.shape):
        raise ValueError(
            f"s_i, s_j and target must have the same shape, got "
            f"{s_i.shape}, {s_j.shape} and {target.shape}"
        )
    if not np.isin(target, (-1.0, 1.0)).all():
        raise ValueError("target must hold only +1 and -1")
    return float(np.maximum(0.0, -target * (s_i - s_j) + margin).mean())


def sample_ranking_pairs(
    proxy, n_pairs: int, rng: np.random.Generator, min_gap: float = 0.1
):
    """Random training pairs ``(i, j, d, target)`` for learning the rank of the proxy.

    Draws ``n_pairs`` statement pairs and one axis ``d`` per pair, keeps the pairs whose
    proxy values differ by more than ``min_gap`` (``|proxy[i, d] - proxy[j, d]| >
    min_gap``: a tie carries no order) and sets ``target = sign(proxy[i, d] - proxy[j,
    d])``. ``proxy``: ``[n, 4]``. Returns four arrays of equal length (at most
    ``n_pairs``).

    Paper: score-model training, pairs ordered by their proxy (arXiv:2408.03337v4).
    The gap filter ``min_gap`` is this course's choice.
    """
    proxy = check_array(proxy, "proxy", ndim=2)
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    min_gap = _check_nonnegative(min_gap, "min_gap")
    if proxy.shape[1] != 4 or proxy.shape[0] < 2:
        raise ValueError(f"proxy must be [n, 4] with n >= 2, got {proxy.shape}")
    n = proxy.shape[0]
    i = rng.integers(0, n, n_pairs)
    j = rng.integers(0, n, n_pairs)
    d = rng.integers(0, 4, n_pairs)
    gap = proxy[i, d] - proxy[j, d]
    keep = np.abs(gap) > min_gap
    return i[keep], j[keep], d[keep], np.sign(gap[keep])


def ScoreModel(n_features: int, hidden: int = 32, generator=None):
    """A small score model: an MLP ``F -> hidden (tanh) -> 4``, one signed score per
    axis.

    ``generator`` (a ``torch.Generator``) makes the initial weights reproducible. Input
    ``[B, F]``, output ``[B, 4]``.

    Paper: the score model, one signed output per MBTI axis (arXiv:2408.03337v4).
    The paper fine-tunes a 7B language model with a 4-unit head instead.
    """
    import torch
    from torch import nn

    n_features = check_positive_int(n_features, "n_features")
    hidden = check_positive_int(hidden, "hidden")
    model = nn.Sequential(
        nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, 4)
    )
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = 1.0 / np.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    return model


def train_score_model(
    model,
    X,
    signs,
    proxy,
    rng: np.random.Generator,
    *,
    steps: int = 600,
    batch: int = 512,
    loss: str = "ranking",
    margin: float = 0.2,
    min_gap: float = 0.1,
    lr: float = 3e-3,
):
    """Train ``model`` so that its label-signed score ``t_d s_d(x)`` follows the proxy.

    ``loss="ranking"`` (the paper): each step draws ``batch`` pairs with
    :func:`sample_ranking_pairs` and applies :func:`margin_ranking_loss` to the
    label-signed scores, so the statement with the higher proxy must score higher on
    that axis, by ``margin``. ``loss="mse"`` (a control): regress ``t_d s_d(x)`` on the
    proxy with squared error on ``batch`` random (statement, axis) cells. ``X``: ``[n,
    F]``; ``signs``: authors' types ``[n, 4]``; ``proxy``: ``[n, 4]``. Returns the list
    of losses per step.

    Paper: learning the rank of proxy variables (arXiv:2408.03337v4).
    The ``loss="mse"`` option is this course's control.
    """
    import torch

    X = check_array(X, "X", ndim=2)
    signs = _check_signs(signs, "signs", ndim=2)
    proxy = check_array(proxy, "proxy", ndim=2)
    steps = check_positive_int(steps, "steps")
    batch = check_positive_int(batch, "batch")
    lr = check_positive(lr, "lr")
    if loss not in ("ranking", "mse"):
        raise ValueError(f"loss must be 'ranking' or 'mse', got {loss!r}")
    if not (X.shape[0] == signs.shape[0] == proxy.shape[0]) or proxy.shape[1] != 4:
        raise ValueError(
            f"X [n, F], signs [n, 4] and proxy [n, 4] must agree, got "
            f"{X.shape}, {signs.shape} and {proxy.shape}"
        )
    Xt = torch.as_tensor(X, dtype=torch.float32)
    signed_t = torch.as_tensor(signs, dtype=torch.float32)
    proxy_t = torch.as_tensor(proxy, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        if loss == "ranking":
            i, j, d, target = sample_ranking_pairs(proxy, batch, rng, min_gap)
            if i.size == 0:
                raise ValueError(f"no pair has a proxy gap above min_gap={min_gap}")
            i, j, d = (torch.as_tensor(a) for a in (i, j, d))
            s_i = model(Xt[i]).gather(1, d[:, None])[:, 0] * signed_t[i, d]  # [B]
            s_j = model(Xt[j]).gather(1, d[:, None])[:, 0] * signed_t[j, d]
            target = torch.as_tensor(target, dtype=torch.float32)
            value = margin_ranking_loss(s_i, s_j, target, margin)
        else:
            i = torch.as_tensor(rng.integers(0, X.shape[0], batch))
            d = torch.as_tensor(rng.integers(0, 4, batch))
            s = model(Xt[i]).gather(1, d[:, None])[:, 0] * signed_t[i, d]
            value = ((s - proxy_t[i, d]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        losses.append(value.item())
    model.eval()
    return losses


def score_statements(model, X) -> np.ndarray:
    """Signed scores ``s(x)`` of statements ``X`` (``[..., F]``) as numpy, shape ``[...,
    4]``.

    Paper: score-model inference, one signed score per axis (arXiv:2408.03337v4).
    """
    import torch

    X = check_array(X, "X")
    flat = torch.as_tensor(X.reshape(-1, X.shape[-1]), dtype=torch.float32)
    with torch.no_grad():
        out = model(flat).numpy().astype(float)
    return out.reshape(X.shape[:-1] + (4,))


def fit_ridge_scores(X, signs, proxy, alpha: float = 1.0):
    """A linear control: ``s_d(x) = w_d . x + b_d`` fitted so that ``t_d s_d(x) ~
    proxy_d``.

    Closed-form ridge regression per axis on the sign-flipped design ``[t_d x, t_d]``
    (the label-signed score is linear in it), penalty ``alpha`` on all coefficients.
    Returns ``W`` of shape ``[F, 4]`` and ``b`` of shape ``[4]``; scores are ``X @ W +
    b``.

    Paper: course addition — a control that fits the same proxy without ranking or a
    network.
    """
    X = check_array(X, "X", ndim=2)
    signs = _check_signs(signs, "signs", ndim=2)
    proxy = check_array(proxy, "proxy", ndim=2)
    alpha = check_positive(alpha, "alpha")
    if not (X.shape[0] == signs.shape[0] == proxy.shape[0]) or proxy.shape[1] != 4:
        raise ValueError(
            f"X [n, F], signs [n, 4] and proxy [n, 4] must agree, got "
            f"{X.shape}, {signs.shape} and {proxy.shape}"
        )
    n, F = X.shape
    W, b = np.zeros((F, 4)), np.zeros(4)
    for d in range(4):
        A = signs[:, d : d + 1] * np.hstack([X, np.ones((n, 1))])  # [n, F + 1]
        coef = np.linalg.solve(A.T @ A + alpha * np.eye(F + 1), A.T @ proxy[:, d])
        W[:, d], b[d] = coef[:F], coef[F]
    return W, b


def pairwise_accuracy(scores, truth, min_gap: float = 0.0) -> float:
    """Share of pairs ``(i, j)`` ordered like the truth, over pairs with ``|truth gap| >
    min_gap``.

    ``scores`` and ``truth``: ``[n]`` or ``[n, 4]`` (then pairs are formed within each
    column and pooled). A tie in ``scores`` counts one half. With a 0/1 truth and
    ``min_gap=0`` this is the ROC AUC of ``scores``.

    Paper: the score-model benchmark metric, pairwise accuracy (arXiv:2408.03337v4).
    Here measured against the hidden truth instead of human-labelled pairs.
    """
    scores = check_array(scores, "scores")
    truth = check_array(truth, "truth")
    min_gap = _check_nonnegative(min_gap, "min_gap")
    if scores.shape != truth.shape or scores.ndim not in (1, 2):
        raise ValueError(
            f"scores and truth must have the same shape [n] or [n, k], "
            f"got {scores.shape} and {truth.shape}"
        )
    if scores.ndim == 1:
        scores, truth = scores[:, None], truth[:, None]
    right = total = 0.0
    for k in range(scores.shape[1]):
        ds = scores[:, k, None] - scores[None, :, k]  # [n, n]
        dt = truth[:, k, None] - truth[None, :, k]
        use = dt > min_gap  # each pair once
        right += np.sum(ds[use] > 0) + 0.5 * np.sum(ds[use] == 0)
        total += np.sum(use)
    if total == 0:
        raise ValueError(f"no pair has a truth gap above min_gap={min_gap}")
    return float(right / total)


# ------------------------------------------------------ the progressive measurement
def type_table(statement_scores) -> np.ndarray:
    """The 16-type table from scored statements: ``T(t) = sum_k sum_d t_d s_d(x_k)``.

    ``statement_scores``: ``[..., K, 4]`` (K statements). Returns ``[..., 16]`` in the
    order of :func:`mbti_types`. Summing signed scores treats each score like a log-odds
    contribution; the official code instead squashes each statement's mean with a
    Gaussian CDF and rescales.

    Paper: the MBTI score table, the state of the measurement (arXiv:2408.03337v4).
    """
    s = check_array(statement_scores, "statement_scores")
    if s.ndim < 2 or s.shape[-1] != 4:
        raise ValueError(f"statement_scores must be [..., K, 4], got shape {s.shape}")
    return s.sum(axis=-2) @ mbti_types().T


def update_table(table, scores) -> np.ndarray:
    """Add one new statement's evidence: ``T(t) + sum_d t_d s_d(x_new)``.

    ``table``: ``[..., 16]``; ``scores``: the new statement's ``[..., 4]``. Returns a
    new table.

    Paper: the table update after each round of dialogue (arXiv:2408.03337v4).
    Additive here, without the official code's clipping to [0, 100].
    """
    table = _check_table(table)
    scores = check_array(scores, "scores")
    if scores.shape[-1] != 4:
        raise ValueError(
            f"scores must have 4 entries on its last axis, got {scores.shape}"
        )
    return table + scores @ mbti_types().T


def type_posterior(table, temperature: float = 1.0) -> np.ndarray:
    """A probability over the 16 types: ``softmax(T / temperature)`` along the last
    axis.

    With calibrated log-odds scores and ``temperature = 2`` this is the Bayesian
    posterior (the table counts each axis's log-odds once per type with a +-1 sign, i.e.
    twice the log-likelihood difference over 2).

    Paper: course addition — reading the paper's score table as a distribution over
    types.
    """
    table = _check_table(table)
    temperature = check_positive(temperature, "temperature")
    logits = table / temperature
    logits = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=-1, keepdims=True)


def top_two_types(table) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the leading and the runner-up type in each table (``[..., 16]`` ->
    ``[...]``).

    Paper: the two top types that decide the next question (arXiv:2408.03337v4).
    """
    table = _check_table(table)
    order = np.argsort(-table, stable=True)  # along the last axis; ties: lower index
    return order[..., 0], order[..., 1]


def choose_axis(table, evidence) -> np.ndarray:
    """The axis to ask about next: where the top two types differ, the least certain
    one.

    ``table``: ``[..., 16]``; ``evidence``: accumulated per-axis scores ``[..., 4]``
    (their sum with the type signs is the table). Among the axes on which the leading
    and runner-up types disagree, returns the one with the smallest ``|evidence|``;
    shape ``[...]``.

    Paper: what to ask next, from the axes separating the top two (arXiv:2408.03337v4).
    The official code then picks the user statement that scores highest on them.
    """
    table = _check_table(table)
    evidence = check_array(evidence, "evidence")
    if evidence.shape != table.shape[:-1] + (4,):
        raise ValueError(
            f"evidence must be [..., 4] matching table {table.shape}, got "
            f"{evidence.shape}"
        )
    first, second = top_two_types(table)
    types = mbti_types()
    differs = types[first] != types[second]  # [..., 4]
    weakness = np.where(differs, np.abs(evidence), np.inf)
    return np.argmin(weakness, axis=-1)


def true_type_rank(table, true_signs) -> np.ndarray:
    """Rank of the true type in each table: 1 + the number of types scored strictly
    higher.

    ``table``: ``[N, 16]`` (or ``[16]``); ``true_signs``: ``[N, 4]`` (or ``[4]``). Rank
    1 means the measurement names the true type.

    Paper: evaluation by the rank of the true type in the table (arXiv:2408.03337v4).
    """
    table = _check_table(table)
    true_signs = _check_signs(true_signs, "true_signs")
    if table.shape[:-1] != true_signs.shape[:-1]:
        raise ValueError(
            f"table [..., 16] and true_signs [..., 4] must agree, got "
            f"{table.shape} and {true_signs.shape}"
        )
    code = (((1 - true_signs) / 2) @ np.array([8, 4, 2, 1])).astype(int)  # 4 bits
    row = _code_to_row()[code]  # [...] table index
    true_value = np.take_along_axis(table, row[..., None], axis=-1)
    return 1 + (table > true_value).sum(axis=-1)


def _code_to_row() -> np.ndarray:
    """Table row of each type's 4-bit code (bits E/I, N/S, F/T, J/P; +1 pole -> 0)."""
    codes = (((1 - mbti_types()) / 2) @ np.array([8, 4, 2, 1])).astype(int)
    return np.argsort(codes)  # the inverse permutation: lookup[codes[i]] = i


def run_sessions(initial_scores, answer_scores, policy: str, rng: np.random.Generator):
    """Run the multi-turn measurement for N users; returns per-axis evidence ``[N, R +
    1, 4]``.

    ``initial_scores``: scores of each user's first statements, ``[N, K, 4]``.
    ``answer_scores``: ``[N, R, 4, 4]``, the scored reply the user *would* give in round
    r to a question about axis a (``answer_scores[n, r, a]``); the policy decides which
    one is heard. Policies: ``"adaptive"`` (the paper: :func:`choose_axis`),
    ``"round_robin"`` (each axis once, in a random order per user, like a static
    questionnaire; needs R <= 4) and ``"random"`` (uniform, with replacement, blind to
    the table). Entry ``[:, r]`` is the evidence after r rounds; the table is ``evidence
    @ mbti_types().T``.

    Paper: the progressive multi-round measurement loop (arXiv:2408.03337v4).
    Simulated answers stand in for the chatbot dialogue.
    """
    initial = check_array(initial_scores, "initial_scores", ndim=3)
    answers = check_array(answer_scores, "answer_scores", ndim=4)
    if (
        initial.shape[2] != 4
        or answers.shape[2:] != (4, 4)
        or answers.shape[0] != initial.shape[0]
    ):
        raise ValueError(
            f"initial_scores must be [N, K, 4] and answer_scores "
            f"[N, R, 4, 4] with the same N, got {initial.shape} and "
            f"{answers.shape}"
        )
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    n_users, n_rounds = answers.shape[:2]
    if policy == "round_robin":
        if n_rounds > 4:
            raise ValueError(
                f"round_robin asks each axis once: at most 4 rounds, got {n_rounds}"
            )
        order = np.argsort(rng.uniform(size=(n_users, 4)))  # a random order per user
    evidence = [initial.sum(axis=1)]  # [N, 4]
    users = np.arange(n_users)
    for r in range(n_rounds):
        current = evidence[-1]
        if policy == "adaptive":
            axis = choose_axis(current @ mbti_types().T, current)
        elif policy == "round_robin":
            axis = order[:, r]
        else:
            axis = rng.integers(0, 4, n_users)
        evidence.append(current + answers[users, r, axis])
    return np.stack(evidence, axis=1)
