"""The chapter contract: the shape every chapter notebook has, and the paper -> code map.

One place for the rules that tests/test_contract.py checks, the scaffold (``course.py new``)
follows and the book renders:

* :data:`HEADINGS`: the top-level (``##``) headings of a chapter, in order. A chapter may add
  headings of its own between them; each required heading's text starts with the words given.
* :data:`PAPER_LINE`: every public function or class of a chapter's paper module
  (``utils/<module>.py``, named in ``utils/catalog.py``) has a docstring line
  ``Paper: <equation, algorithm, theorem or section> (arXiv:NNNN.NNNNNvV).`` or
  ``Paper: course addition — <what for>.``; :func:`equation_map` turns those lines, and the
  tests that use each function, into the table the book shows.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from coursetools import ROOT

HEADINGS = (
    "The paper",
    "What you will learn",
    "The problem",
    "The method",
    "Experiments",
    "Claim check",
    "What the miniature cannot show",
    "Summary",
    "Exercises",
    "References",
)
TITLE = re.compile(r"^# Chapter (?P<nn>\d\d) — \S")
PAPER_LINE = re.compile(r"^\s*Paper:\s*(?P<where>\S.*)$", re.MULTILINE)
ARXIV_VERSION = re.compile(r"arXiv:\d{4}\.\d{4,5}v\d+")
COURSE_ADDITION = "course addition"
CODE_FENCE = re.compile(r"^(```|~~~)")


def markdown_headings(nb, level: int = 2) -> list[str]:
    """The texts of the headings of one level in a notebook's markdown cells, outside code."""
    found, mark = [], "#" * level + " "
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        in_fence = False
        for line in cell.source.splitlines():
            if CODE_FENCE.match(line.strip()):
                in_fence = not in_fence
            elif not in_fence and line.startswith(mark):
                found.append(line[len(mark) :].strip())
    return found


def shape_problems(nb, number: int) -> list[str]:
    """Everything in a chapter notebook that departs from the contract (empty when it follows).

    Checks the title cell, the set-up call in the first code cell, and that :data:`HEADINGS`
    appear as ``##`` headings, unnumbered, in order.
    """
    problems = []
    cells = nb.cells
    first_md = next((c for c in cells if c.cell_type == "markdown"), None)
    match = TITLE.match(first_md.source.strip()) if first_md is not None else None
    if match is None or int(match["nn"]) != number:
        problems.append(
            f"the first markdown cell must start with '# Chapter {number:02d} — "
            "<title>'"
        )
    first_code = next((c for c in cells if c.cell_type == "code"), None)
    if first_code is None or f"setup(chapter={number})" not in first_code.source:
        problems.append(f"the first code cell must call setup(chapter={number})")
    headings = markdown_headings(nb)
    numbered = [h for h in headings if re.match(r"^\d+(\.\d+)*\.?\s", h)]
    if numbered:
        problems.append(
            f"top-level headings are not numbered (the book numbers nothing): "
            f"{numbered[0]!r}"
        )
    position = 0
    for required in HEADINGS:
        hits = [i for i, h in enumerate(headings) if h.startswith(required)]
        if not hits:
            problems.append(f"missing heading '## {required}'")
            continue
        if hits[0] < position:
            problems.append(
                f"heading '## {required}' is out of order (it must come after "
                f"'## {HEADINGS[HEADINGS.index(required) - 1]}')"
            )
        position = max(position, hits[0])
    return problems


@dataclass(frozen=True)
class MapRow:
    """One row of a chapter's paper -> code map."""

    where: str  # the part of the paper, as its docstring's Paper: line says
    function: str  # utils.<module>.<name>
    tests: tuple  # names of the unit tests that use it


def public_objects(module_name: str) -> dict[str, object]:
    """The public functions and classes defined in ``utils.<module_name>`` (not imported ones)."""
    module = importlib.import_module(f"utils.{module_name}")
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
    }


def paper_line(obj) -> str | None:
    """What the ``Paper:`` line of ``obj``'s docstring says, or None."""
    match = PAPER_LINE.search(inspect.getdoc(obj) or "")
    return match["where"].strip() if match else None


def paper_line_problem(name: str, where: str | None) -> str | None:
    """Why a Paper: line does not meet the contract, or None when it does."""
    if where is None:
        return f"{name}: its docstring has no 'Paper:' line"
    if where.lower().startswith(COURSE_ADDITION):
        return None
    if not ARXIV_VERSION.search(where):
        return (
            f"{name}: its 'Paper:' line must name the arXiv version "
            f"(arXiv:NNNN.NNNNNvV), got {where!r}"
        )
    return None


def unit_tests_of(module_name: str, root: Path = ROOT) -> dict[str, list[str]]:
    """For each name, the test functions of ``tests/test_<module>.py`` that mention it."""
    path = root / "tests" / f"test_{module_name}.py"
    if not path.exists():
        return {}
    tree = ast.parse(path.read_text())
    used: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef)
        ) and node.name.startswith("test"):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            for name in names:
                used.setdefault(name, []).append(node.name)
    return used


def equation_map(module_name: str, root: Path = ROOT) -> list[MapRow]:
    """The paper -> function -> test rows of a paper module, in source order."""
    objects = public_objects(module_name)
    order = sorted(objects, key=lambda n: inspect.getsourcelines(objects[n])[1])
    used = unit_tests_of(module_name, root)
    return [
        MapRow(
            paper_line(objects[n]) or "(no Paper: line)",
            f"utils.{module_name}.{n}",
            tuple(sorted(set(used.get(n, [])))),
        )
        for n in order
    ]
