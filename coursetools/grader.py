"""``course.py grade``: score submitted exercise notebooks against the instructor's tests.

No server, no database: a submission is a notebook file; a class is a folder of them. For each
submitted notebook the grader

1. finds its instructor notebook (``solutions/<exercise>.ipynb``, from the generator's metadata or
   the file name) and assembles the notebook to run: the student's solution cells (matched by
   ``grade_id``, else by cell id), the student's own extra cells, and every other cell (set-up,
   visible and hidden tests) taken from the instructor's copy, in the instructor's order. Deleted
   solution cells become the unanswered stub; deleted, edited or moved test cells are restored;
2. runs it in a fresh kernel (:mod:`coursetools.sandbox_kernel`: memory, CPU and file-size limits,
   no writing outside the submission's temporary copy), in a temporary copy of the submission's
   folder, with a time limit per cell and per notebook. Before each test cell,
   :mod:`coursetools.grading_guard` undoes any monkeypatching of the modules the tests rely on.
   A kernel that dies or cannot be interrupted is restarted, the cells before the culprit are
   replayed and grading goes on after it;
3. gives each test cell its points when it runs without an error, and nothing otherwise.

The result is a gradebook (``gradebook.csv``: student, exercise, points, max) and one feedback
file per student (``feedback/<student>.md``) with every failed test, its message, and a note for
everything the grader had to repair or refuse.
"""
from __future__ import annotations

import ast
import csv
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from coursetools import ROOT
from coursetools.exercises import HEADER_ID, META_KEY, FormatError, classify, display_path, student_source
from coursetools.execute import kernel_env

SPEC_NAME = "course-grading-sandbox"
REFUSALS = "sandbox-refusals.log"     # the sandbox kernel appends each refused action here
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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

    cell_seconds: float = field(default_factory=lambda: _env_number("COURSE_GRADE_CELL_SECONDS", 120))
    notebook_seconds: float = field(default_factory=lambda: _env_number("COURSE_GRADE_NOTEBOOK_SECONDS", 600))
    memory_mb: int = field(default_factory=lambda: int(_env_number("COURSE_GRADE_MEMORY_MB", 4096)))
    output_chars: int = 4000          # output kept per cell for the feedback
    restarts: int = 3                 # dead or stuck kernels replaced per notebook
    interrupt_grace: float = 10.0     # seconds a timed-out cell gets to stop after the interrupt


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


class SandboxKernel:
    """One IPython kernel started through :mod:`coursetools.sandbox_kernel`."""

    def __init__(self, spec_dir: Path, cwd: Path, env: dict, limits: Limits):
        self.spec_dir, self.cwd, self.env, self.limits = spec_dir, cwd, env, limits
        self.km = self.kc = None

    def start(self) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager(kernel_dirs=[str(self.spec_dir)])
        self.km = KernelManager(kernel_name=SPEC_NAME, kernel_spec_manager=specs)
        self.km.start_kernel(cwd=str(self.cwd), env=self.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def stop(self) -> None:
        for action in (lambda: self.kc.stop_channels(), lambda: self.km.shutdown_kernel(now=True)):
            try:
                action()
            except Exception:
                pass

    def run(self, code: str, timeout: float, silent: bool = False) -> Outcome:
        """Execute ``code``; never raises. Output beyond ``limits.output_chars`` is counted, not kept."""
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False)
        deadline, interrupted = time.monotonic() + timeout, False
        out, kept, dropped = Outcome("ok"), [], 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if interrupted:
                    return Outcome("stuck", stdout="".join(kept), dropped_chars=dropped)
                self.km.interrupt_kernel()
                interrupted, deadline = True, time.monotonic() + self.limits.interrupt_grace
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
                out.status, out.ename, out.evalue = "error", content.get("ename", ""), content.get("evalue", "")
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        out.stdout, out.dropped_chars = "".join(kept), dropped
        if interrupted:
            out.status = "timeout"
        return out


# ---------------------------------------------------------------- assembling ------------------

@dataclass
class PlanCell:
    """A code cell of the notebook the grader runs."""

    source: str
    role: str                 # "fixed", "solution", "test" or "extra" (added by the student)
    label: str                # grade_id, or "cell N" of the instructor's notebook
    points: float = 0.0


