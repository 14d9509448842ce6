"""Exact tests of utils.distillation (chapter 14) that pin what the first test file
leaves open: the exact error messages, the boundaries of the schedules, the defaults of
the training loops (learning rates by Adam's first step, batch sizes, iteration counts)
and that every random draw comes from the generator passed in."""

import numpy as np
import pytest
import torch

from utils import distillation as ds


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tiny(seed=0, hidden=4):
    return ds.ScoreMLP(hidden=hidden, depth=1, generator=gen(seed))


class CountingStudent(ds.OneStepGenerator):
    """A student that records the batch size of every call (shared by deep copies)."""

    calls: list = []

    def forward(self, z):
        CountingStudent.calls.append(len(z))
        return super().forward(z)


class RecordingAdam(torch.optim.Adam):
    """Adam that records the learning rate it was built with."""

    lrs: list = []

    def __init__(self, params, lr=1e-3, **kw):
        RecordingAdam.lrs.append(lr)
        super().__init__(params, lr=lr, **kw)


@pytest.fixture
def recorders(monkeypatch):
    CountingStudent.calls, RecordingAdam.lrs = [], []
    monkeypatch.setattr(torch.optim, "Adam", RecordingAdam)
    return CountingStudent.calls, RecordingAdam.lrs


# --------------------------------------------------------------------- small pieces
def test_forward_is_the_eps_prediction():
    m, x, s = tiny(), torch.randn(5, 2, generator=gen(1)), torch.linspace(0.1, 2, 5)
    assert torch.equal(m(x, s), m.eps(x, s))


def test_geometric_steps_fill_merged_steps_from_the_start():
    # 10 ** (k / 8), k = 1..8, rounds to 1 2 2 3 4 6 7 10: the merged 2 leaves a gap
    # that is filled with the smallest unused step, 5
    assert ds.geometric_steps(10, 8) == [1, 2, 3, 4, 5, 6, 7, 10]
    assert ds.geometric_steps(12, 12) == list(range(1, 13))
    assert ds.geometric_steps(1, 1) == [1]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ds.geometric_steps(0, 1), "total must be a positive integer, got 0"),
        (lambda: ds.geometric_steps(3, 0), "n must be a positive integer, got 0"),
        (
            lambda: ds.geometric_steps(3, 4),
            "n must be at most total, got n=4 and total=3",
        ),
        (
            lambda: ds.backtracking_schedule(0, 5, 0.1),
            "n_path must be a positive integer, got 0",
        ),
        (
            lambda: ds.backtracking_schedule(3, 0, 0.1),
            "iters must be a positive integer, got 0",
        ),
        (
            lambda: ds.backtracking_schedule(3, 5, "0.1"),
            r"walk_fraction must be in \[0, 1\), got '0.1'",
        ),
        (
            lambda: ds.backtracking_schedule(3, 5, True),
            r"walk_fraction must be in \[0, 1\), got True",
        ),
    ],
)
def test_schedule_messages(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()


def test_backtracking_schedule_is_integer_and_gives_each_checkpoint_one_step():
    sched = ds.backtracking_schedule(5, 20, 0.3)
    assert sched.dtype.kind == "i"
    # a walk of 4 iterations for 8 checkpoints: one iteration each, the walk overruns
    np.testing.assert_array_equal(
        ds.backtracking_schedule(10, 20, 0.2), [8, 7, 6, 5, 4, 3, 2, 1] + [0] * 12
    )


# ------------------------------------------------------------------- tensor checks
@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(x0=np.zeros((3, 2))), "x0 must be a torch.Tensor, got ndarray"),
        (
            dict(noise=torch.zeros(3, 2, dtype=torch.long)),
            "noise must be a floating tensor, got dtype torch.int64",
        ),
        (
            dict(x0=torch.zeros(3)),
            r"x0 must be a non-empty 2-D tensor, got shape \(3,\)",
        ),
        (
            dict(x0=torch.zeros(0, 2)),
            r"x0 must be a non-empty 2-D tensor, got shape \(0, 2\)",
        ),
        (
            dict(sigma=torch.tensor([1.0, float("nan"), 1.0])),
            r"sigma must be finite \(no NaN or infinity\)",
        ),
        (dict(sigma=torch.tensor([1.0, 0.0, 1.0])), "sigma must be > 0"),
        (
            dict(x0=torch.zeros(3, 3), noise=torch.zeros(3, 3)),
            r"x0 \(3, 3\), noise \(3, 3\) and sigma \(3,\) must be \[N, 2\], \[N, 2\] and \[N\]",
        ),
    ],
)
def test_denoising_loss_messages(kw, message):
    args = dict(
        model=tiny(), x0=torch.zeros(3, 2), sigma=torch.ones(3), noise=torch.zeros(3, 2)
    )
    with pytest.raises((ValueError, TypeError), match=f"^{message}$"):
        ds.denoising_loss(**{**args, **kw})


