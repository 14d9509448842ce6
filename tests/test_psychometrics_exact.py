"""Exact tests of utils.psychometrics (chapter 07) that pin what the first test file
leaves open: exact error messages naming the argument, the rank of every array input,
the defaults of the simulated judge, batched tables (one softmax, one ranking per row)
and tie-breaking."""

import numpy as np
import pytest
from scipy.special import softmax

from utils import psychometrics as psy


def rng(seed=0):
    return np.random.default_rng(seed)


def test_every_type_is_spelled_with_its_poles():
    names = [psy.type_name(t) for t in psy.mbti_types()]
    for name, signs in zip(names, psy.mbti_types()):
        for d in range(4):
            assert name[d] == psy.POLES[d][0 if signs[d] == 1 else 1]
    assert names[12] == "ISTP" and names[7] == "ENFP"


def test_type_name_needs_one_type():
    with pytest.raises(ValueError, match=r"^signs must be 1-D, got shape \(1, 4\)$"):
        psy.type_name([[1, -1, 1, -1]])
    with pytest.raises(
        ValueError, match=r"^signs must hold only \+1 and -1 \(the pole of each axis\)"
    ):
        psy.type_name([1, -1, 0.5, -1])


# ------------------------------------------------------------------ the simulated judge
def test_judge_proxy_defaults_replayed():
    """n_votes = 5, gain = 1, bias_sd = 0.8."""
    U = psy.axis_directions(12, 3, rng(6))
    X = rng(7).standard_normal((10, 12))
    signs = np.where(rng(8).uniform(size=(10, 4)) < 0.5, -1.0, 1.0)
    got = psy.judge_proxy(X, signs, U, rng(9))
    g = rng(9)
    logit = signs * (X @ U.T) + 0.8 * g.standard_normal((10, 4))
    votes = g.uniform(size=(5, 10, 4)) < 1 / (1 + np.exp(-logit))
    np.testing.assert_allclose(got, votes.mean(axis=0))


