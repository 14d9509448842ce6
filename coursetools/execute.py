"""Execute a notebook in a fresh kernel, the same way for the tests, the benchmark, the seed
sweep and the book: fixed seed, claims written to a chosen folder, progress bars off, a thread
setting, a per-cell time-out that catches hangs, and the kernel's peak memory measured.

:func:`execute_cached` adds the execution cache shared by the test suite and the book: an entry
per notebook and seed holds the executed notebook, the claim records that run wrote, its wall time
and peak memory. The entry is valid while the notebook, every file under ``utils/`` and
``datasets/`` that the kernel imported or opened (the kernel reports them itself), and the
versions of Python and the numerical packages are unchanged. A per-entry file lock (fcntl) makes
a second process that wants the same notebook wait for the first and reuse its result.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from coursetools import ROOT
from utils.claims import chapter_of, claims_path
from utils.claims import claims_dir as default_claims_dir

DEFAULT_TIMEOUT = int(
    os.environ.get("COURSE_NB_TIMEOUT", "900")
)  # per cell; a hang guard, not a budget
PEAK_MARK = "__COURSE_PEAK_KB__"
# The kernel's own peak resident memory. On Linux read VmHWM: ru_maxrss survives exec, so it
# would also count the memory of the process the kernel was forked from (a test worker that has
# imported torch already holds ~600 MB).
_PEAK_CELL = f"""\
import resource as _r, sys as _s
try:
    _k = int([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")][0])
except (OSError, IndexError):
    _k = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss // (1024 if _s.platform == "darwin" else 1)
print("{PEAK_MARK}", max(_k, _r.getrusage(_r.RUSAGE_CHILDREN).ru_maxrss // (1024 if _s.platform == "darwin" else 1)))"""
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Dependency tracing: a first cell records every file the kernel opens (an audit hook); a last
# cell prints the files under the watched folders that were opened or imported as modules.
DEPS_MARK = "__COURSE_DEPENDENCIES__"
_TRACE_CELL = """\
import os as _course_os, sys as _course_sys
_course_opened = set()
def _course_audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, _course_os.PathLike)):
        try:
            _course_opened.add(_course_os.path.abspath(_course_os.fsdecode(args[0])))
        except Exception:
            pass
_course_sys.addaudithook(_course_audit)"""
_DEPS_CELL = """\
import json as _course_json
_course_roots = {roots!r}
_course_files = {{_course_os.path.realpath(p) for p in _course_opened}} | {{
    _course_os.path.realpath(m.__file__) for m in list(_course_sys.modules.values())
    if isinstance(getattr(m, "__file__", None), str)}}
print("{mark} " + _course_json.dumps(sorted(
    f for f in _course_files if f.startswith(_course_roots) and "__pycache__" not in f
    and _course_os.path.isfile(f))))"""


@dataclass
class Execution:
    """The outcome of running one notebook."""

    path: Path
    seconds: float
    peak_mb: float | None = None
    error: str | None = None  # None when the notebook ran top to bottom
    failed_cell: int | None = None  # index of the failing cell in the notebook
    nb: object = field(default=None, repr=False)
    dependencies: list | None = (
        None  # files under the traced folders it imported or opened
    )
    cached: bool = False  # True when restored from the execution cache
    claims: dict = field(
        default_factory=dict, repr=False
    )  # record file name -> its text

    @property
    def ok(self) -> bool:
        return self.error is None


def course_root_of(notebook: Path) -> Path:
    """The course folder a notebook belongs to: the folder above ``chapters/`` (or
    ``solutions/``, ``exercises/``) when it holds ``utils/``, else this course."""
    above = Path(notebook).resolve().parent.parent
    return above if (above / "utils" / "__init__.py").is_file() else ROOT


def kernel_env(
    seed: int, claims_dir: Path, threads: int | None, root: Path = ROOT
) -> dict:
    """Environment of the notebook's kernel: the caller's, plus the course's settings;
    ``root`` (the course folder whose ``utils`` the kernel imports) goes first on the path."""
    env = dict(os.environ)
    env.update(
        {
            "COURSE_SEED": str(seed),
            "COURSE_CLAIMS_DIR": str(claims_dir),
            "COURSE_PROGRESS": "0",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
    )
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(root), env.get("PYTHONPATH", "")] if p
    )
    if threads:
        for var in (
            "COURSE_THREADS",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
        ):
            env[var] = str(threads)
    return env


def _error_cell(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(
            o.get("output_type") == "error" for o in cell.get("outputs", [])
        ):
            return i
    return None


def _describe_failure(path: Path, nb, index: int | None, detail: str) -> str:
    where = f"cell {index}" if index is not None else "an unknown cell"
    source = ""
    if index is not None:
        lines = nb.cells[index].source.splitlines()
        source = "\n".join("    " + l for l in lines[:15]) + (
            "\n    ..." if len(lines) > 15 else ""
        )
    return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} failed in {where}:\n{source}\n\n{_ANSI.sub('', detail)}"


def execute_notebook(
    path: Path | str,
    *,
    seed: int = 0,
    claims_dir: Path | str | None = None,
    threads: int | None = 1,
    timeout: int = DEFAULT_TIMEOUT,
    measure_memory: bool = True,
    trace_roots=None,
) -> Execution:
    """Run ``path`` top to bottom in a fresh kernel, in the notebook's own folder.

    Never raises for a failing notebook: the :class:`Execution` carries the failing cell's index,
    its source and the traceback, ready to print. ``trace_roots`` (folders) asks the kernel to
    report which files under them it imported or opened (``Execution.dependencies``).
    """
    path = Path(path).resolve()
    claims_dir = Path(claims_dir) if claims_dir else default_claims_dir()
    claims_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        nb = nbformat.read(path, as_version=4)
        front, back = _add_probes(nb, measure_memory, trace_roots)
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP warning
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        failure = None  # (how to find the failing cell, what to say)
        try:
            client.execute(
                env=kernel_env(seed, claims_dir, threads, course_root_of(path))
            )
        except CellTimeoutError as exc:
            failure = (
                _running_cell,
                f"the cell ran longer than the {timeout} s hang guard "
                f"(COURSE_NB_TIMEOUT)\n{exc}",
            )
        except DeadKernelError as exc:
            failure = (_running_cell, f"the kernel died (out of memory?): {exc}")
        except CellExecutionError as exc:
            failure = (_error_cell, str(exc))
        except (RuntimeError, OSError, zmq.ZMQError) as exc:
            # the kernel never started: a port taken between jupyter_client choosing it and the
            # kernel binding it, when many kernels start at once. Nothing ran yet: start again.
            if _ran_nothing(nb) and attempt < KERNEL_START_ATTEMPTS:
                time.sleep(2 * attempt)
                continue
            failure = (
                _running_cell,
                f"the kernel did not start: {type(exc).__name__}: {exc}",
            )
        break
    seconds = time.perf_counter() - start
    probes = _remove_probes(nb, front, back)
    result = Execution(path=path, seconds=seconds, nb=nb)
    if failure is None:
        result.peak_mb = _read_peak(probes) if measure_memory else None
        result.dependencies = _read_dependencies(probes) if trace_roots else None
    else:
        result.failed_cell = failure[0](nb)
        result.error = _describe_failure(path, nb, result.failed_cell, failure[1])
    return result


KERNEL_START_ATTEMPTS = 3


def _ran_nothing(nb) -> bool:
    """True when no code cell of ``nb`` has started (its kernel never came up)."""
    return all(
        c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"
    )


def _add_probes(nb, measure_memory: bool, trace_roots) -> tuple[int, int]:
    """Add the measuring cells; return how many went in front of and behind the notebook's own."""
    front, back = 0, 0
    if trace_roots:
        roots = tuple(os.path.join(os.path.realpath(r), "") for r in trace_roots)
        nb.cells.insert(0, nbformat.v4.new_code_cell(_TRACE_CELL))
        nb.cells.append(
            nbformat.v4.new_code_cell(_DEPS_CELL.format(roots=roots, mark=DEPS_MARK))
        )
        front, back = 1, 1
    if measure_memory:
        nb.cells.append(nbformat.v4.new_code_cell(_PEAK_CELL))
        back += 1
    return front, back


def _remove_probes(nb, front: int, back: int) -> list:
    """Take the measuring cells out again, so cell indices are the notebook's own; return them."""
    removed = nb.cells[:front] + (nb.cells[len(nb.cells) - back :] if back else [])
    nb.cells = nb.cells[front : len(nb.cells) - back]
    return removed


def _probe_text(cells, mark: str) -> str | None:
    """What a measuring cell printed after ``mark`` (its stream output may come in pieces)."""
    for cell in cells:
        text = "".join(
            out.get("text", "")
            for out in cell.get("outputs", [])
            if out.get("output_type") == "stream"
        )
        if mark in text:
            return text.split(mark, 1)[1]
    return None


def _read_dependencies(cells) -> list | None:
    text = _probe_text(cells, DEPS_MARK)
    return (
        None
        if text is None
        else [Path(p) for p in json.loads(text.strip().splitlines()[0])]
    )


def _running_cell(nb) -> int | None:
    """The first code cell with no execution count: where a time-out or a dead kernel struck."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("execution_count") is None:
            return i
    return None


def _read_peak(cells) -> float | None:
    text = _probe_text(cells, PEAK_MARK)
    return None if text is None else int(text.split()[0]) / 1024


def clear_claims(claims_dir: Path, notebook: Path) -> None:
    """Delete the record of this notebook's chapter so a stale file can't pass for a new one."""
    number = chapter_of(notebook)
    if number is not None:
        claims_path(number, claims_dir).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# The execution cache, shared by the test suite and the book
# --------------------------------------------------------------------------------------------

CACHE_ENV = "COURSE_CACHE_DIR"  # where entries live (default _build/cache/executions)
NO_REUSE_ENV = "COURSE_CACHE"  # COURSE_CACHE=0: never reuse an entry (still store them)
TRACED_FOLDERS = ("utils", "datasets")
CACHE_FORMAT = 1
_FINGERPRINT_PACKAGES = (
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "nbclient",
    "ipykernel",
)


def cache_dir() -> Path:
    """The execution cache: ``COURSE_CACHE_DIR`` or ``<course>/_build/cache/executions``."""
    text = os.environ.get(CACHE_ENV, "").strip()
    return Path(text).expanduser() if text else ROOT / "_build" / "cache" / "executions"


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def environment_fingerprint() -> dict:
    """Python and the numerical packages: a new version may change a result, so it misses."""
    versions = {"python": platform.python_version()}
    for name in _FINGERPRINT_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def entry_dir(path: Path, seed: int, cache: Path) -> Path:
    """One entry per notebook and seed: ``<cache>/<chapters-01-balance-score>/seed-<seed>``.

    A notebook outside the course folder gets a hash of its full path in the name, so a test's
    ``/tmp/.../chapters/01-x.ipynb`` never shares an entry with the course's own.
    """
    path = Path(path).resolve()
    if path.is_relative_to(ROOT):
        name = "-".join(path.relative_to(ROOT).with_suffix("").parts)
    else:
        name = f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    return Path(cache) / name / f"seed-{int(seed)}"


def _dependency_name(path: Path) -> str:
    """How a dependency is stored: relative to the course folder when inside it."""
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@contextlib.contextmanager
def entry_lock(entry: Path, blocking: bool = True):
    """Hold the entry's file lock; yields False (holding nothing) when busy and not blocking."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.parent / f"{entry.name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stale_reason(meta: dict, path: Path, run_id: str | None) -> str | None:
    """Why a stored entry cannot stand for a run of ``path`` now (None: it can)."""
    if meta.get("format") != CACHE_FORMAT:
        return "cache format changed"
    if meta.get("notebook_sha256") != file_hash(path):
        return "the notebook changed"
    if meta.get("environment") != environment_fingerprint():
        return "package versions changed"
    for name, digest in meta.get("dependencies", {}).items():
        dep = ROOT / name
        if not dep.is_file() or file_hash(dep) != digest:
            return f"{name} changed"
    if run_id is not None and meta.get("run_id") != run_id:
        return "made by another run"
    if not meta.get("ok"):
        return "that run failed"
    return None


def load_entry(entry: Path, path: Path, run_id: str | None = None) -> Execution | None:
    """The stored execution of ``path`` when it is still valid, else None."""
    meta_file = entry / "meta.json"
    if not meta_file.is_file() or os.environ.get(NO_REUSE_ENV, "1").strip() == "0":
        return None
    meta = json.loads(meta_file.read_text())
    reason = _stale_reason(meta, path, run_id)
    if reason == "that run failed" and run_id is not None:
        reason = None  # a failure is final within one run: report it again
    if reason is not None:
        return None
    claims = {f.name: f.read_text() for f in sorted((entry / "claims").glob("*.json"))}
    nb = nbformat.read(entry / "executed.ipynb", as_version=4)
    return Execution(
        path=Path(path).resolve(),
        seconds=meta["seconds"],
        peak_mb=meta["peak_mb"],
        error=meta["error"],
        failed_cell=meta["failed_cell"],
        nb=nb,
        dependencies=[ROOT / d for d in meta["dependencies"]],
        cached=True,
        claims=claims,
    )


def store_entry(entry: Path, result: Execution, run_id: str | None) -> None:
    """Write ``result`` as the entry, atomically: a reader sees the old entry or the new one."""
    deps = sorted(_dependency_name(d) for d in (result.dependencies or []))
    meta = {
        "format": CACHE_FORMAT,
        "notebook": str(result.path.relative_to(ROOT))
        if result.path.is_relative_to(ROOT)
        else str(result.path),
        "notebook_sha256": file_hash(result.path),
        "environment": environment_fingerprint(),
        "dependencies": {d: file_hash(ROOT / d) for d in deps},
        "run_id": run_id,
        "ok": result.ok,
        "seconds": result.seconds,
        "peak_mb": result.peak_mb,
        "error": result.error,
        "failed_cell": result.failed_cell,
        "stored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    (staging / "claims").mkdir()
    for name, text in result.claims.items():
        (staging / "claims" / name).write_text(text)
    nbformat.write(result.nb, staging / "executed.ipynb")
    (staging / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    if entry.exists():
        shutil.rmtree(entry)
    os.replace(staging, entry)


def _run_and_capture(
    path: Path, seed: int, threads: int | None, timeout: int, roots: list
) -> Execution:
    """Execute into a fresh claims folder, so the records kept are exactly this run's."""
    with tempfile.TemporaryDirectory(prefix="course-claims-") as folder:
        result = execute_notebook(
            path,
            seed=seed,
            claims_dir=folder,
            threads=threads,
            timeout=timeout,
            trace_roots=roots,
        )
        result.claims = {
            f.name: f.read_text() for f in sorted(Path(folder).glob("*.json"))
        }
    if result.ok and result.dependencies is None:
        result.dependencies = [
            p
            for folder in roots
            if folder.is_dir()  # not reported:
            for p in sorted(folder.rglob("*"))
            if p.is_file()  # assume all
            and "__pycache__" not in p.parts
        ]
    return result


def write_claims(result: Execution, claims_dir: Path | str) -> None:
    """Put the run's claim records into ``claims_dir``, replacing the chapter's old record."""
    claims_dir = Path(claims_dir)
    claims_dir.mkdir(parents=True, exist_ok=True)
    clear_claims(claims_dir, result.path)
    for name, text in result.claims.items():
        (claims_dir / name).write_text(text)


def execute_cached(
    path: Path | str,
    *,
    seed: int = 0,
    claims_dir: Path | str | None = None,
    threads: int | None = 1,
    timeout: int = DEFAULT_TIMEOUT,
    cache: Path | str | None = None,
    run_id: str | None = None,
    blocking: bool = True,
    traced=None,
) -> Execution | None:
    """Like :func:`execute_notebook`, through the execution cache.

    A valid entry for (notebook, seed) is restored instead of running the notebook: its executed
    notebook, its seconds and peak memory, and the claim records that run wrote (copied into
    ``claims_dir``). ``run_id``: only an entry stored under the same id counts (the test suite
    passes its run's id, so each notebook executes once per test run, by whoever asks first).
    While another process executes the same entry, this one waits for it, or with
    ``blocking=False`` returns None at once. ``traced``: the folders whose files, when the
    notebook imports or opens them, join the entry's key (default ``utils/`` and ``datasets/``).
    """
    path = Path(path).resolve()
    claims_dir = Path(claims_dir) if claims_dir else default_claims_dir()
    entry = entry_dir(path, seed, Path(cache) if cache else cache_dir())
    with entry_lock(entry, blocking) as held:
        if not held:
            return None
        result = load_entry(entry, path, run_id)
        if result is None:
            roots = (
                [Path(f) for f in traced]
                if traced
                else [ROOT / f for f in TRACED_FOLDERS]
            )
            result = _run_and_capture(path, seed, threads, timeout, roots)
            store_entry(entry, result, run_id)
    write_claims(result, claims_dir)
    return result
