"""Exact tests of utils.score_matching (chapter 12): hand-solved cases, SciPy densities, a smoother
matrix built by matrix powers, every message and boundary."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from scipy import stats

from utils.score_matching import (
    GaussianMixture,
    TwoLayerReLU,
    _gd_filter,
    best_step,
    eigenvalue_stopping_step,
    estimate_noise_sd,
    four_corner_mixture,
    kernel_gd_predict,
    label_noise_by_time,
    make_dsm_regression_set,
    mean_squared_error,
    ou_alpha_h,
    regression_inputs,
    relative_distance,
    relu_ntk,
    score_from_denoiser,
    train_full_batch_gd,
)


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


T_MESSAGE = "every diffusion time in t must be finite and > 0 (h_t = 0 at t = 0)"


# ---------------------------------------------------------------------------- checks
def test_array_and_time_messages():
    mix = four_corner_mixture()
    with pytest.raises(
        ValueError, match=exact("x must be a 2-D array [n, d], got shape (3,)")
    ):
        mix.score(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match=exact("x is empty (0 rows)")):
        mix.score(np.zeros((0, 2)), 1.0)
    with pytest.raises(
        ValueError, match=exact("x must have 2 columns, got shape (3, 3)")
    ):
        mix.score(np.zeros((3, 3)), 1.0)
    for bad in (np.nan, np.inf):
        with pytest.raises(
            ValueError, match=exact("x contains NaN or infinite values")
        ):
            mix.score(np.array([[0.0, bad]]), 1.0)
    with pytest.raises(
        ValueError,
        match=exact("t must be a 1-D array [n] (or a number), got shape (1, 1)"),
    ):
        mix.score(np.zeros((1, 2)), np.ones((1, 1)))
    with pytest.raises(
        ValueError, match=exact("t must have one time per point: 3 points but 2 times")
    ):
        mix.score(np.zeros((3, 2)), np.ones(2))
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match=exact(T_MESSAGE)):
            mix.score(np.zeros((2, 2)), bad)
    # a number is one time for every point
    np.testing.assert_allclose(
        mix.score(np.ones((3, 2)), 0.5), mix.score(np.ones((3, 2)), np.full(3, 0.5))
    )
    with pytest.raises(ValueError, match=exact("times is empty")):
        label_noise_by_time(mix, [], 10, np.random.default_rng(0))
    with pytest.raises(
        ValueError,
        match=exact("times must be a 1-D array [n] (or a number), got shape ()"),
    ):
        label_noise_by_time(mix, 0.5, 10, np.random.default_rng(0))


def test_ou_alpha_h_by_hand():
    alpha, h = ou_alpha_h(math.log(2))
    assert float(alpha) == pytest.approx(0.5) and float(h) == pytest.approx(0.75)
    alpha, h = ou_alpha_h([[0.1, 1.0]])
    assert alpha.shape == (1, 2) and h.shape == (1, 2)
    np.testing.assert_allclose(h, 1 - np.exp([[-0.2, -2.0]]), rtol=1e-14)
    assert float(ou_alpha_h(1e-12)[1]) == pytest.approx(
        2e-12, rel=1e-6
    )  # expm1: no cancellation
    with pytest.raises(ValueError, match=exact("t is empty")):
        ou_alpha_h([])
    for bad in ([0.0], [np.nan], [1.0, -2.0], [np.inf]):
        with pytest.raises(ValueError, match=exact(T_MESSAGE)):
            ou_alpha_h(bad)


# ---------------------------------------------------------------------------- the mixture
def test_mixture_messages_and_boundaries():
    with pytest.raises(
        ValueError,
        match=exact("weights must have shape (2,) (one per component), got (3,)"),
    ):
        GaussianMixture(np.zeros((2, 2)), 1.0, np.full(3, 1 / 3))
    with pytest.raises(
        ValueError, match=exact("weights must be >= 0 and sum to 1, got [1.5, -0.5]")
    ):
        GaussianMixture(np.zeros((2, 2)), 1.0, [1.5, -0.5])
    with pytest.raises(ValueError, match="weights must be >= 0 and sum to 1"):
        GaussianMixture(np.zeros((2, 2)), 1.0, [0.5, 0.5 + 1e-4])
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(
            ValueError, match=exact(f"std must be a positive number, got {bad}")
        ):
            GaussianMixture(np.zeros((2, 2)), bad, [0.5, 0.5])
    with pytest.raises(
        ValueError, match=exact("means must be a 2-D array [n, d], got shape (2,)")
    ):
        GaussianMixture(np.zeros(2), 1.0, [1.0])
    mix = GaussianMixture([[1, 2, 3]], 2, [1])
    assert mix.means.dtype == float and mix.weights.dtype == float
    assert isinstance(mix.std, float) and mix.dim == 3
    edge = GaussianMixture(np.zeros((2, 2)), 1.0, [1.0, 0.0])
    assert edge.weights.tolist() == [1.0, 0.0]


def test_log_density_matches_scipy_in_three_dimensions_with_a_zero_weight():
    means = np.array([[1.0, -1.0, 0.5], [-2.0, 0.0, 1.0], [9.0, 9.0, 9.0]])
    mix = GaussianMixture(means, 0.6, [0.7, 0.3, 0.0])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    t = rng.uniform(0.1, 2.0, size=20)
    alpha, h = np.exp(-t), 1 - np.exp(-2 * t)
    expected = []
    for xi, a, hi in zip(x, alpha, h):
        var = a**2 * 0.36 + hi
        dens = sum(
            w * stats.multivariate_normal(a * mu, var * np.eye(3)).pdf(xi)
            for w, mu in zip([0.7, 0.3], means[:2])
        )
        expected.append(np.log(dens))
    np.testing.assert_allclose(mix.log_density(x, t), expected, rtol=1e-10)


def test_score_and_posterior_mean_of_one_gaussian_by_hand():
    """One component N(mu, s^2 I): at time t, X_t ~ N(alpha mu, v I) with v = alpha^2 s^2 + h, so
    the score is -(x - alpha mu) / v and E[X_0 | x] = mu + alpha s^2 (x - alpha mu) / v."""
    mu, s = np.array([[1.0, -2.0]]), 0.5
    mix = GaussianMixture(mu, s, [1.0])
    x = np.array([[0.3, 0.4], [-1.0, 2.0]])
    t = np.array([0.2, 1.5])
    alpha, h = np.exp(-t)[:, None], (1 - np.exp(-2 * t))[:, None]
    v = alpha**2 * s**2 + h
    np.testing.assert_allclose(mix.score(x, t), -(x - alpha * mu) / v, rtol=1e-12)
    np.testing.assert_allclose(
        mix.posterior_mean(x, t), mu + alpha * s**2 * (x - alpha * mu) / v, rtol=1e-12
    )


def test_sample_follows_the_weights_and_std():
    mix = GaussianMixture([[5.0, 0.0], [-5.0, 0.0]], 0.5, [0.25, 0.75])
    x = mix.sample(40_000, np.random.default_rng(1))
    assert x.shape == (40_000, 2)
    right = x[:, 0] > 0
    assert abs(right.mean() - 0.25) < 0.01
    assert abs(x[right, 0].mean() - 5.0) < 0.02 and abs(x[~right, 1].std() - 0.5) < 0.01
    again = mix.sample(40_000, np.random.default_rng(1))
    np.testing.assert_array_equal(again, x)
    assert mix.sample(1, np.random.default_rng(0)).shape == (1, 2)
    with pytest.raises(ValueError, match=exact("n must be at least 1, got 0")):
        mix.sample(0, np.random.default_rng(0))


def test_four_corner_defaults():
    mix = four_corner_mixture()
    np.testing.assert_allclose(
        mix.means, 1.33 * np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    )
    assert mix.std == 0.35 and mix.weights.tolist() == [0.25] * 4


# ---------------------------------------------------------------------------- the regression
def test_score_from_denoiser_by_hand_and_messages():
    f = np.array([[2.0, 0.0]])
    x = np.array([[1.0, 1.0]])
    out = score_from_denoiser(f, x, math.log(2))  # alpha 0.5, h 0.75
    np.testing.assert_allclose(out, [[(1.0 - 1.0) / 0.75, (0.0 - 1.0) / 0.75]])
    with pytest.raises(
        ValueError, match=exact("f must have 2 columns, got shape (1, 3)")
    ):
        score_from_denoiser(np.zeros((1, 3)), x, 1.0)
    with pytest.raises(
        ValueError, match=exact("f and x must have the same number of rows: 3 vs 1")
    ):
        score_from_denoiser(np.zeros((3, 2)), x, 1.0)
    with pytest.raises(
        ValueError, match=exact("x must be a 2-D array [n, d], got shape (2,)")
    ):
        score_from_denoiser(f, np.zeros(2), 1.0)


def test_regression_inputs_by_hand():
    z = regression_inputs([[1.0, 2.0], [3.0, 4.0]], [0.5, 0.25])
    np.testing.assert_array_equal(z, [[1, 2, 0.5, 1], [3, 4, 0.25, 1]])
    np.testing.assert_array_equal(
        regression_inputs([[1.0, 2.0]], 0.5), [[1, 2, 0.5, 1]]
    )


def test_regression_set_noise_is_standard_normal_and_times_in_range():
    mix = four_corner_mixture()
    data = make_dsm_regression_set(20_000, mix, (0.2, 0.6), np.random.default_rng(2))
    assert (
        data.t.min() >= 0.2 and data.t.max() <= 0.6 and abs(data.t.mean() - 0.4) < 0.01
    )
    alpha, h = np.exp(-data.t)[:, None], (1 - np.exp(-2 * data.t))[:, None]
    xi = (data.x_t - alpha * data.y) / np.sqrt(h)
    assert np.abs(xi.mean(0)).max() < 0.03 and np.abs(xi.std(0) - 1).max() < 0.02
    np.testing.assert_array_equal(data.z[:, :2], data.x_t)
    np.testing.assert_array_equal(data.z[:, 2], data.t)
    one = make_dsm_regression_set(1, mix, (0.1, 0.2), np.random.default_rng(0))
    assert one.z.shape == (1, 4)
    with pytest.raises(ValueError, match=exact("n must be at least 1, got 0")):
        make_dsm_regression_set(0, mix, (0.1, 0.2), np.random.default_rng(0))
    for bad in ((0.5, 0.5), (0.6, 0.5), (-0.1, 0.5)):
        with pytest.raises(
            ValueError, match=exact(f"t_range must satisfy 0 < t0 < t1, got {bad}")
        ):
            make_dsm_regression_set(5, mix, bad, np.random.default_rng(0))


def test_label_noise_limits():
    """Near t = 0 the noisy point reveals x_0 (noise ~ 0); at large t nothing is revealed and the
    noise is the data's total variance, sum |mu|^2 / K + d std^2 for centred means."""
    mix = four_corner_mixture()
    noise = label_noise_by_time(mix, [1e-4, 8.0], 20_000, np.random.default_rng(3))
    assert noise.shape == (2,) and noise[0] < 1e-3
    total = (mix.means**2).sum(1).mean() + 2 * mix.std**2
    assert abs(noise[1] - total) < 0.03 * total