@dataclass
class Instructor:
    """An instructor notebook, checked and split into roles once per grading run."""

    path: Path
    nb: object
    roles: list
    imports: list[str]
    solution_names: list[str]

    @classmethod
    def load(cls, path: Path) -> "Instructor":
        nb = nbformat.read(path, as_version=4)
        roles = classify(nb, display_path(path))
        code = [c.source for c, r in zip(nb.cells, roles) if c.cell_type == "code" and r.role != "solution"]
        solutions = [c.source for c, r in zip(nb.cells, roles) if c.cell_type == "code" and r.role == "solution"]
        return cls(path, nb, roles, _imported_modules(code), _bound_names(solutions))

    @property
    def max_points(self) -> float:
        return sum(r.points for r in self.roles)


def _parse(source: str):
    try:
        return ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return None


def _imported_modules(sources: list[str]) -> list[str]:
    """Modules (and their parents) the instructor's cells import: the guard protects them."""
    names = set()
    for source in sources:
        tree = _parse(source)
        for node in ast.walk(tree) if tree else ():
            found = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in found:
                parts = name.split(".")
                names |= {".".join(parts[: i + 1]) for i in range(len(parts))}
    return sorted(names)


def _bound_names(sources: list[str]) -> list[str]:
    """Top-level names the solution cells bind: the student's to define, never restored."""
    names = set()
    for source in sources:
        tree = _parse(source)
        for node in tree.body if tree else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            else:
                names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return sorted(names)


def _key(cell) -> tuple:
    meta = cell.get("metadata", {}).get("nbgrader")
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return grade_id, cell.get("id")


def assemble(instructor: Instructor, submission) -> tuple[list[PlanCell], list[str]]:
    """The code cells to run, in the instructor's order, and notes on what had to be repaired."""
    notes, cells = [], instructor.nb.cells
    by_grade_id = {r.grade_id: i for i, r in enumerate(instructor.roles) if r.grade_id}
    by_cell_id = {c.get("id"): i for i, c in enumerate(cells) if c.get("id")}
    matched, extras_after, order = {}, {}, []
    anchor = -1
    for cell in submission.cells:
        grade_id, cell_id = _key(cell)
        if cell_id == HEADER_ID:
            continue
        index = by_grade_id.get(grade_id, by_cell_id.get(cell_id))
        if index is not None and index not in matched:
            matched[index] = cell
            order.append(index)
            anchor = index
        elif cell.cell_type == "code" and cell.source.strip():
            extras_after.setdefault(anchor, []).append(cell.source)
    if order != sorted(order):
        notes.append("cells were moved; they were run in the order of the original notebook")
    plan = [PlanCell(s, "extra", "a cell you added") for s in extras_after.get(-1, [])]
    for index, (cell, role) in enumerate(zip(cells, instructor.roles)):
        label = role.grade_id or f"cell {index}"
        mine = matched.get(index)
        if role.role == "solution" and cell.cell_type == "code":
            if mine is None:
                notes.append(f"solution cell `{label}` was deleted: graded as unanswered")
                source = student_source(cell, "solution")
            else:
                source = mine.source
            plan.append(PlanCell(source, "solution", label))
        elif cell.cell_type == "code":
            if mine is None:
                notes.append(f"{'test' if role.role == 'test' else 'set-up'} cell `{label}` was deleted: "
                             "restored from the instructor's copy")
            elif mine.source not in (student_source(cell, role.role), cell.source):
                notes.append(f"changes to the locked cell `{label}` were ignored: restored from the "
                             "instructor's copy")
            plan.append(PlanCell(cell.source, role.role, label, role.points))
        plan += [PlanCell(s, "extra", "a cell you added") for s in extras_after.get(index, [])]
    return plan, notes


# ---------------------------------------------------------------- grading ---------------------

@dataclass
class CellScore:
    grade_id: str
    points: float
    max_points: float
    message: str = ""


@dataclass
class Report:
    """The grade of one submitted notebook."""

    student: str
    exercise: str
    submission: str
    tests: list[CellScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    max_override: float | None = None

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return self.max_override if self.max_override is not None else sum(t.max_points for t in self.tests)


def _zero(instructor: Instructor, message: str) -> list[CellScore]:
    return [CellScore(r.grade_id, 0.0, r.points, message) for r in instructor.roles if r.role == "test"]


def _write_spec(folder: Path) -> Path:
    spec = folder / "kernels" / SPEC_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "coursetools.sandbox_kernel", "-f", "{connection_file}"],
        "display_name": "course grading sandbox", "language": "python"}))
    return spec.parent


