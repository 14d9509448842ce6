"""``course.py bench``: wall time and peak memory of every notebook, slowest first.

The output format is stable (it is how the budgets of CONTRIBUTING.md, section 7, are checked):

    notebook                                   wall_s   peak_mb  status
    chapters/12-score-estimation.ipynb           41.2     612.0  ok
    ...
    budget: 60 s and 2048 MB per notebook; 0 over budget, 0 failed

Exit status 1 when a notebook fails or is over budget.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ProcessPoolExecutor

from coursetools import ROOT
from coursetools.execute import execute_notebook
from coursetools.notebooks import resolve_notebooks

BUDGET_SECONDS = 60.0
BUDGET_MB = 2048.0


def _run_one(job):
    path, seed, threads = job
    with tempfile.TemporaryDirectory() as claims:
        result = execute_notebook(path, seed=seed, claims_dir=claims, threads=threads)
    result.nb = None
    return result


def status_of(result) -> str:
    if not result.ok:
        return "FAILED"
    flags = []
    if result.seconds > BUDGET_SECONDS:
        flags.append("OVER-TIME")
    if result.peak_mb is not None and result.peak_mb > BUDGET_MB:
        flags.append("OVER-MEMORY")
    return ",".join(flags) or "ok"


def format_table(results) -> str:
    rows = sorted(results, key=lambda r: -r.seconds)
    width = max([len("notebook")] + [len(str(r.path.relative_to(ROOT))) for r in rows])
    lines = [f"{'notebook':<{width}}  {'wall_s':>7}  {'peak_mb':>8}  status"]
    for r in rows:
        peak = f"{r.peak_mb:8.1f}" if r.peak_mb is not None else f"{'-':>8}"
        lines.append(
            f"{str(r.path.relative_to(ROOT)):<{width}}  {r.seconds:7.1f}  {peak}  {status_of(r)}"
        )
    over = sum(status_of(r) not in ("ok", "FAILED") for r in rows)
    failed = sum(not r.ok for r in rows)
    lines.append(
        f"budget: {BUDGET_SECONDS:.0f} s and {BUDGET_MB:.0f} MB per notebook; "
        f"{over} over budget, {failed} failed"
    )
    return "\n".join(lines)


def main(names, jobs: int = 1, seed: int = 0) -> int:
    paths = resolve_notebooks(names)
    threads = (
        1  # as the tests run them; on a loaded machine, two torch threads spin-wait
    )
    print(
        f"benchmarking {len(paths)} notebook(s), {jobs} at a time, seed {seed}...",
        flush=True,
    )
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(_run_one, [(p, seed, threads) for p in paths]))
    for r in results:
        if not r.ok:
            print(r.error)
    print(format_table(results))
    return 0 if all(status_of(r) == "ok" for r in results) else 1