def test_direction_messages():
    a, x, s = tiny(), torch.zeros(3, 2), torch.ones(3)
    with pytest.raises(ValueError, match=r"^sigma must be > 0$"):
        ds.distillation_direction(a, a, x, -s)
    with pytest.raises(ValueError, match=r"^xt must be finite"):
        ds.distillation_direction(a, a, x + float("inf"), s)
    with pytest.raises(ValueError, match=r"^xt must be \[N, 2\] and sigma \[N\]"):
        ds.distillation_direction(a, a, x, torch.ones(2))


def test_sigma_as_a_number_or_one_per_point():
    x = np.zeros((3, 2))
    one = ds.ring_mixture_score(x, 0.5)
    torch.testing.assert_close(one, ds.ring_mixture_score(x, [0.5, 0.5, 0.5]))
    torch.testing.assert_close(one, ds.ring_mixture_score(x, np.array([0.5])))
    with pytest.raises(
        ValueError, match=r"^sigma must be a number or \[N\] with N=3, got \(2,\)$"
    ):
        ds.ring_mixture_score(x, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^sigma must be a number or \[N\] with N=3"):
        ds.ring_mixture_score(x, np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"^sigma must be > 0, got minimum -1.0$"):
        ds.eps_error(tiny(), x, -1.0, x)


# -------------------------------------------------------------------- stage 1 defaults
def test_record_degradation_defaults_steps_and_generator(recorders):
    calls, lrs = recorders
    teacher = tiny()
    student = CountingStudent(teacher)
    state = torch.random.get_rng_state()
    path = ds.record_degradation(teacher, student, [1, 3], generator=gen(2))
    assert torch.equal(torch.random.get_rng_state(), state)  # only `generator` drawn
    assert calls == [512, 512, 512] and lrs == [1e-3]  # 3 steps of batch 512
    assert len(path) == 3
    again = ds.record_degradation(teacher, student, [1, 3], generator=gen(2))
    for a, b in zip(path[-1].parameters(), again[-1].parameters()):
        assert torch.equal(a, b)


def test_record_degradation_first_step_moves_every_weight_by_lr():
    """Adam's first step moves each weight by lr * g / (|g| + eps) = lr (g != 0)."""
    teacher = tiny(hidden=8)
    path = ds.record_degradation(
        teacher, ds.OneStepGenerator(teacher), [1], generator=gen(3), lr=0.01, batch=64
    )
    step = torch.cat(
        [
            (a - b).abs().flatten()
            for a, b in zip(path[1].parameters(), path[0].parameters())
        ]
    )
    assert float(step.max()) == pytest.approx(0.01, rel=1e-3)
    assert float(step.median()) == pytest.approx(0.01, rel=1e-2)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(save_at=[0]), "save_at must be a positive integer, got 0"),
        (
            dict(save_at=[2, 1]),
            r"save_at must be a non-empty increasing list, got \[2, 1\]",
        ),
        (dict(lr=-1.0), "lr must be a positive finite number, got -1.0"),
        (dict(batch=0), "batch must be a positive integer, got 0"),
    ],
)
def test_record_degradation_messages(kw, message):
    teacher = tiny()
    args = dict(teacher=teacher, student=ds.OneStepGenerator(teacher), save_at=[1])
    with pytest.raises(ValueError, match=f"^{message}$"):
        ds.record_degradation(**{**args, **kw}, generator=gen())


