"""utils.core: exact messages, every boundary and parameter of the seed, device, threads and
setup helpers (the mutants tests/test_core.py lets through)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import torch

from utils import core


def _raises(error, msg, func, *args, **kwargs):
    with pytest.raises(error, match="^" + re.escape(msg) + "$"):
        func(*args, **kwargs)


@pytest.fixture
def clean_env(monkeypatch):
    for name in (core.SEED_ENV, core.THREADS_ENV, core.DEVICE_ENV):
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    yield monkeypatch
    torch.set_num_threads(before)


def test_env_names_and_default():
    assert (core.SEED_ENV, core.THREADS_ENV, core.DEVICE_ENV) == (
        "COURSE_SEED",
        "COURSE_THREADS",
        "COURSE_DEVICE",
    )
    assert core.DEFAULT_SEED == 0


def test_parse_nonnegative_int():
    assert core._parse_nonnegative_int("X", " 3 ") == 3
    assert core._parse_nonnegative_int("X", "0") == 0
    _raises(
        ValueError,
        "X must be a non-negative integer, got '-1'",
        core._parse_nonnegative_int,
        "X",
        "-1",
    )
    _raises(
        ValueError,
        "X must be a non-negative integer, got 'abc'",
        core._parse_nonnegative_int,
        "X",
        "abc",
    )


def test_get_seed(clean_env):
    assert core.get_seed() == 0
    assert core.get_seed(7) == 7
    clean_env.setenv("COURSE_SEED", "   ")
    assert core.get_seed(7) == 7
    clean_env.setenv("COURSE_SEED", " 12 ")
    assert core.get_seed(7) == 12
    clean_env.setenv("COURSE_SEED", "x1")
    _raises(
        ValueError,
        "COURSE_SEED must be a non-negative integer, got 'x1'",
        core.get_seed,
    )


def test_seed_everything_seeds_all_three_generators(clean_env):
    assert core.seed_everything(5) == 5
    a = (random.random(), np.random.rand(), float(torch.rand(1)))
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    assert a == (random.random(), np.random.rand(), float(torch.rand(1)))
    # numpy's global seed is taken modulo 2**32
    big = 2**32 + 5
    assert core.seed_everything(big) == big
    x = np.random.rand()
    np.random.seed(5)
    assert x == np.random.rand()
    assert type(core.seed_everything(np.int64(3))) is int
    assert core.seed_everything(0) == 0
    clean_env.setenv("COURSE_SEED", "9")
    assert core.seed_everything() == 9
    for bad in (-1, 1.0, True, "3"):
        _raises(
            ValueError,
            f"seed must be a non-negative integer, got {bad!r}",
            core.seed_everything,
            bad,
        )


def test_torch_generator_streams():
    g = core.torch_generator(2, 3)
    assert torch.equal(
        torch.rand(4, generator=g),
        torch.rand(4, generator=torch.Generator().manual_seed(2003)),
    )
    g0 = core.torch_generator(2)
    assert g0.initial_seed() == 2000
    assert core.torch_generator(np.int64(1), np.int64(999)).initial_seed() == 1999
    assert core.torch_generator(0, 0).initial_seed() == 0
    _raises(
        ValueError, "stream must be below 1000, got 1000", core.torch_generator, 0, 1000
    )
    for name, args, bad in (
        ("seed", (-1, 0), -1),
        ("stream", (0, -1), -1),
        ("seed", (True, 0), True),
        ("stream", (0, 1.0), 1.0),
    ):
        _raises(
            ValueError,
            f"{name} must be a non-negative integer, got {bad!r}",
            core.torch_generator,
            *args,
        )


def test_get_device(clean_env):
    clean_env.setattr(torch.cuda, "is_available", lambda: False)
    for prefer in (None, "", "auto", " AUTO ", "cpu", "CPU"):
        assert core.get_device(prefer) == torch.device("cpu")
    clean_env.setenv("COURSE_DEVICE", "cpu")
    assert core.get_device() == torch.device("cpu")
    clean_env.setenv("COURSE_DEVICE", "cuda:1")
    _raises(
        RuntimeError,
        "COURSE_DEVICE='cuda:1' but no CUDA GPU is available",
        core.get_device,
    )
    _raises(
        ValueError,
        "unknown device 'tpu': use 'auto', 'cpu' or 'cuda'",
        core.get_device,
        "tpu",
    )
    # with a GPU: auto picks cuda, cuda:N is kept
    clean_env.setattr(torch.cuda, "is_available", lambda: True)
    clean_env.delenv("COURSE_DEVICE")
    assert core.get_device() == torch.device("cuda")
    assert core.get_device("auto") == torch.device("cuda")
    assert core.get_device("cuda:1") == torch.device("cuda:1")
    assert core.get_device("cpu") == torch.device("cpu")


def test_configure_threads(clean_env):
    torch.set_num_threads(2)
    assert core.configure_threads() == 2
    clean_env.setenv("COURSE_THREADS", " ")
    assert core.configure_threads() == 2
    clean_env.setenv("COURSE_THREADS", "1")
    assert core.configure_threads() == 1 and torch.get_num_threads() == 1
    assert core.configure_threads(2) == 2 and torch.get_num_threads() == 2
    clean_env.setenv("COURSE_THREADS", "0")
    _raises(
        ValueError, "thread count must be at least 1, got 0", core.configure_threads
    )
    _raises(
        ValueError, "thread count must be at least 1, got 0", core.configure_threads, 0
    )
    clean_env.setenv("COURSE_THREADS", "two")
    _raises(
        ValueError,
        "COURSE_THREADS must be a non-negative integer, got 'two'",
        core.configure_threads,
    )


def test_setup_and_course(clean_env, capsys):
    import sys

    clean_env.setattr(torch.cuda, "is_available", lambda: False)
    torch.set_num_threads(1)
    course = core.setup(7, seed=4, style=False)
    assert (course.chapter, course.seed, course.device, course.threads) == (
        7,
        4,
        torch.device("cpu"),
        1,
    )
    assert course.rng.random() == np.random.default_rng(4).random()
    assert course.torch_generator(3).initial_seed() == 4003
    assert course.torch_generator().initial_seed() == 4000
    out = capsys.readouterr().out
    assert out == (
        f"Chapter 07 | seed 4 (set COURSE_SEED to change) | device cpu "
        f"| torch threads 1 | python {sys.version.split()[0]}\n"
    )
    report = course.report()
    assert (
        report["seed"] == 4
        and report["device"] == "cpu"
        and report["torch threads"] == 1
    )
    assert report["torch"] == torch.__version__ and report["numpy"] == np.__version__
    assert set(report) == {
        "python",
        "platform",
        "numpy",
        "torch",
        "scikit-learn",
        "matplotlib",
        "device",
        "torch threads",
        "cpu cores",
        "seed",
    }
    for bad in (-1, 100, 1.0, "3"):
        _raises(
            ValueError,
            f"chapter must be an int between 0 and 99, got {bad!r}",
            core.setup,
            bad,
            style=False,
        )
    assert core.setup(0, seed=1, style=False).chapter == 0
    assert core.setup(99, seed=1, style=False).chapter == 99


def test_setup_applies_the_course_style(clean_env, capsys):
    import matplotlib

    matplotlib.rcdefaults()
    before = dict(matplotlib.rcParams)
    core.setup(1, seed=0, style=True)
    assert dict(matplotlib.rcParams) != before
    matplotlib.rcdefaults()
    core.setup(1, seed=0, style=False)
    assert dict(matplotlib.rcParams) == before