def _judge_args():
    return {
        "X": rng(1).normal(size=(3, 8)),
        "signs": np.array([[1.0, -1, 1, -1]] * 3),
        "U": psy.axis_directions(8, 2, rng(2)),
        "rng": rng(3),
    }


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(X=np.zeros((1, 3, 8))), r"X must be 2-D, got shape \(1, 3, 8\)"),
        (dict(X=np.full((3, 8), np.nan)), "X must be finite"),
        (dict(U=np.zeros((1, 4, 8))), r"U must be 2-D, got shape \(1, 4, 8\)"),
        (dict(U=np.full((4, 8), np.inf)), "U must be finite"),
        (dict(signs=np.ones(4)), r"signs must be 2-D, got shape \(4,\)"),
        (dict(n_votes=0), "n_votes must be a positive integer, got 0"),
        (dict(gain=-1.0), "gain must be a finite number >= 0, got -1.0"),
        (dict(bias_sd=np.nan), "bias_sd must be a finite number >= 0, got nan"),
    ],
)
def test_judge_proxy_messages(kw, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        psy.judge_proxy(**{**_judge_args(), **kw})


# ---------------------------------------------------------------- the tables, batched
@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: psy.type_table(np.full((2, 4), np.nan)),
            "statement_scores must be finite",
        ),
        (
            lambda: psy.update_table(np.zeros(16), [np.inf, 0, 0, 0]),
            "scores must be finite",
        ),
        (
            lambda: psy.choose_axis(np.zeros(16), [np.nan, 0, 0, 0]),
            "evidence must be finite",
        ),
        (
            lambda: psy.type_posterior(np.zeros(16), temperature=-1.0),
            "temperature must be a positive finite number, got -1.0",
        ),
        (
            lambda: psy.true_type_rank(np.zeros(16), [1, 1, 1, 0]),
            r"true_signs must hold only \+1 and -1",
        ),
        (
            lambda: psy.run_sessions(
                np.full((1, 2, 4), np.nan), np.zeros((1, 1, 4, 4)), "adaptive", rng()
            ),
            "initial_scores must be finite",
        ),
        (
            lambda: psy.run_sessions(
                np.zeros((1, 2, 4)), np.full((1, 1, 4, 4), np.nan), "adaptive", rng()
            ),
            "answer_scores must be finite",
        ),
        (
            lambda: psy.run_sessions(
                np.zeros((1, 2, 4)), np.zeros((1, 4, 4)), "adaptive", rng()
            ),
            r"answer_scores must be 4-D, got shape \(1, 4, 4\)",
        ),
    ],
)
def test_table_messages(call, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        call()


def test_type_posterior_is_one_softmax_per_row():
    # rows of very different size: one shift for the whole batch would underflow row 2
    table = np.stack([rng(0).normal(size=16) * 3, 1000 + rng(1).normal(size=16)])
    table = np.stack([table, table[::-1] - 500])  # [2, 2, 16]
    np.testing.assert_allclose(psy.type_posterior(table), softmax(table, axis=-1))
    np.testing.assert_allclose(
        psy.type_posterior(table, temperature=3.0), softmax(table / 3.0, axis=-1)
    )


def test_top_two_types_break_ties_by_the_lower_index():
    tables = rng(4).integers(0, 3, size=(200, 16)).astype(float)  # many ties
    first, second = psy.top_two_types(tables)
    ref_first = np.argmax(tables, axis=1)  # numpy's argmax: the first maximum
    masked = tables.copy()
    masked[np.arange(200), ref_first] = -np.inf
    np.testing.assert_array_equal(first, ref_first)
    np.testing.assert_array_equal(second, np.argmax(masked, axis=1))


def test_true_type_rank_on_one_table_and_on_a_grid_of_tables():
    table = rng(5).normal(size=16)
    types = psy.mbti_types()
    for k, t in enumerate(types):
        assert psy.true_type_rank(table, t) == 1 + np.sum(table > table[k])
    grid = rng(6).normal(size=(2, 3, 16))
    true_signs = types[rng(7).integers(0, 16, size=(2, 3))]  # [2, 3, 4]
    ranks = psy.true_type_rank(grid, true_signs)
    assert ranks.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            k = next(n for n, t in enumerate(types) if (t == true_signs[i, j]).all())
            assert ranks[i, j] == 1 + np.sum(grid[i, j] > grid[i, j, k])
    with pytest.raises(ValueError, match="must agree"):
        psy.true_type_rank(grid, true_signs[:, :2])


# ------------------------------------------------- every argument named in its error
def _z():
    return rng(1).normal(size=(3, 4))


def _ok_signs():
    return np.array([[1.0, -1, 1, -1], [-1, -1, 1, 1], [1, 1, -1, -1]])


NAMED = [
    (
        psy.sample_traits,
        dict(n_users=0, rng=rng()),
        "n_users must be a positive integer",
    ),
    (
        psy.sample_traits,
        dict(n_users=2, rng=rng(), push=-0.1),
        "push must be a finite number >= 0",
    ),
    (
        psy.axis_directions,
        dict(n_features=0, n_active=1, rng=rng()),
        "n_features must be a positive integer",
    ),
    (
        psy.axis_directions,
        dict(n_features=8, n_active=0, rng=rng()),
        "n_active must be a positive integer",
    ),
    (
        psy.axis_directions,
        dict(n_features=7, n_active=2, rng=rng()),
        r"n_active=2 is too large: 4 axes need 4 \* n_active <= n_features=7",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((1, 3, 4)), r=np.zeros((3, 4)), U=np.zeros((4, 8)), rng=rng()),
        r"z must be 2-D",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((3, 4)), r=np.zeros((3, 4)), U=np.zeros(8), rng=rng()),
        r"U must be 2-D",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((3, 4)), r=np.full((3, 4), 1.5), U=np.zeros((4, 8)), rng=rng()),
        r"r must lie in \[0, 1\], found values from 1.5 to 1.5",
    ),
    (
        psy.sample_statements,
        dict(
            z=np.zeros((3, 4)),
            r=np.zeros((3, 4)),
            U=np.zeros((4, 8)),
            rng=rng(),
            strength=-1.0,
        ),
        "strength must be a finite number >= 0",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((3, 3)), r=np.zeros((3, 4)), U=np.zeros((4, 8)), rng=rng()),
        r"z must be \[N, 4\] and U \[4, F\]",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((3, 4)), r=np.zeros((3, 4)), U=np.zeros((3, 8)), rng=rng()),
        r"z must be \[N, 4\] and U \[4, F\]",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((3, 4)), r=np.zeros((2, 4)), U=np.zeros((4, 8)), rng=rng()),
        r"r must be \[N, 4\] or \[N, K, 4\] with N=3",
    ),
    (
        psy.sample_statements,
        dict(
            z=np.zeros((3, 4)), r=np.zeros((3, 1, 1, 4)), U=np.zeros((4, 8)), rng=rng()
        ),
        r"r must be \[N, 4\] or \[N, K, 4\]",
    ),
    (
        psy.sample_statements,
        dict(z=np.zeros((3, 4)), r=np.zeros((3, 2, 3)), U=np.zeros((4, 8)), rng=rng()),
        r"r must be \[N, 4\] or \[N, K, 4\]",
    ),
    (
        psy.hidden_indicativeness,
        dict(z=np.zeros(4), r=np.zeros((1, 4))),
        "z must be 2-D",
    ),
    (
        psy.hidden_indicativeness,
        dict(z=np.zeros((2, 4)), r=np.full((2, 4), -0.5)),
        r"r must lie in \[0, 1\]",
    ),
    (
        psy.hidden_indicativeness,
        dict(z=np.zeros((2, 4)), r=np.zeros((3, 4))),
        r"r must be \[N, \(K,\) 4\] and z \[N, 4\] with the same N",
    ),
    (
        psy.hidden_indicativeness,
        dict(z=np.zeros((2, 3)), r=np.zeros((2, 4))),
        r"r must be \[N, \(K,\) 4\]",
    ),
    (
        psy.hidden_indicativeness,
        dict(z=np.zeros((2, 4)), r=np.zeros((2, 3))),
        r"r must be \[N, \(K,\) 4\]",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[np.nan], s_j=[0.0], target=[1.0]),
        "s_i must be finite",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[0.0], s_j=[np.inf], target=[1.0]),
        "s_j must be finite",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[0.0], s_j=[0.0], target=["1"]),
        "target must be numeric",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[0.0], s_j=[0.0], target=[1.0], margin=-0.1),
        "margin must be a finite number >= 0",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[0.0], s_j=[0.0, 1.0], target=[1.0]),
        r"s_i, s_j and target must have the same shape, got \(1,\), \(2,\) and \(1,\)",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[0.0], s_j=[0.0], target=[1.0, 1.0]),
        r"s_i, s_j and target must have the same shape",
    ),
    (
        psy.margin_ranking_loss,
        dict(s_i=[0.0], s_j=[0.0], target=[0.0]),
        r"target must hold only \+1 and -1$",
    ),
    (
        psy.sample_ranking_pairs,
        dict(proxy=np.zeros(4), n_pairs=3, rng=rng()),
        "proxy must be 2-D",
    ),
    (
        psy.sample_ranking_pairs,
        dict(proxy=np.zeros((3, 4)), n_pairs=0, rng=rng()),
        "n_pairs must be a positive integer",
    ),
    (
        psy.sample_ranking_pairs,
        dict(proxy=np.zeros((3, 4)), n_pairs=3, rng=rng(), min_gap=-1.0),
        "min_gap must be a finite number >= 0",
    ),
    (
        psy.sample_ranking_pairs,
        dict(proxy=np.zeros((3, 3)), n_pairs=3, rng=rng()),
        r"proxy must be \[n, 4\] with n >= 2, got \(3, 3\)",
    ),
    (
        psy.sample_ranking_pairs,
        dict(proxy=np.zeros((1, 4)), n_pairs=3, rng=rng()),
        r"proxy must be \[n, 4\] with n >= 2, got \(1, 4\)",
    ),
    (psy.ScoreModel, dict(n_features=0), "n_features must be a positive integer"),
    (psy.ScoreModel, dict(n_features=3, hidden=0), "hidden must be a positive integer"),
    (psy.score_statements, dict(model=None, X=[[np.nan]]), "X must be finite"),
    (
        psy.fit_ridge_scores,
        dict(X=np.zeros(3), signs=_ok_signs(), proxy=np.zeros((3, 4))),
        "X must be 2-D",
    ),
    (
        psy.fit_ridge_scores,
        dict(X=np.zeros((3, 2)), signs=_ok_signs()[0], proxy=np.zeros((3, 4))),
        "signs must be 2-D",
    ),
    (
        psy.fit_ridge_scores,
        dict(X=np.zeros((3, 2)), signs=_ok_signs(), proxy=np.zeros(4)),
        "proxy must be 2-D",
    ),
    (
        psy.fit_ridge_scores,
        dict(X=np.zeros((3, 2)), signs=_ok_signs(), proxy=np.zeros((3, 4)), alpha=0.0),
        "alpha must be a positive finite number",
    ),
    (
        psy.fit_ridge_scores,
        dict(X=np.zeros((3, 2)), signs=_ok_signs(), proxy=np.zeros((3, 3))),
        r"X \[n, F\], signs \[n, 4\] and proxy \[n, 4\] must agree",
    ),
    (
        psy.fit_ridge_scores,
        dict(X=np.zeros((2, 2)), signs=_ok_signs(), proxy=np.zeros((3, 4))),
        r"X \[n, F\], signs \[n, 4\] and proxy \[n, 4\] must agree",
    ),
    (
        psy.pairwise_accuracy,
        dict(scores=[np.nan, 1.0], truth=[0.0, 1.0]),
        "scores must be finite",
    ),
    (
        psy.pairwise_accuracy,
        dict(scores=[0.0, 1.0], truth=[0.0, np.inf]),
        "truth must be finite",
    ),
    (
        psy.pairwise_accuracy,
        dict(scores=[0.0, 1.0], truth=[0.0, 1.0], min_gap=-1.0),
        "min_gap must be a finite number >= 0",
    ),
    (
        psy.pairwise_accuracy,
        dict(scores=[0.0, 1.0], truth=[0.0, 1.0, 2.0]),
        r"scores and truth must have the same shape \[n\] or \[n, k\], got \(2,\) and \(3,\)",
    ),
    (
        psy.pairwise_accuracy,
        dict(scores=np.zeros((2, 2, 2)), truth=np.zeros((2, 2, 2))),
        r"scores and truth must have the same shape",
    ),
    (
        psy.pairwise_accuracy,
        dict(scores=[0.0, 1.0], truth=[0.0, 1.0], min_gap=1.0),
        r"no pair has a truth gap above min_gap=1.0$",
    ),
]