def test_mean_squared_error_and_relative_distance_by_hand():
    assert mean_squared_error([[1.0, 2.0], [3.0, 4.0]], np.zeros((2, 2))) == 15.0
    assert mean_squared_error([[1.0, 2.0]], [[1.0, 0.0]]) == 4.0
    with pytest.raises(
        ValueError,
        match=exact("pred and truth must have the same shape, got (1, 2) and (2, 2)"),
    ):
        mean_squared_error(np.zeros((1, 2)), np.zeros((2, 2)))
    assert relative_distance([3.0, 4.0], [0.0, 5.0]) == pytest.approx(math.sqrt(10) / 5)
    with pytest.raises(
        ValueError,
        match=exact(
            "a and b must be non-empty and of the same shape, got (2,) and (3,)"
        ),
    ):
        relative_distance(np.ones(2), np.ones(3))
    with pytest.raises(
        ValueError,
        match=exact(
            "a and b must be non-empty and of the same shape, got (0,) and (0,)"
        ),
    ):
        relative_distance([], [])
    with pytest.raises(
        ValueError,
        match=exact("the reference b is all zeros: the relative distance is undefined"),
    ):
        relative_distance([1.0], [0.0])


# ---------------------------------------------------------------------------- the kernel
def test_relu_ntk_by_hand():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    b = np.array([[1.0, 1.0], [0.0, 1.0], [-2.0, 0.0]])
    k = relu_ntk(a, b)
    # [1,0].[1,1] = 1 at angle pi/4: 1 * (pi - pi/4) / (2 pi) = 3/8; orthogonal or zero: 0;
    # opposite: dot -2 at angle pi: 0
    np.testing.assert_allclose(k, [[3 / 8, 0, 0], [3 / 8, 0, 0], [0, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(
        relu_ntk([[2.0, 0.0]], [[3.0, 0.0]]), [[3.0]]
    )  # 6 * pi / (2 pi)
    with pytest.raises(
        ValueError, match=exact("a and b must have the same input width, got 2 and 3")
    ):
        relu_ntk(a, np.zeros((1, 3)))
    with pytest.raises(ValueError, match=exact("b is empty (0 rows)")):
        relu_ntk(a, np.zeros((0, 2)))


def test_two_layer_relu_by_hand():
    net = TwoLayerReLU(
        3, 2, width=5, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    assert net.units == 10 and net.width == 5 and net.weight.dtype == torch.float64
    w, signs = net.weight.detach(), net.signs
    assert torch.equal(w[:5], w[5:]) and torch.equal(signs[:5], -signs[5:])
    assert set(signs.unique().tolist()) == {-1.0, 1.0}
    z = torch.randn(4, 3, dtype=torch.float64)
    expected = torch.zeros(4, 2, dtype=torch.float64)
    for r in range(10):
        expected += torch.relu(z @ w[r])[:, None] * signs[r] / math.sqrt(10)
    torch.testing.assert_close(net(z), expected)
    plain = TwoLayerReLU(
        3, 2, 6, symmetric=False, generator=torch.Generator().manual_seed(0)
    )
    assert plain.units == 6 and plain.weight.dtype == torch.float32
    assert set(plain.signs.unique().tolist()) == {-1.0, 1.0}
    with pytest.raises(ValueError, match=exact("input must be [n, 3], got (4, 2)")):
        net(torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=exact("input must be [n, 3], got (3,)")):
        net(torch.zeros(3, dtype=torch.float64))
    for args in ((0, 1, 1), (1, 0, 1), (1, 1, 0)):
        with pytest.raises(
            ValueError,
            match=exact(
                f"d_in, d_out and width must be positive, got {args[0]}, {args[1]}, {args[2]}"
            ),
        ):
            TwoLayerReLU(*args)
    assert TwoLayerReLU(1, 1, 1).units == 2


def test_full_batch_gd_is_plain_gradient_descent():
    z = np.array([[1.0, 0.5, 1.0], [-0.5, 1.0, 1.0], [0.2, -1.0, 1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    zt = np.array([[0.3, 0.3, 1.0]])
    net = TwoLayerReLU(3, 2, 8, symmetric=False, generator=torch.Generator().manual_seed(1),
                       dtype=torch.float64)  # fmt: skip
    w0 = net.weight.detach().clone()
    out = train_full_batch_gd(
        net, z, y, eta=0.3, steps=2, record_at=[2, 0, 2], z_test=zt
    )
    # two explicit steps W <- W - eta grad (1/2n) sum ||f - y||^2, with autograd
    ref = TwoLayerReLU(3, 2, 8, symmetric=False, dtype=torch.float64)
    ref.signs.copy_(net.signs)
    zz, yy = torch.tensor(z), torch.tensor(y)
    w = w0.clone().requires_grad_(True)
    losses = []
    for _ in range(2):
        pred = torch.relu(zz @ w.T) @ ref.signs / math.sqrt(8)
        loss = 0.5 * ((pred - yy) ** 2).sum(1).mean()
        losses.append(float(loss.detach()))
        (g,) = torch.autograd.grad(loss, w)
        w = (w - 0.3 * g).detach().requires_grad_(True)
    torch.testing.assert_close(net.weight.detach(), w.detach())
    np.testing.assert_allclose(out["losses"], losses, rtol=1e-12)
    assert out["steps"].tolist() == [0, 2] and out["train"].shape == (2, 3, 2)
    assert out["test"].shape == (2, 1, 2)
    with torch.no_grad():
        np.testing.assert_allclose(out["test"][1], net(torch.tensor(zt)).numpy())
        first = torch.relu(zz @ w0.T) @ net.signs / math.sqrt(8)
    np.testing.assert_allclose(out["train"][0], first.numpy())


def test_full_batch_gd_messages():
    net = TwoLayerReLU(3, 2, 4)
    z, y = np.zeros((3, 3)), np.zeros((3, 2))
    for eta in (0.0, -1.0):
        with pytest.raises(ValueError, match=exact(f"eta must be positive, got {eta}")):
            train_full_batch_gd(net, z, y, eta=eta, steps=2, record_at=[0], z_test=z)
    for record in ([], [-1, 1], [3]):
        with pytest.raises(
            ValueError, match=exact("record_at must be non-empty steps between 0 and 2")
        ):
            train_full_batch_gd(net, z, y, eta=0.1, steps=2, record_at=record, z_test=z)
    with pytest.raises(
        ValueError, match=exact("z and y must have the same number of rows: 3 vs 2")
    ):
        train_full_batch_gd(net, z, y[:2], eta=0.1, steps=2, record_at=[2], z_test=z)


# ---------------------------------------------------------------------------- kernel GD
def test_gd_filter_branches_by_hand():
    lam = np.array([0.0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(_gd_filter(lam, 1.0, 3.0), [3.0, 1.75, 1.0, 0.75])
    np.testing.assert_allclose(_gd_filter(lam, 0.5, 0.0), [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(_gd_filter(np.array([1e-301]), 2.0, 4.0), [8.0])


def test_kernel_gd_messages_and_eta_boundary():
    k = np.diag([4.0, 2.0])  # K / n has eigenvalues 2 and 1: eta < 1
    y = np.array([[1.0], [2.0]])
    train, test = kernel_gd_predict(k, k[:1], y, 0.5, [1, 2])
    # c_1 = (eta / n) y; predictions K c
    np.testing.assert_allclose(train[0], k @ (0.25 * y))
    np.testing.assert_allclose(
        test[1], (k @ (0.25 * y + 0.25 * (y - k @ (0.25 * y))))[:1]
    )
    with pytest.raises(
        ValueError,
        match=exact(
            "eta must be in (0, 2/lam_max) = (0, 1) for GD to converge, got 1.0"
        ),
    ):
        kernel_gd_predict(k, k, y, 1.0, [1])
    with pytest.raises(ValueError, match="got 0.0$"):
        kernel_gd_predict(k, k, y, 0.0, [1])
    with pytest.raises(
        ValueError,
        match=exact("k_train must be a symmetric [n, n] matrix, got shape (2, 3)"),
    ):
        kernel_gd_predict(np.ones((2, 3)), k, y, 0.5, [1])
    kernel_gd_predict(
        k + 1e-9 * np.array([[0, 1], [0, 0]]), k, y, 0.5, [1]
    )  # within tolerance
    with pytest.raises(ValueError, match="k_train must be a symmetric"):
        kernel_gd_predict(k + 1e-6 * np.array([[0, 1], [0, 0]]), k, y, 0.5, [1])
    with pytest.raises(
        ValueError, match=exact("y must have 2 rows (one per training point), got 1")
    ):
        kernel_gd_predict(k, k, y[:1], 0.5, [1])
    for steps in ([], [1.5], [[1, 2]]):
        with pytest.raises(
            ValueError,
            match=exact("steps must be a non-empty list of non-negative integers"),
        ):
            kernel_gd_predict(k, k, y, 0.5, steps)
    assert kernel_gd_predict(k, k, y, 0.5, [0])[0].shape == (1, 2, 1)


def test_best_step_ignores_nan_and_checks_shapes():
    assert best_step([5, 6, 7], [np.nan, 0.5, 0.2]) == (7, 0.2)
    assert best_step([5], [1.0]) == (5, 1.0)
    for steps, errors in (([1, 2], [1.0]), ([], []), ([[1]], [[1.0]])):
        with pytest.raises(
            ValueError,
            match="^steps and errors must be non-empty 1-D arrays of one length, got ",
        ):
            best_step(steps, errors)


def test_eigenvalue_stopping_step_by_hand():
    """One eigenvalue 1, eta 1: R(1/sqrt(k)) = 1/sqrt(k) <= 1/(2 e sd k) iff k <= 1/(2 e sd)^2."""
    sd = 1 / (2 * math.e * math.sqrt(100.5))
    assert eigenvalue_stopping_step([1.0], 1.0, sd) == 100
    assert eigenvalue_stopping_step([1.0], 2.0, sd) == 50  # eta doubles the horizon
    # round-off negatives count as 0: mean(min(lam, 1/k)) = 1/(2k), so k <= 2 * 100.5
    assert eigenvalue_stopping_step([1.0, -3.0], 1.0, sd) == 201
    assert eigenvalue_stopping_step([1.0], 1.0, 10.0) == 0  # not even one step
    assert (
        eigenvalue_stopping_step([1.0], 1.0, 1e-6, max_steps=1000) == 1000
    )  # every step
    with pytest.raises(
        ValueError, match=exact("eigenvalues must be a non-empty 1-D array")
    ):
        eigenvalue_stopping_step([], 1.0, 1.0)
    with pytest.raises(
        ValueError, match=exact("eigenvalues must be a non-empty 1-D array")
    ):
        eigenvalue_stopping_step([[1.0]], 1.0, 1.0)
    for eta, sd in ((0.0, 1.0), (1.0, 0.0)):
        with pytest.raises(
            ValueError,
            match=exact(f"eta and noise_sd must be positive, got {eta} and {sd}"),
        ):
            eigenvalue_stopping_step([1.0], eta, sd)
    with pytest.raises(ValueError, match=exact("max_steps must be at least 1, got 0")):
        eigenvalue_stopping_step([1.0], 1.0, 1.0, max_steps=0)


def test_estimate_noise_sd_against_the_smoother_matrix():
    """GCV from the explicit smoother S_k = I - (I - eta K/n)^k (matrix powers)."""
    rng = np.random.default_rng(4)
    z = np.column_stack([rng.normal(size=(30, 2)), np.ones(30)])
    k = relu_ntk(z, z)
    y = np.column_stack([np.sin(z[:, 0]), z[:, 1]]) + 0.3 * rng.normal(size=(30, 2))
    eta = 0.5 / np.linalg.eigvalsh(k / 30).max()
    steps = [0, 1, 3, 10, 30, 100, 300]
    best = None
    for step in steps:
        s = np.eye(30) - np.linalg.matrix_power(np.eye(30) - eta * k / 30, step)
        df = np.trace(s)
        rss = ((y - s @ y) ** 2).sum()
        if df <= 15:
            gcv = rss / 30 / (1 - df / 30) ** 2
            if best is None or gcv < best[0]:
                best = (gcv, step, math.sqrt(rss / (2 * (30 - df))))
    sd, step = estimate_noise_sd(k, y, eta, steps)
    assert step == best[1] and sd == pytest.approx(best[2], rel=1e-8)


# ---------------------------------------------------------------------------- bad input
def test_bad_input_messages_name_the_argument():
    mix = four_corner_mixture()
    with pytest.raises(ValueError, match=exact("x must be numeric, got dtype <U1")):
        mix.score(np.array([["a", "b"]]), 1.0)
    with pytest.raises(ValueError, match=exact("t must be numeric, got dtype <U1")):
        mix.score(np.zeros((1, 2)), np.array(["a"]))
    with pytest.raises(ValueError, match=exact("t must be numeric, got dtype <U1")):
        ou_alpha_h(np.array(["a"]))
    for bad in (np.nan, np.inf):
        with pytest.raises(
            ValueError, match=exact(f"spread must be finite, got {bad}")
        ):
            four_corner_mixture(spread=bad)
    with pytest.raises(
        ValueError, match=exact("t_range must satisfy 0 < t0 < t1, got (0.1, inf)")
    ):
        make_dsm_regression_set(3, mix, (0.1, np.inf), np.random.default_rng(0))
    with pytest.raises(
        ValueError, match="^every diffusion time in times must be finite"
    ):
        label_noise_by_time(mix, [0.5, np.nan], 10, np.random.default_rng(0))
    for a, b, name in (([np.nan], [1.0], "a"), ([1.0], [np.inf], "b")):
        with pytest.raises(ValueError, match=f"^{name} must be finite; its element 0"):
            relative_distance(a, b)
    with pytest.raises(ValueError, match=exact("a must be numeric, got dtype <U1")):
        relative_distance(["x"], [1.0])
    net = TwoLayerReLU(3, 2, 4)
    z, y = np.zeros((3, 3)), np.zeros((3, 2))
    with pytest.raises(ValueError, match=exact("eta must be positive, got nan")):
        train_full_batch_gd(net, z, y, eta=np.nan, steps=1, record_at=[1], z_test=z)
    with pytest.raises(ValueError, match=exact("eta must be positive, got inf")):
        train_full_batch_gd(net, z, y, eta=np.inf, steps=1, record_at=[1], z_test=z)
    bad = z.copy()
    bad[1, 1] = np.nan
    for kwargs, message in (
        (dict(z=bad), "z contains NaN or infinite values"),
        (dict(y=np.zeros(3)), "y must be a 2-D array [n, d], got shape (3,)"),
        (dict(z_test=np.zeros((2, 4))), "z_test must have 3 columns, got shape (2, 4)"),
    ):
        args = dict(z=z, y=y, z_test=z) | kwargs
        with pytest.raises(ValueError, match=exact(message)):
            train_full_batch_gd(net, eta=0.1, steps=1, record_at=[1], **args)
    k = np.eye(2)
    with pytest.raises(
        ValueError,
        match=exact("steps must be a non-empty list of non-negative integers"),
    ):
        kernel_gd_predict(k, k, np.ones((2, 1)), 0.5, ["a"])
    with pytest.raises(
        ValueError, match=exact("errors must be numeric, got dtype <U1")
    ):
        best_step([1], ["a"])
    with pytest.raises(ValueError, match=exact("steps must be numeric, got dtype <U1")):
        best_step(["a"], [1.0])
    assert best_step(np.array([3, 4]), [2.0, 1.0]) == (4, 1.0)
    with pytest.raises(ValueError, match="^eigenvalues must be finite; its element 1"):
        eigenvalue_stopping_step([1.0, np.nan], 1.0, 1.0)
    for eta, sd in ((np.nan, 1.0), (1.0, np.nan), (np.inf, 1.0), (1.0, np.inf)):
        with pytest.raises(
            ValueError,
            match=exact(f"eta and noise_sd must be positive, got {eta} and {sd}"),
        ):
            eigenvalue_stopping_step([1.0], eta, sd)


def test_more_names_and_stopping_boundaries():
    with pytest.raises(ValueError, match=exact("pred contains NaN or infinite values")):
        mean_squared_error([[np.nan]], [[1.0]])
    with pytest.raises(
        ValueError, match=exact("truth must be a 2-D array [n, d], got shape (1,)")
    ):
        mean_squared_error([[1.0]], [1.0])
    assert eigenvalue_stopping_step([1.0], 1.0, 1e-6, max_steps=1) == 1
    assert eigenvalue_stopping_step([1.0], 1.0, 1 / (2 * math.e * math.sqrt(5.5))) == 5
    assert eigenvalue_stopping_step([1.0], 1.0, 1 / (2 * math.e * math.sqrt(1.5))) == 1


def test_gd_in_float32_and_more_messages():
    net = TwoLayerReLU(3, 2, 4, generator=torch.Generator().manual_seed(0))  # float32
    z = np.random.default_rng(0).normal(size=(5, 3))
    out = train_full_batch_gd(
        net, z, np.ones((5, 2)), eta=0.1, steps=1, record_at=[1], z_test=z[:2]
    )
    assert out["train"].dtype == np.float32 and out["test"].shape == (1, 2, 2)
    with pytest.raises(
        ValueError, match=exact("z and y must have the same number of rows: 4 vs 2")
    ):
        train_full_batch_gd(
            net, np.zeros((4, 3)), np.zeros((2, 1)), eta=0.1, steps=1, record_at=[1],
            z_test=np.zeros((1, 3)),
        )  # fmt: skip
    k = np.eye(3)
    with pytest.raises(
        ValueError, match=exact("k_train must be a 2-D array [n, d], got shape (3,)")
    ):
        estimate_noise_sd(np.ones(3), np.ones((3, 1)), 0.5, [1])
    with pytest.raises(ValueError, match=exact("y contains NaN or infinite values")):
        estimate_noise_sd(k, np.full((3, 1), np.nan), 0.5, [1])


def test_kernel_regression_inputs_name_the_argument():
    from utils.score_matching import regression_inputs

    shape_error = "{} must be a 2-D array [n, d], got shape (3,)"
    with pytest.raises(ValueError, match=exact(shape_error.format("x"))):
        regression_inputs(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=exact(shape_error.format("a"))):
        relu_ntk(np.ones(3), np.ones((2, 3)))
    k, y = np.eye(3), np.ones((3, 1))
    with pytest.raises(ValueError, match=exact(shape_error.format("k_train"))):
        kernel_gd_predict(np.ones(3), k, y, 0.5, [1])
    with pytest.raises(ValueError, match=exact(shape_error.format("k_test"))):
        kernel_gd_predict(k, np.ones(3), y, 0.5, [1])
    with pytest.raises(ValueError, match=exact(shape_error.format("y"))):
        kernel_gd_predict(k, k, np.ones(3), 0.5, [1])
    with pytest.raises(
        ValueError, match=exact("y must have 3 rows (one per training point), got 2")
    ):
        kernel_gd_predict(k, k, np.ones((2, 5)), 0.5, [1])
    with pytest.raises(
        ValueError, match=exact("k_test must have 3 columns, got shape (2, 4)")
    ):
        kernel_gd_predict(k, np.ones((2, 4)), y, 0.5, [1])