# -------------------------------------------------------------------- stage 2 defaults
def _distill_args(n_eval=6):
    teacher = tiny(0)
    g = gen(9)
    return dict(
        student=CountingStudent(teacher),
        fake_init=tiny(1),
        path=[teacher, tiny(2)],
        eval_z=torch.randn(n_eval, 2, generator=g),
        eval_data=torch.randn(n_eval, 2, generator=g),
        directions=torch.randn(3, 2, generator=g),
    )


def test_distill_defaults_and_generator(recorders):
    calls, lrs = recorders
    kw = _distill_args()
    state = torch.random.get_rng_state()
    out = ds.distill(
        schedule=np.zeros(50, int), generator=gen(4), snapshots=(0, 1), **kw
    )
    assert torch.equal(torch.random.get_rng_state(), state)  # only `generator` drawn
    assert lrs == [5e-5, 1e-3]  # lr_g, lr_fake
    np.testing.assert_array_equal(out["iters"], [0, 25, 50])  # log_every = 25
    # per iteration: one generator batch and one fake-score batch of 256; the logs and
    # snapshots evaluate eval_z (6 points)
    assert calls.count(256) == 2 * 50 and set(calls) == {6, 256}
    # freeze_until = 0: the generator already moves in iteration 0
    assert not np.array_equal(out["samples"][0], out["samples"][1])


def test_distill_logs_the_last_iteration_and_snapshots_off_the_grid(recorders):
    calls, _ = recorders
    kw = _distill_args()
    out = ds.distill(
        schedule=np.array([1, 1, 0]),
        generator=gen(5),
        log_every=2,
        batch=8,
        snapshots=(1,),
        **kw,
    )
    np.testing.assert_array_equal(out["iters"], [0, 2, 3])
    assert sorted(out["samples"]) == [1] and out["samples"][1].shape == (6, 2)
    assert calls.count(6) == 4  # three logs and one snapshot
    assert calls.count(8) == 6


def test_distill_first_logged_fake_loss_by_hand():
    """The logged fake loss is the fake score's denoising loss on the student's samples,
    with one fixed draw of sigma in sigma_range and of the noise, taken first."""
    kw = _distill_args(n_eval=50)
    out = ds.distill(
        schedule=np.array([0]), generator=gen(6), sigma_range=(0.2, 0.7), **kw
    )
    g = gen(6)
    probe_s = ds.sample_sigmas(50, g, 0.2, 0.7)
    probe_e = torch.randn(50, 2, generator=g)
    with torch.no_grad():
        xs = kw["student"](kw["eval_z"])
        expected = float(ds.denoising_loss(kw["fake_init"], xs, probe_s, probe_e))
        sw = ds.sliced_wasserstein(xs, kw["eval_data"], kw["directions"])
    assert out["fake_loss"][0] == pytest.approx(expected, rel=1e-6)
    assert out["sw"][0] == pytest.approx(sw, rel=1e-6)


