"""The exercise format of ``solutions/NN-*.ipynb`` and the generator of ``exercises/NN-*.ipynb``.

A solutions notebook is the single source (CONTRIBUTING.md, "Exercises"). Its cells carry
nbgrader-style metadata (schema version 3)::

    solution cell  {"grade": false, "solution": true,  "locked": false, "grade_id": ..., "schema_version": 3}
    test cell      {"grade": true,  "solution": false, "locked": true,  "grade_id": ..., "points": 3, ...}
    written answer {"grade": true,  "solution": true,  "locked": false, "grade_id": ..., "points": 0, ...}
    read-only cell {"grade": false, "solution": false, "locked": true,  "grade_id": ..., ...}  (or none)

A written answer (nbgrader's "manually graded answer", the only kind of markdown solution cell
nbgrader accepts) is stubbed like a solution cell; the course grader reports it as graded by hand.

and two kinds of marked regions: ``### BEGIN SOLUTION`` / ``### END SOLUTION`` in solution cells
(an optional first line ``### HINT: text`` inside the region) and ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` in test cells.

The student version (``exercises/NN-slug-exercises.ipynb``: a name that cannot be taken for the
chapter) replaces every solution region with ``raise NotImplementedError("hint")``,
drops the hidden tests, clears outputs and adds a header cell. It is written byte for byte
deterministically, and carries a hash of its generated cells in its metadata so that the generator
can tell an untouched exercise (safe to regenerate) from one a student has worked in (never
overwritten without ``--force``, and then only after a backup).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursetools import ROOT
from coursetools.notebooks import KERNELSPEC, LANGUAGE_INFO, write_notebook

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
HINT = "### HINT:"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
DEFAULT_HINT = "replace this line with your solution"
HIDDEN_NOTE = "# (more tests are hidden here: the grader adds them back)"
MARKDOWN_STUB = "*Write your answer here.*"
META_KEY = "course_exercise"  # notebook metadata written by the generator
HEADER_ID = "exercise-header"  # cell id of the generated header cell
GENERATOR_COMMAND = "python3 course.py exercises"
BACKUP_DIR = ".backups"  # inside exercises/: not a chapter notebook, never globbed
EXERCISE_SUFFIX = "-exercises"  # exercises/NN-slug-exercises.ipynb
ANSWER_ROLES = ("solution", "manual")  # cells whose content is the student's
_GRADE_ID = re.compile(r"^[A-Za-z0-9_\-]+$")


class FormatError(ValueError):
    """A solutions notebook breaks the exercise format; the message names notebook and cell."""


@dataclass(frozen=True)
class Cell:
    """The role of one cell of a solutions notebook."""

    index: int
    cell_type: str
    grade_id: str | None
    role: str  # "solution", "manual" (answer graded by hand), "test" or "fixed" (the rest)
    points: float = 0.0


def exercise_name(stem: str) -> str:
    """The file name of the exercise notebook made from ``solutions/<stem>.ipynb``."""
    return f"{stem}{EXERCISE_SUFFIX}.ipynb"


def exercise_stem(name: str) -> str:
    """``01-balance-score`` from an exercise file name, new (``...-exercises.ipynb``) or old."""
    stem = name[: -len(".ipynb")] if name.endswith(".ipynb") else name
    return stem[: -len(EXERCISE_SUFFIX)] if stem.endswith(EXERCISE_SUFFIX) else stem


def display_path(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def nbgrader_meta(cell) -> dict | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def _marker_of(line: str) -> str | None:
    """The marker a line carries (``### BEGIN SOLUTION``...), or None; ``### HINT:`` is not one."""
    text = line.strip()
    for marker in MARKERS:
        if text == marker or (
            text.startswith(marker) and not text[len(marker) :].strip()
        ):
            return marker
    return None


def _check_regions(
    lines: list[str], begin: str, end: str, where: str, errors: list[str]
) -> None:
    """Markers ``begin``/``end`` alternate, are not nested and are closed; HINT only opens a region."""
    open_line = None
    for number, line in enumerate(lines, 1):
        marker = _marker_of(line)
        if marker == begin:
            if open_line is not None:
                errors.append(
                    f"{where}: line {number}: {begin} inside the region opened on line {open_line}"
                )
            open_line = number
        elif marker == end:
            if open_line is None:
                errors.append(
                    f"{where}: line {number}: {end} without a {begin} before it"
                )
            open_line = None
        elif line.strip().startswith(HINT):
            if open_line is None or number != open_line + 1:
                errors.append(
                    f"{where}: line {number}: {HINT} must be the first line inside a "
                    f"{BEGIN_SOLUTION} region"
                )
    if open_line is not None:
        errors.append(f"{where}: line {open_line}: {begin} is never closed by {end}")


def classify(nb, name: str = "notebook") -> list[Cell]:
    """Check the exercise format of a solutions notebook and return each cell's role.

    Raises :class:`FormatError` listing every problem, each naming ``name`` and the cell: bad or
    missing nbgrader metadata, duplicate ``grade_id``, a test cell without points, unbalanced or
    misplaced markers, a notebook without any graded cell.
    """
    errors, cells, seen = [], [], {}
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id") if meta else None
        where = f"{name}, cell {index}" + (
            f" (grade_id {grade_id!r})" if grade_id else ""
        )
        lines = cell.source.splitlines()
        role, points = "fixed", 0.0
        if cell.get("metadata", {}).get("nbgrader") is not None and meta is None:
            errors.append(f"{where}: the nbgrader metadata must be an object")
        if meta is not None:
            role, points = _check_meta(meta, cell.cell_type, where, errors)
            if isinstance(grade_id, str) and grade_id in seen:
                errors.append(
                    f"{where}: duplicate grade_id {grade_id!r} (also cell {seen[grade_id]})"
                )
            elif isinstance(grade_id, str):
                seen[grade_id] = index
        has_solution = any(
            _marker_of(l) in (BEGIN_SOLUTION, END_SOLUTION) for l in lines
        )
        has_hidden = any(_marker_of(l) in (BEGIN_HIDDEN, END_HIDDEN) for l in lines)
        if has_solution and role not in ANSWER_ROLES:
            errors.append(
                f"{where}: {BEGIN_SOLUTION} markers in a cell that is not a solution cell "
                f'(its metadata needs "solution": true)'
            )
        if has_hidden and role != "test":
            errors.append(
                f"{where}: {BEGIN_HIDDEN} markers in a cell that is not a test cell "
                f'(its metadata needs "grade": true and "points")'
            )
        if role in ANSWER_ROLES:
            if not has_solution:
                errors.append(
                    f"{where}: solution cell without a {BEGIN_SOLUTION} ... {END_SOLUTION} region"
                )
            _check_regions(lines, BEGIN_SOLUTION, END_SOLUTION, where, errors)
        if role == "test":
            _check_regions(lines, BEGIN_HIDDEN, END_HIDDEN, where, errors)
        cells.append(Cell(index, cell.cell_type, grade_id, role, points))
    if not errors and not any(c.role == "test" for c in cells):
        errors.append(
            f'{name}: no graded test cell (a cell with "grade": true and points)'
        )
    if errors:
        raise FormatError("exercise format errors:\n  " + "\n  ".join(errors))
    return cells


def _check_meta(
    meta: dict, cell_type: str, where: str, errors: list[str]
) -> tuple[str, float]:
    """Validate one cell's nbgrader metadata (schema 3); return its role and points."""
    grade_id = meta.get("grade_id")
    if meta.get("schema_version") != 3:
        errors.append(
            f"{where}: nbgrader schema_version must be 3, got {meta.get('schema_version')!r}"
        )
    if not isinstance(grade_id, str) or not _GRADE_ID.match(grade_id):
        errors.append(
            f"{where}: grade_id must be letters, digits, '-' or '_', got {grade_id!r}"
        )
    flags = {}
    for key in ("grade", "solution", "locked"):
        value = meta.get(key, False)
        if not isinstance(value, bool):
            errors.append(
                f"{where}: nbgrader {key!r} must be true or false, got {value!r}"
            )
        flags[key] = value is True
    points = meta.get("points")
    if flags["grade"] and flags["solution"]:  # nbgrader's manually graded answer
        if flags["locked"]:
            errors.append(f"{where}: an answer graded by hand cannot be locked")
        if cell_type not in ("code", "markdown"):
            errors.append(f"{where}: an answer graded by hand must be code or markdown")
        if (
            isinstance(points, bool)
            or not isinstance(points, (int, float))
            or not points >= 0
        ):
            errors.append(
                f"{where}: an answer graded by hand needs points (a number >= 0, got {points!r})"
            )
            points = 0.0
        return "manual", float(points)
    if flags["solution"]:
        if flags["locked"]:
            errors.append(f"{where}: a solution cell cannot be locked")
        if cell_type not in ("code", "markdown"):
            errors.append(f"{where}: a solution cell must be code or markdown")
        return "solution", 0.0
    if flags["grade"]:
        if cell_type != "code":
            errors.append(f"{where}: a test cell must be a code cell")
        if (
            isinstance(points, bool)
            or not isinstance(points, (int, float))
            or not points > 0
        ):
            errors.append(
                f"{where}: test cell without points (need a number > 0, got {points!r})"
            )
            points = 0.0
        return "test", float(points)
    if points not in (None, 0):
        errors.append(
            f'{where}: points on a cell that is not graded (set "grade": true)'
        )
    return "fixed", 0.0


def stub_solution(source: str, markdown: bool = False) -> str:
    """Replace each ``### BEGIN/END SOLUTION`` region with a stub at the region's indentation."""
    out, lines, i = [], source.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if _marker_of(line) != BEGIN_SOLUTION:
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        hint = DEFAULT_HINT
        if i + 1 < len(lines) and lines[i + 1].strip().startswith(HINT):
            hint = lines[i + 1].strip()[len(HINT) :].strip() or DEFAULT_HINT
        while _marker_of(lines[i]) != END_SOLUTION:
            i += 1
        out.append(
            f"{indent}{MARKDOWN_STUB}"
            if markdown
            else f"{indent}raise NotImplementedError({hint!r})"
        )
        i += 1
    return "\n".join(out)


def strip_hidden_tests(source: str) -> str:
    """Replace each ``### BEGIN/END HIDDEN TESTS`` region by a one-line note."""
    out, hidden = [], False
    for line in source.splitlines():
        marker = _marker_of(line)
        if marker == BEGIN_HIDDEN:
            hidden = True
            out.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif marker == END_HIDDEN:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def student_source(cell, role: str) -> str:
    """What the student sees of one cell of the solutions notebook."""
    if role in ANSWER_ROLES:
        return stub_solution(cell.source, markdown=cell.cell_type == "markdown")
    if role == "test":
        return strip_hidden_tests(cell.source)
    return cell.source


def content_hash(nb) -> str:
    """SHA-256 of the cells' types and sources: what a student edits (outputs are ignored)."""
    payload = json.dumps(
        [[c.cell_type, c.source] for c in nb.cells], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _header(source_name: str, tests: list[Cell], by_hand: list[Cell] = ()) -> str:
    rows = "\n".join(f"| `{c.grade_id}` | {c.points:g} |" for c in tests)
    total = sum(c.points for c in tests)
    hand = ""
    if by_hand:
        names = ", ".join(
            f"`{c.grade_id}`" + (f" ({c.points:g} points)" if c.points else "")
            for c in by_hand
        )
        hand = f"\n\n**Written answers** ({names}) are read by your instructor: no test grades them."
    return (
        f"> **Generated file.** Made from `{source_name}` by `{GENERATOR_COMMAND}` (instructors: change "
        "the solutions notebook and regenerate, never edit this file by hand).\n\n"
        "**Your work:** wherever a cell says `raise NotImplementedError(...)`, replace that line with "
        "your code (the message is a hint). Leave the other cells as they are: when your notebook is "
        "graded, the test cells and the set-up cells are restored from the instructor's copy, and hidden "
        "tests are added to them.\n\n"
        "**Check your work:** *Kernel → Restart Kernel and Run All Cells*. Every test cell must run "
        "without an error. The visible tests are a first check; when your instructor grades the notebook "
        "(`python3 course.py grade`), hidden tests check more cases, each test cell earns its points when it "
        "runs without an error, and the feedback names every test that failed.\n\n"
        f"| Test cell | Points |\n|---|---|\n{rows}\n| **total** | **{total:g}** |{hand}"
    )


def make_exercise(solution_nb, source_name: str, stem: str):
    """The student notebook generated from a solutions notebook (raises :class:`FormatError`)."""
    roles = classify(solution_nb, source_name)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)  # what write_notebook writes too
    nb.metadata["language_info"] = copy.deepcopy(
        LANGUAGE_INFO
    )  # what write_notebook writes too
    header = nbformat.v4.new_markdown_cell(
        _header(
            source_name,
            [c for c in roles if c.role == "test"],
            [c for c in roles if c.role == "manual"],
        )
    )
    header.id = HEADER_ID
    nb.cells.append(header)
    for role, cell in zip(roles, solution_nb.cells):
        new = copy.deepcopy(cell)
        new.source = student_source(cell, role.role)
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        new.id = cell.get("id") or f"cell-{role.index:03d}"
        nb.cells.append(new)
    nb.metadata[META_KEY] = {
        "exercise": stem,
        "source": source_name,
        "generated_by": GENERATOR_COMMAND,
        "content_sha256": content_hash(nb),
    }
    return nb


def exercise_text(solution_path: Path) -> str:
    """The exact bytes (as text) ``exercises/`` should hold for ``solution_path``."""
    nb = nbformat.read(solution_path, as_version=4)
    nb = make_exercise(nb, display_path(solution_path), solution_path.stem)
    nbformat.validate(nb)
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def student_changed(path: Path) -> str | None:
    """Why ``path`` must not be overwritten (a student's work, or not ours), or None when safe."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (
        Exception
    ) as exc:  # unreadable: maybe half-saved work, certainly not ours to drop
        return f"it is not a readable notebook ({type(exc).__name__})"
    meta = nb.metadata.get(META_KEY)
    if not isinstance(meta, dict) or "content_sha256" not in meta:
        return "it was not made by the generator (no generator metadata)"
    if content_hash(nb) != meta["content_sha256"]:
        return "its cells were changed after it was generated (a student's work?)"
    return None


def backup(path: Path) -> Path:
    """Copy ``path`` to ``exercises/.backups/<stem>.<time>.ipynb`` (never overwriting a backup)."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = folder / f"{path.stem}.{stamp}.ipynb", 1
    while target.exists():
        target, n = folder / f"{path.stem}.{stamp}-{n}.ipynb", n + 1
    shutil.copy2(path, target)
    return target


def solutions_for(names: list[str], solutions: Path) -> list[Path]:
    """Solutions notebooks chosen by chapter number (``01``) or path; all of them by default."""
    found = sorted(solutions.glob("[0-9][0-9]-*.ipynb"))
    if not names:
        return found
    out = []
    for name in names:
        if name.endswith(".ipynb"):
            path = Path(name).resolve()
            if not path.exists():
                raise SystemExit(f"no such notebook: {name}")
            out.append(path)
        elif name.isdigit():
            matches = [p for p in found if p.name.startswith(f"{int(name):02d}-")]
            if not matches:
                raise SystemExit(
                    f"no solutions notebook for chapter {int(name):02d} in {display_path(solutions)}/"
                )
            out += matches
        else:
            raise SystemExit(
                f"give a chapter number (like 01) or a notebook path, not {name!r}"
            )
    return out


def generate(
    names: list[str] = (),
    *,
    solutions: Path = ROOT / "solutions",
    exercises: Path = ROOT / "exercises",
    force: bool = False,
    check: bool = False,
    echo=print,
) -> int:
    """``course.py exercises``: write (or with ``check`` only compare) the student notebooks.

    Returns the exit status: 1 when a source breaks the format, when ``check`` finds a stale,
    missing or orphaned exercise, or when an exercise holds a student's changes and ``force`` is off.
    """
    status, stale, unchanged = 0, [], 0
    sources = solutions_for(list(names), Path(solutions))
    for source in sources:
        target = Path(exercises) / exercise_name(source.stem)
        old = (
            Path(exercises) / source.name
        )  # the name exercises had before (same as the chapter)
        if not check and old.is_file() and student_changed(old) is None:
            old.unlink()
            echo(
                f"removed {display_path(old)}: exercise notebooks are now named {target.name}"
            )
        try:
            text = exercise_text(source)
        except FormatError as exc:
            echo(f"{display_path(source)}: {exc}")
            status = 1
            continue
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            unchanged += 1
            continue
        if check:
            stale.append(
                f"{display_path(target)} ({'missing' if current is None else 'differs from its source'})"
            )
            continue
        if current is not None:
            reason = student_changed(target)
            if reason and not force:
                echo(
                    f"refusing to overwrite {display_path(target)}: {reason}. Nothing was written. "
                    f"Move it elsewhere, or rerun with --force to back it up to "
                    f"{display_path(target.parent / BACKUP_DIR)}/ first."
                )
                status = 1
                continue
            if reason:
                echo(
                    f"backed up {display_path(target)} to {display_path(backup(target))} ({reason})"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        echo(f"wrote {display_path(target)} (from {display_path(source)})")
    if check and not names:
        sources_names = {exercise_name(p.stem) for p in sources}
        for orphan in sorted(Path(exercises).glob("[0-9][0-9]-*.ipynb")):
            if orphan.name not in sources_names:
                stale.append(
                    f"{display_path(orphan)} (no solutions notebook of that name)"
                )
    if stale:
        echo(
            "exercises out of sync with solutions/ (run `python3 course.py exercises`):\n  "
            + "\n  ".join(stale)
        )
        status = 1
    elif check and status == 0:
        echo(f"exercises in sync: {len(sources)} notebook(s)")
    elif not check and unchanged:
        echo(f"{unchanged} exercise notebook(s) already up to date")
    return status


def write_exercise(solution_path: Path, target: Path) -> None:
    """Write the exercise of ``solution_path`` to ``target`` (a file) unconditionally (tests, tooling)."""
    nb = nbformat.read(solution_path, as_version=4)
    write_notebook(
        make_exercise(nb, display_path(solution_path), Path(solution_path).stem), target
    )
