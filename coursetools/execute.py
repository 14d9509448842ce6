"""Execute a notebook in a fresh kernel, the same way for the tests, the benchmark, the seed
sweep and the book: fixed seed, claims written to a chosen folder, progress bars off, a thread
setting, a per-cell time-out that catches hangs, and the kernel's peak memory measured."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from coursetools import ROOT

DEFAULT_TIMEOUT = int(os.environ.get("COURSE_NB_TIMEOUT", "900"))  # per cell; a hang guard, not a budget
PEAK_MARK = "__COURSE_PEAK_KB__"
_PEAK_CELL = f"""\
import resource as _r, sys as _s
_k = max(_r.getrusage(_r.RUSAGE_SELF).ru_maxrss, _r.getrusage(_r.RUSAGE_CHILDREN).ru_maxrss)
print("{PEAK_MARK}", _k // 1024 if _s.platform == "darwin" else _k)"""
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Execution:
    """The outcome of running one notebook."""

    path: Path
    seconds: float
    peak_mb: float | None = None
    error: str | None = None          # None when the notebook ran top to bottom
    failed_cell: int | None = None    # index of the failing cell in the notebook
    nb: object = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


def kernel_env(seed: int, claims_dir: Path, threads: int | None) -> dict:
    """Environment of the notebook's kernel: the caller's, plus the course's settings."""
    env = dict(os.environ)
    env.update({"COURSE_SEED": str(seed), "COURSE_CLAIMS_DIR": str(claims_dir),
                "COURSE_PROGRESS": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    if threads:
        for var in ("COURSE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
    return env


def _error_cell(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i
    return None


def _describe_failure(path: Path, nb, index: int | None, detail: str) -> str:
    where = f"cell {index}" if index is not None else "an unknown cell"
    source = ""
    if index is not None:
        lines = nb.cells[index].source.splitlines()
        source = "\n".join("    " + l for l in lines[:15]) + ("\n    ..." if len(lines) > 15 else "")
    return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} failed in {where}:\n{source}\n\n{_ANSI.sub('', detail)}"


def execute_notebook(path: Path | str, *, seed: int = 0, claims_dir: Path | str | None = None,
                     threads: int | None = 1, timeout: int = DEFAULT_TIMEOUT,
                     measure_memory: bool = True) -> Execution:
    """Run ``path`` top to bottom in a fresh kernel, in the notebook's own folder.

    Never raises for a failing notebook: the :class:`Execution` carries the failing cell's index,
    its source and the traceback, ready to print.
    """
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    if measure_memory:
        nb.cells.append(nbformat.v4.new_code_cell(_PEAK_CELL))
    claims_dir = Path(claims_dir) if claims_dir else ROOT / "_build" / "claims"
    claims_dir.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP-transport warning
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error, index = None, None
    try:
        client.execute(env=kernel_env(seed, claims_dir, threads))
    except CellTimeoutError as exc:
        index = _running_cell(nb)
        error = _describe_failure(path, nb, index, f"the cell ran longer than the {timeout} s hang guard "
                                                   f"(COURSE_NB_TIMEOUT)\n{exc}")
    except DeadKernelError as exc:
        index = _running_cell(nb)
        error = _describe_failure(path, nb, index, f"the kernel died (out of memory?): {exc}")
    except CellExecutionError as exc:
        index = _error_cell(nb)
        error = _describe_failure(path, nb, index, str(exc))
    seconds = time.perf_counter() - start
    peak = None
    if measure_memory:
        peak = _read_peak(nb.cells[-1]) if error is None else None
        nb.cells.pop()
    return Execution(path=path, seconds=seconds, peak_mb=peak, error=error, failed_cell=index, nb=nb)


def _running_cell(nb) -> int | None:
    """The first code cell with no execution count: where a time-out or a dead kernel struck."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("execution_count") is None:
            return i
    return None


def _read_peak(cell) -> float | None:
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        if PEAK_MARK in text:
            return int(text.split(PEAK_MARK)[1].split()[0]) / 1024
    return None


def clear_claims(claims_dir: Path, notebook: Path) -> None:
    """Delete the record of this notebook's chapter so a stale file can't pass for a new one."""
    number = notebook.name[:2]
    if number.isdigit():
        (Path(claims_dir) / f"{number}.json").unlink(missing_ok=True)
