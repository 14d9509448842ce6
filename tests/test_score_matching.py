"""Unit tests of utils.score_matching (chapter 12), each against an independent computation:
torch.distributions + autograd for the score, torch.func for the NTK, an explicit loop,
numpy.linalg.solve and scikit-learn's KernelRidge for kernel gradient descent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.score_matching import (
    GaussianMixture,
    RegressionSet,
    TwoLayerReLU,
    best_step,
    eigenvalue_stopping_step,
    estimate_noise_sd,
    four_corner_mixture,
    kernel_gd_predict,
    label_noise_by_time,
    make_dsm_regression_set,
    make_test_set,
    mean_squared_error,
    ou_alpha_h,
    regression_inputs,
    relative_distance,
    relu_ntk,
    score_from_denoiser,
    train_full_batch_gd,
)

MIX = four_corner_mixture()


def torch_noised_mixture(mix: GaussianMixture, t: float):
    """The OU-noised mixture at time t, built from torch.distributions (independent of our code)."""
    alpha, h = np.exp(-t), 1 - np.exp(-2 * t)
    sd = float(np.sqrt(alpha**2 * mix.std**2 + h))
    means = torch.tensor(alpha * mix.means, dtype=torch.float64)
    comps = torch.distributions.Independent(torch.distributions.Normal(means, sd), 1)
    return torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.tensor(mix.weights, dtype=torch.float64)),
        comps,
    )


@pytest.mark.parametrize("t", [0.02, 0.3, 1.0, 3.0])
def test_score_matches_autograd_of_log_density(t):
    rng = np.random.default_rng(0)
    mix = GaussianMixture(
        np.array([[1.5, -0.5], [-1.0, 1.0], [0.2, 0.3]]), 0.4, np.array([0.5, 0.3, 0.2])
    )
    x = rng.normal(scale=1.5, size=(50, 2))
    xt = torch.tensor(x, requires_grad=True)
    dist = torch_noised_mixture(mix, t)
    log_p = dist.log_prob(xt)
    (grad,) = torch.autograd.grad(log_p.sum(), xt)
    ts = np.full(len(x), t)
    np.testing.assert_allclose(mix.score(x, ts), grad.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        mix.log_density(x, ts), log_p.detach().numpy(), rtol=1e-9, atol=1e-9
    )


def test_tweedie_posterior_mean_gives_the_score():
    """The paper's parametric form with the exact posterior mean is the exact score."""
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(40, 2)) * 2, rng.uniform(0.05, 2.0, size=40)
    np.testing.assert_allclose(
        score_from_denoiser(MIX.posterior_mean(x, t), x, t),
        MIX.score(x, t),
        rtol=1e-8,
        atol=1e-8,
    )


def test_posterior_mean_matches_monte_carlo_at_one_point():
    """E[X_0 | X_t = x] by self-normalised importance weights over samples of X_0."""
    rng = np.random.default_rng(2)
    x, t = np.array([[0.4, -0.9]]), 0.5
    alpha, h = ou_alpha_h(t)
    x0 = MIX.sample(400_000, rng)
    logw = -((x - alpha * x0) ** 2).sum(1) / (2 * h)
    w = np.exp(logw - logw.max())
    mc = (w[:, None] * x0).sum(0) / w.sum()
    np.testing.assert_allclose(MIX.posterior_mean(x, [t])[0], mc, atol=0.01)


def test_ou_alpha_h_and_bad_times():
    alpha, h = ou_alpha_h(np.array([0.5, 2.0]))
    np.testing.assert_allclose(alpha, np.exp([-0.5, -2.0]))
    np.testing.assert_allclose(
        alpha**2 + h, 1.0
    )  # the OU process preserves unit variance
    for bad in ([0.0], [-1.0], [np.nan], []):
        with pytest.raises(ValueError):
            ou_alpha_h(np.array(bad))


