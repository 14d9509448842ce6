"""Classroom assignments: the exercise format, the generator (``course.py exercises``) and the
grader (``course.py grade``), on a small fixture notebook and on every real solutions notebook.

The fixture ``tests/fixtures/classroom/solutions/99-split-stats.ipynb`` has three exercises
(2 + 3 + 1 points) and imports ``utils.data.seeded_split``, so that a submission which
monkeypatches a course helper is a realistic case.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from coursetools import ROOT
from coursetools.exercises import (
    BACKUP_DIR,
    META_KEY,
    FormatError,
    classify,
    exercise_name,
    exercise_text,
    generate,
    make_exercise,
    write_exercise,
)
from coursetools.grading.assemble import Instructor, assemble
from coursetools.grading.report import (
    CellScore,
    Report,
    feedback_text,
    not_submitted,
    write_outputs,
)
from coursetools.grading.run import Limits, grade
from coursetools.grading.sandbox import probe
from coursetools.grading.submissions import exercise_of, find_submissions
from coursetools.notebooks import write_notebook

FIXTURE_SOLUTIONS = ROOT / "tests" / "fixtures" / "classroom" / "solutions"
FIXTURE = FIXTURE_SOLUTIONS / "99-split-stats.ipynb"
EXERCISE = exercise_name("99-split-stats")  # 99-split-stats-exercises.ipynb
REAL_SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))
FAST = Limits(cell_seconds=6, notebook_seconds=120, interrupt_grace=2)


def read(path):
    return nbformat.read(path, as_version=4)


def cell_by_id(nb, grade_id):
    return next(
        c
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    )


def silent(*_):
    pass


# ------------------------------------------------------------------ the format ----------------


def test_fixture_follows_the_format():
    roles = classify(read(FIXTURE), "fixture")
    tests = {r.grade_id: r.points for r in roles if r.role == "test"}
    assert tests == {
        "ex1-mean-tests": 2,
        "ex2-held-out-tests": 3,
        "ex3-spread-tests": 1,
    }
    assert [r.grade_id for r in roles if r.role == "solution"] == [
        "ex1-mean",
        "ex2-held-out",
        "ex3-spread",
    ]


def _broken(change):
    nb = read(FIXTURE)
    change(nb)
    return nb


def _set(which, **meta):
    return lambda nb: cell_by_id(nb, which).metadata["nbgrader"].update(meta)


def _source(grade_id, old, new):
    def change(nb):
        cell = cell_by_id(nb, grade_id)
        assert old in cell.source
        cell.source = cell.source.replace(old, new)

    return change


def _drop_points(nb):
    del cell_by_id(nb, "ex2-held-out-tests").metadata["nbgrader"]["points"]


BROKEN = {
    "duplicate grade_id": (
        _set("ex2-held-out-tests", grade_id="ex1-mean-tests"),
        "duplicate grade_id 'ex1-mean-tests'",
        7,
    ),
    "test cell without points": (_drop_points, "test cell without points", 7),
    "zero points": (_set("ex1-mean-tests", points=0), "test cell without points", 4),
    "BEGIN without END": (
        _source("ex1-mean", "    ### END SOLUTION", ""),
        "never closed",
        3,
    ),
    "END without BEGIN": (
        _source("ex2-held-out", "    ### BEGIN SOLUTION", ""),
        "without a ### BEGIN SOLUTION",
        6,
    ),
    "nested BEGIN": (
        _source("ex3-spread", "spread =", "### BEGIN SOLUTION\nspread ="),
        "inside the region",
        9,
    ),
    "hidden tests unclosed": (
        _source("ex2-held-out-tests", "### END HIDDEN TESTS", ""),
        "never closed",
        7,
    ),
    "hidden markers in a solution cell": (
        _source(
            "ex3-spread",
            "spread =",
            "### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\nspread =",
        ),
        "not a test cell",
        9,
    ),
    "solution markers in a test cell": (
        _set("ex3-spread", solution=False, locked=True),
        "not a solution cell",
        9,
    ),
    "misplaced hint": (
        _source("ex2-held-out", "    return", "    ### HINT: late\n    return"),
        "first line",
        6,
    ),
    "schema version": (
        _set("ex1-mean", schema_version=1),
        "schema_version must be 3",
        3,
    ),
    "hand-graded answer without points": (
        _set("ex3-spread", grade=True),
        "answer graded by hand needs points",
        9,
    ),
    "hand-graded answer with negative points": (
        _set("ex3-spread", grade=True, points=-1),
        "a number >= 0",
        9,
    ),
    "locked hand-graded answer": (
        _set("ex3-spread", grade=True, points=1, locked=True),
        "cannot be locked",
        9,
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_format_errors_name_notebook_and_cell(case):
    change, message, cell = BROKEN[case]
    with pytest.raises(FormatError) as info:
        classify(_broken(change), "solutions/99-split-stats.ipynb")
    text = str(info.value)
    assert message in text and f"solutions/99-split-stats.ipynb, cell {cell}" in text, (
        text
    )


def test_written_answers_are_graded_by_hand(tmp_path):
    """nbgrader's manually graded answer ("grade" and "solution"): stubbed for the student, listed as
    graded by hand in the feedback, not counted in the autograded points."""
    nb = read(FIXTURE)
    answer = nbformat.v4.new_markdown_cell(
        "**Why?**\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    )
    answer.metadata["nbgrader"] = {
        "grade": True,
        "solution": True,
        "locked": False,
        "points": 2,
        "grade_id": "ex4-why",
        "schema_version": 3,
    }
    nb.cells.append(answer)
    roles = classify(nb, "fixture")
    assert (roles[-1].role, roles[-1].points) == ("manual", 2.0)
    student = make_exercise(nb, "x", "99-split-stats")
    assert (
        cell_by_id(student, "ex4-why").source == "**Why?**\n\n*Write your answer here.*"
    )
    assert "**Written answers** (`ex4-why` (2 points))" in student.cells[0].source
    write_notebook(nb, tmp_path / FIXTURE.name)
    instructor = Instructor.load(tmp_path / FIXTURE.name)
    assert instructor.max_points == 6 and [
        (r.grade_id, r.points) for r in instructor.by_hand
    ] == [("ex4-why", 2)]
    plan, _ = assemble(instructor, student)
    assert all(p.label != "ex4-why" for p in plan)  # markdown: nothing to run
    text = feedback_text(
        "ann",
        [
            Report(
                "ann",
                "99-split-stats",
                "x",
                [CellScore("ex1-mean-tests", 2, 2)],
                by_hand=[("ex4-why", 2.0)],
            )
        ],
    )
    assert (
        "`ex4-why` (written answer, up to 2 points, not included above): graded by hand"
        in text
    )


def test_generator_refuses_a_broken_source(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    write_notebook(_broken(_drop_points), solutions / FIXTURE.name)
    assert generate([], solutions=solutions, exercises=exercises) == 1
    assert "test cell without points" in capsys.readouterr().out
    assert not (exercises / EXERCISE).exists()


# ------------------------------------------------------------------ the generator -------------


def test_student_version_hides_solutions_and_hidden_tests(tmp_path):
    write_exercise(FIXTURE, tmp_path / FIXTURE.name)
    nb = read(tmp_path / FIXTURE.name)
    text = "\n".join(c.source for c in nb.cells)
    for secret in (
        "BEGIN SOLUTION",
        "HIDDEN TESTS",
        "scores.mean()",
        "float(np.std",
        "mean_score(bad)",
        "assert_allclose(part, scores[test])",
        "### HINT",
    ):
        assert secret not in text, secret
    assert (
        "raise NotImplementedError('average the scores with numpy; reject empty or 2-D input')"
        in text
    )
    assert "assert part.shape == (5,)" in text  # visible tests stay
    header = nb.cells[0]
    assert header.cell_type == "markdown" and "Generated file" in header.source
    assert "tests/fixtures/classroom/solutions/99-split-stats.ipynb" in header.source
    assert "python3 course.py exercises" in header.source and "Run All" in header.source
    assert all(
        not c.get("outputs") and not c.get("execution_count")
        for c in nb.cells
        if c.cell_type == "code"
    )
    assert nb.metadata[META_KEY]["exercise"] == "99-split-stats"
    assert cell_by_id(nb, "ex1-mean").source.startswith(
        'def mean_score(scores):\n    """Mean'
    )


