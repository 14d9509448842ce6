"""Score estimation as regression with noisy labels (chapter 12).

From-scratch pieces of Han, Razaviyayn and Xu, *Neural Network-Based Score Estimation in Diffusion
Models: Optimization and Generalization*, ICLR 2024, arXiv:2401.15604v3 (the ICLR text; v4 is a
later revision); no official code:

* the forward Ornstein-Uhlenbeck (OU) process ``X_t = alpha_t X_0 + sqrt(h_t) xi`` with
  ``alpha_t = exp(-t)`` and ``h_t = 1 - exp(-2t)``, and a 2-D isotropic Gaussian mixture whose noised
  density, score and posterior mean ``E[X_0 | X_t = x]`` are exact at every ``t``
  (:class:`GaussianMixture`);
* the paper's parametric form of the score, ``s(x, t) = (alpha_t f(x, t) - x) / h_t``, which turns
  denoising score matching into least-squares regression of the clean point ``x_0`` on the input
  ``z = (x_t, t, 1)`` with *noisy labels* ``x_0 = f*(x_t, t) + noise`` (:func:`make_dsm_regression_set`,
  :func:`score_from_denoiser`);
* a two-layer ReLU network whose first layer is trained and whose output signs are fixed
  (:class:`TwoLayerReLU`), its neural tangent kernel (NTK) (:func:`relu_ntk`), and kernel gradient
  descent in closed form (:func:`kernel_gd_predict`), the kernel regression that wide networks follow
  (one NTK regression here, where the paper couples the network to a series of kernel regressions);
* early stopping: the oracle best step (:func:`best_step`) and a data-dependent rule from the kernel's
  eigenvalues in the style of Raskutti, Wainwright and Yu (2014), the rule the paper builds on
  (:func:`eigenvalue_stopping_step`), fed with a noise level estimated from the training data alone
  (:func:`estimate_noise_sd`).

Shapes: ``n`` points, ``d`` data dimensions (2 here), inputs ``z`` of width ``p = d + 2``.
The docstrings name the paper's results by content rather than by equation number: we could not
check the numbering of the ICLR 2024 version, and the later arXiv revisions differ from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from utils.validation import check_array

# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------


def _as_2d(name: str, a, width: int | None = None) -> np.ndarray:
    a = check_array(a, name, finite=False, nonempty=False)  # numeric, as floats
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [n, d], got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows)")
    if width is not None and a.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _times(t, n: int | None = None, name: str = "t") -> np.ndarray:
    t = check_array(t, name, finite=False, nonempty=False)
    if t.ndim == 0 and n is not None:
        t = np.full(n, float(t))
    if t.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array [n] (or a number), got shape {t.shape}"
        )
    if n is not None and t.shape[0] != n:
        raise ValueError(
            f"{name} must have one time per point: {n} points but {t.shape[0]} times"
        )
    if t.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(
            f"every diffusion time in {name} must be finite and > 0 (h_t = 0 at t = 0)"
        )
    return t


# ----------------------------------------------------------------------------------------------
# forward process and the Gaussian mixture
# ----------------------------------------------------------------------------------------------


def ou_alpha_h(t) -> tuple[np.ndarray, np.ndarray]:
    """Mean factor and variance of the forward OU process ``dX = -X dt + sqrt(2) dB``.

    ``X_t | X_0 ~ N(alpha_t X_0, h_t I)`` with ``alpha_t = exp(-t)``, ``h_t = 1 - exp(-2t)``
    (the forward process of Han et al. 2024). ``t`` must be > 0.
    Returns two arrays with the shape of ``t``.
    Paper: the forward Ornstein-Uhlenbeck process of the set-up (arXiv:2401.15604v3).
    """
    t = check_array(t, "t", finite=False, nonempty=False)
    if t.size == 0:
        raise ValueError("t is empty")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(
            "every diffusion time in t must be finite and > 0 (h_t = 0 at t = 0)"
        )
    return np.exp(-t), -np.expm1(-2.0 * t)


@dataclass(frozen=True)
class GaussianMixture:
    """An isotropic Gaussian mixture ``sum_k w_k N(mu_k, std^2 I)`` and its OU-noised versions.

    Under the OU process each component stays Gaussian: at time ``t`` component ``k`` is
    ``N(alpha_t mu_k, v_t I)`` with ``v_t = alpha_t^2 std^2 + h_t``. So the noised density, its score
    and the posterior mean of the clean point are exact, which gives the chapter a ground truth.

    ``means``: [K, d]; ``std`` > 0; ``weights``: [K], non-negative, summing to 1.
    Paper: course addition — data whose noised score and posterior mean are exact.
    """

    means: np.ndarray
    std: float
    weights: np.ndarray

    def __post_init__(self):
        means = _as_2d("means", self.means)
        weights = np.asarray(self.weights, dtype=float)
        if weights.shape != (means.shape[0],):
            raise ValueError(
                f"weights must have shape ({means.shape[0]},) (one per component), "
                f"got {weights.shape}"
            )
        if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-8):
            raise ValueError(
                f"weights must be >= 0 and sum to 1, got {weights.tolist()}"
            )
        if not (np.isfinite(self.std) and self.std > 0):
            raise ValueError(f"std must be a positive number, got {self.std}")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "std", float(self.std))

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` clean points ``x_0``, shape [n, d]."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        component = rng.choice(len(self.weights), size=n, p=self.weights)
        return self.means[component] + self.std * rng.standard_normal((n, self.dim))

    def _responsibilities(self, x, t):
        """Posterior component probabilities given ``X_t = x``: [n, K]; and alpha, v: [n, 1]."""
        x = _as_2d("x", x, self.dim)
        t = _times(t, x.shape[0])
        alpha, h = ou_alpha_h(t)
        alpha, v = alpha[:, None], (alpha**2 * self.std**2 + h)[:, None]  # [n, 1]
        centred = x[:, None, :] - alpha[:, :, None] * self.means[None]  # [n, K, d]
        log_w = (
            np.log(np.maximum(self.weights, 1e-300))[None]
            - 0.5 * (centred**2).sum(-1) / v
            - 0.5 * self.dim * np.log(2 * np.pi * v)
        )
        log_norm = np.logaddexp.reduce(log_w, axis=1, keepdims=True)  # [n, 1]
        return np.exp(log_w - log_norm), centred, alpha, v, log_norm[:, 0]

    def log_density(self, x, t) -> np.ndarray:
        """``log p_t(x)`` of the noised mixture, shape [n]."""
        return self._responsibilities(x, t)[4]

    def score(self, x, t) -> np.ndarray:
        """Exact score ``grad_x log p_t(x)`` of the noised mixture, shape [n, d].

        ``sum_k r_k(x) * (-(x - alpha_t mu_k) / v_t)`` with ``r_k`` the posterior responsibilities.
        """
        r, centred, _, v, _ = self._responsibilities(x, t)
        return -(r[:, :, None] * centred).sum(1) / v

    def posterior_mean(self, x, t) -> np.ndarray:
        """Exact ``f*(x, t) = E[X_0 | X_t = x]``, shape [n, d]: the regression target of the paper.

        Per component the posterior of ``X_0`` is Gaussian with mean
        ``mu_k + (alpha_t std^2 / v_t)(x - alpha_t mu_k)``; mix them with the responsibilities.
        """
        r, centred, alpha, v, _ = self._responsibilities(x, t)
        per_component = (
            self.means[None] + (alpha * self.std**2 / v)[:, :, None] * centred
        )
        return (r[:, :, None] * per_component).sum(1)


def four_corner_mixture(spread: float = 1.33, std: float = 0.35) -> GaussianMixture:
    """The chapter's data: four equal components at ``(+-spread, +-spread)``, each with ``std``.

    Paper: course addition — the chapter's 2-D data set.
    """
    if not np.isfinite(spread):
        raise ValueError(f"spread must be finite, got {spread}")
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=float) * spread
    return GaussianMixture(corners, std, np.full(4, 0.25))


def score_from_denoiser(f, x, t) -> np.ndarray:
    """The paper's parametric form: ``s(x, t) = (alpha_t f(x, t) - x) / h_t``, shape [n, d].

    ``f`` is an estimate of ``E[X_0 | X_t = x]`` ([n, d]). With the exact posterior mean this is
    Tweedie's formula and returns the true score (Han et al. 2024, the parametric form of the score).
    Paper: the parametric form of the score network (arXiv:2401.15604v3).
    """
    x = _as_2d("x", x)
    f = _as_2d("f", f, x.shape[1])
    if f.shape[0] != x.shape[0]:
        raise ValueError(
            f"f and x must have the same number of rows: {f.shape[0]} vs {x.shape[0]}"
        )
    alpha, h = ou_alpha_h(_times(t, x.shape[0]))
    return (alpha[:, None] * f - x) / h[:, None]


# ----------------------------------------------------------------------------------------------
# denoising score matching as regression with noisy labels
# ----------------------------------------------------------------------------------------------


def regression_inputs(x, t) -> np.ndarray:
    """Network input ``z = (x_t, t, 1)``, shape [n, d + 2]; the constant 1 acts as a bias.

    Paper: the network input (x_t, t) of the parametric form, plus a bias (arXiv:2401.15604v3).
    """
    x = _as_2d("x", x)
    t = _times(t, x.shape[0])
    return np.column_stack([x, t, np.ones(len(t))])


@dataclass
class RegressionSet:
    """A fixed denoising-score-matching data set, seen as regression.

    ``z``: inputs [n, d+2]; ``y``: labels = clean points ``x_0`` [n, d]; ``target``: the noiseless
    regression function ``f*(z) = E[X_0 | X_t]`` [n, d]; ``x_t`` [n, d] and ``t`` [n].
    ``y - target`` is the label noise: mean zero given the input (Han et al. 2024, DSM as regression
    with noisy labels).
    Paper: DSM as least-squares regression with noisy labels (arXiv:2401.15604v3).
    """

    z: np.ndarray
    y: np.ndarray
    target: np.ndarray
    x_t: np.ndarray
    t: np.ndarray

    @property
    def label_noise(self) -> float:
        """Mean squared label noise ``mean ||y - f*||^2``: the floor of the expected DSM loss."""
        return float(((self.y - self.target) ** 2).sum(1).mean())


def make_dsm_regression_set(
    n: int,
    mixture: GaussianMixture,
    t_range: tuple[float, float],
    rng: np.random.Generator,
) -> RegressionSet:
    """Draw ``n`` triples ``(x_0, t, xi)`` once, with ``t ~ U[t_range]``, and build the regression set.

    ``x_t = alpha_t x_0 + sqrt(h_t) xi``; input ``(x_t, t, 1)``; label ``x_0``. Minimising the
    squared error of ``f`` on this set is denoising score matching for ``s = (alpha_t f - x)/h_t``
    with time weight ``(h_t / alpha_t)^2`` (the paper's reduction of DSM to regression).
    Paper: DSM as least-squares regression with noisy labels (arXiv:2401.15604v3).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    t0, t1 = map(float, t_range)
    if not 0 < t0 < t1 < math.inf:
        raise ValueError(f"t_range must satisfy 0 < t0 < t1, got {t_range}")
    x0 = mixture.sample(n, rng)  # [n, d]
    t = rng.uniform(t0, t1, size=n)  # [n]
    alpha, h = ou_alpha_h(t)
    x_t = alpha[:, None] * x0 + np.sqrt(h)[:, None] * rng.standard_normal(x0.shape)
    return RegressionSet(
        z=regression_inputs(x_t, t),
        y=x0,
        target=mixture.posterior_mean(x_t, t),
        x_t=x_t,
        t=t,
    )


def make_test_set(
    n: int,
    mixture: GaussianMixture,
    t_range: tuple[float, float],
    rng: np.random.Generator,
) -> RegressionSet:
    """Fresh points from the same distribution, for measuring ``||f - f*||`` (labels included).

    Paper: course addition — fresh inputs with the exact f*, to measure ||f - f*||.
    """
    return make_dsm_regression_set(n, mixture, t_range, rng)


def label_noise_by_time(
    mixture: GaussianMixture, times: Sequence[float], n: int, rng: np.random.Generator
) -> np.ndarray:
    """Monte Carlo ``E||X_0 - f*(X_t, t)||^2`` at each time in ``times``, shape [len(times)].

    It is the irreducible part of the regression loss: near 0 for small ``t`` (the noisy point
    almost reveals ``x_0``) and close to the data's total variance for large ``t``.
    Paper: course addition — how noisy the DSM labels are at each time t.
    """
    times = _times(times, name="times")
    out = []
    for t in times:
        x0 = mixture.sample(n, rng)
        alpha, h = ou_alpha_h(np.array([t]))
        x_t = alpha * x0 + np.sqrt(h) * rng.standard_normal(x0.shape)
        out.append(
            ((x0 - mixture.posterior_mean(x_t, np.full(n, t))) ** 2).sum(1).mean()
        )
    return np.array(out)


def mean_squared_error(pred, truth) -> float:
    """``mean_j ||pred_j - truth_j||^2`` over rows; ``pred`` and ``truth`` are [n, d].

    Paper: course addition — the regression error the generalization bound controls.
    """
    pred, truth = _as_2d("pred", pred), _as_2d("truth", truth)
    if pred.shape != truth.shape:
        raise ValueError(
            f"pred and truth must have the same shape, got {pred.shape} and {truth.shape}"
        )
    return float(((pred - truth) ** 2).sum(1).mean())


def relative_distance(a, b) -> float:
    """Relative L2 distance ``||a - b|| / ||b||`` over all entries (``b`` is the reference).

    Paper: course addition — the network-kernel gap of the coupling theorem.
    """
    a, b = check_array(a, "a", nonempty=False), check_array(b, "b", nonempty=False)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"a and b must be non-empty and of the same shape, got {a.shape} and {b.shape}"
        )
    norm = np.linalg.norm(b)
    if norm == 0:
        raise ValueError(
            "the reference b is all zeros: the relative distance is undefined"
        )
    return float(np.linalg.norm(a - b) / norm)


