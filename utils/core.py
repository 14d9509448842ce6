"""Course core: seeding, device, threads and the one-line set-up every notebook calls.

Environment variables read here (all optional):

``COURSE_SEED``
    integer seed for python, numpy and torch (default 0). Every claim must hold for any seed.
``COURSE_THREADS``
    number of torch threads. The test runner and the benchmark set it to 1 when several
    notebooks run side by side: on a 2-core machine, two notebooks with one thread each were
    far faster than two notebooks fighting over two threads each.
``COURSE_DEVICE``
    force ``"cpu"`` (or ``"cuda"``); by default a GPU is used when one is present.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: importing torch takes a second
    import torch

SEED_ENV = "COURSE_SEED"
THREADS_ENV = "COURSE_THREADS"
DEVICE_ENV = "COURSE_DEVICE"
DEFAULT_SEED = 0


def _parse_nonnegative_int(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(
            f"{name} must be a non-negative integer, got {text!r}"
        ) from None
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {text!r}")
    return value


def get_seed(default: int = DEFAULT_SEED) -> int:
    """Return the course seed: ``COURSE_SEED`` from the environment, else ``default``.

    Raises ``ValueError`` with the variable's name when it is not a non-negative integer
    (``COURSE_SEED=abc`` or ``-1``): a silent fallback would make a "seed sweep" test one seed.
    A ``default`` that is not a non-negative integer is refused the same way.
    """
    if (
        isinstance(default, bool)
        or not isinstance(default, (int, np.integer))
        or default < 0
    ):
        raise ValueError(
            f"default must be a non-negative integer seed, got {default!r}"
        )
    text = os.environ.get(SEED_ENV, "")
    if text.strip() == "":
        return int(default)
    return _parse_nonnegative_int(SEED_ENV, text)


def seed_everything(seed: int | None = None) -> int:
    """Seed python's ``random``, numpy's global generator and torch (CPU and GPU).

    ``seed=None`` reads ``COURSE_SEED``. Returns the seed used. Prefer the generator returned by
    :func:`setup` (``course.rng``) in new code; the global seeds are for libraries that use them.
    """
    if seed is None:
        seed = get_seed()
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    # torch is a course requirement, but keep the core importable without it
    try:
        import torch
    except ImportError:
        return seed
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def torch_generator(seed: int, stream: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` for random stream ``stream`` of course seed ``seed``.

    Streams keep independent random choices apart (the data, the initialisation, the batches)
    so that changing one part of a notebook does not shift the random numbers of another.
    The generator is seeded with ``1000 * seed + stream``.
    """
    import torch

    for name, value in (("seed", seed), ("stream", stream)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or value < 0
        ):
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if stream >= 1000:
        raise ValueError(f"stream must be below 1000, got {stream}")
    return torch.Generator().manual_seed(1000 * int(seed) + int(stream))


def get_device(prefer: str | None = None) -> torch.device:
    """The torch device to use: a CUDA GPU when present, otherwise the CPU.

    ``prefer`` (or ``COURSE_DEVICE``) may force ``"cpu"`` or ``"cuda"``; asking for CUDA on a
    machine without one raises ``RuntimeError`` instead of silently running on the CPU.
    """
    import torch

    choice = (prefer or os.environ.get(DEVICE_ENV, "")).strip().lower()
    if choice in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"{DEVICE_ENV}={choice!r} but no CUDA GPU is available")
        return torch.device(choice)
    raise ValueError(f"unknown device {choice!r}: use 'auto', 'cpu' or 'cuda'")


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count and return it.

    ``n=None`` reads ``COURSE_THREADS``; when that is unset, torch keeps its default (all
    cores), which is best for one notebook running alone in JupyterLab.
    """
    import torch

    if n is None:
        text = os.environ.get(THREADS_ENV, "")
        if text.strip() == "":
            return torch.get_num_threads()
        n = _parse_nonnegative_int(THREADS_ENV, text)
    if n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    torch.set_num_threads(int(n))
    return torch.get_num_threads()


@dataclass
class Course:
    """What :func:`setup` returns: the seed, a numpy generator seeded with it, the device."""

    chapter: int
    seed: int
    device: torch.device
    threads: int
    rng: np.random.Generator = field(repr=False)

    def torch_generator(self, stream: int = 0) -> torch.Generator:
        """A torch generator for random stream ``stream`` of this course seed (see
        :func:`utils.core.torch_generator`)."""
        return torch_generator(self.seed, stream)

    def report(self) -> dict:
        """Versions and settings, for the environment report of the preface."""
        import matplotlib
        import sklearn
        import torch

        return {
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "matplotlib": matplotlib.__version__,
            "device": str(self.device),
            "torch threads": self.threads,
            "cpu cores": os.cpu_count(),
            "seed": self.seed,
        }


def setup(chapter: int, seed: int | None = None, style: bool = True) -> Course:
    """One call at the top of every chapter notebook.

    Seeds everything from ``COURSE_SEED`` (or ``seed``), applies the thread setting, picks the
    device, applies the course's plot style, and prints one line saying so.
    """
    if not isinstance(chapter, int) or not 0 <= chapter <= 99:
        raise ValueError(f"chapter must be an int between 0 and 99, got {chapter!r}")
    seed = seed_everything(seed)
    threads = configure_threads()
    device = get_device()
    if style:
        from utils.plotting import use_course_style

        use_course_style()
    course = Course(
        chapter=chapter,
        seed=seed,
        device=device,
        threads=threads,
        rng=np.random.default_rng(seed),
    )
    print(
        f"Chapter {chapter:02d} | seed {seed} (set COURSE_SEED to change) | device {device} "
        f"| torch threads {threads} | python {sys.version.split()[0]}"
    )
    return course
