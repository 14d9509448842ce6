"""Bad-input rows of utils.core (seed, device, threads, set-up); the format is in ``__init__.py``."""

from __future__ import annotations

from bad_inputs import Row
from utils import core

SEED = ("negative", "nan", "inf", "dtype")

ROWS = [
    Row(core.get_seed, lambda: {"default": 0}, "default", ("negative",)),
    Row(core.seed_everything, lambda: {"seed": 3}, "seed", SEED),
    Row(core.torch_generator, lambda: {"seed": 3, "stream": 2}, "seed", SEED),
    Row(
        core.torch_generator,
        lambda: {"seed": 3, "stream": 2},
        "stream",
        (*SEED, "id"),
        vocab=1000,
    ),
    Row(core.setup, lambda: {"chapter": 1, "seed": 0, "style": False}, "chapter", SEED),
    Row(core.setup, lambda: {"chapter": 1, "seed": 0, "style": False}, "seed", SEED),
]


NO_ARRAY_INPUT = {
    "core.get_device": "its input is a device name (text)",
    "core.configure_threads": "its one number is checked ('thread count must be at least 1'), "
    "but a one-letter argument name 'n' cannot be told apart from the letter in the message",
}