def test_distill_learning_rates_reach_adam(recorders):
    _, lrs = recorders
    ds.distill(
        schedule=np.array([0]),
        generator=gen(),
        lr_g=0.3,
        lr_fake=0.2,
        **_distill_args(),
    )
    assert lrs == [0.3, 0.2]


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(schedule=[]), "schedule must be a non-empty 1-D array of path indices"),
        (
            dict(schedule=[[0]]),
            "schedule must be a non-empty 1-D array of path indices",
        ),
        (dict(schedule=[0, 2]), r"schedule holds ids outside 0\.\.1"),
        (dict(schedule=[0, -1]), r"schedule holds ids outside 0\.\.1"),
        (
            dict(schedule=[0.0, 1.0]),
            "schedule must hold integer ids, got dtype float64",
        ),
        (dict(lr_g=0.0), "lr_g must be a positive finite number, got 0.0"),
        (dict(lr_fake=np.inf), "lr_fake must be a positive finite number, got inf"),
        (dict(batch=0), "batch must be a positive integer, got 0"),
        (dict(log_every=0), "log_every must be a positive integer, got 0"),
        (dict(freeze_until=-1), "freeze_until must be an integer >= 0, got -1"),
        (dict(freeze_until=1.0), "freeze_until must be an integer >= 0, got 1.0"),
        (dict(freeze_until=True), "freeze_until must be an integer >= 0, got True"),
        (dict(sigma_range=(0.1,)), r"sigma_range must be \(lo, hi\), got \(0.1,\)"),
        (
            dict(sigma_range=(0.0, 1.0)),
            r"sigma_range\[0\] must be a positive finite number, got 0.0",
        ),
        (
            dict(sigma_range=(0.1, np.nan)),
            r"sigma_range\[1\] must be a positive finite number, got nan",
        ),
        (
            dict(sigma_range=(1.0, 1.0)),
            r"sigma_range must have lo < hi, got \(1.0, 1.0\)",
        ),
        (dict(eval_z=np.zeros((6, 2))), "eval_z must be a torch.Tensor, got ndarray"),
        (dict(eval_data=np.zeros((6, 3))), r"eval_data must have shape \[N, 2\]"),
        (dict(directions=np.zeros((0, 2))), "directions is empty"),
    ],
)
def test_distill_messages(kw, message):
    args = {**_distill_args(), "schedule": [0], **kw}
    with pytest.raises((ValueError, TypeError), match=f"^{message}"):
        ds.distill(generator=gen(), **args)


# ------------------------------------------------- every argument named in its error
X3 = np.zeros((3, 2))
NAMED = [
    (
        ds.ring_mixture_sample,
        dict(n=0, generator=gen()),
        "n must be a positive integer, got 0",
    ),
    (
        ds.ring_mixture_sample,
        dict(n=2, generator=gen(), k=0),
        "k must be a positive integer, got 0",
    ),
    (
        ds.ring_mixture_sample,
        dict(n=2, generator=gen(), radius=0.0),
        "radius must be a positive finite number, got 0.0",
    ),
    (
        ds.ring_mixture_sample,
        dict(n=2, generator=gen(), std=-1.0),
        "std must be a positive finite number, got -1.0",
    ),
    (
        ds.ring_mixture_score,
        dict(x=np.zeros(3), sigma=1.0),
        "x must be 2-D, got shape (3,)",
    ),
    (
        ds.ring_mixture_score,
        dict(x=np.zeros((3, 3)), sigma=1.0),
        "x must have shape [N, 2], got (3, 3)",
    ),
    (ds.ring_mixture_score, dict(x=X3, sigma=np.nan), "sigma must be finite"),
    (
        ds.ring_mixture_score,
        dict(x=X3, sigma=[1.0, 1.0, 0.0]),
        "sigma must be > 0, got minimum 0.0",
    ),
    (
        ds.ring_mixture_score,
        dict(x=X3, sigma=1.0, k=0),
        "k must be a positive integer, got 0",
    ),
    (
        ds.ring_mixture_score,
        dict(x=X3, sigma=1.0, radius=np.inf),
        "radius must be a positive finite number, got inf",
    ),
    (
        ds.ring_mixture_score,
        dict(x=X3, sigma=1.0, std=0.0),
        "std must be a positive finite number, got 0.0",
    ),
    (
        ds.sample_sigmas,
        dict(n=0, generator=gen()),
        "n must be a positive integer, got 0",
    ),
    (
        ds.sample_sigmas,
        dict(n=2, generator=gen(), lo=0.0),
        "lo must be a positive finite number, got 0.0",
    ),
    (
        ds.sample_sigmas,
        dict(n=2, generator=gen(), hi=-1.0),
        "hi must be a positive finite number, got -1.0",
    ),
    (
        ds.sample_sigmas,
        dict(n=2, generator=gen(), lo=1.0, hi=1.0),
        "lo must be below hi, got lo=1.0 and hi=1.0",
    ),
    (
        ds.train_teacher,
        dict(generator=gen(), steps=0),
        "steps must be a positive integer, got 0",
    ),
    (
        ds.train_teacher,
        dict(generator=gen(), steps=1, batch=0),
        "batch must be a positive integer, got 0",
    ),
    (
        ds.train_teacher,
        dict(generator=gen(), steps=1, lr=0.0),
        "lr must be a positive finite number, got 0.0",
    ),
    (
        ds.train_teacher,
        dict(generator=gen(), steps=1, hidden=0),
        "hidden must be a positive integer, got 0",
    ),
    (ds.ScoreMLP, dict(hidden=4, depth=0), "depth must be a positive integer, got 0"),
    (
        ds.OneStepGenerator,
        dict(teacher=torch.nn.Linear(2, 2)),
        "teacher must be a ScoreMLP, got Linear",
    ),
    (
        ds.OneStepGenerator,
        dict(teacher=ds.ScoreMLP(hidden=2), sigma_g=0.0),
        "sigma_g must be a positive finite number, got 0.0",
    ),
    (
        ds.sliced_wasserstein,
        dict(x=X3, y=np.zeros((4, 2)), directions=np.ones((1, 2))),
        "x and y must have the same length, got 3 and 4",
    ),
    (
        ds.sliced_wasserstein,
        dict(x=X3, y=X3, directions=np.array([[1.0, 0.0], [0.0, 0.0]])),
        "directions must be non-zero vectors",
    ),
    (
        ds.sliced_wasserstein,
        dict(x=X3, y=X3, directions=np.full((1, 2), 7e-13)),
        "directions must be non-zero vectors",
    ),
    (
        ds.sliced_wasserstein,
        dict(x=X3, y=np.zeros((3, 3)), directions=np.ones((1, 2))),
        "y must have shape [N, 2], got (3, 3)",
    ),
    (
        ds.sliced_wasserstein,
        dict(x=X3, y=X3, directions=np.ones((1, 3))),
        "directions must have shape [N, 2], got (1, 3)",
    ),
    (
        ds.eps_error,
        dict(model=None, x0=X3, sigma=1.0, noise=np.zeros((4, 2))),
        "x0 and noise must have the same shape, got (3, 2) and (4, 2)",
    ),
    (
        ds.eps_error,
        dict(model=None, x0=X3, sigma=1.0, noise=np.zeros((3, 3))),
        "noise must have shape [N, 2], got (3, 3)",
    ),
]


