"""Input checks shared by the paper modules: one clear ``ValueError`` that names the argument.

Every public function of a paper module checks its inputs before it computes anything, so that a
student who passes the wrong thing reads what is wrong instead of a NaN or a shape error three
calls deeper. The checks here are the ones several modules need; a module keeps its own checks
for what only it knows (a vocabulary size, a feature table).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_array",
    "check_probabilities",
    "check_binary",
    "check_outcomes",
    "check_same_length",
    "check_positive_int",
    "check_positive",
]


def check_array(
    values,
    name: str,
    *,
    ndim: int | None = None,
    finite: bool = True,
    nonempty: bool = True,
) -> np.ndarray:
    """``values`` as a float array; ``ValueError`` naming ``name`` when it is not numeric, has
    the wrong number of dimensions, is empty (``nonempty``) or holds NaN/inf (``finite``)."""
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(float)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} is empty")
    if finite and not np.isfinite(arr).all():
        i = np.flatnonzero(~np.isfinite(arr.ravel()))[0]
        raise ValueError(
            f"{name} must be finite; its element {int(i)} (flat index) is "
            f"{float(arr.ravel()[i])!r}"
        )
    return arr


def check_probabilities(p, name: str = "p_hat", *, ndim: int | None = 1) -> np.ndarray:
    """``p`` as a float array of values in [0, 1]; ``ValueError`` names the first bad index."""
    arr = check_array(p, name, ndim=ndim, finite=False)
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; {name}[{i}] = "
            f"{float(arr.ravel()[i])!r} ({int(bad.sum())} bad value(s))"
        )
    return arr


def check_binary(y, name: str = "y", *, ndim: int | None = 1) -> np.ndarray:
    """``y`` as a float array of 0s and 1s; ``ValueError`` names the first bad index."""
    arr = check_array(y, name, ndim=ndim, finite=False)
    bad = ~((arr == 0.0) | (arr == 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{name} must hold outcomes 0 or 1; {name}[{i}] = {float(arr.ravel()[i])!r}"
        )
    return arr


check_outcomes = check_binary  # the name chapter 01 uses


def check_same_length(**arrays) -> int:
    """All keyword arrays have the same first dimension; returns it.

    ``check_same_length(p_hat=p, y=y)`` raises ``ValueError: p_hat and y must have the same
    length, got 3 and 4``.
    """
    if len(arrays) < 2:
        raise ValueError("check_same_length needs at least two named arrays")
    lengths = {name: len(np.asarray(a)) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        names = " and ".join(lengths)
        got = " and ".join(str(n) for n in lengths.values())
        raise ValueError(f"{names} must have the same length, got {got}")
    return next(iter(lengths.values()))


def check_positive_int(value, name: str) -> int:
    """``value`` as a Python int >= 1 (``True`` is not an int here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_positive(value, name: str) -> float:
    """``value`` as a finite float > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (np.isfinite(value) and value > 0)
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)
