"""Unit tests of utils.distillation (chapter 14): DisBack in a 2-D miniature."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from utils.distillation import (
    OneStepGenerator,
    ScoreMLP,
    backtracking_schedule,
    denoising_loss,
    distill,
    distillation_direction,
    eps_error,
    geometric_steps,
    record_degradation,
    ring_mixture_sample,
    ring_mixture_score,
    sample_sigmas,
    sliced_wasserstein,
    train_teacher,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def small_teacher():
    return train_teacher(gen(0), steps=150, batch=128, hidden=32)


# --- data and exact score -------------------------------------------------------------


def test_ring_sample_shape_and_modes():
    x = ring_mixture_sample(4000, gen(), k=4, radius=3.0, std=0.01)
    assert x.shape == (4000, 2)
    np.testing.assert_allclose(x.norm(dim=1).numpy(), 3.0, atol=0.05)
    angles = np.round(np.degrees(torch.atan2(x[:, 1], x[:, 0]).numpy()) / 90) % 4
    assert sorted(set(angles.astype(int).tolist())) == [0, 1, 2, 3]


def test_ring_sample_std():
    x = ring_mixture_sample(20000, gen(), k=1, radius=2.0, std=0.5)
    np.testing.assert_allclose(x.mean(0).numpy(), [2.0, 0.0], atol=0.02)
    np.testing.assert_allclose(x.std(0).numpy(), [0.5, 0.5], atol=0.02)


def test_ring_score_single_gaussian_closed_form():
    # one component at (r, 0): score = (c - x) / (std^2 + sigma^2)
    x = torch.tensor([[0.3, -0.4], [2.0, 1.0]])
    s = ring_mixture_score(x, 0.5, k=1, radius=1.5, std=0.2)
    expected = (torch.tensor([1.5, 0.0]) - x) / (0.04 + 0.25)
    np.testing.assert_allclose(s.numpy(), expected.numpy(), rtol=1e-5)


def test_ring_score_matches_autograd_of_log_density():
    k, radius, std, sigma = 8, 2.0, 0.15, torch.tensor([0.1, 0.4, 1.0, 2.5])
    x = torch.randn(4, 2, generator=gen(3)).double() * 2
    x.requires_grad_(True)
    ang = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    c = radius * torch.stack([ang.cos(), ang.sin()], 1)
    var = (std**2 + sigma.double() ** 2)[:, None]
    logp = torch.logsumexp(-((x[:, None] - c[None]) ** 2).sum(-1) / (2 * var), 1)
    (grad,) = torch.autograd.grad(logp.sum(), x)
    ours = ring_mixture_score(x.detach(), sigma, k=k, radius=radius, std=std)
    np.testing.assert_allclose(ours.numpy(), grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n must"),
        (dict(n=5, k=0), "k must"),
        (dict(n=5, std=0.0), "std must"),
        (dict(n=5, radius=-1.0), "radius must"),
    ],
)
def test_ring_sample_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ring_mixture_sample(generator=gen(), **kwargs)


def test_ring_score_rejects_bad_input():
    with pytest.raises(ValueError, match="sigma must be > 0"):
        ring_mixture_score(torch.zeros(3, 2), 0.0)
    with pytest.raises(ValueError, match=r"x must have shape \[N, 2\]"):
        ring_mixture_score(torch.zeros(3, 3), 1.0)
    with pytest.raises(ValueError, match="x must be finite"):
        ring_mixture_score(torch.tensor([[0.0, float("nan")]]), 1.0)


# --- networks and losses --------------------------------------------------------------


def test_score_is_minus_eps_over_sigma():
    model = ScoreMLP(hidden=8, generator=gen(1))
    x, s = torch.randn(5, 2, generator=gen(2)), torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        model.score(x, s).detach().numpy(),
        (-model.eps(x, s) / s[:, None]).detach().numpy(),
        rtol=1e-6,
    )
    assert (
        ScoreMLP(hidden=8, generator=gen(1))
        .state_dict()["net.0.weight"]
        .equal(model.state_dict()["net.0.weight"])
    )


def test_score_mlp_input_scaling():
    # the network sees x / sqrt(1 + sigma^2) and log(sigma) / 4
    model = ScoreMLP(hidden=4, depth=1, generator=gen(1))
    x, s = torch.tensor([[1.0, 2.0]]), torch.tensor([2.0])
    inp = torch.tensor([[1 / math.sqrt(5), 2 / math.sqrt(5), math.log(2.0) / 4]])
    np.testing.assert_allclose(
        model.eps(x, s).detach().numpy(), model.net(inp).detach().numpy(), rtol=1e-6
    )
    with pytest.raises(ValueError, match="hidden"):
        ScoreMLP(hidden=0)


def test_denoising_loss_by_hand():
    model = ScoreMLP(hidden=4, depth=1, generator=gen(1))
    x0, noise = torch.randn(6, 2, generator=gen(4)), torch.randn(6, 2, generator=gen(5))
    s = torch.linspace(0.1, 2.0, 6)
    pred = model.eps(x0 + s[:, None] * noise, s)
    expected = torch.nn.functional.mse_loss(pred, noise, reduction="sum") / 6
    assert float(denoising_loss(model, x0, s, noise).detach()) == pytest.approx(
        float(expected.detach()), rel=1e-6
    )
    with pytest.raises(ValueError, match="x0"):
        denoising_loss(model, x0, s, noise[:3])


def test_sample_sigmas_log_uniform():
    s = sample_sigmas(20000, gen(), 0.1, 10.0)
    assert float(s.min()) >= 0.1 and float(s.max()) <= 10.0
    np.testing.assert_allclose(
        float(torch.log(s).mean()), 0.5 * (math.log(0.1) + math.log(10)), atol=0.05
    )
    np.testing.assert_allclose(float((s < 1.0).float().mean()), 0.5, atol=0.02)
    with pytest.raises(ValueError, match="lo must be below hi"):
        sample_sigmas(3, gen(), 2.0, 2.0)
    with pytest.raises(ValueError, match="lo must"):
        sample_sigmas(3, gen(), 0.0, 2.0)


def test_teacher_learns_the_score_on_data(small_teacher):
    teacher = train_teacher(gen(0), steps=600, batch=256, hidden=32)
    x0 = ring_mixture_sample(2000, gen(7))
    noise = torch.randn(2000, 2, generator=gen(8))
    assert eps_error(teacher, x0, 1.0, noise) < 0.5 * eps_error(
        small_teacher, x0, 1.0, noise
    )
    assert not any(p.requires_grad for p in teacher.parameters())
    with pytest.raises(ValueError, match="steps"):
        train_teacher(gen(0), steps=0)


def test_eps_error_exact_model_is_zero_and_by_hand():
    class Exact(ScoreMLP):
        def eps(self, x, sigma):
            return -sigma[:, None] * ring_mixture_score(x, sigma)

    x0, noise = ring_mixture_sample(50, gen(1)), torch.randn(50, 2, generator=gen(2))
    assert eps_error(Exact(hidden=2), x0, 0.3, noise) == pytest.approx(0.0, abs=1e-10)

    class Zero(ScoreMLP):
        def eps(self, x, sigma):
            return torch.zeros_like(x)

    xt = x0 + 0.3 * noise
    truth = (0.3 * ring_mixture_score(xt, 0.3)).pow(2).sum(1).mean()
    assert eps_error(Zero(hidden=2), x0, 0.3, noise) == pytest.approx(
        float(truth), rel=1e-5
    )
    with pytest.raises(ValueError, match="x0 and noise"):
        eps_error(Zero(hidden=2), x0, 0.3, noise[:10])


def test_one_step_generator_is_teacher_denoiser(small_teacher):
    g = OneStepGenerator(small_teacher, sigma_g=2.5)
    z = torch.randn(7, 2, generator=gen(3))
    s = torch.full((7,), 2.5)
    expected = 2.5 * z - 2.5 * small_teacher.eps(2.5 * z, s)
    np.testing.assert_allclose(
        g(z).detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6
    )
    assert all(p.requires_grad for p in g.parameters())
    assert not any(p.requires_grad for p in small_teacher.parameters())
    with pytest.raises(ValueError, match="sigma_g"):
        OneStepGenerator(small_teacher, sigma_g=0.0)
    with pytest.raises(ValueError, match="teacher must"):
        OneStepGenerator(torch.nn.Linear(2, 2))


# --- stage 1: degradation recording ---------------------------------------------------


def test_geometric_steps():
    assert geometric_steps(300, 8) == [2, 4, 8, 17, 35, 72, 147, 300]
    assert geometric_steps(5, 5) == [1, 2, 3, 4, 5]
    assert geometric_steps(10, 1) == [10]
    with pytest.raises(ValueError, match="n must be at most total"):
        geometric_steps(3, 4)


def test_record_degradation_path(small_teacher):
    student = OneStepGenerator(small_teacher)
    before = [p.clone() for p in student.parameters()]
    path = record_degradation(
        small_teacher, student, [5, 20, 100], generator=gen(4), lr=5e-3, batch=128
    )
    assert len(path) == 4
    for a, b in zip(path[0].parameters(), small_teacher.parameters()):
        assert torch.equal(a, b)  # starts exactly at the teacher
    for a, b in zip(student.parameters(), before):
        assert torch.equal(a, b)  # the student is frozen in stage 1
    assert all(not p.requires_grad for m in path for p in m.parameters())
    # the path moves away from the teacher, towards the initial student
    with torch.no_grad():
        xs = student(torch.randn(2000, 2, generator=gen(5)))
    s, e = sample_sigmas(2000, gen(6)), torch.randn(2000, 2, generator=gen(7))
    losses = [float(denoising_loss(m, xs, s, e)) for m in path]
    assert losses[0] > losses[1] > losses[-1] and losses[-1] < 0.9 * losses[0]
    dist = [
        sum(float((a - b).norm()) for a, b in zip(m.parameters(), path[0].parameters()))
        for m in path
    ]
    assert dist[0] == 0.0 and dist[1] < dist[2] < dist[3]


def test_record_degradation_rejects_bad_steps(small_teacher):
    student = OneStepGenerator(small_teacher)
    with pytest.raises(ValueError, match="save_at must be a non-empty increasing"):
        record_degradation(small_teacher, student, [5, 5], generator=gen())
    with pytest.raises(ValueError, match="save_at"):
        record_degradation(small_teacher, student, [], generator=gen())
    with pytest.raises(ValueError, match="lr"):
        record_degradation(small_teacher, student, [1], generator=gen(), lr=0.0)


# --- stage 2: backtracking ------------------------------------------------------------


def test_backtracking_schedule_by_hand():
    sched = backtracking_schedule(
        5, 20, 0.3
    )  # path: teacher + 4 checkpoints; walk 6 iters
    np.testing.assert_array_equal(sched, [3, 3, 2, 2, 1, 1] + [0] * 14)
    np.testing.assert_array_equal(backtracking_schedule(5, 10, 0.0), np.zeros(10))
    np.testing.assert_array_equal(backtracking_schedule(2, 10, 0.5), np.zeros(10))
    np.testing.assert_array_equal(backtracking_schedule(3, 10, 0.5), [1] * 5 + [0] * 5)
    sched = backtracking_schedule(9, 600, 0.15)
    assert sched[0] == 7 and sched[-1] == 0 and (np.diff(sched) <= 0).all()
    assert set(sched.tolist()) == set(range(8))
    with pytest.raises(ValueError, match="walk_fraction"):
        backtracking_schedule(5, 10, 1.0)
    with pytest.raises(ValueError, match="walk_fraction"):
        backtracking_schedule(5, 10, -0.1)
    with pytest.raises(ValueError, match="n_path"):
        backtracking_schedule(0, 10, 0.1)


def test_distillation_direction_by_hand():
    a, b = ScoreMLP(hidden=4, generator=gen(1)), ScoreMLP(hidden=4, generator=gen(2))
    x, s = torch.randn(5, 2, generator=gen(3)), torch.linspace(0.2, 2.0, 5)
    g = distillation_direction(a, b, x, s)
    expected = s[:, None] ** 2 * (a.score(x, s) - b.score(x, s))
    np.testing.assert_allclose(
        g.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-6
    )
    assert float(distillation_direction(a, a, x, s).abs().max()) == 0.0
    with pytest.raises(ValueError, match="xt must be"):
        distillation_direction(a, b, x[:, :1], s)


def _setup(teacher, n=400):
    g = gen(9)
    return dict(
        eval_z=torch.randn(n, 2, generator=g),
        eval_data=ring_mixture_sample(n, g),
        directions=torch.randn(16, 2, generator=g),
    )


def test_distill_moves_student_towards_target_and_logs(small_teacher):
    student = OneStepGenerator(small_teacher)
    kw = _setup(small_teacher)
    out = distill(
        student,
        small_teacher,
        [small_teacher],
        np.zeros(30, int),
        generator=gen(1),
        log_every=10,
        lr_g=1e-3,
        snapshots=(0, 30),
        **kw,
    )
    np.testing.assert_array_equal(out["iters"], [0, 10, 20, 30])
    assert out["sw"].shape == (4,) and out["fake_loss"].shape == (4,)
    with torch.no_grad():
        np.testing.assert_allclose(
            out["samples"][0], student(kw["eval_z"]).numpy(), atol=1e-6
        )
    assert not np.allclose(out["samples"][30], out["samples"][0])
    # the input student is not modified
    frozen = distill(
        student,
        small_teacher,
        [small_teacher],
        np.zeros(30, int),
        generator=gen(1),
        log_every=10,
        freeze_until=30,
        snapshots=(30,),
        **kw,
    )
    np.testing.assert_allclose(frozen["samples"][30], out["samples"][0], atol=1e-6)
    assert len(set(np.round(frozen["sw"], 9))) == 1
    assert frozen["fake_loss"][-1] != frozen["fake_loss"][0]  # fake score still trains


def test_distill_rejects_bad_schedule(small_teacher):
    student, kw = OneStepGenerator(small_teacher), _setup(small_teacher)
    with pytest.raises(ValueError, match="schedule holds ids"):
        distill(student, small_teacher, [small_teacher], [1, 0], generator=gen(), **kw)
    with pytest.raises(ValueError, match="schedule must"):
        distill(student, small_teacher, [small_teacher], [], generator=gen(), **kw)
    with pytest.raises(ValueError, match="lr_fake"):
        distill(
            student,
            small_teacher,
            [small_teacher],
            [0],
            generator=gen(),
            lr_fake=0.0,
            **kw,
        )


# --- sliced Wasserstein ---------------------------------------------------------------


def test_sliced_wasserstein_matches_scipy_per_direction():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 2)), rng.normal(1.0, 2.0, size=(300, 2))
    d = rng.normal(size=(5, 2))
    u = d / np.linalg.norm(d, axis=1, keepdims=True)
    expected = np.mean([wasserstein_distance(x @ v, y @ v) for v in u])
    assert sliced_wasserstein(x, y, d) == pytest.approx(expected, rel=1e-5)


def test_sliced_wasserstein_known_cases():
    x = np.zeros((4, 2))
    assert sliced_wasserstein(x, x + [3.0, 0.0], [[1.0, 0.0]]) == pytest.approx(3.0)
    assert sliced_wasserstein(x, x + [3.0, 0.0], [[0.0, 2.0]]) == pytest.approx(0.0)
    assert sliced_wasserstein(
        x, x + [3.0, 4.0], [[3.0, 4.0], [1.0, 0.0]]
    ) == pytest.approx(4.0)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(50, 2))
    assert sliced_wasserstein(a, a[::-1], rng.normal(size=(8, 2))) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "x, y, d, message",
    [
        (np.zeros((3, 2)), np.zeros((4, 2)), [[1.0, 0.0]], "same length"),
        (
            np.zeros((3, 3)),
            np.zeros((3, 3)),
            [[1.0, 0.0]],
            r"x must have shape \[N, 2\]",
        ),
        (np.zeros((0, 2)), np.zeros((0, 2)), [[1.0, 0.0]], "x is empty"),
        (np.zeros((3, 2)), np.full((3, 2), np.inf), [[1.0, 0.0]], "y must be finite"),
        (
            np.zeros((3, 2)),
            np.zeros((3, 2)),
            [[0.0, 0.0]],
            "directions must be non-zero",
        ),
    ],
)
def test_sliced_wasserstein_rejects_bad_input(x, y, d, message):
    with pytest.raises(ValueError, match=message):
        sliced_wasserstein(x, y, d)


class _ExactRing(ScoreMLP):
    """A 'teacher' whose noise prediction is the exact one of the ring mixture."""

    def eps(self, x, sigma):
        return -sigma[:, None] * ring_mixture_score(x, sigma)


def test_distill_towards_exact_target_improves_quality(small_teacher):
    # a sign error in the generator loss or in the direction would push samples away
    student, kw = OneStepGenerator(small_teacher), _setup(small_teacher)
    target = _ExactRing(hidden=2)
    out = distill(
        student,
        small_teacher,
        [target],
        np.zeros(80, int),
        generator=gen(2),
        lr_g=2e-3,
        log_every=40,
        **kw,
    )
    assert out["sw"][-1] < 0.8 * out["sw"][0]
    still = distill(
        student,
        small_teacher,
        [target],
        np.zeros(80, int),
        generator=gen(2),
        lr_g=2e-3,
        log_every=40,
        freeze_until=80,
        **kw,
    )
    assert still["sw"][-1] == pytest.approx(still["sw"][0])
