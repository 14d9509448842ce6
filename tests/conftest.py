"""Shared test settings: one torch thread per test process, and the wall-time report of executed
notebooks, slowest first."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tests run one process per core (pytest-xdist); the tiny models train fastest on one thread
    each, and two processes that each want both cores thrash (a 7 s test took 58 s)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_terminal_summary(terminalreporter):
    timings = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        if report.when != "call":
            continue
        props = dict(report.user_properties)
        if "notebook_seconds" in props:
            timings.append(
                (
                    props["notebook_seconds"],
                    props.get("notebook_peak_mb"),
                    props["notebook"],
                    report.outcome,
                )
            )
    if not timings:
        return
    terminalreporter.section("notebook wall times (slowest first)")
    for seconds, peak, name, outcome in sorted(timings, reverse=True):
        peak_text = f"{peak:7.0f} MB" if peak else "      - MB"
        terminalreporter.write_line(f"{seconds:7.1f} s  {peak_text}  {name}  {outcome}")
    terminalreporter.write_line(
        "(budgets are checked by `python3 course.py bench`, not by these timings)"
    )