@pytest.mark.parametrize(
    "func, kwargs, message", NAMED, ids=lambda v: getattr(v, "__name__", None)
)
def test_errors_name_the_argument(func, kwargs, message):
    import re

    with pytest.raises(ValueError, match="^" + re.escape(message)):
        func(**kwargs)


def test_tiny_directions_are_still_directions():
    x, y = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 0.0], [3.0, 0.0]])
    d = np.array([[2e-12, 0.0]])  # norm above 1e-12: normalised to (1, 0)
    assert ds.sliced_wasserstein(x, y, d) == pytest.approx(1.0)


def test_sample_defaults_replayed():
    x = ds.ring_mixture_sample(5, gen(3))
    g = gen(3)
    modes = torch.randint(0, 8, (5,), generator=g)
    noise = torch.randn(5, 2, generator=g)
    angles = 2 * np.pi * modes.numpy() / 8
    ref = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1) + 0.15 * noise.numpy()
    np.testing.assert_allclose(x.numpy(), ref, atol=1e-5)
    s = ds.sample_sigmas(6, gen(4))
    u = torch.rand(6, generator=gen(4)).numpy()
    np.testing.assert_allclose(
        s.numpy(), np.exp(np.log(0.02) + u * (np.log(3.0) - np.log(0.02))), rtol=1e-5
    )
    # a score at the default ring: one point on the circle at angle 0
    score = ds.ring_mixture_score(np.array([[2.0, 0.0]]), 1e-3, k=1)
    np.testing.assert_allclose(score.numpy(), [[0.0, 0.0]], atol=1e-4)


