"""Distribution Backtracking (DisBack) for one-step diffusion distillation.

Chapter 14 of the course. Paper: Shengyuan Zhang, Ling Yang, Zejian Li, An Zhao, Chenye
Meng, Changyuan Yang, Guang Yang, Zhiyuan Yang, Lingyun Sun (2025). Distribution
Backtracking Builds A Faster Convergence Trajectory for Diffusion Distillation. ICLR
2025, arXiv:2408.15991v3. Official code: https://github.com/SYZhang0805/DisBack. This
module is written from the paper's definitions (Algorithms 1 and 2); every public
function names the part of the paper it implements in a ``Paper:`` line of its
docstring.

The miniature: a 2-D ring of Gaussians (exact score known), a small ε-predicting
teacher, a one-step student that starts as a copy of the teacher run once at a large
noise level (as in the official code), score distillation with a "fake" score of the
student, degradation recording and backtracking along the recorded checkpoints. Shapes:
``[N, 2]`` points, ``[N]`` noise levels.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np
import torch
from torch import nn

from utils.validation import check_array, check_positive, check_positive_int

__all__ = [
    "ring_mixture_sample",
    "ring_mixture_score",
    "ScoreMLP",
    "OneStepGenerator",
    "sample_sigmas",
    "denoising_loss",
    "train_teacher",
    "geometric_steps",
    "record_degradation",
    "backtracking_schedule",
    "distillation_direction",
    "distill",
    "sliced_wasserstein",
    "eps_error",
]


def _points(x, name: str) -> torch.Tensor:
    """``x`` as a float32 tensor [N, 2]; ValueError naming ``name`` otherwise."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    arr = check_array(arr, name, ndim=2)
    if arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape [N, 2], got {arr.shape}")
    return torch.as_tensor(arr, dtype=torch.float32)