def test_generator_is_byte_for_byte_deterministic(tmp_path):
    write_exercise(FIXTURE, tmp_path / "a.ipynb")
    write_exercise(FIXTURE, tmp_path / "b.ipynb")
    assert (tmp_path / "a.ipynb").read_bytes() == (tmp_path / "b.ipynb").read_bytes()
    assert (tmp_path / "a.ipynb").read_text(encoding="utf-8") == exercise_text(FIXTURE)


@pytest.fixture
def course_copy(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / FIXTURE.name).write_bytes(FIXTURE.read_bytes())
    return solutions, exercises


def _edit_solution(solutions):
    path = solutions / FIXTURE.name
    nb = read(path)
    cell_by_id(nb, "ex3-spread-tests").source += "\nassert spread > 0.1"
    write_notebook(nb, path)


def test_check_mode_names_stale_missing_and_orphaned_files(course_copy, capsys):
    solutions, exercises = course_copy
    assert generate([], solutions=solutions, exercises=exercises, check=True) == 1
    assert f"{EXERCISE} (missing)" in capsys.readouterr().out
    assert generate([], solutions=solutions, exercises=exercises, echo=silent) == 0
    assert generate([], solutions=solutions, exercises=exercises, check=True) == 0
    _edit_solution(solutions)
    (exercises / "98-orphan.ipynb").write_text("{}")
    before = (exercises / EXERCISE).read_bytes()
    assert generate([], solutions=solutions, exercises=exercises, check=True) == 1
    out = capsys.readouterr().out
    assert f"{EXERCISE} (differs from its source)" in out and "98-orphan.ipynb" in out
    assert (exercises / EXERCISE).read_bytes() == before  # --check writes nothing


