"""The shared parts of the bad-input table (``tests/test_bad_inputs.py``).

One file per ``utils`` module may live beside this one, ``tests/bad_inputs/<module>.py``, so
that authors of different modules never edit the same file. Such a file defines

* ``ROWS``: a list of :class:`Row` (function, valid example arguments, argument to corrupt, how);
* ``KNOWN_GAPS`` (optional): ``{(row id, kind): reason}`` for corruptions the function still
  accepts; they run as strict expected failures;
* ``NO_ARRAY_INPUT`` (optional): ``{"module.function": reason}`` for public functions whose inputs
  are models, generators, dataclasses or text, so they get no row.

A module with a file here counts as covered: every public function of it needs a row or an entry
in ``NO_ARRAY_INPUT`` (``test_every_public_function_has_a_row_or_is_listed``).

Kinds of corruption: ``nan``, ``inf``, ``empty``, ``shape`` (one more leading axis), ``prob`` (a
value outside [0, 1]), ``dtype`` (strings for arrays; float for integer tensors and vice versa),
``id`` (an id >= ``Row.vocab`` or negative), ``negative``, ``logits`` (not log-probabilities).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Row", "ARRAY", "PROB", "OUTCOME", "corrupt"]


@dataclass(frozen=True)
class Row:
    func: Callable
    valid: Callable[[], dict]  # fresh valid keyword arguments
    arg: str  # the argument to corrupt
    kinds: tuple[str, ...]  # how: nan inf empty shape prob dtype id
    vocab: int = 0  # for "id": the first invalid id

    @property
    def id(self) -> str:
        return f"{self.func.__module__.split('.')[-1]}.{self.func.__name__}[{self.arg}]"


ARRAY = ("nan", "inf", "empty", "dtype")
PROB = ("nan", "inf", "empty", "shape", "prob", "dtype")
OUTCOME = ("nan", "inf", "empty", "shape", "prob", "dtype")


def _set_one(value, index: int, new):
    if isinstance(value, torch.Tensor):
        out = value.clone()
        flat = out.view(-1) if out.is_contiguous() else out.reshape(-1)
        if not out.dtype.is_floating_point and isinstance(new, float):
            out = out.double()
            flat = out.view(-1)
        flat[index % flat.numel()] = new
        return out
    if np.ndim(value) == 0:
        return type(new)(new) if not isinstance(value, torch.Tensor) else new
    out = np.array(
        value, dtype=float if isinstance(new, float) else np.asarray(value).dtype
    )
    out.reshape(-1)[index % out.size] = new
    return out


def corrupt(row: Row, value, kind: str, index: int, scale: float):
    if kind == "nan":
        return _set_one(value, index, float("nan"))
    if kind == "inf":
        return _set_one(value, index, math.copysign(float("inf"), scale))
    if kind == "prob":
        bad = 1.0 + abs(scale) if scale > 0 else -abs(scale) - 1e-3
        return _set_one(value, index, bad)
    if kind == "negative":
        return _set_one(value, index, -abs(scale))
    if kind == "empty":
        if isinstance(value, torch.Tensor):
            return value[:0]
        return np.asarray(value)[:0]
    if kind == "shape":
        return (
            value[None]
            if isinstance(value, torch.Tensor | np.ndarray)
            else np.array([[value]])
        )
    if kind == "dtype":
        if isinstance(value, torch.Tensor):
            return value.float() if not value.dtype.is_floating_point else value.long()
        return np.array(["a"] * max(1, np.size(value)))
    if kind == "id":
        bad = row.vocab + int(abs(scale)) if scale >= 0 else -1
        if np.ndim(value) == 0 and not isinstance(value, torch.Tensor):
            return bad
        return _set_one(value, index, bad)
    if kind == "logits":  # not log-probabilities: raw scores, some positive
        return value + 1.0 + abs(scale)
    raise AssertionError(kind)
