"""A progress bar for loops longer than a few seconds, quiet under the test runner.

``COURSE_PROGRESS=0`` (set by the tests, the benchmark and the book build) turns every bar off,
so executed notebooks carry no widget output. In JupyterLab the bar is tqdm's notebook widget.
"""

from __future__ import annotations

import os

PROGRESS_ENV = "COURSE_PROGRESS"


def progress_enabled() -> bool:
    """False when ``COURSE_PROGRESS`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get(PROGRESS_ENV, "1").strip().lower() not in {
        "0",
        "false",
        "no",
        "off",
    }


def progress(
    iterable=None, *, desc: str | None = None, total: int | None = None, **kwargs
):
    """``tqdm.auto.tqdm`` with the course's defaults; use like ``for step in progress(range(n))``."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("leave", False)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, desc=desc, total=total, **kwargs)
