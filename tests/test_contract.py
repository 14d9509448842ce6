"""The chapter contract (coursetools/contract.py): every chapter has the fixed shape, every
paper function says where in the paper it comes from and is tested, the scaffold makes a chapter
that runs, and each course-wide fact has one owner."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from coursetools import ROOT
from coursetools.contract import (
    HEADINGS,
    equation_map,
    paper_line,
    paper_line_problem,
    public_objects,
    shape_problems,
    unit_tests_of,
)
from coursetools.notebooks import find_notebooks, notebook_from_percent
from utils.catalog import CHAPTERS

CHAPTER_NOTEBOOKS = [
    p for p in find_notebooks(("chapters",)) if not p.name.startswith("00-")
]
WRITTEN = [
    c
    for c in CHAPTERS
    if (ROOT / "utils" / f"{c.module}.py").exists()
    and (ROOT / "chapters" / c.notebook).exists()
]


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_the_contract_shape(path):
    problems = shape_problems(nbformat.read(path, as_version=4), int(path.name[:2]))
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def _chapter(headings, number=3, title=True, setup=True):
    cells = [f"# %% [markdown]\n# # Chapter {number:02d} — A title"] if title else []
    cells.append(f"# %%\ncourse = setup(chapter={number})" if setup else "# %%\nx = 1")
    cells += [f"# %% [markdown]\n# ## {h}\n# text" for h in headings]
    return notebook_from_percent("\n".join(cells))


def test_shape_check_accepts_extra_headings_and_longer_titles():
    headings = list(HEADINGS)
    headings.insert(4, "Implementation")
    headings[2] = "The problem in plain words"
    assert shape_problems(_chapter(headings), 3) == []


def test_shape_check_names_what_is_wrong():
    missing = [h for h in HEADINGS if h != "Summary"]
    assert shape_problems(_chapter(missing), 3) == ["missing heading '## Summary'"]
    swapped = list(HEADINGS)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    assert any(
        "'## What the miniature cannot show' is out of order" in p
        for p in shape_problems(_chapter(swapped), 3)
    )
    numbered = ["1. " + HEADINGS[0], *HEADINGS[1:]]
    assert any("not numbered" in p for p in shape_problems(_chapter(numbered), 3))
    assert any("# Chapter 04" in p for p in shape_problems(_chapter(HEADINGS), 4))
    assert any(
        "setup(chapter=3)" in p
        for p in shape_problems(_chapter(HEADINGS, setup=False), 3)
    )


def test_headings_inside_code_fences_do_not_count():
    nb = _chapter([h for h in HEADINGS if h != "Summary"])
    nb.cells.append(nbformat.v4.new_markdown_cell("```\n## Summary\n```"))
    assert "missing heading '## Summary'" in shape_problems(nb, 3)


@pytest.mark.parametrize("chapter", WRITTEN, ids=lambda c: c.module)
def test_every_paper_function_names_its_place_in_the_paper(chapter):
    objects = public_objects(chapter.module)
    assert objects, f"utils/{chapter.module}.py defines no public function"
    problems = [
        paper_line_problem(name, paper_line(obj)) for name, obj in objects.items()
    ]
    problems = [p for p in problems if p]
    assert not problems, f"utils/{chapter.module}.py:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("chapter", WRITTEN, ids=lambda c: c.module)
def test_every_paper_function_is_unit_tested(chapter):
    used = unit_tests_of(chapter.module)
    untested = [n for n in public_objects(chapter.module) if n not in used]
    assert not untested, (
        f"no test in tests/test_{chapter.module}.py uses: " + ", ".join(untested)
    )


def test_paper_line_rules():
    assert paper_line_problem("f", None) == "f: its docstring has no 'Paper:' line"
    assert paper_line_problem("f", "Eq. (4) (arXiv:2309.06248v2)") is None
    assert paper_line_problem("f", "course addition — a simulator") is None
    assert "arXiv version" in paper_line_problem("f", "Eq. (4) (arXiv:2309.06248)")

    def documented():
        """Summary.

        Paper: Theorem 2, §3 (arXiv:2406.03736v3).
        """

    assert paper_line(documented) == "Theorem 2, §3 (arXiv:2406.03736v3)."


def test_equation_map_lists_functions_with_their_tests():
    rows = {r.function: r for r in equation_map("calibration")}
    row = rows["utils.calibration.balance_score"]
    assert "arXiv:2309.06248" in row.where and row.tests


def test_every_chapter_in_the_catalog_names_its_paper_module():
    for chapter in CHAPTERS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", chapter.module), chapter
        for name in chapter.uses:
            assert (ROOT / "utils" / f"{name}.py").exists(), (
                f"{chapter.slug} uses {name}"
            )


@pytest.mark.slow
def test_scaffold_makes_a_chapter_that_runs(tmp_path):
    """`course.py new` in a copy of the course: the files follow the contract and everything
    it made runs: the notebook, the solutions notebook, the unit tests, the exercise generator."""
    from coursetools.execute import execute_notebook

    copy = tmp_path / "course"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file() and name.split("/")[0] in (
            "utils",
            "coursetools",
            "tests",
            "course.py",
            "pyproject.toml",
        ):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    for folder in ("chapters", "solutions", "exercises"):
        (copy / folder).mkdir(exist_ok=True)

    def course(*args):
        return subprocess.run(
            [sys.executable, str(copy / "course.py"), "--no-venv", *args],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=300,
        )

    made = course(
        "new", "15", "conformal-scores", "Conformal prediction", "--module", "conformal"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    again = course("new", "15", "conformal-scores", "Conformal prediction")
    assert again.returncode != 0 and "refusing to overwrite" in again.stdout

    notebook = copy / "chapters" / "15-conformal-scores.ipynb"
    assert shape_problems(nbformat.read(notebook, as_version=4), 15) == []
    assert (
        "Chapter(15, '15-conformal-scores'"
        in (copy / "utils" / "catalog.py").read_text()
    )
    unit = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests/test_conformal.py",
            "tests/test_bad_inputs.py",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert unit.returncode == 0, unit.stdout[-2000:]
    for path in (notebook, copy / "solutions" / "15-conformal-scores.ipynb"):
        result = execute_notebook(
            path, claims_dir=tmp_path / "claims", measure_memory=False
        )
        assert result.ok, result.error
    generated = course("exercises", "15")
    assert generated.returncode == 0, generated.stdout + generated.stderr


# --- one owner per fact -------------------------------------------------------------------------


def _python_sources():
    for folder in ("utils", "coursetools", "tests"):
        yield from (ROOT / folder).rglob("*.py")
    yield ROOT / "course.py"


OWNERS = {
    # fact: (pattern that re-derives it, the one file allowed to)
    "the seed variable is parsed": (
        r"environ(\.get)?\(?\[?[\"']COURSE_SEED",
        "utils/core.py",
    ),
    "the default claims folder": (
        r"[\"']_build[\"']\s*/\s*[\"']claims[\"']",
        "utils/claims.py",
    ),
    "the record's file name": (
        r"\{[^}]*:02d\}\.json|\[:2\]\}\.json",
        "utils/claims.py",
    ),
    "the verdict words": (
        r"[\"']FAILS[\"']|[\"']not reproduced[\"']",
        "utils/claims.py",
        "tests/test_core.py",
    ),
}


@pytest.mark.parametrize("fact", OWNERS)
def test_each_fact_has_one_owner(fact):
    pattern, owner, *its_tests = OWNERS[fact]
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_sources()
        if p.name != "test_contract.py"
        and str(p.relative_to(ROOT)) not in (owner, *its_tests)
        and re.search(pattern, p.read_text())
    ]
    assert not offenders, f"{fact} is re-derived in {offenders}; import it from {owner}"


def test_nothing_refers_outside_the_repository():
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    outside = re.compile(
        r"\.\./shared|shared/(DESIGN|STYLE|chapters|seeds)|\bDESIGN\.md\b"
    )
    offenders = [
        f
        for f in files
        if (ROOT / f).is_file()
        and f != "tests/test_contract.py"
        and (ROOT / f).suffix in (".py", ".md", ".ipynb", ".txt", ".yml", ".toml", "")
        and outside.search((ROOT / f).read_text(errors="ignore"))
    ]
    assert not offenders, (
        f"these files refer to documents outside the course: {offenders}"
    )