def test_regression_set_has_noisy_labels_with_mean_zero_noise():
    rng = np.random.default_rng(3)
    data = make_dsm_regression_set(20_000, MIX, (0.05, 1.0), rng)
    assert data.z.shape == (20_000, 4) and data.y.shape == (20_000, 2)
    np.testing.assert_array_equal(data.z[:, 3], 1.0)
    assert data.t.min() >= 0.05 and data.t.max() <= 1.0
    noise = data.y - data.target
    assert np.abs(noise.mean(0)).max() < 0.03  # E[noise | input] = 0
    assert 0.5 < data.label_noise < 3.0  # far from noiseless
    # the noise is not independent of t: small t reveals x_0, large t hides it
    small, large = data.t < 0.2, data.t > 0.8
    assert (noise[small] ** 2).sum(1).mean() < 0.5 * (noise[large] ** 2).sum(1).mean()


def test_four_corner_mixture_and_the_test_set_pinned():
    mix = four_corner_mixture(spread=2.0, std=0.5)
    np.testing.assert_array_equal(mix.means, [[2, 2], [2, -2], [-2, 2], [-2, -2]])
    np.testing.assert_array_equal(mix.weights, [0.25] * 4)
    assert mix.std == 0.5 and mix.dim == 2
    # the test set is drawn exactly like a training set, from the same generator state
    a = make_test_set(50, mix, (0.1, 0.9), np.random.default_rng(9))
    b = make_dsm_regression_set(50, mix, (0.1, 0.9), np.random.default_rng(9))
    assert isinstance(a, RegressionSet)
    for field in ("z", "y", "target", "x_t", "t"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_allclose(a.target, mix.posterior_mean(a.x_t, a.t))


def test_regression_set_label_noise_by_hand():
    data = RegressionSet(
        z=np.zeros((2, 4)),
        y=np.array([[1.0, 0.0], [0.0, 2.0]]),
        target=np.array([[0.0, 0.0], [0.0, 1.0]]),
        x_t=np.zeros((2, 2)),
        t=np.array([0.5, 0.5]),
    )
    assert data.label_noise == pytest.approx((1.0 + 1.0) / 2)


def test_label_noise_rises_with_time():
    noise = label_noise_by_time(MIX, [0.02, 0.3, 2.0], 4000, np.random.default_rng(4))
    assert noise[0] < 0.1 < noise[1] < noise[2]
    total_variance = (MIX.means**2).sum(1).mean() + 2 * MIX.std**2
    assert noise[2] < total_variance


# ----------------------------------------------------------------------------------------------
# the neural tangent kernel
# ----------------------------------------------------------------------------------------------


def empirical_ntk(net: TwoLayerReLU, z: torch.Tensor) -> torch.Tensor:
    """Theta[i, j, a, b] = <d f_a(z_i)/dW, d f_b(z_j)/dW> from torch.func (jacrev over vmap)."""
    from torch.func import functional_call, jacrev, vmap

    params = {"weight": net.weight.detach()}

    def f_single(p, x):
        return functional_call(net, p, (x[None],))[0]  # [d_out]

    jac = vmap(jacrev(f_single), in_dims=(None, 0))(params, z)[
        "weight"
    ]  # [n, d_out, units, p]
    jac = jac.flatten(2)  # [n, d_out, P]
    return torch.einsum("iap,jbp->ijab", jac, jac)


def test_analytic_ntk_matches_empirical_ntk_of_a_wide_network():
    rng = np.random.default_rng(5)
    data = make_dsm_regression_set(12, MIX, (0.05, 1.0), rng)
    net = TwoLayerReLU(
        4,
        2,
        width=16_384,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    theta = empirical_ntk(net, torch.tensor(data.z)).numpy()  # [n, n, 2, 2]
    analytic = relu_ntk(data.z, data.z)
    scale = np.abs(analytic).max()
    for a in range(2):
        assert np.abs(theta[:, :, a, a] - analytic).max() < 0.03 * scale
    assert np.abs(theta[:, :, 0, 1]).max() < 0.03 * scale  # outputs decouple: k * I_d
    # a kernel twice too large (the classic missing-1/sqrt(2) scaling slip) is far outside that band
    assert np.abs(theta[:, :, 0, 0] - 2 * analytic).max() > 0.3 * scale


def test_ntk_formula_properties_and_errors():
    rng = np.random.default_rng(6)
    z = regression_inputs(rng.normal(size=(30, 2)), rng.uniform(0.1, 1, 30))
    k = relu_ntk(z, z)
    np.testing.assert_allclose(
        np.diag(k), (z**2).sum(1) / 2
    )  # angle 0: z.z * pi / (2 pi)
    np.testing.assert_allclose(k, k.T)
    assert np.linalg.eigvalsh(k).min() > -1e-9
    np.testing.assert_allclose(
        np.diag(relu_ntk(z, -z)), 0.0, atol=1e-6
    )  # opposite inputs: angle pi
    with pytest.raises(ValueError, match="same input width"):
        relu_ntk(z, z[:, :3])
    with pytest.raises(ValueError, match="2-D"):
        relu_ntk(z[0], z)
    with pytest.raises(ValueError, match="empty"):
        relu_ntk(z[:0], z)


def test_symmetric_network_starts_at_zero_and_checks_input():
    net = TwoLayerReLU(4, 2, width=64, generator=torch.Generator().manual_seed(1))
    z = torch.randn(10, 4)
    assert net.units == 128 and net(z).abs().max() < 1e-6  # zero up to round-off
    assert torch.any(TwoLayerReLU(4, 2, 64, symmetric=False)(z) != 0)
    with pytest.raises(ValueError, match=r"\[n, 4\]"):
        net(torch.randn(10, 3))
    with pytest.raises(ValueError):
        TwoLayerReLU(4, 2, width=0)


# ----------------------------------------------------------------------------------------------
# kernel gradient descent, network GD, early stopping
# ----------------------------------------------------------------------------------------------


def small_problem(n=40, seed=7):
    rng = np.random.default_rng(seed)
    train = make_dsm_regression_set(n, MIX, (0.05, 1.0), rng)
    test = make_dsm_regression_set(60, MIX, (0.05, 1.0), rng)
    k = relu_ntk(train.z, train.z)
    eta = 1.0 / np.linalg.eigvalsh(k / n).max()
    return train, test, k, relu_ntk(test.z, train.z), eta


def test_kernel_gd_closed_form_matches_the_explicit_iteration():
    train, test, k, k_test, eta = small_problem()
    n = len(train.y)
    steps = [0, 1, 2, 7, 50]
    tr, te = kernel_gd_predict(k, k_test, train.y, 0.9 * eta, steps)
    c = np.zeros_like(train.y)
    for step in range(51):
        if step in steps:
            i = steps.index(step)
            np.testing.assert_allclose(tr[i], k @ c, atol=1e-9)
            np.testing.assert_allclose(te[i], k_test @ c, atol=1e-9)
        c = c + 0.9 * eta / n * (train.y - k @ c)
    assert np.all(tr[0] == 0) and np.all(te[0] == 0)


def test_kernel_gd_converges_to_interpolation_and_train_error_falls():
    train, test, k, k_test, eta = small_problem()
    steps = [0, 1, 10, 100, 10**4, 10**9, 10**12]
    tr, te = kernel_gd_predict(k, k_test, train.y, eta, steps)
    train_err = [mean_squared_error(p, train.y) for p in tr]
    assert all(a >= b - 1e-12 for a, b in zip(train_err, train_err[1:]))
    interpolant = k_test @ np.linalg.solve(k, train.y)
    assert train_err[-1] < 1e-8
    assert relative_distance(te[-1], interpolant) < 1e-4


def test_early_stopped_kernel_gd_is_close_to_kernel_ridge():
    """GD stopped at k steps ~ ridge with penalty n/(eta k) (related spectral filters, not equal)."""
    from sklearn.kernel_ridge import KernelRidge

    train, test, k, k_test, eta = small_problem(n=80)
    n = len(train.y)
    for steps in (20, 200):
        _, te = kernel_gd_predict(k, k_test, train.y, eta, [steps])
        ridge = KernelRidge(alpha=n / (eta * steps), kernel="precomputed").fit(
            k, train.y
        )
        assert relative_distance(te[0], ridge.predict(k_test)) < 0.2
    # and it is not simply the unregularised interpolant
    assert relative_distance(te[0], k_test @ np.linalg.solve(k, train.y)) > 0.2


def test_kernel_gd_rejects_bad_input():
    train, test, k, k_test, eta = small_problem()
    with pytest.raises(ValueError, match="eta"):
        kernel_gd_predict(k, k_test, train.y, 2.05 * eta, [1])
    with pytest.raises(ValueError, match="symmetric"):
        kernel_gd_predict(k + np.triu(np.ones_like(k)), k_test, train.y, eta, [1])
    with pytest.raises(ValueError, match="rows"):
        kernel_gd_predict(k, k_test, train.y[:-1], eta, [1])
    with pytest.raises(ValueError, match="columns"):
        kernel_gd_predict(k, k_test[:, :-1], train.y, eta, [1])
    with pytest.raises(ValueError, match="non-negative integers"):
        kernel_gd_predict(k, k_test, train.y, eta, [-1])
    with pytest.raises(ValueError, match="NaN"):
        kernel_gd_predict(k, k_test, np.full_like(train.y, np.nan), eta, [1])


def test_wide_network_gd_tracks_kernel_gd_early_and_narrow_one_less():
    train, test, k, k_test, eta = small_problem()
    _, te = kernel_gd_predict(k, k_test, train.y, eta, [30])
    gaps = {}
    for width in (32, 4096):
        net = TwoLayerReLU(
            4, 2, width, generator=torch.Generator().manual_seed(2), dtype=torch.float64
        )
        out = train_full_batch_gd(
            net, train.z, train.y, eta=eta, steps=30, record_at=[0, 30], z_test=test.z
        )
        assert list(out["steps"]) == [0, 30] and np.abs(out["test"][0]).max() < 1e-12
        assert out["losses"][-1] < out["losses"][0]
        gaps[width] = relative_distance(out["test"][-1], te[0])
    assert gaps[4096] < 0.05 < gaps[32]


def test_best_step_and_eigenvalue_rule():
    assert best_step([0, 10, 100], [1.0, 0.2, 0.5]) == (10, 0.2)
    with pytest.raises(ValueError):
        best_step([0, 1], [1.0])
    lam = 1.0 / np.arange(1, 200) ** 2
    quiet, loud = (eigenvalue_stopping_step(lam, 1.0, sd) for sd in (0.01, 1.0))
    assert loud <= quiet and quiet > 1  # more label noise -> stop earlier
    with pytest.raises(ValueError):
        eigenvalue_stopping_step(lam, 1.0, 0.0)


def test_estimate_noise_sd_recovers_a_known_noise_level_without_the_target():
    """Kernel regression of a smooth function plus N(0, 0.5^2) noise: the GCV estimate from the
    training data alone is within 15% of 0.5, and larger noise gives a larger estimate."""
    rng = np.random.default_rng(11)
    z = np.column_stack([rng.uniform(-2, 2, size=(300, 2)), np.ones(300)])
    clean = np.column_stack([np.sin(z[:, 0]), np.cos(z[:, 1])])  # [300, 2]
    k = relu_ntk(z, z)
    eta = 1.0 / np.linalg.eigvalsh(k / 300).max()
    steps = np.unique(np.round(np.logspace(0, 6, 60)).astype(int))
    estimates = {}
    for sd in (0.5, 1.0):
        y = clean + sd * rng.standard_normal(clean.shape)
        estimates[sd], step = estimate_noise_sd(k, y, eta, steps)
        assert step in steps
    assert abs(estimates[0.5] - 0.5) < 0.075 and abs(estimates[1.0] - 1.0) < 0.15
    with pytest.raises(ValueError, match="degrees of freedom"):
        estimate_noise_sd(k, y, eta, [10**9])
    with pytest.raises(ValueError, match="eta"):
        estimate_noise_sd(k, y, 10.0 * eta, steps)


def test_mixture_and_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture(np.zeros((2, 2)), 1.0, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match=">= 0"):
        GaussianMixture(np.zeros((2, 2)), 1.0, np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="std"):
        GaussianMixture(np.zeros((2, 2)), -1.0, np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="one per component"):
        GaussianMixture(np.zeros((2, 2)), 1.0, np.array([1.0]))
    with pytest.raises(ValueError, match="2 columns"):
        MIX.score(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="one time per point"):
        MIX.posterior_mean(np.zeros((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="> 0"):
        MIX.score(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        MIX.score(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="t_range"):
        make_dsm_regression_set(10, MIX, (0.0, 1.0), np.random.default_rng(0))
    with pytest.raises(ValueError, match="same shape"):
        mean_squared_error(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="all zeros"):
        relative_distance(np.ones(3), np.zeros(3))
