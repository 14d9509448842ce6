"""Notebook habits, each with one home: compare with a reference, show code, expect an error.

* :func:`compare` is the ``cmp()`` habit: build the paper's function step by step in the
  notebook, then check it against the tested version in ``utils`` (or a well-kept library) and
  print the largest difference.
* :func:`show_source` shows a function's code without its docstring, for a reader who has just
  read the explanation in the text.
* :func:`expect_error` calls a function with bad input and shows the clear error it raises.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import numpy as np

__all__ = ["compare", "show_source", "expect_error", "source_without_docstring"]


def _as_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def compare(
    label: str, ours, reference, *, atol: float = 1e-8, rtol: float = 1e-6
) -> float:
    """Print and assert that ``ours`` matches ``reference`` elementwise.

    Passes when ``|ours - reference| <= atol + rtol * |reference|`` everywhere (numpy's
    ``allclose`` rule). Prints ``label: max |difference| = ... ok`` and returns that largest
    absolute difference; raises ``AssertionError`` with the worst index otherwise.
    """
    a, b = _as_numpy(ours), _as_numpy(reference)
    if a.shape != b.shape:
        raise AssertionError(
            f"{label}: shapes differ, ours {a.shape} vs reference {b.shape}"
        )
    if a.size == 0:
        raise AssertionError(f"{label}: nothing to compare (empty arrays)")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise AssertionError(f"{label}: NaN or infinite values (ours or reference)")
    diff = np.abs(a - b)
    excess = diff - (atol + rtol * np.abs(b))
    worst = float(diff.max())
    if (excess > 0).any():
        i = np.unravel_index(int(np.argmax(excess)), a.shape)
        raise AssertionError(
            f"{label}: ours and reference differ by up to {worst:.3g} "
            f"(at index {tuple(int(k) for k in i)}: {float(a[i])!r} vs {float(b[i])!r}; "
            f"tolerance atol={atol:g}, rtol={rtol:g})"
        )
    print(
        f"{label}: max |difference| = {worst:.2g}  (tolerance atol={atol:g}, rtol={rtol:g}) ok"
    )
    return worst


def source_without_docstring(func) -> str:
    """The source of ``func`` (a function or class) with its docstring removed, dedented."""
    source = textwrap.dedent(inspect.getsource(func))
    node = ast.parse(source).body[0]
    first = node.body[0]  # a def or a class always has a body
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return source
    lines = source.splitlines(keepends=True)
    del lines[first.lineno - 1 : first.end_lineno]
    return "".join(lines)


def show_source(func) -> None:
    """Display the code of ``func`` without its docstring (highlighted in a notebook)."""
    code = source_without_docstring(func)
    try:
        from IPython import get_ipython
        from IPython.display import Code, display
    except ImportError:
        print(code)
        return
    if get_ipython() is None:
        print(code)
    else:
        display(Code(code, language="python"))


def expect_error(
    error: type[BaseException], func, *args, match: str | None = None, **kwargs
) -> BaseException:
    """Call ``func(*args, **kwargs)``, expect ``error`` (whose message contains ``match``),
    print ``ErrorType: message`` and return the exception.

    Raises ``AssertionError`` when nothing is raised or the message does not match, so a
    validation that stops working fails the notebook instead of passing silently.
    """
    try:
        func(*args, **kwargs)
    except error as exc:
        message = str(exc)
        if match is not None and re.search(match, message) is None:
            raise AssertionError(
                f"{type(exc).__name__} was raised but its message "
                f"{message!r} does not match {match!r}"
            ) from exc
        print(f"{type(exc).__name__}: {message}")
        return exc
    raise AssertionError(
        f"{getattr(func, '__name__', func)} raised no {error.__name__}"
    )