def _sandbox_env(box: Path, limits: Limits) -> dict:
    home = box / "home"
    for sub in ("", "mpl", "ipython", "runtime", "tmp", "claims", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    _copy_font_cache(home / "mpl")
    env = kernel_env(seed=0, claims_dir=home / "claims", threads=1)
    env.update({"HOME": str(home), "MPLCONFIGDIR": str(home / "mpl"), "IPYTHONDIR": str(home / "ipython"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "TMPDIR": str(home / "tmp"),
                "XDG_CACHE_HOME": str(home / "cache"), "COURSE_GRADE_WRITABLE": os.pathsep.join([str(box / "work"), str(home)]),
                "COURSE_GRADE_MEMORY_MB": str(limits.memory_mb),
                "COURSE_GRADE_REFUSALS": str(home / REFUSALS),
                "COURSE_GRADE_CPU_SECONDS": str(int(2 * limits.notebook_seconds + 60)),
                "PYTHONDONTWRITEBYTECODE": "1"})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


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


def _guard_code(action: str, instructor: Instructor | None = None) -> str:
    if action == "install":
        return (f"import coursetools.grading_guard as _course_g\n"
                f"_course_g.install({instructor.imports!r})\ndel _course_g")
    if action == "remember":
        return (f"import coursetools.grading_guard as _course_g\n"
                f"_course_g.remember({{k: v for k, v in globals().items() "
                f"if k not in {instructor.solution_names!r}}})\ndel _course_g")
    return ("import coursetools.grading_guard as _course_g, json as _course_j\n"
            "print(_course_g.MARK + _course_j.dumps(_course_g.restore(globals())))\ndel _course_g, _course_j")


def run_plan(plan: list[PlanCell], instructor: Instructor, kernel: SandboxKernel, limits: Limits,
             notes: list[str]) -> list[CellScore]:
    """Run the assembled cells; return one result per test cell (never raises)."""
    results, skipped, restarts = {}, set(), 0
    patched_seen: set = set()

    def start() -> bool:
        try:
            kernel.start()
        except Exception as exc:   # e.g. "Kernel died before replying": the memory limit is too low
            notes.append(f"a grading kernel could not start ({type(exc).__name__}: {exc}); is the memory "
                         f"limit of {limits.memory_mb} MB too low?")
            return False
        setup = kernel.run(_guard_code("install", instructor), timeout=max(60.0, limits.cell_seconds), silent=True)
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
            outcome = kernel.run(plan[j].source, timeout=max(1.0, min(limits.cell_seconds, left)))
            if outcome.status in ("dead", "stuck"):
                return False
            if plan[j].role == "fixed" and outcome.status == "ok":
                kernel.run(_guard_code("remember", instructor), timeout=30, silent=True)
        return True

    if not start():
        return _zero(instructor, "not run: the kernel could not start")
    deadline = time.monotonic() + limits.notebook_seconds     # the clock starts once the kernel is ready
    i = 0
    while i < len(plan):
        cell, left = plan[i], deadline - time.monotonic()
        if left <= 0:
            notes.append(f"the notebook ran past its time limit of {limits.notebook_seconds:g} s; "
                         "the cells after that were not run")
            break
        if cell.role == "test":
            guard = kernel.run(_guard_code("restore"), timeout=30, silent=True)
            patched = _patched(guard.stdout) if guard.status == "ok" else [f"(the grader's guard: {guard.message()})"]
            if set(patched) - patched_seen:
                notes.append("your code replaced things the tests rely on; the originals were put back "
                             f"before the tests ran: {', '.join(sorted(set(patched) - patched_seen))}")
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
                notes.append("the kernel could not be brought back; the remaining cells were not run")
                break
            notes.append(f"a new kernel was started after `{cell.label}`, re-running the cells before it "
                         "(without that one)")
        i += 1
    return [results.get(r.grade_id) or CellScore(r.grade_id, 0.0, r.points, "not run")
            for r in instructor.roles if r.role == "test"]


def _score(cell: PlanCell, outcome: Outcome) -> CellScore:
    """A test cell earns its points when it ran without an error."""
    ok = outcome.status == "ok"
    return CellScore(cell.label, cell.points if ok else 0.0, cell.points, "" if ok else outcome.message())


def _note_outcome(cell: PlanCell, outcome: Outcome, notes: list[str]) -> None:
    """Feedback notes for a cell that failed (other than a test: its message is in the score) or flooded."""
    if outcome.dropped_chars > 100_000:
        notes.append(f"`{cell.label}` printed {outcome.dropped_chars / 1e6:.1f} million characters; output was cut")
    if outcome.status == "ok" or cell.role == "test":
        return
    if cell.role == "solution":
        notes.append(f"your solution cell `{cell.label}` failed: {outcome.message()}")
    elif cell.role == "extra":
        notes.append(f"a cell you added failed: {outcome.message()}")
    else:
        notes.append(f"the locked cell `{cell.label}` failed (it runs after your cells and may use your "
                     f"code): {outcome.message()}")


def _refusals(log: Path, most: int = 10) -> list[str]:
    """Notes for the actions the sandbox refused (caught by the student's code or not)."""
    try:
        lines = list(dict.fromkeys(log.read_text(encoding="utf-8", errors="replace").splitlines()))
    except OSError:
        return []
    notes = [f"refused by the grading sandbox: {line}" for line in lines[:most]]
    if len(lines) > most:
        notes.append(f"... and {len(lines) - most} more refusals")
    return notes


def _patched(stdout: str) -> list[str]:
    for line in stdout.splitlines():
        if line.startswith("__COURSE_GUARD__"):
            return json.loads(line[len("__COURSE_GUARD__"):])
    return [f"(the grader's guard printed no report: {stdout[-300:]!r})"]


def grade_notebook(path: Path, instructor: Instructor, student: str, limits: Limits, work: Path,
                   spec_dir: Path, folder: Path | None = None) -> Report:
    """Grade one submitted notebook in a temporary copy of ``folder`` (default: the file alone)."""
    report = Report(student, instructor.path.stem, display_path(path))
    start = time.monotonic()
    try:
        submission = nbformat.read(path, as_version=4)
        if not isinstance(submission.get("cells"), list):
            raise ValueError("no cells")
    except Exception as exc:
        report.tests = _zero(instructor, "not graded: the file is not a readable notebook")
        report.notes.append(f"{path.name} is not a readable notebook ({type(exc).__name__}): nothing could be run")
        return report
    box = Path(tempfile.mkdtemp(prefix="submission-", dir=work))
    copy = box / "work"
    try:
        if folder is not None:
            shutil.copytree(folder, copy, symlinks=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:
            copy.mkdir()
        plan, notes = assemble(instructor, submission)
        report.notes += notes
        kernel = SandboxKernel(spec_dir, copy, _sandbox_env(box, limits), limits)
        try:
            report.tests = run_plan(plan, instructor, kernel, limits, report.notes)
        finally:
            kernel.stop()
        report.notes += _refusals(box / "home" / REFUSALS)
    except Exception as exc:  # the grader must go on with the class whatever happened here
        report.tests = _zero(instructor, "not graded: the grader failed on this notebook")
        report.notes.append(f"grader error ({type(exc).__name__}: {exc}); please grade this one by hand")
    finally:
        shutil.rmtree(box, ignore_errors=True)
        report.seconds = time.monotonic() - start
    return report


# ---------------------------------------------------------------- a class ---------------------

def find_submissions(target: Path) -> list[tuple[str, Path, Path | None]]:
    """``(student, notebook, folder to copy)`` for each submitted notebook under ``target``.

    * a notebook: one submission, graded alone (without the other files of its folder); the student
      is its folder's name when the file is named after an exercise (``alice/01-balance-score.ipynb``),
      else the file's stem (``alice.ipynb``);
    * a folder holding exercise notebooks (``NN-*.ipynb``) directly: one student, named after the
      folder, graded with a copy of it;
    * any other folder: a class. Each sub-folder is one student (its ``.ipynb`` files, at any depth,
      graded with a copy of that sub-folder, so data files travel along), and each notebook directly
      inside is one student named after the file, graded alone.
    """
    target = Path(target)
    if target.is_file():
        student = target.parent.resolve().name if _EXERCISE_NAME.match(target.name) else target.stem
        return [(student, target, None)]
    if any(_EXERCISE_NAME.match(p.name) for p in target.glob("*.ipynb")):
        return [(target.resolve().name, nb, target) for nb in _notebooks_in(target)]
    out = []
    for entry in sorted(target.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            out += [(entry.name, nb, entry) for nb in _notebooks_in(entry)]
        elif entry.suffix == ".ipynb":
            out.append((entry.stem, entry, None))
    return out


_EXERCISE_NAME = re.compile(r"^\d\d-.+\.ipynb$")


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(nb for nb in folder.rglob("*.ipynb")
                  if not any(part.startswith(".") for part in nb.relative_to(folder).parts))


def exercise_of(path: Path, known: set[str]) -> str | None:
    """Which exercise a notebook is: the generator's metadata, else an exercise name in the file name."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get(META_KEY, {})
        if isinstance(meta, dict) and meta.get("exercise") in known:
            return meta["exercise"]
    except Exception:
        pass
    return next((name for name in sorted(known, key=len, reverse=True) if name in path.stem), None)


def feedback_text(student: str, reports: list[Report]) -> str:
    lines = [f"# Feedback for {student}", ""]
    for r in reports:
        lines += [f"## {r.exercise}: {r.points:g} / {r.max_points:g} points", "", f"Graded file: `{r.submission}`", ""]
        for t in r.tests:
            mark = "passed" if t.points == t.max_points else "failed: " + t.message.strip().replace("\n", "\n  ")
            lines.append(f"* `{t.grade_id}` ({t.points:g}/{t.max_points:g}): {mark}")
        if r.notes:
            lines += ["", "Notes from the grader:", ""] + ["* " + n.strip().replace("\n", "\n  ") for n in r.notes]
        lines.append("")
    return "\n".join(lines)


def grade(target: Path, out: Path, solutions: Path = ROOT / "solutions", limits: Limits | None = None,
          echo=print) -> list[Report]:
    """Grade ``target`` (a notebook or a class folder); write the gradebook and feedback to ``out``."""
    limits = limits or Limits()
    instructors, broken = {}, {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        try:
            instructors[path.stem] = Instructor.load(path)
        except FormatError as exc:
            broken[path.stem] = str(exc)
    reports: list[Report] = []
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        spec_dir = _write_spec(Path(tmp))
        submissions = find_submissions(target)
        for student, path, folder in submissions:
            name = exercise_of(path, set(instructors) | set(broken))
            if name is None or name in broken:
                why = broken.get(name, "it matches no notebook in " + display_path(solutions))
                report = Report(student, name or path.stem, display_path(path), max_override=0.0)
                report.notes.append(f"not graded: {why}")
            else:
                report = grade_notebook(path, instructors[name], student, limits, Path(tmp), spec_dir, folder)
            echo(f"{student:<20} {report.exercise:<32} {report.points:g}/{report.max_points:g}  "
                 f"({report.seconds:.1f} s{', ' + str(len(report.notes)) + ' note(s)' if report.notes else ''})")
            reports.append(report)
    reports += _not_submitted(reports, instructors)
    write_outputs(reports, Path(out))
    return reports


def _not_submitted(reports: list[Report], instructors: dict) -> list[Report]:
    """A zero for each exercise some student handed in that another student did not."""
    students = sorted({r.student for r in reports})
    handed_in = {(r.student, r.exercise) for r in reports}
    missing = []
    for exercise in sorted({r.exercise for r in reports if r.exercise in instructors}):
        for student in students:
            if (student, exercise) not in handed_in:
                report = Report(student, exercise, "(none)", _zero(instructors[exercise], "not submitted"))
                report.notes.append("no notebook for this exercise was found")
                missing.append(report)
    return missing


def write_outputs(reports: list[Report], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    reports = sorted(reports, key=lambda r: (r.student, r.exercise))
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "exercise", "points", "max"])
        for r in reports:
            writer.writerow([r.student, r.exercise, f"{r.points:g}", f"{r.max_points:g}"])
    (out / "feedback").mkdir(exist_ok=True)
    for student in sorted({r.student for r in reports}):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", student)
        text = feedback_text(student, [r for r in reports if r.student == student])
        (out / "feedback" / f"{safe}.md").write_text(text, encoding="utf-8")
