"""Running: each submitted notebook in its own sandboxed kernel, with limits, and a class in parallel.

For each submitted notebook :func:`grade_notebook` makes a temporary folder (a copy of the
student's folder, a home, the kernel's sockets), assembles the notebook (:mod:`.assemble`), starts
a kernel (:mod:`.kernel`) inside bubblewrap where it can (:mod:`.sandbox`), and runs the cells with
a time limit per cell and per notebook. Before each test cell :mod:`.guard` undoes monkeypatching.
A kernel that dies or ignores the interrupt is replaced, the cells before the culprit are replayed
and grading goes on after it. Any program the submission left running is noted and stopped.

:func:`grade` does this for every submission of a class, ``jobs`` at a time (threads: each waits on
its own kernel process), and writes the gradebook and feedback (:mod:`.report`) in one order,
whatever the number of jobs.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from coursetools import ROOT
from coursetools.execute import kernel_env
from coursetools.exercises import FormatError, display_path
from coursetools.grading import sandbox
from coursetools.grading.assemble import Instructor, PlanCell, assemble
from coursetools.grading.report import (
    CellScore,
    Report,
    not_submitted,
    write_outputs,
    zero,
)
from coursetools.grading.submissions import exercise_of, find_submissions

SPEC_NAME = "course-grading-sandbox"
REFUSALS = (
    "sandbox-refusals.log"  # the kernel's audit hook appends each refused action here
)
# environment variables a grading kernel inherits from the grader (the rest, tokens included, stay out)
INHERITED = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "SYSTEMROOT")


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"{name} must be a positive number, got {text!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be a positive number, got {text!r}")
    return value


@dataclass
class Limits:
    """Limits for one submitted notebook (README, "For instructors")."""

    cell_seconds: float = field(
        default_factory=lambda: _env_number("COURSE_GRADE_CELL_SECONDS", 120)
    )
    notebook_seconds: float = field(
        default_factory=lambda: _env_number("COURSE_GRADE_NOTEBOOK_SECONDS", 600)
    )
    memory_mb: int = field(
        default_factory=lambda: int(_env_number("COURSE_GRADE_MEMORY_MB", 4096))
    )
    output_chars: int = 4000  # output kept per cell for the feedback
    restarts: int = 3  # dead or stuck kernels replaced per notebook
    interrupt_grace: float = (
        10.0  # seconds a timed-out cell gets to stop after the interrupt
    )


def default_jobs() -> int:
    """Submissions graded at once by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------- the kernel ------------------


@dataclass
class Outcome:
    """How one cell ran: status is "ok", "error", "timeout" (interrupted), "stuck" or "dead"."""

    status: str
    ename: str = ""
    evalue: str = ""
    stdout: str = ""
    dropped_chars: int = 0

    def message(self) -> str:
        if self.status == "timeout":
            return "the cell ran past its time limit and was interrupted"
        if self.status == "stuck":
            return "the cell ran past its time limit and ignored the interrupt; its kernel was stopped"
        if self.status == "dead":
            return "the kernel died while running this cell (sys.exit, os._exit, a crash or out of memory)"
        evalue = self.evalue if len(self.evalue) < 500 else self.evalue[:500] + " ..."
        return f"{self.ename}: {evalue}" if evalue else self.ename


def _process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, start time, command name), from /proc (Linux); empty elsewhere."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = (
            text[text.index("(") + 1 : text.rindex(")")],
            text[text.rindex(")") + 2 :].split(),
        )
        table[int(entry.name)] = (int(rest[1]), int(rest[19]), name)
    return table


def descendants(pid: int) -> list[tuple[int, int, str]]:
    """``(pid, start time, name)`` of every process below ``pid``."""
    table, found, todo = _process_table(), [], [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, start, name) in table.items():
            if ppid == parent:
                found.append((child, start, name))
                todo.append(child)
    return found