def test_regenerates_an_untouched_exercise(course_copy):
    solutions, exercises = course_copy
    generate([], solutions=solutions, exercises=exercises, echo=silent)
    _edit_solution(solutions)
    assert generate([], solutions=solutions, exercises=exercises, echo=silent) == 0
    assert (exercises / EXERCISE).read_text(encoding="utf-8") == exercise_text(
        solutions / FIXTURE.name
    )
    assert not (exercises / BACKUP_DIR).exists()


@pytest.mark.parametrize(
    "how",
    ["edited a cell", "ran and saved with an added cell", "no metadata", "not json"],
)
def test_never_overwrites_student_work_without_force_and_a_backup(
    course_copy, capsys, how
):
    solutions, exercises = course_copy
    generate([], solutions=solutions, exercises=exercises, echo=silent)
    target = exercises / EXERCISE
    nb = read(target)
    if how == "edited a cell":
        cell_by_id(
            nb, "ex1-mean"
        ).source = "def mean_score(scores):\n    return sum(scores) / len(scores)"
    elif how == "ran and saved with an added cell":
        nb.cells.append(nbformat.v4.new_code_cell("print('my scratch work')"))
    elif how == "no metadata":
        del nb.metadata[META_KEY]
    if how == "not json":
        target.write_text('{"cells": [ half-saved')
    else:
        nbformat.write(nb, target)
    work = target.read_bytes()
    _edit_solution(solutions)
    assert generate([], solutions=solutions, exercises=exercises) == 1
    out = capsys.readouterr().out
    assert "refusing to overwrite" in out and EXERCISE in out and "--force" in out
    assert target.read_bytes() == work
    assert generate([], solutions=solutions, exercises=exercises, force=True) == 0
    backups = list((exercises / BACKUP_DIR).glob("99-split-stats-exercises.*.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == work
    assert target.read_text(encoding="utf-8") == exercise_text(solutions / FIXTURE.name)
    target.write_bytes(work)  # a second --force keeps both backups
    _edit_solution(solutions)
    assert (
        generate([], solutions=solutions, exercises=exercises, force=True, echo=silent)
        == 0
    )
    assert (
        len(list((exercises / BACKUP_DIR).glob("99-split-stats-exercises.*.ipynb")))
        == 2
    )


def test_exercises_are_in_sync_with_solutions(capsys):
    """exercises/ is exactly what `python3 course.py exercises` makes from solutions/."""
    status = generate([], check=True)
    assert status == 0, capsys.readouterr().out


# ------------------------------------------------------------------ assembling ----------------


def test_assemble_restores_tests_and_follows_the_instructor_order():
    instructor = Instructor.load(FIXTURE)
    student = make_exercise(read(FIXTURE), "x", "99-split-stats")
    cells = student.cells
    ex3 = cells.pop(
        next(
            i
            for i, c in enumerate(cells)
            if c.get("id") == cell_by_id(student, "ex3-spread").id
        )
    )
    cells.insert(1, ex3)  # moved to the top
    cells.remove(cell_by_id(student, "ex2-held-out-tests"))  # a test deleted
    cell_by_id(student, "ex1-mean-tests").source = "pass"  # a test edited
    cells.append(nbformat.v4.new_code_cell("helper = 1"))  # a cell added
    plan, notes = assemble(instructor, student)
    assert [p.label for p in plan if p.role != "extra"] == [
        "setup",
        "ex1-mean",
        "ex1-mean-tests",
        "ex2-held-out",
        "ex2-held-out-tests",
        "ex3-spread",
        "ex3-spread-tests",
    ]
    assert plan[-1].role == "extra" and plan[-1].source == "helper = 1"
    assert (
        "BEGIN HIDDEN TESTS" in plan[2].source
        and "BEGIN HIDDEN TESTS" in plan[4].source
    )
    text = " | ".join(notes)
    assert (
        "moved" in text
        and "`ex2-held-out-tests` was deleted" in text
        and "`ex1-mean-tests` were ignored" in text
    )


def test_submission_layouts(tmp_path):
    """A class folder: one sub-folder or one notebook per student; a student's folder; one file."""
    klass = tmp_path / "class"
    for rel in [
        "alice/01-balance-score.ipynb",
        "alice/work/12-score-estimation.ipynb",
        "alice/.ipynb_checkpoints/01-balance-score-checkpoint.ipynb",
        "bob.ipynb",
        "notes.txt",
    ]:
        (klass / rel).parent.mkdir(parents=True, exist_ok=True)
        (klass / rel).write_text("{}")
    found = [
        (s, str(p.relative_to(klass)), f and f.name)
        for s, p, f in find_submissions(klass)
    ]
    assert found == [
        ("alice", "alice/01-balance-score.ipynb", "alice"),
        ("alice", "alice/work/12-score-estimation.ipynb", "alice"),
        ("bob", "bob.ipynb", None),
    ]
    assert [s for s, _, _ in find_submissions(klass / "alice")] == ["alice", "alice"]
    assert find_submissions(klass / "alice" / "01-balance-score.ipynb")[0][0] == "alice"
    assert find_submissions(klass / "bob.ipynb")[0][0] == "bob"


def test_exercise_names_old_and_new(tmp_path):
    """Handed-out files are NN-slug-exercises.ipynb; a submission under the old name is still matched."""
    known = {"99-split-stats", "01-balance-score"}
    for name in (EXERCISE, FIXTURE.name, "alice-99-split-stats.ipynb"):
        (tmp_path / name).write_text("{}")
        assert exercise_of(tmp_path / name, known) == "99-split-stats", name
    (tmp_path / "notes.ipynb").write_text("{}")
    assert exercise_of(tmp_path / "notes.ipynb", known) is None


def test_generator_renames_untouched_old_exercises(course_copy, capsys):
    """An untouched exercise under the old name (same as the chapter) is replaced by the new name;
    one a student changed is kept, and --check names it."""
    solutions, exercises = course_copy
    exercises.mkdir()
    write_exercise(FIXTURE, exercises / FIXTURE.name)
    assert generate([], solutions=solutions, exercises=exercises) == 0
    assert "removed" in capsys.readouterr().out
    assert sorted(p.name for p in exercises.iterdir()) == [EXERCISE]
    write_exercise(FIXTURE, exercises / FIXTURE.name)
    nb = read(exercises / FIXTURE.name)
    nb.cells.append(nbformat.v4.new_code_cell("print('my work')"))
    nbformat.write(nb, exercises / FIXTURE.name)
    assert generate([], solutions=solutions, exercises=exercises, echo=silent) == 0
    assert (exercises / FIXTURE.name).exists()
    assert generate([], solutions=solutions, exercises=exercises, check=True) == 1
    assert (
        f"{FIXTURE.name} (no solutions notebook of that name)"
        in capsys.readouterr().out
    )


def test_missing_exercise_is_a_zero_row(tmp_path):
    instructor = Instructor.load(FIXTURE)
    done = Report("alice", "99-split-stats", "x", [CellScore("ex1-mean-tests", 2, 2)])
    other = Report("bob", "98-other", "y", [CellScore("t", 1, 1)])
    missing = not_submitted([done, other], {"99-split-stats": instructor})
    assert [(r.student, r.exercise, r.points, r.max_points) for r in missing] == [
        ("bob", "99-split-stats", 0, 6)
    ]
    write_outputs([done, other] + missing, tmp_path)
    rows = (tmp_path / "gradebook.csv").read_text().splitlines()
    assert rows == [
        "student,exercise,points,max,isolation",
        "alice,99-split-stats,2,2,-",
        "bob,98-other,1,1,-",
        "bob,99-split-stats,0,6,-",
    ]
    assert "not submitted" in (tmp_path / "feedback" / "bob.md").read_text()


# ------------------------------------------------------------------ grading a class -----------

RIGHT = {
    name: cell_by_id(read(FIXTURE), name).source
    for name in ("ex1-mean", "ex2-held-out", "ex3-spread")
}
MEDIAN = "def mean_score(scores):\n    return float(np.median(scores))"
FIRST_QUARTER = (
    "def held_out(scores, seed):\n    return np.asarray(scores)[: len(scores) // 4]"
)


def _student(changes: dict | None = None, delete=(), solved=True):
    """The exercise notebook with answers filled in (``solved``) and some cells replaced or deleted."""
    nb = make_exercise(read(FIXTURE), "x", "99-split-stats")
    for grade_id, source in ({**(RIGHT if solved else {}), **(changes or {})}).items():
        cell_by_id(nb, grade_id).source = source
    nb.cells = [
        c
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in delete
    ]
    return nb


def _reordered():
    nb = _student(
        {"ex1-mean": MEDIAN, "ex1-mean-tests": "pass"}, delete=("ex2-held-out-tests",)
    )
    ex3 = cell_by_id(nb, "ex3-spread")
    nb.cells.remove(ex3)
    nb.cells.insert(1, ex3)
    return nb


# student -> (notebook or raw text, expected points by test cell, words the feedback must contain)
def hostile_class(outside: Path):
    return {
        "alice": (_student(), {"ex1": 2, "ex2": 3, "ex3": 1}, []),
        "bob": (
            _student(solved=False),
            {"ex1": 0, "ex2": 0, "ex3": 0},
            ["NotImplementedError"],
        ),
        "carol": (
            _student({"ex1-mean": MEDIAN, "ex2-held-out": FIRST_QUARTER}),
            {"ex1": 0, "ex2": 0, "ex3": 1},
            [
                "ex1-mean-tests` (0/2): failed: AssertionError",
                "ex2-held-out-tests` (0/3): failed: AssertionError",
            ],
        ),
        "dave": (
            _student({"ex1-mean": "def mean_score(scores)\n    return 0.5"}),
            {"ex1": 0, "ex2": 3, "ex3": 1},
            ["SyntaxError"],
        ),
        "erin": (
            _student(
                {
                    "ex2-held-out": "def held_out(scores, seed):\n    raise RuntimeError('boom')"
                }
            ),
            {"ex1": 2, "ex2": 0, "ex3": 1},
            ["RuntimeError: boom"],
        ),
        "frank.ipynb": (
            _student(
                {"ex1-mean": "def mean_score(scores):\n    while True:\n        pass"}
            ),
            {"ex1": 0, "ex2": 3, "ex3": 1},
            ["time limit and was interrupted"],
        ),
        "gina": (
            _student(
                {
                    "ex2-held-out": "import time\ndef held_out(scores, seed):\n    while True:\n"
                    "        try:\n            time.sleep(0.05)\n"
                    "        except KeyboardInterrupt:\n            pass"
                }
            ),
            {"ex1": 2, "ex2": 0, "ex3": 1},
            ["ignored the interrupt", "new kernel"],
        ),
        "hank": (
            _student(
                {"ex1-mean": "import sys\ndef mean_score(scores):\n    sys.exit(3)"}
            ),
            {"ex1": 0, "ex2": 3, "ex3": 1},
            ["SystemExit"],
        ),
        "ivan": (
            _student(
                {
                    "ex2-held-out": "import os\ndef held_out(scores, seed):\n    os._exit(1)"
                }
            ),
            {"ex1": 2, "ex2": 0, "ex3": 1},
            ["kernel died", "new kernel"],
        ),
        "judy": (
            _student(
                {
                    "ex3-spread": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nspread = 0.3"
                }
            ),
            {"ex1": 2, "ex2": 3, "ex3": 0},
            ["kernel died", "new kernel"],
        ),
        "ken": (
            _student(
                {
                    "ex1-mean": RIGHT["ex1-mean"]
                    + "\nfor _ in range(30):\n    print('x' * 100_000)"
                }
            ),
            {"ex1": 2, "ex2": 3, "ex3": 1},
            ["million characters"],
        ),
        "lena": (
            _reordered(),
            {"ex1": 0, "ex2": 3, "ex3": 1},
            [
                "moved",
                "`ex2-held-out-tests` was deleted",
                "`ex1-mean-tests` were ignored",
            ],
        ),
        "mia": (
            _student(delete=("ex2-held-out",)),
            {"ex1": 2, "ex2": 0, "ex3": 1},
            ["`ex2-held-out` was deleted"],
        ),
        "nick": (
            _student(
                {
                    "ex1-mean": MEDIAN
                    + "\nimport numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
                    "assert_allclose = numpy.testing.assert_allclose",
                    "ex2-held-out": FIRST_QUARTER
                    + "\nimport utils.data\nutils.data.seeded_split = "
                    "lambda n, test_frac=0.25, seed=0: (np.arange(n // 4, n), np.arange(n // 4))\n"
                    "seeded_split = utils.data.seeded_split",
                }
            ),
            {"ex1": 0, "ex2": 0, "ex3": 1},
            [
                "numpy.testing.assert_allclose",
                "utils.data.seeded_split",
                "assert_allclose, ",
                "seeded_split",
            ],
        ),
        "olga": (
            _student(
                {"ex3-spread": f"open({str(outside)!r}, 'w').write('x')\nspread = 0.3"}
            ),
            {"ex1": 2, "ex2": 3, "ex3": 0},
            ["refused by the grading sandbox: writing outside", "PermissionError"],
        ),
        "oscar": (
            _student(
                {
                    "ex2-held-out": "def held_out(scores, seed):\n    try:\n        open('../escape.txt', 'w')\n"
                    "    except PermissionError:\n        pass\n    import shutil\n"
                    "    shutil.rmtree('..')\n"
                }
            ),
            {"ex1": 2, "ex2": 0, "ex3": 1},
            ["escape.txt", "shutil.rmtree"],
        ),
        "paul": (
            _student(
                {"ex3-spread": f"import os\nos.system('touch {outside}')\nspread = 0.3"}
            ),
            {"ex1": 2, "ex2": 3, "ex3": 0},
            ["starting other programs is not allowed (os.system)"],
        ),
        "pete": (
            _student(
                {
                    "ex2-held-out": "def held_out(scores, seed):\n    return bytearray(64 * 2**30)"
                }
            ),
            {"ex1": 2, "ex2": 0, "ex3": 1},
            ["MemoryError"],
        ),
        "quinn": (
            '{"cells": [ half-saved',
            {"ex1": 0, "ex2": 0, "ex3": 0},
            ["not a readable notebook"],
        ),
    }


@pytest.fixture
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    outside = root / "outside.txt"
    cases = hostile_class(outside)
    submissions = root / "submissions"
    for name, (nb, _, _) in cases.items():
        # the exercise's file name as handed out; carol kept the name exercises had before (same as the chapter)
        path = (
            submissions / name
            if name.endswith(".ipynb")
            else submissions / name / (FIXTURE.name if name == "carol" else EXERCISE)
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb, str):
            path.write_text(nb)
        else:
            nbformat.write(nb, path)
    (submissions / "alice" / "notes.txt").write_text(
        "other files in a student's folder travel with the notebook"
    )
    reports = grade(
        submissions,
        root / "out",
        solutions=FIXTURE_SOLUTIONS,
        limits=FAST,
        echo=silent,
        jobs=2,
    )
    return cases, reports, root, outside


def test_a_class_with_hostile_submissions_is_graded_fairly(graded_class):
    """Each hostile submission gets the expected points and note; none stops the rest of the class."""
    cases, reports, root, outside = graded_class
    by_student = {r.student: r for r in reports}
    assert sorted(by_student) == sorted(name.removesuffix(".ipynb") for name in cases)
    problems = []
    for name, (_, expected, words) in cases.items():
        report = by_student[name.removesuffix(".ipynb")]
        got = {t.grade_id.split("-")[0]: t.points for t in report.tests}
        feedback = (root / "out" / "feedback" / f"{report.student}.md").read_text()
        missing = [w for w in words if w not in feedback]
        if got != expected or missing or report.max_points != 6:
            problems.append(
                f"{name}: points {got} (expected {expected}), missing {missing}\n{feedback}"
            )
    assert not problems, "\n".join(problems)
    assert not outside.exists(), "a submission wrote outside its folder"
    # the gradebook and the feedback files (checked here too, so that the class is graded only once)
    with open(root / "out" / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["student", "exercise", "points", "max", "isolation"]
    strong = probe(root / "probe", [FIXTURE_SOLUTIONS]).strong
    assert {r["isolation"] for r in rows if r["student"] != "quinn"} == {
        "bubblewrap" if strong else "weaker: audit hook only"
    }
    assert {r["student"]: (r["exercise"], r["points"], r["max"]) for r in rows}[
        "alice"
    ] == ("99-split-stats", "6", "6")
    assert {r["student"] for r in rows} == {
        name.removesuffix(".ipynb") for name in cases
    }
    feedback = (root / "out" / "feedback" / "carol.md").read_text()
    assert (
        "99-split-stats: 1 / 6 points" in feedback
        and "`ex3-spread-tests` (1/1): passed" in feedback
    )
    seconds = [r.seconds for r in reports]
    print(
        f"grading time per submission: median {sorted(seconds)[len(seconds) // 2]:.1f} s, max {max(seconds):.1f} s"
    )


def test_notebook_time_limit_scores_what_ran(tmp_path):
    """A notebook past its overall limit keeps the points it earned before the limit."""
    nb = _student(
        {
            "ex2-held-out": "import time\ntime.sleep(3)\n" + RIGHT["ex2-held-out"],
            "ex3-spread": "import time\ntime.sleep(3)\n" + RIGHT["ex3-spread"],
        }
    )
    path = tmp_path / "sam" / FIXTURE.name
    path.parent.mkdir()
    nbformat.write(nb, path)
    limits = Limits(cell_seconds=10, notebook_seconds=4.5, interrupt_grace=2)
    report = grade(
        path, tmp_path / "out", solutions=FIXTURE_SOLUTIONS, limits=limits, echo=silent
    )[0]
    assert {t.grade_id: t.points for t in report.tests} == {
        "ex1-mean-tests": 2,
        "ex2-held-out-tests": 3,
        "ex3-spread-tests": 0,
    }
    assert any("time limit" in n for n in report.notes)


# ------------------------------------------------------------------ the real chapters ---------


@pytest.mark.notebook
@pytest.mark.parametrize("path", REAL_SOLUTIONS, ids=[p.name for p in REAL_SOLUTIONS])
def test_solutions_notebook_gets_full_marks(path, tmp_path):
    report = grade(path, tmp_path / "out", solutions=path.parent, echo=silent)[0]
    failed = [
        f"{t.grade_id}: {t.message}" for t in report.tests if t.points < t.max_points
    ]
    assert report.max_points > 0 and not failed, (
        f"{path.name}: {failed}\nnotes: {report.notes}"
    )
    assert report.notes == [], (
        f"{path.name}: the grader had to repair the instructor's own notebook: {report.notes}"
    )


@pytest.mark.notebook
@pytest.mark.parametrize("path", REAL_SOLUTIONS, ids=[p.name for p in REAL_SOLUTIONS])
def test_untouched_exercise_gets_zero(path, tmp_path):
    handed_out = ROOT / "exercises" / exercise_name(path.stem)
    assert handed_out.exists(), (
        f"exercises/{handed_out.name} is missing: run `python3 course.py exercises`"
    )
    student = tmp_path / "untouched" / handed_out.name
    student.parent.mkdir()
    student.write_bytes(handed_out.read_bytes())
    report = grade(student, tmp_path / "out", solutions=path.parent, echo=silent)[0]
    passed = [t.grade_id for t in report.tests if t.points > 0]
    assert not passed, (
        f"{path.name}: these tests pass on the unanswered stubs: {passed}"
    )


# A plausible wrong answer per chapter (one the visible tests let through): the named test cell must
# fail on it and every other test cell still pass. Chapters not listed are covered by the fixture.
WRONG_ANSWERS = {
    "01-balance-score": (
        "ex2-implement",
        "    correct = (p_hat >= 0.5)",
        "    correct = (p_hat > 0.5)",
        "ex2-tests",
    ),
    "02-llm-risk-scores": (
        "ex1-key-risk",
        "    return float(probs[yes_id] / (probs[yes_id] + probs[no_id]))",
        "    return float(probs[yes_id])",
        "ex1-tests",
    ),
    "12-score-estimation": (
        "ex2-kernel-gd",
        "    c = U @ (filt[:, None] * (U.T @ Y)) / n",
        "    c = U @ (filt[:, None] * (U.T @ Y))",
        "ex2-tests",
    ),
    "13-radd-discrete-diffusion": (
        "ex1-time-scalar",
        "    if not sigma_bar > 0:\n        raise ValueError("
        'f"sigma_bar must be positive, got {sigma_bar}")\n',
        "",
        "ex1-tests",
    ),
}
WRONG = [p for p in REAL_SOLUTIONS if p.stem in WRONG_ANSWERS]


@pytest.mark.notebook
@pytest.mark.parametrize("path", WRONG, ids=[p.name for p in WRONG])
def test_plausible_wrong_answer_fails_the_hidden_tests(path, tmp_path):
    grade_id, old, new, test_id = WRONG_ANSWERS[path.stem]
    nb = read(path)
    cell = cell_by_id(nb, grade_id)
    if cell.source.count(old) != 1:
        pytest.fail(
            f"{path.name}: `{grade_id}` changed; update WRONG_ANSWERS in {Path(__file__).name}"
        )
    cell.source = cell.source.replace(old, new)
    student = tmp_path / "wrong" / path.name
    student.parent.mkdir()
    write_notebook(nb, student)
    report = grade(student, tmp_path / "out", solutions=path.parent, echo=silent)[0]
    scores = {t.grade_id: (t.points, t.max_points) for t in report.tests}
    assert scores[test_id][0] == 0, f"{path.name}: the wrong answer passes {test_id}"
    assert all(p == m for g, (p, m) in scores.items() if g != test_id), (
        scores,
        report.notes,
    )


def test_command_line(tmp_path):
    """`course.py exercises --check` and `course.py grade` as an instructor types them."""
    import subprocess
    import sys

    def course(*args):
        return subprocess.run(
            [sys.executable, str(ROOT / "course.py"), "--no-venv", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )

    exercises = tmp_path / "exercises"
    done = course(
        "exercises",
        "--check",
        "--solutions",
        FIXTURE_SOLUTIONS,
        "--exercises",
        exercises,
    )
    assert done.returncode == 1 and f"{EXERCISE} (missing)" in done.stdout
    done = course(
        "exercises", "--solutions", FIXTURE_SOLUTIONS, "--exercises", exercises
    )
    assert done.returncode == 0 and (exercises / EXERCISE).exists(), (
        done.stdout + done.stderr
    )
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / FIXTURE.name).write_bytes(FIXTURE.read_bytes())
    done = course(
        "grade",
        "alice",
        "--solutions",
        FIXTURE_SOLUTIONS,
        "--out",
        "grades",
        "--cell-timeout",
        30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        (tmp_path / "grades" / "gradebook.csv")
        .read_text()
        .splitlines()[1]
        .startswith("alice,99-split-stats,6,6,")
    )
    assert "isolation: " in done.stdout.splitlines()[0]
