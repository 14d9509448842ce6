"""``course.py mutate``: mutation testing of the utils modules with mutmut.

For each module, a scratch folder receives ``utils/``, ``coursetools/``, ``course.py``, the
module's own unit tests (``tests/conftest.py`` + ``tests/test_<module>*.py``) and a
``pyproject.toml`` whose ``[tool.mutmut]`` section mutates only ``utils/<module>.py``. mutmut
makes small changes to the module (a sign, a constant, ``<=`` for ``<``, a dropped argument) and
runs the tests against each; a mutant the tests do not notice "survives". The score is
``killed / (total - excluded)``; a module is done at 90% or more (CONTRIBUTING.md, section 5).
Equivalent mutants are excluded in the module with ``# pragma: no mutate`` plus a reason.

A benchmark-like command (minutes per module), not part of ``course.py test``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from coursetools import ROOT

CORE_MODULES = ("claims", "core", "validation", "checks", "tiny_lm")
# core modules whose tests live in a file not named after them
TEST_FILES = {"claims": ("core",)}
PYTEST_ARGS = ["-p", "no:xdist", "-p", "no:cacheprovider", "-q"]
DEFAULT_MIN_SCORE = 90.0


@dataclass
class Result:
    module: str
    total: int = 0
    killed: int = 0
    survived: int = 0
    timeout: int = 0
    suspicious: int = 0
    no_tests: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error: str = ""
    survivors: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """killed / (total - excluded); timeouts count as killed (the mutant hung the tests)."""
        counted = self.total - self.skipped
        return 100.0 * (self.killed + self.timeout) / counted if counted else 0.0


def default_modules() -> list[str]:
    """Every paper module named in the catalog (a chapter's ``module`` and its ``uses``)
    that exists, plus the core modules."""
    from utils.catalog import CHAPTERS

    names = [m for c in CHAPTERS for m in c.modules if m]
    names += list(CORE_MODULES)
    seen: list[str] = []
    for name in names:
        if name not in seen and (ROOT / "utils" / f"{name}.py").exists():
            seen.append(name)
    return seen


def test_files(module: str) -> list[Path]:
    """``tests/test_<module>*.py`` (and the files of TEST_FILES for modules tested elsewhere)."""
    stems = (module, *TEST_FILES.get(module, ()))
    files: set[Path] = set()
    for stem in stems:
        files.update((ROOT / "tests").glob(f"test_{stem}.py"))
        files.update((ROOT / "tests").glob(f"test_{stem}_*.py"))
    return sorted(files)


def _pyproject(module: str, tests: list[Path]) -> str:
    def toml_list(items):
        return "[" + ", ".join(json.dumps(str(i)) for i in items) + "]"

    return (
        "[tool.mutmut]\n"
        f"source_paths = {toml_list([f'utils/{module}.py'])}\n"
        f"also_copy = {toml_list(['utils/', 'coursetools/', 'course.py'])}\n"
        f"pytest_add_cli_args_test_selection = {toml_list([f'tests/{t.name}' for t in tests])}\n"
        f"pytest_add_cli_args = {toml_list(PYTEST_ARGS)}\n"
        "\n[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
    )


def _prepare(module: str, folder: Path) -> list[Path]:
    tests = test_files(module)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "mutants")
    shutil.copytree(ROOT / "utils", folder / "utils", ignore=ignore)
    shutil.copytree(ROOT / "coursetools", folder / "coursetools", ignore=ignore)
    shutil.copy2(ROOT / "course.py", folder / "course.py")
    (folder / "tests").mkdir()
    for extra in ("conftest.py", "__init__.py"):
        if (ROOT / "tests" / extra).exists():
            shutil.copy2(ROOT / "tests" / extra, folder / "tests" / extra)
    for t in tests:
        shutil.copy2(t, folder / "tests" / t.name)
    (folder / "pyproject.toml").write_text(_pyproject(module, tests))
    return tests


def _mutmut() -> list[str]:
    return [sys.executable, "-m", "mutmut"]


def run_module(
    module: str, max_children: int, list_survivors: bool = False, keep: bool = False
) -> Result:
    """Mutate ``utils/<module>.py`` against its own tests in a scratch folder."""
    result = Result(module)
    folder = Path(tempfile.mkdtemp(prefix=f"mutate-{module}-"))
    start = time.monotonic()
    try:
        if not _prepare(module, folder):
            result.error = f"no tests/test_{module}*.py"
            return result
        env = {
            **os.environ,
            "PYTHONPATH": "",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        run = subprocess.run(
            [*_mutmut(), "run", "--max-children", str(max_children)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        subprocess.run(
            [*_mutmut(), "export-cicd-stats"], cwd=folder, env=env, capture_output=True
        )
        stats_file = folder / "mutants" / "mutmut-cicd-stats.json"
        if not stats_file.exists():
            tail = (run.stdout + run.stderr)[-2000:]
            result.error = f"mutmut run failed (exit {run.returncode}):\n{tail}"
            return result
        stats = json.loads(stats_file.read_text())
        for field in (
            "total",
            "killed",
            "survived",
            "timeout",
            "suspicious",
            "no_tests",
        ):
            setattr(result, field, int(stats.get(field, 0)))
        result.skipped = int(stats.get("skipped", 0))
        checked = sum(
            getattr(result, f)
            for f in ("killed", "survived", "timeout", "suspicious", "no_tests")
        )
        if run.returncode != 0 or checked + result.skipped < result.total:
            # e.g. "Failed to run clean test": the tests fail before any mutant runs
            tail = (run.stdout + run.stderr)[-2000:]
            result.error = (
                f"mutmut run failed (exit {run.returncode}; "
                f"{result.total - checked - result.skipped} mutants not run):\n{tail}"
            )
            return result
        listing = subprocess.run(
            [*_mutmut(), "results"], cwd=folder, env=env, capture_output=True, text=True
        ).stdout
        names = [
            line.strip().split(":")[0]
            for line in listing.splitlines()
            if line.strip().endswith(("survived", "no tests"))
        ]
        if list_survivors:
            shown = []
            for name in names:
                diff = subprocess.run(
                    [*_mutmut(), "show", name],
                    cwd=folder,
                    env=env,
                    capture_output=True,
                    text=True,
                ).stdout
                shown.append(f"--- {name}\n{diff}")
            result.survivors = tuple(shown)
        else:
            result.survivors = tuple(names)
        return result
    finally:
        result.seconds = time.monotonic() - start
        if keep:
            print(f"  (kept {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def pragma_lines(source: str) -> int:
    """Lines that mutmut does not mutate: those marked ``# pragma: no mutate`` and those
    between ``# pragma: no mutate start`` and ``# pragma: no mutate end``.

    mutmut makes no mutants on them at all, so they never show in its counts."""
    count, inside = 0, False
    for line in source.splitlines():
        if "pragma: no mutate start" in line:
            inside = True
        elif "pragma: no mutate end" in line:
            inside = False
        elif inside or "pragma: no mutate" in line:
            count += 1
    return count


def format_line(r: Result) -> str:
    if r.error:
        return f"{r.module:<20} ERROR {r.error}"
    path = ROOT / "utils" / f"{r.module}.py"
    marked = pragma_lines(path.read_text()) if path.exists() else 0
    return (
        f"{r.module:<20} mutants {r.total:4d}  killed {r.killed:4d}  survived "
        f"{r.survived + r.no_tests:4d}  timeout/suspicious {r.timeout:3d}/{r.suspicious:<3d} "
        f"excluded {r.skipped:3d}  score {r.score:5.1f}%  {r.seconds:6.0f} s  "
        f"({marked} lines marked no-mutate)"
    )


def main(
    modules: list[str],
    min_score: float = DEFAULT_MIN_SCORE,
    jobs: int | None = None,
    list_survivors: bool = False,
    keep: bool = False,
) -> int:
    modules = modules or default_modules()
    unknown = [m for m in modules if not (ROOT / "utils" / f"{m}.py").exists()]
    if unknown:
        print(f"no such module in utils/: {', '.join(unknown)}", file=sys.stderr)
        return 2
    jobs = jobs or os.cpu_count() or 1
    failed = []
    for module in modules:
        r = run_module(module, jobs, list_survivors=list_survivors, keep=keep)
        print(format_line(r), flush=True)
        if list_survivors and r.survivors:
            print("\n".join(r.survivors), flush=True)
        if r.error or r.score < min_score:
            failed.append(module)
    if failed:
        print(f"below {min_score:g}%: {', '.join(failed)}")
        return 1
    return 0
