"""Unit tests of utils.psychometrics (chapter 07, PsyDI), against torch, scikit-learn,
SciPy and small cases solved by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score

from utils import psychometrics as psy

OFFICIAL_ORDER = [
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


def rng(seed=0):
    return np.random.default_rng(seed)


# -------------------- MBTI types
def test_mbti_types_follow_the_official_order_and_coding():
    types = psy.mbti_types()
    assert types.shape == (16, 4)
    assert len({tuple(t) for t in types}) == 16
    assert [psy.type_name(t) for t in types] == OFFICIAL_ORDER
    np.testing.assert_array_equal(types[OFFICIAL_ORDER.index("ENFJ")], [1, 1, 1, 1])
    np.testing.assert_array_equal(types[OFFICIAL_ORDER.index("ISTP")], [-1, -1, -1, -1])


def test_type_name_by_hand_and_bad_input():
    assert psy.type_name([-1, 1, 1, -1]) == "INFP"
    assert psy.type_name(np.array([1, -1, -1, 1])) == "ESTJ"
    with pytest.raises(ValueError, match="signs"):
        psy.type_name([1, 0, 1, 1])
    with pytest.raises(ValueError, match="signs"):
        psy.type_name([1, 1, 1])


# -------------------- the simulator
def test_sample_traits_push_and_shape():
    z = psy.sample_traits(500, rng(1), push=0.3)
    assert z.shape == (500, 4)
    assert np.abs(z).min() >= 0.3
    base = rng(1).standard_normal((500, 4))
    np.testing.assert_allclose(z, base + 0.3 * np.sign(base))
    np.testing.assert_allclose(psy.sample_traits(500, rng(1), push=0.0), base)
    with pytest.raises(ValueError, match="n_users"):
        psy.sample_traits(0, rng())
    with pytest.raises(ValueError, match="push"):
        psy.sample_traits(3, rng(), push=-0.1)


def test_axis_directions_are_disjoint_unit_vectors():
    U = psy.axis_directions(20, 5, rng(2))
    assert U.shape == (4, 20)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0)
    np.testing.assert_array_equal((U != 0).sum(axis=1), [5, 5, 5, 5])
    np.testing.assert_allclose(U @ U.T, np.eye(4), atol=1e-12)
    with pytest.raises(ValueError, match="n_active"):
        psy.axis_directions(19, 5, rng())
    psy.axis_directions(20, 5, rng())  # 4 * 5 == 20 is allowed (boundary)


def test_sample_statements_is_signal_plus_unit_noise():
    z = np.array([[1.5, -0.5, 0.2, -2.0], [-1.0, 1.0, 1.0, 1.0]])
    r = rng(3).uniform(size=(2, 3, 4))
    U = psy.axis_directions(16, 3, rng(4))
    X = psy.sample_statements(z, r, U, rng(5), strength=2.0)
    noise = rng(5).standard_normal((2, 3, 16))
    expected = 2.0 * np.einsum("nkd,nd,df->nkf", r, z, U) + noise
    np.testing.assert_allclose(X, expected, atol=1e-12)
    # one statement per user, [N, 4]
    X1 = psy.sample_statements(z, r[:, 0], U, rng(5), strength=0.0)
    np.testing.assert_allclose(X1, rng(5).standard_normal((2, 16)))
    with pytest.raises(ValueError, match="r must lie in"):
        psy.sample_statements(z, r + 1.0, U, rng())
    with pytest.raises(ValueError, match="r must be"):
        psy.sample_statements(z, r[:1], U, rng())
    with pytest.raises(ValueError, match="strength"):
        psy.sample_statements(z, r, U, rng(), strength=-1.0)
    with pytest.raises(ValueError, match="z must be finite"):
        psy.sample_statements(np.full((2, 4), np.nan), r, U, rng())


def test_hidden_indicativeness_by_hand():
    z = np.array([[-2.0, 0.5, 1.0, -1.0]])
    r = np.array([[[0.5, 1.0, 0.0, 0.25]]])
    expected = [[1.0, 0.5, 0.0, 0.25]]
    np.testing.assert_allclose(psy.hidden_indicativeness(z, r), [expected])
    np.testing.assert_allclose(psy.hidden_indicativeness(z, r[:, 0]), expected)
    with pytest.raises(ValueError, match="r must lie in"):
        psy.hidden_indicativeness(z, -r)


def test_judge_proxy_replays_its_random_draws():
    U = psy.axis_directions(12, 3, rng(6))
    X = rng(7).standard_normal((10, 12))
    signs = np.where(rng(8).uniform(size=(10, 4)) < 0.5, -1.0, 1.0)
    got = psy.judge_proxy(X, signs, U, rng(9), n_votes=3, gain=1.5, bias_sd=0.4)
    g = rng(9)
    logit = 1.5 * signs * (X @ U.T) + 0.4 * g.standard_normal((10, 4))
    votes = g.uniform(size=(3, 10, 4)) < 1 / (1 + np.exp(-logit))
    np.testing.assert_allclose(got, votes.mean(axis=0))
    assert set(np.round(got.ravel() * 3, 9)) <= {0.0, 1.0, 2.0, 3.0}


def test_judge_proxy_limits():
    U = psy.axis_directions(8, 2, rng(0))
    signs = np.tile([1.0, -1.0, 1.0, -1.0], (200, 1))
    X = 50.0 * (signs @ U)  # every statement screams its author's type
    np.testing.assert_allclose(psy.judge_proxy(X, signs, U, rng(1), bias_sd=0.0), 1.0)
    np.testing.assert_allclose(psy.judge_proxy(X, -signs, U, rng(1), bias_sd=0.0), 0.0)
    blind = psy.judge_proxy(X, signs, U, rng(1), n_votes=50, gain=0.0, bias_sd=0.0)
    assert abs(blind.mean() - 0.5) < 0.02
    with pytest.raises(ValueError, match="signs"):
        psy.judge_proxy(X, 0 * signs, U, rng())
    with pytest.raises(ValueError, match="n_votes"):
        psy.judge_proxy(X, signs, U, rng(), n_votes=0)
    with pytest.raises(ValueError, match="bias_sd"):
        psy.judge_proxy(X, signs, U, rng(), bias_sd=-1)
    with pytest.raises(ValueError, match="must agree"):
        psy.judge_proxy(X[:5], signs, U, rng())


# -------------------- ranking loss
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.0])
def test_margin_ranking_loss_matches_torch(margin):
    g = torch.Generator().manual_seed(0)
    s_i, s_j = torch.randn(64, generator=g), torch.randn(64, generator=g)
    target = torch.where(torch.rand(64, generator=g) < 0.5, -1.0, 1.0)
    reference = torch.nn.MarginRankingLoss(margin=margin)(s_i, s_j, target)
    ours = psy.margin_ranking_loss(s_i, s_j, target, margin)
    assert float(ours) == pytest.approx(float(reference), abs=1e-6)
    ours_numpy = psy.margin_ranking_loss(
        s_i.numpy(), s_j.numpy(), target.numpy(), margin
    )
    assert ours_numpy == pytest.approx(float(reference), abs=1e-6)


def test_margin_ranking_loss_by_hand():
    # right order with a gap above the margin: 0; wrong order: gap + margin; exactly at
    # the margin: 0 (the hinge's corner)
    assert psy.margin_ranking_loss([1.0], [0.0], [1.0], 0.2) == pytest.approx(0.0)
    assert psy.margin_ranking_loss([1.0], [0.0], [-1.0], 0.2) == pytest.approx(1.2)
    assert psy.margin_ranking_loss([0.2], [0.0], [1.0], 0.2) == pytest.approx(0.0)
    assert psy.margin_ranking_loss([0.1], [0.0], [1.0], 0.2) == pytest.approx(0.1)
    assert psy.margin_ranking_loss(
        [0.0, 0.0], [1.0, 0.0], [1.0, 1.0], 0.5
    ) == pytest.approx((1.5 + 0.5) / 2)
    with pytest.raises(ValueError, match="target"):
        psy.margin_ranking_loss([1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="same shape"):
        psy.margin_ranking_loss([1.0, 2.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="margin"):
        psy.margin_ranking_loss([1.0], [0.0], [1.0], -0.1)


def test_sample_ranking_pairs_keeps_only_clear_gaps():
    proxy = np.array([[0.0, 0.2, 1.0, 0.5], [0.1, 0.2, 0.0, 0.5], [0.6, 0.2, 0.4, 0.9]])
    i, j, d, target = psy.sample_ranking_pairs(proxy, 4000, rng(0), min_gap=0.1)
    gap = proxy[i, d] - proxy[j, d]
    assert len(i) > 0 and np.all(np.abs(gap) > 0.1)
    np.testing.assert_array_equal(target, np.sign(gap))
    assert 1 not in set(d)  # axis 1 has no gap at all
    # 0.1 - 0.0 is not above min_gap 0.1: that pair (axis 0, rows 0 and 1) is dropped
    assert not np.any((d == 0) & (np.minimum(i, j) == 0) & (np.maximum(i, j) == 1))
    i0, j0, d0, _ = psy.sample_ranking_pairs(proxy, 4000, rng(0), min_gap=0.0)
    assert np.any((d0 == 0) & (np.minimum(i0, j0) == 0) & (np.maximum(i0, j0) == 1))
    assert np.all(proxy[i0, d0] != proxy[j0, d0])
    with pytest.raises(ValueError, match="proxy"):
        psy.sample_ranking_pairs(proxy[:, :3], 10, rng())
    with pytest.raises(ValueError, match="min_gap"):
        psy.sample_ranking_pairs(proxy, 10, rng(), min_gap=-1)
    with pytest.raises(ValueError, match="n_pairs"):
        psy.sample_ranking_pairs(proxy, 0, rng())


# -------------------- score model
def test_score_model_shape_and_reproducible_init():
    a = psy.ScoreModel(10, 7, generator=torch.Generator().manual_seed(3))
    b = psy.ScoreModel(10, 7, generator=torch.Generator().manual_seed(3))
    assert a[0].weight.shape == (7, 10)
    x = torch.randn(5, 10)
    assert a(x).shape == (5, 4)
    torch.testing.assert_close(a(x), b(x))
    np.testing.assert_allclose(
        psy.score_statements(a, x.numpy()), a(x).detach().numpy(), atol=1e-6
    )
    assert psy.score_statements(a, np.zeros((2, 3, 10))).shape == (2, 3, 4)
    # PyTorch's default range: uniform in +-1/sqrt(fan_in)
    for layer, fan_in in ((a[0], 10), (a[2], 7)):
        assert 0.7 / np.sqrt(fan_in) < layer.weight.abs().max() <= 1 / np.sqrt(fan_in)
        assert layer.bias.abs().max() <= 1 / np.sqrt(fan_in)
    with pytest.raises(ValueError, match="hidden"):
        psy.ScoreModel(10, 0)


def planted_world(seed=0, n=600, F=12):
    """Statements with a known indicativeness, used as a noise-free proxy."""
    g = rng(seed)
    U = psy.axis_directions(F, 3, g)
    z = psy.sample_traits(n, g)
    r = g.uniform(size=(n, 4))
    X = psy.sample_statements(z, r, U, g, strength=3.0)
    return X, np.sign(z), psy.hidden_indicativeness(z, r)


@pytest.mark.parametrize("loss", ["ranking", "mse"])
def test_training_learns_the_planted_order(loss):
    X, signs, kappa = planted_world()
    model = psy.ScoreModel(X.shape[1], 16, generator=torch.Generator().manual_seed(0))
    losses = psy.train_score_model(
        model,
        X[:400],
        signs[:400],
        kappa[:400],
        rng(1),
        steps=150,
        batch=256,
        loss=loss,
        lr=1e-2,
    )
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:5])
    signed = signs[400:] * psy.score_statements(model, X[400:])
    # the noise caps any score: the oracle projection t_d (u_d . x) reaches about 0.87
    assert psy.pairwise_accuracy(signed, kappa[400:], 0.2) > 0.8


def test_training_needs_the_label_signs():
    X, signs, kappa = planted_world(seed=2)
    model = psy.ScoreModel(X.shape[1], 16, generator=torch.Generator().manual_seed(0))
    psy.train_score_model(
        model,
        X[:400],
        np.ones_like(signs[:400]),
        kappa[:400],
        rng(1),
        steps=150,
        batch=256,
        lr=1e-2,
    )
    signed = signs[400:] * psy.score_statements(model, X[400:])
    assert abs(psy.pairwise_accuracy(signed, kappa[400:], 0.2) - 0.5) < 0.1


def test_training_margin_and_gap_are_used():
    X, signs, kappa = planted_world(seed=3, n=50)
    model = psy.ScoreModel(X.shape[1], 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    # all scores 0: every pair's hinge equals the margin
    losses = psy.train_score_model(
        model, X, signs, kappa, rng(0), steps=1, margin=0.7, min_gap=0.0
    )
    assert losses[0] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="min_gap"):
        psy.train_score_model(model, X, signs, kappa, rng(0), steps=1, min_gap=5.0)


def test_training_rejects_bad_input():
    X, signs, kappa = planted_world(n=20)
    model = psy.ScoreModel(X.shape[1], 4)
    with pytest.raises(ValueError, match="loss"):
        psy.train_score_model(model, X, signs, kappa, rng(), steps=1, loss="hinge")
    with pytest.raises(ValueError, match="signs"):
        psy.train_score_model(model, X, 0.5 * signs, kappa, rng(), steps=1)
    with pytest.raises(ValueError, match="must agree"):
        psy.train_score_model(model, X[:10], signs, kappa, rng(), steps=1)
    with pytest.raises(ValueError, match="proxy must be finite"):
        psy.train_score_model(model, X, signs, kappa * np.inf, rng(), steps=1)
    with pytest.raises(ValueError, match="lr"):
        psy.train_score_model(model, X, signs, kappa, rng(), steps=1, lr=0.0)


@pytest.mark.parametrize("alpha", [0.1, 10.0])
def test_fit_ridge_scores_matches_sklearn(alpha):
    X, signs, kappa = planted_world(seed=4, n=80)
    W, b = psy.fit_ridge_scores(X, signs, kappa, alpha)
    for d in range(4):
        A = signs[:, d : d + 1] * np.hstack([X, np.ones((80, 1))])
        reference = Ridge(alpha=alpha, fit_intercept=False).fit(A, kappa[:, d]).coef_
        np.testing.assert_allclose(np.append(W[:, d], b[d]), reference, atol=1e-8)
    with pytest.raises(ValueError, match="alpha"):
        psy.fit_ridge_scores(X, signs, kappa, 0.0)


# -------------------- pairwise accuracy
def test_pairwise_accuracy_is_the_auc_for_a_binary_truth():
    g = rng(5)
    truth = (g.uniform(size=300) < 0.4).astype(float)
    scores = np.round(truth + g.standard_normal(300), 1)  # rounding makes ties
    reference = roc_auc_score(truth, scores)
    assert psy.pairwise_accuracy(scores, truth) == pytest.approx(reference)


def test_pairwise_accuracy_is_kendall_tau_without_ties():
    g = rng(6)
    truth, scores = g.standard_normal(200), g.standard_normal(200)
    tau = kendalltau(scores, truth).statistic
    assert psy.pairwise_accuracy(scores, truth) == pytest.approx((tau + 1) / 2)


def test_pairwise_accuracy_by_hand_gap_and_columns():
    truth = np.array([0.0, 0.15, 1.0])
    scores = np.array([0.0, 2.0, 1.0])
    # pairs: (0,1) gap .15 right; (0,2) gap 1 right; (1,2) gap .85 wrong
    assert psy.pairwise_accuracy(scores, truth) == pytest.approx(2 / 3)
    assert psy.pairwise_accuracy(scores, truth, min_gap=0.15) == pytest.approx(1 / 2)
    assert psy.pairwise_accuracy(scores, truth, min_gap=0.9) == pytest.approx(1.0)
    both = psy.pairwise_accuracy(
        np.column_stack([scores, -scores]), np.column_stack([truth, truth])
    )
    assert both == pytest.approx((2 + 1) / 6)
    with pytest.raises(ValueError, match="min_gap"):
        psy.pairwise_accuracy(scores, truth, min_gap=1.0)
    with pytest.raises(ValueError, match="same shape"):
        psy.pairwise_accuracy(scores[:2], truth)
    with pytest.raises(ValueError, match="scores must be finite"):
        psy.pairwise_accuracy([np.nan, 1.0, 2.0], truth)


# -------------------- the table
def test_type_table_by_hand():
    s = np.array([[0.8, -0.2, 0.1, -0.5]])
    table = psy.type_table(s)
    names = [psy.type_name(t) for t in psy.mbti_types()]
    assert names[int(np.argmax(table))] == "ESFP"
    assert table.max() == pytest.approx(0.8 + 0.2 + 0.1 + 0.5)
    assert table[names.index("INTJ")] == pytest.approx(-1.6)  # the opposite type
    assert table[names.index("ENFP")] == pytest.approx(0.8 - 0.2 + 0.1 + 0.5)
    # two statements add up
    s2 = np.array([[0.8, -0.2, 0.1, -0.5], [0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(psy.type_table(s2), table + psy.type_table(s2[1:]))
    assert psy.type_table(np.zeros((3, 2, 4))).shape == (3, 16)
    with pytest.raises(ValueError, match="statement_scores"):
        psy.type_table(np.zeros(4))


def test_one_scored_axis_splits_the_table_in_two_groups_of_eight():
    table = psy.type_table([[0.0, 0.0, 0.7, 0.0]])
    values, counts = np.unique(np.round(table, 12), return_counts=True)
    np.testing.assert_allclose(values, [-0.7, 0.7])
    np.testing.assert_array_equal(counts, [8, 8])


def test_update_table_adds_one_statement():
    g = rng(7)
    s = g.standard_normal((3, 5, 4))
    table = psy.type_table(s[:, :4])
    np.testing.assert_allclose(
        psy.update_table(table, s[:, 4]), psy.type_table(s), atol=1e-12
    )
    with pytest.raises(ValueError, match="table"):
        psy.update_table(np.zeros(15), s[0, 0])
    with pytest.raises(ValueError, match="scores"):
        psy.update_table(np.zeros(16), np.zeros(3))


@pytest.mark.parametrize("e", [-3.0, 0.4, 2.0])
def test_type_posterior_single_axis_is_a_logistic(e):
    table = psy.type_table([[e, 0.0, 0.0, 0.0]])
    p = psy.type_posterior(table, temperature=2.0)
    extravert = psy.mbti_types()[:, 0] > 0
    assert p.sum() == pytest.approx(1.0)
    assert p[extravert].sum() == pytest.approx(1 / (1 + np.exp(-e)))
    p1 = psy.type_posterior(table, temperature=1.0)
    assert p1[extravert].sum() == pytest.approx(1 / (1 + np.exp(-2 * e)))


def test_type_posterior_is_stable_and_validated():
    p = psy.type_posterior(np.r_[1000.0, np.zeros(15)])
    assert p[0] == pytest.approx(1.0) and np.isfinite(p).all()
    with pytest.raises(ValueError, match="temperature"):
        psy.type_posterior(np.zeros(16), temperature=0.0)
    with pytest.raises(ValueError, match="table must be finite"):
        psy.type_posterior(np.r_[np.nan, np.zeros(15)])


def test_top_two_types_and_true_type_rank_by_hand():
    evidence = np.array([[3.0, -0.5, 1.7, 0.9]])  # no ties in the table
    table = psy.type_table(evidence[:, None, :])
    first, second = psy.top_two_types(table)
    names = [psy.type_name(t) for t in psy.mbti_types()]
    assert names[int(first[0])] == "ESFJ" and names[int(second[0])] == "ENFJ"
    assert psy.true_type_rank(table, [[1, -1, 1, 1]])[0] == 1
    assert psy.true_type_rank(table, [[1, 1, 1, 1]])[0] == 2
    assert psy.true_type_rank(table, [[-1, 1, -1, -1]])[0] == 16
    # ties: rank counts only strictly higher types
    assert psy.true_type_rank(np.zeros((1, 16)), [[1, 1, 1, 1]])[0] == 1
    ranks = psy.true_type_rank(np.tile(table, (16, 1)), psy.mbti_types())
    np.testing.assert_array_equal(np.sort(ranks), np.arange(1, 17))
    with pytest.raises(ValueError, match="true_signs"):
        psy.true_type_rank(table, [[1, 2, 1, 1]])
    with pytest.raises(ValueError, match="must agree"):
        psy.true_type_rank(table, np.ones((2, 4)))


def test_choose_axis_on_a_linear_table_is_the_least_certain_axis():
    assert (
        psy.choose_axis(
            psy.type_table([[[3.0, -0.5, 2.0, 1.0]]]), np.array([[3.0, -0.5, 2.0, 1.0]])
        )[0]
        == 1
    )
    evidence = rng(8).standard_normal((500, 4))
    table = evidence @ psy.mbti_types().T
    np.testing.assert_array_equal(
        psy.choose_axis(table, evidence), np.argmin(np.abs(evidence), axis=1)
    )


def test_choose_axis_when_the_top_two_differ_on_several_axes():
    names = [psy.type_name(t) for t in psy.mbti_types()]
    table = np.zeros(16)
    # INTJ and ENTP differ on E/I and J/P; N/S is the weakest axis, but both agree on it
    table[names.index("INTJ")], table[names.index("ENTP")] = 2.0, 1.0
    evidence = np.array([0.1, 0.05, 0.3, 0.2])
    assert psy.choose_axis(table, evidence) == 0
    assert psy.choose_axis(table, np.array([0.5, 0.0, 0.0, 0.2])) == 3
    with pytest.raises(ValueError, match="evidence"):
        psy.choose_axis(table, np.zeros(3))


# -------------------- the sessions
def one_hot_answers(n_users, n_rounds):
    """The answer about axis a adds 1 to evidence a only: the evidence counts asks."""
    answers = np.zeros((n_users, n_rounds, 4, 4))
    answers[:, :, np.arange(4), np.arange(4)] = 1.0
    return answers


def test_round_robin_asks_every_axis_once():
    initial = rng(9).standard_normal((50, 3, 4))
    ev = psy.run_sessions(initial, one_hot_answers(50, 4), "round_robin", rng(0))
    assert ev.shape == (50, 5, 4)
    np.testing.assert_allclose(ev[:, 0], initial.sum(axis=1))
    np.testing.assert_allclose(ev[:, -1] - ev[:, 0], 1.0)
    asked = np.argmax(np.diff(ev, axis=1), axis=2)  # [N, R]
    assert len({tuple(a) for a in asked}) > 1  # orders vary by user
    with pytest.raises(ValueError, match="round_robin"):
        psy.run_sessions(initial, one_hot_answers(50, 5), "round_robin", rng(0))


def test_adaptive_asks_the_least_certain_axis_each_round():
    initial = np.array([[[3.0, -0.5, 2.0, 1.0]]])
    answers = np.zeros((1, 2, 4, 4))
    answers[0, :, 1, 1] = -2.0  # clarifies N/S to S
    answers[0, :, 3, 3] = 4.0
    ev = psy.run_sessions(initial, answers, "adaptive", rng(0))
    np.testing.assert_allclose(
        ev[0], [[3.0, -0.5, 2.0, 1.0], [3.0, -2.5, 2.0, 1.0], [3.0, -2.5, 2.0, 5.0]]
    )


def test_random_policy_repeats_axes_and_bad_input():
    initial = np.zeros((400, 1, 4))
    ev = psy.run_sessions(initial, one_hot_answers(400, 4), "random", rng(1))
    never_asked = (ev[:, -1] == 0).mean()
    assert abs(never_asked - (3 / 4) ** 4) < 0.03  # with replacement
    with pytest.raises(ValueError, match="policy"):
        psy.run_sessions(initial, one_hot_answers(400, 4), "greedy", rng(1))
    with pytest.raises(ValueError, match="answer_scores"):
        psy.run_sessions(initial, np.zeros((400, 4, 3, 4)), "random", rng(1))
    with pytest.raises(ValueError, match="initial_scores"):
        psy.run_sessions(np.zeros((400, 4)), one_hot_answers(400, 4), "random", rng(1))