class SandboxKernel:
    """One IPython kernel started through :mod:`coursetools.grading.kernel`, in bubblewrap or not."""

    def __init__(
        self,
        box: Path,
        cwd: Path,
        env: dict,
        limits: Limits,
        isolation: sandbox.Isolation,
        hidden: list[Path],
    ):
        self.box, self.cwd, self.env, self.limits = box, cwd, env, limits
        self.isolation, self.hidden = isolation, hidden
        self.km = self.kc = None
        self.leftovers: list[
            str
        ] = []  # programs the submission left running (stopped by us)

    def _spec(self) -> Path:
        """A kernel spec for this submission (the sandbox's command line names its folder)."""
        argv = [
            sys.executable,
            "-m",
            "coursetools.grading.kernel",
            "-f",
            "{connection_file}",
        ]
        mode = "signal"
        if self.isolation.strong:
            argv = (
                sandbox.command(
                    self.box / "sandbox",
                    self.hidden,
                    self.isolation.bwrap,
                    cwd=self.cwd,
                )
                + argv
            )
            mode = "message"  # a signal would reach bwrap, which does not pass it on
        spec = self.box / "spec" / "kernels" / SPEC_NAME
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": argv,
                    "display_name": "course grading sandbox",
                    "language": "python",
                    "interrupt_mode": mode,
                }
            )
        )
        return spec.parent

    def start(self) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager(kernel_dirs=[str(self._spec())])
        options = {}
        if (
            self.isolation.strong
        ):  # ipc sockets are files: they cross the network namespace
            run = self.box / "sandbox" / "run"
            run.mkdir(parents=True, exist_ok=True)
            for old in run.iterdir():
                old.unlink()
            options = {
                "transport": "ipc",
                "ip": str(run / "k"),
                "connection_file": str(run / "connection.json"),
            }
        env = (
            dict(self.env, COURSE_GRADE_BWRAP="1")
            if self.isolation.strong
            else self.env
        )
        self.km = KernelManager(
            kernel_name=SPEC_NAME, kernel_spec_manager=specs, **options
        )
        self.km.start_kernel(
            cwd=str(self.cwd),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def _pid(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def _stop_leftovers(self) -> None:
        """Note and kill the processes the submission started that are still running."""
        pid = self._pid()
        if pid is None or not sys.platform.startswith("linux"):
            return
        found = descendants(pid)
        if (
            self.isolation.strong
        ):  # bwrap's own processes, and the kernel: the oldest of the rest
            found = [p for p in found if p[2] != "bwrap"]
            found = sorted(found, key=lambda p: (p[1], p[0]))[1:]
        for child, _, name in found:
            self.leftovers.append(name)
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass

    def stop(self) -> None:
        if self.km is None:
            return
        try:
            self._stop_leftovers()
        except Exception:
            pass
        for action in (
            lambda: self.kc.stop_channels(),
            lambda: self.km.shutdown_kernel(now=True),
        ):
            try:
                action()
            except Exception:
                pass

    def run(self, code: str, timeout: float, silent: bool = False) -> Outcome:
        """Execute ``code``; never raises. Output beyond ``limits.output_chars`` is counted, not kept."""
        msg_id = self.kc.execute(
            code, silent=silent, store_history=not silent, allow_stdin=False
        )
        deadline, interrupted = time.monotonic() + timeout, False
        out, kept, dropped = Outcome("ok"), [], 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if interrupted:
                    return Outcome("stuck", stdout="".join(kept), dropped_chars=dropped)
                try:
                    self.km.interrupt_kernel()
                except Exception:
                    pass
                interrupted, deadline = (
                    True,
                    time.monotonic() + self.limits.interrupt_grace,
                )
                continue
            try:
                msg = self.kc.get_iopub_msg(timeout=min(0.5, left))
            except queue.Empty:
                if not self.km.is_alive():
                    return Outcome("dead", stdout="".join(kept), dropped_chars=dropped)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text = content.get("text", "")
                room = max(0, self.limits.output_chars - sum(map(len, kept)))
                kept.append(text[:room])
                dropped += max(0, len(text) - room)
            elif kind == "error":
                out.status, out.ename, out.evalue = (
                    "error",
                    content.get("ename", ""),
                    content.get("evalue", ""),
                )
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        out.stdout, out.dropped_chars = "".join(kept), dropped
        if interrupted:
            out.status = "timeout"
        return out


# ---------------------------------------------------------------- running a notebook ----------


def _guard_code(action: str, instructor: Instructor | None = None) -> str:
    if action == "install":
        return (
            f"import coursetools.grading.guard as _course_g\n"
            f"_course_g.install({instructor.imports!r})\ndel _course_g"
        )
    if action == "remember":
        return (
            f"import coursetools.grading.guard as _course_g\n"
            f"_course_g.remember({{k: v for k, v in globals().items() "
            f"if k not in {instructor.solution_names!r}}})\ndel _course_g"
        )
    return (
        "import coursetools.grading.guard as _course_g, json as _course_j\n"
        "print(_course_g.MARK + _course_j.dumps(_course_g.restore(globals())))\ndel _course_g, _course_j"
    )


def run_plan(
    plan: list[PlanCell],
    instructor: Instructor,
    kernel: SandboxKernel,
    limits: Limits,
    notes: list[str],
) -> list[CellScore]:
    """Run the assembled cells; return one result per test cell (never raises)."""
    results, skipped, restarts = {}, set(), 0
    patched_seen: set = set()

    def start() -> bool:
        try:
            kernel.start()
        except (
            Exception
        ) as exc:  # e.g. "Kernel died before replying": the memory limit is too low
            notes.append(
                f"a grading kernel could not start ({type(exc).__name__}: {exc}); is the memory "
                f"limit of {limits.memory_mb} MB too low?"
            )
            return False
        setup = kernel.run(
            _guard_code("install", instructor),
            timeout=max(60.0, limits.cell_seconds),
            silent=True,
        )
        if setup.status != "ok":
            notes.append(f"the grader's set-up failed in the kernel: {setup.message()}")
        return setup.status == "ok"

    def replay(upto: int) -> bool:
        if not start():
            return False
        for j in range(upto):
            if j in skipped:
                continue
            left = deadline - time.monotonic()
            outcome = kernel.run(
                plan[j].source, timeout=max(1.0, min(limits.cell_seconds, left))
            )
            if outcome.status in ("dead", "stuck"):
                return False
            if plan[j].role == "fixed" and outcome.status == "ok":
                kernel.run(_guard_code("remember", instructor), timeout=30, silent=True)
        return True

    if not start():
        return zero(instructor, "not run: the kernel could not start")
    deadline = (
        time.monotonic() + limits.notebook_seconds
    )  # the clock starts once the kernel is ready
    i = 0
    while i < len(plan):
        cell, left = plan[i], deadline - time.monotonic()
        if left <= 0:
            notes.append(
                f"the notebook ran past its time limit of {limits.notebook_seconds:g} s; "
                "the cells after that were not run"
            )
            break
        if cell.role == "test":
            guard = kernel.run(_guard_code("restore"), timeout=30, silent=True)
            patched = (
                _patched(guard.stdout)
                if guard.status == "ok"
                else [f"(the grader's guard: {guard.message()})"]
            )
            if set(patched) - patched_seen:
                notes.append(
                    "your code replaced things the tests rely on; the originals were put back "
                    f"before the tests ran: {', '.join(sorted(set(patched) - patched_seen))}"
                )
                patched_seen |= set(patched)
        outcome = kernel.run(cell.source, timeout=min(limits.cell_seconds, left))
        if cell.role == "test":
            results[cell.label] = _score(cell, outcome)
        _note_outcome(cell, outcome, notes)
        if cell.role == "fixed" and outcome.status == "ok":
            kernel.run(_guard_code("remember", instructor), timeout=30, silent=True)
        if outcome.status in ("dead", "stuck"):
            skipped.add(i)
            kernel.stop()
            restarts += 1
            if restarts > limits.restarts or not replay(i):
                notes.append(
                    "the kernel could not be brought back; the remaining cells were not run"
                )
                break
            notes.append(
                f"a new kernel was started after `{cell.label}`, re-running the cells before it "
                "(without that one)"
            )
        i += 1
    return [
        results.get(r.grade_id) or CellScore(r.grade_id, 0.0, r.points, "not run")
        for r in instructor.roles
        if r.role == "test"
    ]


def _score(cell: PlanCell, outcome: Outcome) -> CellScore:
    """A test cell earns its points when it ran without an error."""
    ok = outcome.status == "ok"
    return CellScore(
        cell.label,
        cell.points if ok else 0.0,
        cell.points,
        "" if ok else outcome.message(),
    )


def _note_outcome(cell: PlanCell, outcome: Outcome, notes: list[str]) -> None:
    """Feedback notes for a cell that failed (other than a test: its message is in the score) or flooded."""
    if outcome.dropped_chars > 100_000:
        notes.append(
            f"`{cell.label}` printed {outcome.dropped_chars / 1e6:.1f} million characters; output was cut"
        )
    if outcome.status == "ok" or cell.role == "test":
        return
    if cell.role == "solution":
        notes.append(f"your solution cell `{cell.label}` failed: {outcome.message()}")
    elif cell.role == "extra":
        notes.append(f"a cell you added failed: {outcome.message()}")
    else:
        notes.append(
            f"the locked cell `{cell.label}` failed (it runs after your cells and may use your "
            f"code): {outcome.message()}"
        )


def _refusals(log: Path, most: int = 10) -> list[str]:
    """Notes for the actions the sandbox refused (caught by the student's code or not)."""
    try:
        lines = list(
            dict.fromkeys(
                log.read_text(encoding="utf-8", errors="replace").splitlines()
            )
        )
    except OSError:
        return []
    notes = [f"refused by the grading sandbox: {line}" for line in lines[:most]]
    if len(lines) > most:
        notes.append(f"... and {len(lines) - most} more refusals")
    return notes


def _patched(stdout: str) -> list[str]:
    for line in stdout.splitlines():
        if line.startswith("__COURSE_GUARD__"):
            return json.loads(line[len("__COURSE_GUARD__") :])
    return [f"(the grader's guard printed no report: {stdout[-300:]!r})"]


_FONT_CACHE: list = []


def _copy_font_cache(target: Path) -> None:
    """Give each sandbox matplotlib's font cache, so no kernel spends seconds rebuilding it."""
    if not _FONT_CACHE:
        try:
            import matplotlib

            _FONT_CACHE.extend(Path(matplotlib.get_cachedir()).glob("fontlist*.json"))
        except Exception:
            _FONT_CACHE.append(None)
    for path in _FONT_CACHE:
        if path is not None:
            shutil.copy2(path, target / path.name)


def sandbox_env(inside: Path, limits: Limits, hidden: list[Path]) -> dict:
    """The kernel's environment: a few variables of the grader's, the course's settings, the sandbox's."""
    home = inside / "home"
    for sub in ("", "mpl", "ipython", "runtime", "tmp", "claims", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    _copy_font_cache(home / "mpl")
    env = kernel_env(seed=0, claims_dir=home / "claims", threads=1)
    env = {
        k: v
        for k, v in env.items()
        if k in INHERITED
        or k.startswith(("COURSE_", "LC_"))
        or k
        in (
            "PYTHONPATH",
            "MPLBACKEND",
            "PYDEVD_DISABLE_FILE_VALIDATION",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
        )
    }
    env = {k: v for k, v in env.items() if not k.startswith("COURSE_GRADE_")}
    env.update(
        {
            "HOME": str(home),
            "MPLCONFIGDIR": str(home / "mpl"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "TMPDIR": str(home / "tmp"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "COURSE_GRADE_WRITABLE": os.pathsep.join([str(inside / "work"), str(home)]),
            "COURSE_GRADE_HIDDEN": os.pathsep.join(str(h) for h in hidden),
            "COURSE_GRADE_MEMORY_MB": str(limits.memory_mb),
            "COURSE_GRADE_REFUSALS": str(home / REFUSALS),
            "COURSE_GRADE_CPU_SECONDS": str(int(2 * limits.notebook_seconds + 60)),
            "COURSE_DEVICE": "cpu",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return env


def grade_notebook(
    path: Path,
    instructor: Instructor,
    student: str,
    limits: Limits,
    work: Path,
    isolation: sandbox.Isolation,
    hidden: list[Path],
    folder: Path | None = None,
) -> Report:
    """Grade one submitted notebook in a temporary copy of ``folder`` (default: the file alone)."""
    report = Report(
        student,
        instructor.path.stem,
        display_path(path),
        by_hand=[(r.grade_id, r.points) for r in instructor.by_hand],
    )
    start = time.monotonic()
    try:
        submission = nbformat.read(path, as_version=4)
        if not isinstance(submission.get("cells"), list):
            raise ValueError("no cells")
    except Exception as exc:
        report.tests = zero(
            instructor, "not graded: the file is not a readable notebook"
        )
        report.notes.append(
            f"{path.name} is not a readable notebook ({type(exc).__name__}): nothing could be run"
        )
        return report
    box = Path(tempfile.mkdtemp(prefix="submission-", dir=work))
    inside = box / "sandbox"  # all the kernel can see of this folder (with bubblewrap)
    copy = inside / "work"
    try:
        if folder is not None:
            shutil.copytree(
                folder,
                copy,
                symlinks=True,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
            )
        else:
            copy.mkdir(parents=True)
        plan, notes = assemble(instructor, submission)
        report.notes += notes
        report.isolation = isolation.label()
        kernel = SandboxKernel(
            box, copy, sandbox_env(inside, limits, hidden), limits, isolation, hidden
        )
        try:
            report.tests = run_plan(plan, instructor, kernel, limits, report.notes)
        finally:
            kernel.stop()
        report.notes += _refusals(inside / "home" / REFUSALS)
        if kernel.leftovers:
            names = ", ".join(sorted(set(kernel.leftovers)))
            report.notes.append(
                f"programs your code started were still running when grading ended and were "
                f"stopped: {names}"
            )
    except (
        Exception
    ) as exc:  # the grader must go on with the class whatever happened here
        report.tests = zero(
            instructor, "not graded: the grader failed on this notebook"
        )
        report.notes.append(
            f"grader error ({type(exc).__name__}: {exc}); please grade this one by hand"
        )
    finally:
        shutil.rmtree(box, ignore_errors=True)
        report.seconds = time.monotonic() - start
    return report


# ---------------------------------------------------------------- a class ---------------------


class IsolationRefused(SystemExit):
    """``--require-isolation`` and bubblewrap cannot be used."""


def grade(
    target: Path,
    out: Path,
    solutions: Path = ROOT / "solutions",
    limits: Limits | None = None,
    echo=print,
    jobs: int | None = None,
    isolation: str = "auto",
) -> list[Report]:
    """Grade ``target`` (a notebook or a class folder); write the gradebook and feedback to ``out``.

    ``jobs``: submissions graded at once (default: one per core). ``isolation``: "auto" (bubblewrap
    where it works, else the audit hook alone, said in the output and the gradebook), "require"
    (refuse to grade without bubblewrap) or "hook" (the audit hook alone, e.g. to compare).
    """
    limits = limits or Limits()
    jobs = jobs or default_jobs()
    instructors, broken = {}, {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        try:
            instructors[path.stem] = Instructor.load(path)
        except FormatError as exc:
            broken[path.stem] = str(exc)
    hidden = list(
        dict.fromkeys(Path(p).resolve() for p in (ROOT / "solutions", solutions))
    )
    reports: list[Report] = []
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        if isolation == "hook":
            how = sandbox.Isolation(None, "bubblewrap was turned off for this run")
        else:
            how = sandbox.probe(Path(tmp), hidden)
        if isolation == "require" and not how.strong:
            raise IsolationRefused(
                f"not grading: isolation was required and {how.reason}"
            )
        echo(how.describe())
        work = []
        for student, path, folder in find_submissions(target):
            name = exercise_of(path, set(instructors) | set(broken))
            if name is None or name in broken:
                why = broken.get(
                    name, "it matches no notebook in " + display_path(solutions)
                )
                report = Report(
                    student, name or path.stem, display_path(path), max_override=0.0
                )
                report.notes.append(f"not graded: {why}")
                work.append(report)
            else:
                work.append((path, instructors[name], student, folder))

        def one(item) -> Report:
            if isinstance(item, Report):
                return item
            path, instructor, student, folder = item
            return grade_notebook(
                path, instructor, student, limits, Path(tmp), how, hidden, folder
            )

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for report in pool.map(
                one, work
            ):  # results in submission order, whatever finishes first
                echo(
                    f"{report.student:<20} {report.exercise:<32} {report.points:g}/{report.max_points:g}  "
                    f"({report.seconds:.1f} s{', ' + str(len(report.notes)) + ' note(s)' if report.notes else ''})"
                )
                reports.append(report)
    reports += not_submitted(reports, instructors)
    write_outputs(reports, Path(out))
    if reports and not how.strong:
        echo(
            "note: these grades were made with WEAKER isolation (see the gradebook's isolation column)"
        )
    return reports
