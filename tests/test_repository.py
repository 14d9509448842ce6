"""Checks on the repository itself: clean notebooks, one package list, the layout."""

from __future__ import annotations

import re

import nbformat
import pytest

from coursetools import ROOT
from coursetools.notebooks import (
    ALL_FOLDERS,
    dirty_cells,
    find_notebooks,
    notebook_from_percent,
)


def committed_notebooks():
    return find_notebooks(ALL_FOLDERS)


@pytest.mark.parametrize(
    "path", committed_notebooks(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert dirty_cells(nb) == [], (
        f"{path.name}: strip outputs before committing (cells {dirty_cells(nb)})"
    )


def test_dirty_cell_check_catches_outputs():
    nb = notebook_from_percent("# %%\nprint(1)\n# %% [markdown]\n# hi\n# %%\nx = 2\n")
    assert dirty_cells(nb) == []
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[2].execution_count = 3
    assert dirty_cells(nb) == [0, 2]


def _specs(lines):
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-e") or line == ".":
            continue
        name = re.split(r"[<>=~!\[ ]", line, maxsplit=1)[0].lower().replace("_", "-")
        out[name] = line.replace(" ", "")
    return out


def test_requirements_and_environment_agree():
    req = _specs((ROOT / "requirements.txt").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1].splitlines()
    env = _specs(l.strip()[2:] for l in pip_section if l.strip().startswith("- "))
    assert req, "requirements.txt lists no package"
    assert req == env, (
        f"requirements.txt and environment.yml differ: {set(req.items()) ^ set(env.items())}"
    )


def test_torch_is_pinned_to_one_series():
    spec = _specs((ROOT / "requirements.txt").read_text().splitlines())["torch"]
    assert re.fullmatch(r"torch==\d+\.\d+\.(\*|\d+)", spec), (
        f"torch must be pinned to one release series: {spec}"
    )


def test_layout():
    for name in [
        "chapters",
        "utils",
        "datasets",
        "exercises",
        "solutions",
        "tests",
        "environment.yml",
        "README.md",
        ".ci/run",
        "datasets/README.md",
        "chapters/00-preface.ipynb",
    ]:
        assert (ROOT / name).exists(), f"missing {name}"


def test_catalog_matches_chapter_files():
    from utils.catalog import CHAPTERS

    assert [c.number for c in CHAPTERS] == list(range(1, 15))
    for path in find_notebooks(("chapters", "solutions", "exercises")):
        if path.name.startswith("00-"):
            continue
        slugs = {c.slug for c in CHAPTERS}
        stem = (
            path.stem.removesuffix("-exercises")
            if path.parent.name == "exercises"
            else path.stem
        )
        assert stem in slugs, f"{path.name} is not a chapter of utils/catalog.py"


MAX_CODE_LINE = 88  # what fits a code block of the book without scrolling
# (a solution's "### HINT:" line is exempt: it becomes the stub's one-line error message)


@pytest.mark.parametrize(
    "path",
    find_notebooks(("chapters", "solutions")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_code_lines_fit_the_book(path):
    nb = nbformat.read(path, as_version=4)
    long = [
        (i, len(line))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > MAX_CODE_LINE and not line.lstrip().startswith("### HINT:")
    ]
    assert not long, (
        f"{path.name}: code lines longer than {MAX_CODE_LINE} characters "
        f"(cell, length): {long[:5]}{' ...' if len(long) > 5 else ''}"
    )


def test_every_command_and_option_is_in_the_readme():
    """`course.py --help` and the README's command table list the same commands and options."""
    import argparse

    from coursetools.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    missing = [
        o
        for a in parser._actions
        for o in a.option_strings
        if o.startswith("--") and o != "--help" and o not in readme
    ]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if f"| `{name}" not in readme:
                    missing.append(f"command {name}")
                missing += [
                    f"{name} {o}"
                    for a in sub._actions
                    for o in a.option_strings
                    if o.startswith("--") and o != "--help" and o not in readme
                ]
    assert not missing, f"in course.py --help but not in README.md: {missing}"