# ----------------------------------------------------------------------------------------------
# the network and its neural tangent kernel
# ----------------------------------------------------------------------------------------------


def relu_ntk(a, b) -> np.ndarray:
    """Analytic NTK of ``f(z) = m^{-1/2} sum_r a_r relu(w_r . z)`` with only ``W`` trained.

    With ``w_r ~ N(0, I)`` and ``a_r = +-1``, as the width ``m -> infinity``:
    ``k(z, z') = z.z' * (pi - arccos(cos angle(z, z'))) / (2 pi)`` (the kernel the paper's coupling
    theorem compares GD to; for ``d`` outputs it is ``k * I_d``).
    ``a``: [nA, p], ``b``: [nB, p]; returns [nA, nB].
    Paper: the neural tangent kernel of the two-layer ReLU network (arXiv:2401.15604v3).
    """
    a = _as_2d("a", a)
    b = _as_2d("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"a and b must have the same input width, got {a.shape[1]} and {b.shape[1]}"
        )
    dot = a @ b.T  # [nA, nB]
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    cos = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    return dot * (np.pi - angle) / (2 * np.pi)


class TwoLayerReLU(torch.nn.Module):
    """Two-layer ReLU network ``f(z) = relu(z W^T) a / sqrt(units)`` in NTK scaling.

    ``W`` [units, p] is trained, starting from ``N(0, 1)``; ``a`` [units, d_out] holds fixed random
    signs. ``width`` is the number of independent random units. With ``symmetric=True`` every unit
    gets a twin with the same ``w`` and opposite ``a`` (``units = 2 * width``), so ``f == 0`` at
    initialisation, as kernel GD from zero, while the tangent kernel keeps its expectation
    :func:`relu_ntk`. This is the two-layer network Han et al. (2024) analyse.
    Shapes: input [n, p] -> hidden [n, units] -> output [n, d_out].
    Paper: the two-layer ReLU network with fixed output signs (arXiv:2401.15604v3).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        width: int,
        symmetric: bool = True,
        generator: torch.Generator | None = None,
        dtype=torch.float32,
    ):
        super().__init__()
        if min(d_in, d_out, width) < 1:
            raise ValueError(
                f"d_in, d_out and width must be positive, got {d_in}, {d_out}, {width}"
            )
        w = torch.randn(width, d_in, generator=generator, dtype=dtype)
        signs = (
            torch.randint(0, 2, (width, d_out), generator=generator).to(dtype) * 2 - 1
        )
        if symmetric:
            w, signs = torch.cat([w, w]), torch.cat([signs, -signs])
        self.weight = torch.nn.Parameter(w)  # [units, p]
        self.register_buffer("signs", signs)  # [units, d_out]
        self.width = width

    @property
    def units(self) -> int:
        return self.weight.shape[0]

    def forward(self, z):
        if z.dim() != 2 or z.shape[1] != self.weight.shape[1]:
            raise ValueError(
                f"input must be [n, {self.weight.shape[1]}], got {tuple(z.shape)}"
            )
        hidden = torch.relu(z @ self.weight.T)  # [n, units]
        return hidden @ self.signs / math.sqrt(self.units)  # [n, d_out]


def train_full_batch_gd(
    net, z, y, *, eta: float, steps: int, record_at: Iterable[int], z_test
):
    """Full-batch gradient descent on ``L(W) = (1/2n) sum_j ||f_W(z_j) - y_j||^2``.

    The step ``W <- W - eta grad L`` moves the predictions by ``-(eta/n) K (f - y)`` to first order,
    which is exactly kernel GD with the network's tangent kernel; so with the same ``eta`` the two
    paths can be compared step by step. Runs :func:`utils.training.train` with plain SGD on the
    whole set. Returns ``{"steps": [...], "train": [len, n, d], "test": [len, n_test, d],
    "losses": [steps]}`` with predictions recorded after each step in ``record_at`` (0 = start).
    Paper: gradient descent on the empirical DSM loss (arXiv:2401.15604v3).
    """
    from utils.training import train

    if not eta > 0 or not math.isfinite(eta):
        raise ValueError(f"eta must be positive, got {eta}")
    z, y = _as_2d("z", z), _as_2d("y", y)
    z_test = _as_2d("z_test", z_test, z.shape[1])
    record = sorted(set(int(s) for s in record_at))
    if not record or record[0] < 0 or record[-1] > steps:
        raise ValueError(f"record_at must be non-empty steps between 0 and {steps}")
    param = next(net.parameters())
    z = torch.as_tensor(np.asarray(z), dtype=param.dtype, device=param.device)
    y = torch.as_tensor(np.asarray(y), dtype=param.dtype, device=param.device)
    z_test = torch.as_tensor(np.asarray(z_test), dtype=param.dtype, device=param.device)
    if z.shape[0] != y.shape[0]:
        raise ValueError(
            f"z and y must have the same number of rows: {z.shape[0]} vs {y.shape[0]}"
        )
    wanted = set(record)
    out = {"steps": [], "train": [], "test": []}

    def snapshot(step, model):
        if step in wanted:
            with torch.no_grad():
                out["steps"].append(step)
                out["train"].append(model(z).cpu().numpy())
                out["test"].append(model(z_test).cpu().numpy())

    def half_mean_squared(model, batch):
        inputs, labels = batch
        return 0.5 * ((model(inputs) - labels) ** 2).sum(1).mean()

    snapshot(0, net)
    log = train(
        net,
        half_mean_squared,
        lambda step: (z, y),
        steps=steps,
        optimizer=torch.optim.SGD(net.parameters(), lr=eta),
        on_step=lambda step, model: snapshot(step + 1, model),
        desc=f"GD, width {net.width}",
    )
    return {
        "steps": np.array(out["steps"]),
        "train": np.stack(out["train"]),
        "test": np.stack(out["test"]),
        "losses": np.array(log.losses),
    }


# ----------------------------------------------------------------------------------------------
# kernel gradient descent and early stopping
# ----------------------------------------------------------------------------------------------


def kernel_gd_predict(k_train, k_test, y, eta: float, steps: Iterable[int]):
    """Closed-form kernel gradient descent from zero, at every step count in ``steps``.

    Iterating ``c <- c + (eta/n)(y - K c)`` gives, with ``K/n = U diag(lam) U^T``,
    ``c_k = U diag((1 - (1 - eta lam)^k) / lam) U^T y / n`` and predictions ``K c_k``, ``K_test c_k``:
    a spectral filter that fits large-eigenvalue directions first and the noisy small ones last
    (the kernel regression the paper couples the network to, and whose early stopping it analyses).

    ``k_train``: [n, n] symmetric; ``k_test``: [n_test, n]; ``y``: [n, d]; ``0 < eta < 2/lam_max``.
    Returns ``(train_pred [S, n, d], test_pred [S, n_test, d])`` for the ``S`` step counts.
    Paper: kernel regression trained by GD, which the network is coupled to (arXiv:2401.15604v3).
    """
    k_train = _as_2d("k_train", k_train)
    n = k_train.shape[0]
    if k_train.shape != (n, n) or not np.allclose(
        k_train, k_train.T, atol=1e-8 * max(1.0, np.abs(k_train).max())
    ):
        raise ValueError(
            f"k_train must be a symmetric [n, n] matrix, got shape {k_train.shape}"
        )
    k_test = _as_2d("k_test", k_test, n)
    y = _as_2d("y", y)
    if y.shape[0] != n:
        raise ValueError(
            f"y must have {n} rows (one per training point), got {y.shape[0]}"
        )
    steps = np.asarray(list(steps))
    if (
        steps.dtype.kind not in "iuf"
        or steps.size == 0
        or steps.ndim != 1
        or np.any(steps < 0)
        or np.any(steps != np.round(steps))
    ):
        raise ValueError("steps must be a non-empty list of non-negative integers")
    lam, u = np.linalg.eigh(k_train / n)
    lam = np.clip(lam, 0.0, None)  # round-off negatives -> 0
    if not 0 < eta < 2.0 / lam.max():
        raise ValueError(
            f"eta must be in (0, 2/lam_max) = (0, {2.0 / lam.max():.4g}) for GD to converge, "
            f"got {eta}"
        )
    projected = u.T @ y / n  # [n, d]
    train_pred, test_pred = [], []
    for k in steps.astype(float):
        filt = _gd_filter(lam, eta, k)  # [n]
        c = u @ (filt[:, None] * projected)  # [n, d]
        train_pred.append(k_train @ c)
        test_pred.append(k_test @ c)
    return np.stack(train_pred), np.stack(test_pred)


def _gd_filter(lam: np.ndarray, eta: float, k: float) -> np.ndarray:
    """``(1 - (1 - eta lam)^k) / lam``, with its limit ``eta k`` at ``lam = 0``.

    ``(1 - eta lam)^k`` is taken as ``exp(k log1p(-eta lam))`` where the base is positive (accurate
    for tiny ``eta lam`` and huge ``k``) and as a plain power where it is zero or negative.
    """
    tiny = lam <= 1e-300
    safe = np.where(tiny, 1.0, lam)
    base = 1.0 - eta * safe
    with np.errstate(divide="ignore", invalid="ignore"):
        remaining = np.where(
            base > 0, np.exp(k * np.log1p(-eta * safe)), np.power(base, k)
        )
    return np.where(tiny, eta * k, (1.0 - remaining) / safe)


def best_step(steps: Sequence[int], errors: Sequence[float]) -> tuple[int, float]:
    """Oracle early stopping: the recorded step with the smallest error, and that error.

    It needs the true ``f*`` (known here), so it is a yardstick, not a rule a practitioner can run.
    Paper: course addition — the oracle stopping step (needs the true f*).
    """
    steps = check_array(steps, "steps", finite=False, nonempty=False)
    errors = check_array(errors, "errors", finite=False, nonempty=False)
    if steps.shape != errors.shape or steps.ndim != 1 or steps.size == 0:
        raise ValueError(
            f"steps and errors must be non-empty 1-D arrays of one length, got "
            f"{steps.shape} and {errors.shape}"
        )
    i = int(np.nanargmin(errors))
    return int(steps[i]), float(errors[i])


def eigenvalue_stopping_step(
    eigenvalues, eta: float, noise_sd: float, max_steps: int = 10**7
) -> int:
    """Data-dependent early stopping from the kernel's eigenvalues (Raskutti, Wainwright, Yu 2014).

    With ``lam_i`` the eigenvalues of ``K/n`` and ``R(eps) = sqrt(mean_i min(lam_i, eps^2))`` the
    empirical local kernel complexity, stop at the last step ``k`` with
    ``R(1/sqrt(eta k)) <= 1 / (2 e noise_sd eta k)``. Han et al. (2024) use a rule of this kind
    (their early-stopping assumption) to bound the generalization error. Returns the step.
    Paper: the early-stopping rule the generalization bound assumes (arXiv:2401.15604v3).
    """
    lam = check_array(eigenvalues, "eigenvalues", nonempty=False)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError("eigenvalues must be a non-empty 1-D array")
    lam = np.clip(lam, 0.0, None)
    if not (eta > 0 and noise_sd > 0 and math.isfinite(eta * noise_sd)):
        raise ValueError(f"eta and noise_sd must be positive, got {eta} and {noise_sd}")
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}")
    steps = np.unique(
        np.round(np.logspace(0, np.log10(max_steps), 3000))
    )  # [S], dense at small k
    horizon = eta * steps  # [S]
    complexity = np.sqrt(np.minimum(lam[None, :], 1.0 / horizon[:, None]).mean(1))
    ok = complexity <= 1.0 / (2 * math.e * noise_sd * horizon)
    if not ok[0]:
        return 0
    return int(steps[np.argmin(ok) - 1]) if not ok.all() else int(steps[-1])


def estimate_noise_sd(
    k_train, y, eta: float, steps: Iterable[int]
) -> tuple[float, int]:
    """Per-coordinate label-noise scale from the training data alone, by generalized cross-validation.

    Kernel GD at step ``k`` fits the training labels with a linear smoother ``S_k`` whose trace
    (its degrees of freedom) is ``df_k = sum_i (1 - (1 - eta lam_i)^k)``, ``lam_i`` the eigenvalues
    of ``K/n``. Among the steps with ``df_k <= n / 2``, take the one that minimises
    ``GCV(k) = (RSS_k / n) / (1 - df_k / n)^2`` (Craven and Wahba, 1979) and return
    ``sqrt(RSS_k / (d (n - df_k)))`` and that step, ``RSS_k`` the residual sum of squares over
    all ``d`` outputs. Needs no ``f*``: what the stopping rule's ``noise_sd`` can honestly be.
    ``k_train``: [n, n]; ``y``: [n, d]; ``steps``: candidate step counts.

    Paper: course addition — the noise level the early-stopping rule needs, from data alone.
    """
    k_train = _as_2d("k_train", k_train)
    n = k_train.shape[0]
    y = _as_2d("y", y)
    steps = np.asarray(list(steps))
    train_pred, _ = kernel_gd_predict(
        k_train, k_train[:1], y, eta, steps
    )  # validates all
    lam = np.clip(np.linalg.eigvalsh(k_train / n), 0.0, None)
    df = np.array([np.sum(lam * _gd_filter(lam, eta, float(k))) for k in steps])  # [S]
    rss = ((train_pred - y[None]) ** 2).sum(axis=(1, 2))  # [S]
    usable = df <= n / 2
    if not usable.any():
        raise ValueError(
            "every step fits more than n/2 degrees of freedom: include earlier steps"
        )
    gcv = np.full(len(steps), np.inf)
    gcv[usable] = rss[usable] / n / (1.0 - df[usable] / n) ** 2
    i = int(np.argmin(gcv))
    return float(np.sqrt(rss[i] / (y.shape[1] * (n - df[i])))), int(steps[i])
