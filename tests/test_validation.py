"""utils.validation: each check's exact message, its boundaries and its return value."""

from __future__ import annotations

import re

import numpy as np
import pytest

from utils import validation as v


def _raises(msg, func, *args, **kwargs):
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        func(*args, **kwargs)


def test_check_array_returns_float_copy_of_numbers_and_bools():
    out = v.check_array([1, 2, 3], "x")
    assert out.dtype == float and out.tolist() == [1.0, 2.0, 3.0]
    out = v.check_array(np.array([True, False]), "x")
    assert out.dtype == float and out.tolist() == [1.0, 0.0]
    out = v.check_array([[1, 2]], "x", ndim=2)
    assert out.shape == (1, 2)


def test_check_array_messages():
    _raises("x must be numeric, got dtype <U1", v.check_array, ["a"], "x")
    _raises(
        "x must be numeric, got dtype object",
        v.check_array,
        np.array([1, None], dtype=object),
        "x",
    )
    _raises("x must be 1-D, got shape (1, 2)", v.check_array, [[1, 2]], "x", ndim=1)
    _raises("x must be 2-D, got shape (2,)", v.check_array, [1, 2], "x", ndim=2)
    _raises("x is empty", v.check_array, [], "x")
    _raises(
        "x must be finite; its element 1 (flat index) is nan",
        v.check_array,
        [0.0, np.nan, np.inf],
        "x",
    )
    _raises(
        "x must be finite; its element 2 (flat index) is -inf",
        v.check_array,
        [0.0, 1.0, -np.inf],
        "x",
    )


def test_check_array_switches():
    assert v.check_array([], "x", nonempty=False).size == 0
    out = v.check_array([np.nan, np.inf], "x", finite=False)
    assert np.isnan(out[0]) and np.isinf(out[1])
    # ndim=None accepts any shape; ndim=0 is checked, not treated as "no check"
    assert v.check_array(np.ones((2, 2, 2)), "x").shape == (2, 2, 2)
    _raises("x must be 0-D, got shape (1,)", v.check_array, [1.0], "x", ndim=0)
    assert v.check_array(3.0, "x", ndim=0).shape == ()


def test_check_probabilities_boundaries_and_messages():
    assert v.check_probabilities([0.0, 0.5, 1.0]).tolist() == [0.0, 0.5, 1.0]
    _raises(
        "p_hat must hold probabilities in [0, 1]; p_hat[1] = 1.5 (2 bad value(s))",
        v.check_probabilities,
        [0.2, 1.5, -0.1],
    )
    _raises(
        "q must hold probabilities in [0, 1]; q[0] = -1e-12 (1 bad value(s))",
        v.check_probabilities,
        [-1e-12, 0.3],
        "q",
    )
    _raises(
        "q must hold probabilities in [0, 1]; q[2] = nan (1 bad value(s))",
        v.check_probabilities,
        [0.1, 0.2, np.nan],
        "q",
    )
    _raises(
        "q must hold probabilities in [0, 1]; q[0] = inf (1 bad value(s))",
        v.check_probabilities,
        [np.inf],
        "q",
    )
    _raises("q must be 1-D, got shape (1, 1)", v.check_probabilities, [[0.5]], "q")
    assert v.check_probabilities([[0.5]], "q", ndim=2).shape == (1, 1)
    assert v.check_probabilities([[0.5]], "q", ndim=None).shape == (1, 1)
    _raises("q is empty", v.check_probabilities, [], "q")


def test_check_binary_and_alias():
    assert v.check_outcomes is v.check_binary
    assert v.check_binary([0, 1, True]).tolist() == [0.0, 1.0, 1.0]
    _raises("y must hold outcomes 0 or 1; y[1] = 0.5", v.check_binary, [1, 0.5, 2])
    _raises(
        "won must hold outcomes 0 or 1; won[0] = nan", v.check_binary, [np.nan], "won"
    )
    _raises("won must be 1-D, got shape (1, 1)", v.check_binary, [[1]], "won")
    assert v.check_binary([[1]], "won", ndim=2).shape == (1, 1)
    assert v.check_binary([[1]], "won", ndim=None).shape == (1, 1)


def test_check_same_length():
    assert v.check_same_length(a=[1, 2, 3], b=np.zeros(3)) == 3
    assert v.check_same_length(a=[1], b=[2], c=[3]) == 1
    _raises(
        "a and b must have the same length, got 3 and 4",
        v.check_same_length,
        a=[1, 2, 3],
        b=[1, 2, 3, 4],
    )
    _raises(
        "a and b and c must have the same length, got 2 and 2 and 1",
        v.check_same_length,
        a=[1, 2],
        b=[1, 2],
        c=[1],
    )
    _raises(
        "check_same_length needs at least two named arrays", v.check_same_length, a=[1]
    )
    _raises("check_same_length needs at least two named arrays", v.check_same_length)


def test_check_positive_int():
    assert v.check_positive_int(1, "n") == 1
    assert v.check_positive_int(np.int64(7), "n") == 7
    assert type(v.check_positive_int(np.int64(7), "n")) is int
    for bad in (0, -1, True, False, 1.0, "3", None):
        _raises(
            f"n must be a positive integer, got {bad!r}", v.check_positive_int, bad, "n"
        )


def test_check_positive():
    assert (
        v.check_positive(2, "tau") == 2.0 and type(v.check_positive(2, "tau")) is float
    )
    assert v.check_positive(1e-300, "tau") == 1e-300
    for bad in (0, 0.0, -1.0, np.inf, np.nan, True, "1", None):
        _raises(
            f"tau must be a positive finite number, got {bad!r}",
            v.check_positive,
            bad,
            "tau",
        )
