"""utils.checks: compare's tolerance rule and messages, source without docstring, expect_error."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from utils import checks


def test_compare_passes_returns_worst_and_prints(capsys):
    worst = checks.compare("sum", [1.0, 2.0], [1.0, 2.0 + 1e-9])
    assert worst == pytest.approx(1e-9, rel=1e-3)
    out = capsys.readouterr().out
    assert (
        out == "sum: max |difference| = 1e-09  (tolerance atol=1e-08, rtol=1e-06) ok\n"
    )


def test_compare_accepts_torch_tensors_with_grad():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert checks.compare("t", t * 1, np.array([1.0, 2.0])) == 0.0


def test_compare_tolerance_is_allclose_rule_at_its_boundary():
    # |a - b| <= atol + rtol*|b|: exactly at the boundary passes, just above fails
    b = np.array([100.0])
    checks.compare("edge", b + 0.5, b, atol=0.0, rtol=0.005)  # 0.5 == 0.005 * 100
    with pytest.raises(AssertionError):
        checks.compare("edge", b + 0.51, b, atol=0.0, rtol=0.005)
    checks.compare("atol", [0.25], [0.0], atol=0.25, rtol=0.0)
    with pytest.raises(AssertionError):
        checks.compare("atol", [0.26], [0.0], atol=0.25, rtol=0.0)
    # rtol scales with the reference, not with ours
    checks.compare("ref", [0.0], [-1.0], atol=0.0, rtol=1.0)
    with pytest.raises(AssertionError):
        checks.compare("ref", [-1.0], [0.0], atol=0.0, rtol=1.0)
    # default tolerances
    checks.compare("default", [1.0 + 1e-6], [1.0])
    with pytest.raises(AssertionError):
        checks.compare("default", [1.0 + 2e-6], [1.0])


def test_compare_failure_message_names_the_worst_index():
    msg = (
        "m: ours and reference differ by up to 3 (at index (1, 0): 4.0 vs 1.0; "
        "tolerance atol=1e-08, rtol=1e-06)"
    )
    with pytest.raises(AssertionError, match="^" + re.escape(msg) + "$"):
        checks.compare("m", [[0.0, 0.0], [4.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]])
    # the index is the worst *excess*, not the worst difference
    with pytest.raises(AssertionError, match=re.escape("at index (0,): 2.0 vs 0.0")):
        checks.compare("m", [2.0, 1003.0], [0.0, 1000.0], atol=0.0, rtol=0.01)


def test_compare_refuses_bad_inputs():
    with pytest.raises(
        AssertionError, match=re.escape("s: shapes differ, ours (2,) vs reference (3,)")
    ):
        checks.compare("s", [1, 2], [1, 2, 3])
    with pytest.raises(
        AssertionError, match=re.escape("e: nothing to compare (empty arrays)")
    ):
        checks.compare("e", [], [])
    for a, b in (([np.nan], [1.0]), ([1.0], [np.inf])):
        with pytest.raises(
            AssertionError,
            match=re.escape("n: NaN or infinite values (ours or reference)"),
        ):
            checks.compare("n", a, b)


def _documented(x):
    """A docstring
    on two lines."""
    return x + 1


def _undocumented(x):
    return x + 2


class _Documented:
    """Class doc."""

    value = 3


def test_source_without_docstring():
    assert (
        checks.source_without_docstring(_documented)
        == "def _documented(x):\n    return x + 1\n"
    )
    assert checks.source_without_docstring(_undocumented) == (
        "def _undocumented(x):\n    return x + 2\n"
    )
    assert checks.source_without_docstring(_Documented) == (
        "class _Documented:\n\n    value = 3\n"
    )

    def nested(y):
        """Nested doc."""
        return y

    assert checks.source_without_docstring(nested) == "def nested(y):\n    return y\n"


def test_source_without_docstring_keeps_a_first_non_string_expression():
    def first_is_number():
        1  # noqa: B018
        return 0

    src = checks.source_without_docstring(first_is_number)
    assert "1  # noqa" in src and src.startswith("def first_is_number")


def test_show_source_prints_outside_ipython(capsys):
    checks.show_source(_documented)
    assert capsys.readouterr().out == "def _documented(x):\n    return x + 1\n\n"


def _fails(x, *, why="bad x"):
    raise ValueError(f"{why}: {x}")


def test_expect_error_returns_and_prints(capsys):
    exc = checks.expect_error(ValueError, _fails, 3, match=r"bad x: 3", why="bad x")
    assert isinstance(exc, ValueError) and str(exc) == "bad x: 3"
    assert capsys.readouterr().out == "ValueError: bad x: 3\n"
    exc = checks.expect_error(ValueError, _fails, 4, why="other")
    assert str(exc) == "other: 4"


def test_expect_error_fails_loudly():
    with pytest.raises(
        AssertionError,
        match=re.escape(
            "ValueError was raised but its message 'bad x: 3' does not match 'nope'"
        ),
    ):
        checks.expect_error(ValueError, _fails, 3, match="nope")
    with pytest.raises(AssertionError, match="^_undocumented raised no ValueError$"):
        checks.expect_error(ValueError, _undocumented, 1)
    with pytest.raises(ValueError):  # a different error type passes through
        checks.expect_error(TypeError, _fails, 1)


def test_compare_treats_booleans_as_numbers():
    assert checks.compare("bools", [True, False], [True, False]) == 0.0
    assert checks.compare("bool vs float", [True, False], [1.0, 0.0]) == 0.0


def test_show_source_displays_highlighted_code_inside_ipython(monkeypatch):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    checks.show_source(_documented)
    (code,) = shown
    assert isinstance(code, IPython.display.Code)
    assert code.data == "def _documented(x):\n    return x + 1\n"
    assert code.language == "python"


def test_show_source_prints_without_ipython(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    checks.show_source(_undocumented)
    assert capsys.readouterr().out == "def _undocumented(x):\n    return x + 2\n\n"


class _Nameless:
    def __call__(self):
        return None

    def __repr__(self):
        return "<nameless callable>"


def test_expect_error_names_a_callable_without_a_name():
    with pytest.raises(
        AssertionError, match="^<nameless callable> raised no KeyError$"
    ):
        checks.expect_error(KeyError, _Nameless())