@pytest.mark.parametrize(
    "func, kwargs, message", NAMED, ids=lambda v: getattr(v, "__name__", None)
)
def test_errors_name_the_argument(func, kwargs, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        func(**kwargs)


def _train_args(**kw):
    import torch

    return {
        "model": psy.ScoreModel(
            4, hidden=3, generator=torch.Generator().manual_seed(0)
        ),
        "X": rng(1).normal(size=(3, 4)),
        "signs": _ok_signs(),
        "proxy": np.array([[0.0, 0.2, 0.4, 1.0], [1.0, 0.8, 0.6, 0.0], [0.5] * 4]),
        "rng": rng(2),
        "steps": 1,
        "batch": 4,
        **kw,
    }


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(X=np.zeros(3)), "X must be 2-D"),
        (dict(signs=_ok_signs()[0]), "signs must be 2-D"),
        (dict(proxy=np.zeros(3)), "proxy must be 2-D"),
        (dict(steps=0), "steps must be a positive integer"),
        (dict(batch=0), "batch must be a positive integer"),
        (dict(lr=0.0), "lr must be a positive finite number"),
        (dict(loss="hinge"), "loss must be 'ranking' or 'mse', got 'hinge'"),
        (
            dict(proxy=np.zeros((3, 3))),
            r"X \[n, F\], signs \[n, 4\] and proxy \[n, 4\] must agree",
        ),
        (
            dict(X=np.zeros((2, 4))),
            r"X \[n, F\], signs \[n, 4\] and proxy \[n, 4\] must agree",
        ),
        (dict(min_gap=1.0), r"no pair has a proxy gap above min_gap=1.0$"),
        (dict(margin=-1.0), "margin must be a finite number >= 0"),
    ],
)
def test_train_score_model_messages(kw, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        psy.train_score_model(**_train_args(**kw))


def test_boundaries_of_the_simulator_and_the_pairs():
    assert psy.axis_directions(8, 2, rng()).shape == (4, 8)  # 4 * n_active == F
    np.testing.assert_array_equal(
        psy.sample_traits(2, rng(3), push=0.0), rng(3).standard_normal((2, 4))
    )
    # a gap equal to min_gap is a tie: never kept
    proxy = np.array([[0.0] * 4, [0.5] * 4])
    i, j, d, target = psy.sample_ranking_pairs(proxy, 50, rng(4), min_gap=0.5)
    assert i.size == 0
    i, j, d, target = psy.sample_ranking_pairs(proxy, 50, rng(4), min_gap=0.4999)
    assert i.size > 0 and set(target) == {-1.0, 1.0}
    # pairwise accuracy: a truth gap equal to min_gap is left out
    assert psy.pairwise_accuracy([0.0, 1.0, 0.5], [0.0, 1.0, 0.9], min_gap=0.9) == 1.0
    assert psy.pairwise_accuracy([2.0, 1.0, 0.5], [0.0, 1.0, 0.5], min_gap=0.5) == 0.0
    assert psy.pairwise_accuracy([0.0, 0.0], [0.0, 1.0]) == 0.5  # a tie counts one half


def test_fit_ridge_default_alpha_is_one_in_closed_form():
    X, signs = rng(5).normal(size=(6, 3)), np.tile(_ok_signs(), (2, 1))
    proxy = rng(6).uniform(size=(6, 4))
    W, b = psy.fit_ridge_scores(X, signs, proxy)
    for d in range(4):
        A = signs[:, d : d + 1] * np.hstack([X, np.ones((6, 1))])
        coef = np.linalg.solve(A.T @ A + np.eye(4), A.T @ proxy[:, d])
        np.testing.assert_allclose(np.r_[W[:, d], b[d]], coef, rtol=1e-10)


def test_score_model_default_width_and_scores_shape():
    import torch

    model = psy.ScoreModel(5, generator=torch.Generator().manual_seed(0))
    assert model[0].out_features == 32 and model[2].in_features == 32
    bound = 1 / np.sqrt(5)
    w = model[0].weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    out = psy.score_statements(model, np.zeros((2, 3, 5)))
    assert out.shape == (2, 3, 4) and out.dtype == np.float64