def _sigmas(sigma, n: int, name: str = "sigma") -> torch.Tensor:
    """``sigma`` (a number or [N]) as a positive float32 tensor [N]."""
    if isinstance(sigma, torch.Tensor):
        sigma = sigma.detach().cpu().numpy()
    arr = check_array(sigma, name)
    if arr.ndim > 1 or arr.size not in (1, n):
        raise ValueError(f"{name} must be a number or [N] with N={n}, got {arr.shape}")
    arr = np.broadcast_to(arr, (n,)).copy()
    if (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got minimum {float(arr.min())!r}")
    return torch.as_tensor(arr, dtype=torch.float32)


def _tensor(x, name: str, ndim: int) -> torch.Tensor:
    """``x`` as a finite floating tensor with ``ndim`` axes; else an error naming it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating tensor, got dtype {x.dtype}")
    if x.dim() != ndim or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty {ndim}-D tensor, got shape {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return x


def _ring_centres(k: int, radius: float) -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float32) / k
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # [K, 2]


def ring_mixture_sample(
    n: int,
    generator: torch.Generator,
    *,
    k: int = 8,
    radius: float = 2.0,
    std: float = 0.15,
) -> torch.Tensor:
    """``n`` exact samples [n, 2] of ``k`` equal Gaussians (std ``std``) on a circle.

    Paper: course addition — the 2-D stand-in for the paper's image data sets.
    """
    n, k = check_positive_int(n, "n"), check_positive_int(k, "k")
    radius, std = check_positive(radius, "radius"), check_positive(std, "std")
    modes = torch.randint(0, k, (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator)
    return _ring_centres(k, radius)[modes] + std * noise


def ring_mixture_score(
    x, sigma, *, k: int = 8, radius: float = 2.0, std: float = 0.15
) -> torch.Tensor:
    """Exact score ∇ log p_σ(x) [N, 2] of the ring mixture blurred by N(0, σ² I).

    Each component becomes N(c_j, (std² + σ²) I); the score is the responsibility-
    weighted pull towards the centres, Σ_j r_j(x) (c_j − x) / (std² + σ²).
    Paper: course addition — the exact score that measures the teacher's score mismatch.
    """
    x = _points(x, "x")
    s = _sigmas(sigma, len(x))
    k = check_positive_int(k, "k")
    radius, std = check_positive(radius, "radius"), check_positive(std, "std")
    var = (std**2 + s**2)[:, None]  # [N, 1]
    centres = _ring_centres(k, radius)  # [K, 2]
    diff = centres[None, :, :] - x[:, None, :]  # [N, K, 2]
    logits = -(diff**2).sum(-1) / (2 * var)  # [N, K]
    resp = torch.softmax(logits, dim=1)
    return (resp[:, :, None] * diff).sum(1) / var  # [N, 2]


class ScoreMLP(nn.Module):
    """ε-predicting score network: (x/√(1+σ²), log σ / 4) → ε̂, score = −ε̂/σ.

    Paper: preliminaries, the diffusion score model s_θ (arXiv:2408.15991v3).

    Used as the teacher, the fake score and the checkpoints of the degradation path.
    """

    def __init__(
        self, hidden: int = 96, depth: int = 3, generator: torch.Generator | None = None
    ):
        super().__init__()
        hidden, depth = (
            check_positive_int(hidden, "hidden"),
            check_positive_int(depth, "depth"),
        )
        layers, width = [], 3
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*layers)
        if generator is not None:
            for p in self.parameters():
                bound = 1 / math.sqrt(p.shape[-1]) if p.dim() > 1 else 0.05
                with torch.no_grad():
                    p.uniform_(-bound, bound, generator=generator)

    def eps(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Predicted noise ε̂ [N, 2] at points x [N, 2] and noise levels sigma [N]."""
        inp = torch.cat(
            [x / torch.sqrt(1 + sigma[:, None] ** 2), torch.log(sigma)[:, None] / 4],
            dim=1,
        )  # [N, 3]
        return self.net(inp)

    def score(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Score estimate −ε̂/σ [N, 2]."""
        return -self.eps(x, sigma) / sigma[:, None]

    def forward(self, x, sigma):
        return self.eps(x, sigma)


class OneStepGenerator(nn.Module):
    """One-step student x = D(σ_g z; σ_g) = σ_g z − σ_g ε̂(σ_g z, σ_g), started from
    the teacher.

    Paper: the student generator G_stu of Algorithms 1-2 (arXiv:2408.15991v3).

    As in the official code, the generator starts as a copy of the teacher evaluated
    once at a single large noise level.
    """

    def __init__(self, teacher: ScoreMLP, sigma_g: float = 3.0):
        super().__init__()
        if not isinstance(teacher, ScoreMLP):
            raise ValueError(
                f"teacher must be a ScoreMLP, got {type(teacher).__name__}"
            )
        self.sigma_g = check_positive(sigma_g, "sigma_g")
        self.net = copy.deepcopy(teacher)
        for p in self.net.parameters():
            p.requires_grad_(True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        xs = self.sigma_g * z  # [N, 2]
        s = torch.full((len(z),), self.sigma_g)
        return xs - self.sigma_g * self.net.eps(xs, s)


def sample_sigmas(
    n: int, generator: torch.Generator, lo: float = 0.02, hi: float = 3.0
) -> torch.Tensor:
    """``n`` noise levels [n], log-uniform on [lo, hi].

    Paper: course addition — the noise-level distribution of the miniature's training.
    """
    n = check_positive_int(n, "n")
    lo, hi = check_positive(lo, "lo"), check_positive(hi, "hi")
    if lo >= hi:
        raise ValueError(f"lo must be below hi, got lo={lo} and hi={hi}")
    u = torch.rand(n, generator=generator)
    return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def denoising_loss(
    model: ScoreMLP, x0: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Denoising score matching loss mean ‖ε̂(x0 + σ ε, σ) − ε‖² (a scalar tensor).

    Paper: denoising loss of Algorithm 1 and the fake-score update (arXiv:2408.15991v3).

    Also used to train the teacher.
    """
    x0, noise = _tensor(x0, "x0", 2), _tensor(noise, "noise", 2)
    sigma = _tensor(sigma, "sigma", 1)
    if (sigma <= 0).any():
        raise ValueError("sigma must be > 0")
    if x0.shape != noise.shape or x0.shape[1] != 2 or len(sigma) != len(x0):
        raise ValueError(
            f"x0 {tuple(x0.shape)}, noise {tuple(noise.shape)} and sigma "
            f"{tuple(sigma.shape)} must be [N, 2], [N, 2] and [N]"
        )
    xt = x0 + sigma[:, None] * noise
    return ((model.eps(xt, sigma) - noise) ** 2).sum(1).mean()


def train_teacher(
    generator: torch.Generator,
    *,
    steps: int = 1500,
    batch: int = 512,
    lr: float = 2e-3,
    hidden: int = 96,
) -> ScoreMLP:
    """Train the "pretrained" teacher by denoising score matching on the ring (Adam,
    cosine).

    Paper: course addition — stands in for the paper's pretrained EDM teacher.
    """
    steps, batch = (
        check_positive_int(steps, "steps"),
        check_positive_int(batch, "batch"),
    )
    lr = check_positive(lr, "lr")
    model = ScoreMLP(hidden=hidden, generator=generator)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        x0 = ring_mixture_sample(batch, generator)
        loss = denoising_loss(
            model,
            x0,
            sample_sigmas(batch, generator),
            torch.randn(batch, 2, generator=generator),
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.requires_grad_(False)


def geometric_steps(total: int, n: int) -> list[int]:
    """``n`` distinct checkpoint steps in 1..total, geometrically spaced, ending at
    ``total``.

    Paper: course addition — checkpoint spacing for the 2-D degradation path.

    Algorithm 1 saves checkpoints at fixed intervals; in 2-D the copy changes fastest
    at the start, so the miniature spaces them geometrically (dense early).
    """
    total, n = check_positive_int(total, "total"), check_positive_int(n, "n")
    if n > total:
        raise ValueError(f"n must be at most total, got n={n} and total={total}")
    steps = np.unique(np.round(np.geomspace(1, total, n + 1)[1:]).astype(int))
    while len(steps) < n:  # rounding merged some steps: fill from the start
        extra = min(set(range(1, total + 1)) - set(steps.tolist()))
        steps = np.unique(np.append(steps, extra))
    return [int(s) for s in steps]


def _frozen(model: ScoreMLP) -> ScoreMLP:
    return copy.deepcopy(model).requires_grad_(False)


def record_degradation(
    teacher: ScoreMLP,
    student: OneStepGenerator,
    save_at,
    *,
    generator: torch.Generator,
    lr: float = 1e-3,
    batch: int = 512,
) -> list[ScoreMLP]:
    """Stage 1: fine-tune a teacher copy on the frozen initial student's samples.

    Returns the degradation path [s'_0 = teacher, s'_1, ..., s'_N]: frozen copies saved
    after each step count in ``save_at`` (increasing). The student is never updated.
    Paper: Algorithm 1, Degradation Recording (arXiv:2408.15991v3).
    """
    save_at = [check_positive_int(s, "save_at") for s in save_at]
    if not save_at or any(b <= a for a, b in zip(save_at, save_at[1:])):
        raise ValueError(f"save_at must be a non-empty increasing list, got {save_at}")
    lr, batch = check_positive(lr, "lr"), check_positive_int(batch, "batch")
    model = copy.deepcopy(teacher).requires_grad_(True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    path = [_frozen(teacher)]
    for step in range(1, save_at[-1] + 1):
        with torch.no_grad():
            x0 = student(torch.randn(batch, 2, generator=generator))
        loss = denoising_loss(
            model,
            x0,
            sample_sigmas(batch, generator),
            torch.randn(batch, 2, generator=generator),
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in save_at:
            path.append(_frozen(model))
    return path


def backtracking_schedule(n_path: int, iters: int, walk_fraction: float) -> np.ndarray:
    """Target index per generator iteration [iters]: N−1, ..., 1 over the walk, then 0.

    ``n_path`` = N + 1 models (teacher first). The walk spends ``walk_fraction`` of the
    iterations, in equal shares per intermediate checkpoint; the teacher (index 0) is
    the target for the rest. ``walk_fraction=0`` gives the plain method (always the
    teacher).
    Paper: Algorithm 2, Distribution Backtracking, target schedule (arXiv:2408.15991v3).
    """
    n_path, iters = (
        check_positive_int(n_path, "n_path"),
        check_positive_int(iters, "iters"),
    )
    if (
        isinstance(walk_fraction, bool)
        or not isinstance(walk_fraction, numbers.Real)
        or not 0 <= walk_fraction < 1
    ):
        raise ValueError(f"walk_fraction must be in [0, 1), got {walk_fraction!r}")
    schedule = np.zeros(iters, dtype=int)
    n_mid = n_path - 2  # checkpoints strictly between the teacher and the path's end
    walk = int(round(walk_fraction * iters))
    if n_mid < 1 or walk == 0:
        return schedule
    share = max(walk // n_mid, 1)
    for j, target in enumerate(range(n_path - 2, 0, -1)):
        schedule[j * share : (j + 1) * share] = target
    return schedule


def distillation_direction(
    fake: ScoreMLP, target: ScoreMLP, xt: torch.Tensor, sigma: torch.Tensor
) -> torch.Tensor:
    """Per-sample update direction g = σ² (s_fake − s_target)(x_t, σ) [N, 2].

    The generator loss ½‖x0 − sg(x0 − g)‖² has gradient g·∂x0/∂η: the score-distillation
    gradient with weight w(σ) = σ². In ε form, g = σ (ε̂_target − ε̂_fake).
    Paper: score-distillation gradient, Algorithm 2 generator step (arXiv:2408.15991v3).
    """
    xt, sigma = _tensor(xt, "xt", 2), _tensor(sigma, "sigma", 1)
    if (sigma <= 0).any():
        raise ValueError("sigma must be > 0")
    if xt.shape[1] != 2 or len(sigma) != len(xt):
        raise ValueError(
            f"xt must be [N, 2] and sigma [N], got {tuple(xt.shape)} and "
            f"{tuple(sigma.shape)}"
        )
    with torch.no_grad():
        return sigma[:, None] * (target.eps(xt, sigma) - fake.eps(xt, sigma))


def sliced_wasserstein(x, y, directions) -> float:
    """Sliced Wasserstein-1 distance: mean over unit directions [P, 2] of the 1-D W1
    distance between the projections of x [N, 2] and y [N, 2] (equal sizes: sorted
    differences).

    Paper: course addition — the miniature's quality metric, in place of the FID.
    """
    x, y = _points(x, "x"), _points(y, "y")
    d = _points(directions, "directions")
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length, got {len(x)} and {len(y)}"
        )
    norms = d.norm(dim=1, keepdim=True)
    if (norms < 1e-12).any():
        raise ValueError("directions must be non-zero vectors")
    d = d / norms
    px, _ = torch.sort(x @ d.T, dim=0)  # [N, P]
    py, _ = torch.sort(y @ d.T, dim=0)
    return float((px - py).abs().mean())


def eps_error(model: ScoreMLP, x0, sigma: float, noise) -> float:
    """Mean ‖ε̂(x_t, σ) − ε*(x_t, σ)‖² at x_t = x0 + σ·noise, where ε* = −σ·(exact
    score).

    Paper: the score mismatch issue of the introduction, measured (arXiv:2408.15991v3).
    """
    x0, noise = _points(x0, "x0"), _points(noise, "noise")
    if x0.shape != noise.shape:
        raise ValueError(
            f"x0 and noise must have the same shape, got {tuple(x0.shape)} and "
            f"{tuple(noise.shape)}"
        )
    s = _sigmas(sigma, len(x0))
    xt = x0 + s[:, None] * noise
    with torch.no_grad():
        truth = -s[:, None] * ring_mixture_score(xt, s)
        return float(((model.eps(xt, s) - truth) ** 2).sum(1).mean())


def distill(
    student: OneStepGenerator,
    fake_init: ScoreMLP,
    path: list[ScoreMLP],
    schedule,
    *,
    generator: torch.Generator,
    eval_z: torch.Tensor,
    eval_data: torch.Tensor,
    directions: torch.Tensor,
    freeze_until: int = 0,
    lr_g: float = 5e-5,
    lr_fake: float = 1e-3,
    batch: int = 256,
    sigma_range: tuple[float, float] = (0.05, 3.0),
    log_every: int = 25,
    snapshots=(),
) -> dict:
    """Stage 2 (and the plain method): alternate generator and fake-score updates.

    At iteration k the target score is ``path[schedule[k]]``; the fake score starts from
    ``fake_init`` and follows the student by denoising score matching. Generator updates
    are skipped while k < ``freeze_until`` (the "do-nothing walk" control). Works on a
    copy of the student. Returns a dict of logged curves: ``iters``, ``sw`` (sliced
    Wasserstein to ``eval_data``), ``fake_loss`` (the fake score's denoising loss on
    fresh student samples, the score-mismatch measure), plus ``samples`` {iteration: [M,
    2]} for ``snapshots``.
    Paper: Algorithm 2, generator and fake-score updates (arXiv:2408.15991v3).
    """
    schedule = np.asarray(schedule)
    if schedule.ndim != 1 or len(schedule) == 0:
        raise ValueError("schedule must be a non-empty 1-D array of path indices")
    if not np.issubdtype(schedule.dtype, np.integer):
        raise ValueError(f"schedule must hold integer ids, got dtype {schedule.dtype}")
    if schedule.min() < 0 or schedule.max() >= len(path):
        raise ValueError(f"schedule holds ids outside 0..{len(path) - 1}")
    eval_z = _tensor(eval_z, "eval_z", 2)
    _points(eval_data, "eval_data")
    _points(directions, "directions")
    if (
        isinstance(freeze_until, bool)
        or not isinstance(freeze_until, numbers.Integral)
        or freeze_until < 0
    ):
        raise ValueError(f"freeze_until must be an integer >= 0, got {freeze_until!r}")
    if len(sigma_range) != 2:
        raise ValueError(f"sigma_range must be (lo, hi), got {sigma_range!r}")
    lo = check_positive(sigma_range[0], "sigma_range[0]")
    hi = check_positive(sigma_range[1], "sigma_range[1]")
    if lo >= hi:
        raise ValueError(f"sigma_range must have lo < hi, got {sigma_range!r}")
    lr_g, lr_fake = check_positive(lr_g, "lr_g"), check_positive(lr_fake, "lr_fake")
    batch, log_every = (
        check_positive_int(batch, "batch"),
        check_positive_int(log_every, "log_every"),
    )
    gen = copy.deepcopy(student)
    fake = copy.deepcopy(fake_init).requires_grad_(True)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr_g)
    opt_f = torch.optim.Adam(fake.parameters(), lr=lr_fake)
    n_eval = len(eval_z)
    probe_s = sample_sigmas(
        n_eval, generator, lo, hi
    )  # one fixed noise draw for the logs
    probe_e = torch.randn(n_eval, 2, generator=generator)
    out = {"iters": [], "sw": [], "fake_loss": [], "samples": {}}
    iters = len(schedule)
    for k in range(iters + 1):  # pragma: no mutate (a longer range stops at the break)
        log_now, keep = k % log_every == 0 or k == iters, k in snapshots
        if log_now or keep:
            with torch.no_grad():
                xs = gen(eval_z)
                if log_now:
                    out["iters"].append(k)
                    out["sw"].append(sliced_wasserstein(xs, eval_data, directions))
                    out["fake_loss"].append(
                        float(denoising_loss(fake, xs, probe_s, probe_e))
                    )
                if keep:
                    out["samples"][k] = xs.numpy()
        if k == iters:
            break
        if k >= freeze_until:  # generator update against the current target
            x0 = gen(torch.randn(batch, 2, generator=generator))
            s = sample_sigmas(batch, generator, lo, hi)
            xt = x0.detach() + s[:, None] * torch.randn(batch, 2, generator=generator)
            g = distillation_direction(fake, path[int(schedule[k])], xt, s)
            loss_g = 0.5 * ((x0 - (x0 - g).detach()) ** 2).sum(1).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        with torch.no_grad():  # fake-score update on fresh student samples
            x0 = gen(torch.randn(batch, 2, generator=generator))
        loss_f = denoising_loss(
            fake,
            x0,
            sample_sigmas(batch, generator, lo, hi),
            torch.randn(batch, 2, generator=generator),
        )
        opt_f.zero_grad()
        loss_f.backward()
        opt_f.step()
    out = {key: (np.asarray(v) if key != "samples" else v) for key, v in out.items()}
    return out