def test_score_mlp_layout_and_initial_ranges():
    m = ds.ScoreMLP(generator=gen(1))
    linears = [layer for layer in m.net if isinstance(layer, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (3, 96),
        (96, 96),
        (96, 96),
        (96, 2),
    ]
    assert sum(isinstance(layer, torch.nn.SiLU) for layer in m.net) == 3
    for lin in linears:
        bound = 1 / np.sqrt(lin.in_features)
        w = lin.weight.abs().max().item()
        assert 0.9 * bound < w <= bound
    biases = torch.cat([lin.bias for lin in linears]).abs()
    assert 0.045 < biases.max().item() <= 0.05  # every bias, not by fan-in
    plain = ds.ScoreMLP(hidden=4)  # without a generator: torch's own initialisation
    assert plain.net[0].bias.abs().max().item() <= 1 / np.sqrt(3)


def test_one_step_generator_by_hand():
    teacher = tiny(3)
    student = ds.OneStepGenerator(teacher)
    assert student.sigma_g == 3.0
    z = torch.randn(4, 2, generator=gen(5))
    with torch.no_grad():
        xs = 3.0 * z
        ref = xs - 3.0 * teacher.eps(xs, torch.full((4,), 3.0))
        torch.testing.assert_close(student(z), ref)
    assert all(p.requires_grad for p in student.parameters())
    assert not any(
        p.requires_grad
        for p in ds.train_teacher(gen(), steps=1, batch=4, hidden=4).parameters()
    )


def test_train_teacher_defaults(monkeypatch):
    seen = {"batches": [], "steps": 0, "lrs": []}

    def fake_sample(n, generator, **kw):
        seen["batches"].append(n)
        return torch.zeros(n, 2)

    def fake_loss(model, x0, sigma, noise):
        seen["steps"] += 1
        assert len(sigma) == len(noise) == len(x0)
        return sum(p.sum() for p in model.parameters()) * 0.0

    class Adam(torch.optim.Adam):
        def __init__(self, params, lr):
            seen["lrs"].append(lr)
            super().__init__(params, lr=lr)

    monkeypatch.setattr(ds, "ring_mixture_sample", fake_sample)
    monkeypatch.setattr(ds, "denoising_loss", fake_loss)
    monkeypatch.setattr(torch.optim, "Adam", Adam)
    model = ds.train_teacher(gen())
    assert seen["steps"] == 1500 and set(seen["batches"]) == {512}
    assert seen["lrs"] == [2e-3] and model.net[0].out_features == 96


def test_after_the_measured_run_more_names_and_boundaries():
    """Added after the measured mutation run (kills survivors it listed)."""
    a, x = tiny(), torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"^sigma must be > 0$"):
        ds.distillation_direction(a, a, x, torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"^sigma must be finite"):
        ds.distillation_direction(a, a, x, torch.tensor([1.0, float("nan"), 1.0]))
    with pytest.raises(ValueError, match=r"^x0 must have shape \[N, 2\]"):
        ds.eps_error(a, np.zeros((3, 3)), 1.0, np.zeros((3, 2)))
    # the default ring has 8 modes: the score vanishes on each centre (tiny blur)
    angles = 2 * np.pi * np.arange(8) / 8
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
    np.testing.assert_allclose(ds.ring_mixture_score(centres, 1e-3), 0.0, atol=1e-3)
    # a direction of norm exactly 1e-12 is kept (only smaller ones are refused)
    d = np.array([[1e-12, 0.0]])
    assert ds.sliced_wasserstein(np.zeros((2, 2)), np.ones((2, 2)), d) == pytest.approx(
        1.0
    )


def test_train_teacher_is_a_function_of_its_generator():
    # (building nn.Linear layers draws from torch's global generator, so only the
    # result, not the global state, is checked)
    a = ds.train_teacher(gen(1), steps=2, batch=4, hidden=4)
    with torch.random.fork_rng():
        torch.manual_seed(123)  # a different global state must not matter
        b = ds.train_teacher(gen(1), steps=2, batch=4, hidden=4)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
