"""Assembling the notebook the grader runs: the instructor's copy with the student's answers.

The instructor notebook (``solutions/<exercise>.ipynb``) gives every cell and its order; the
student's notebook gives only its solution cells (matched by ``grade_id``, else by cell id) and
the cells the student added. Set-up cells and test cells (visible and hidden tests) always come
from the instructor's copy: a student cannot edit, delete or reorder the tests that grade them.
Nothing here runs code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursetools.exercises import (
    ANSWER_ROLES,
    HEADER_ID,
    classify,
    display_path,
    student_source,
)


@dataclass
class PlanCell:
    """A code cell of the notebook the grader runs."""

    source: str
    role: str  # "fixed", "solution", "test" or "extra" (added by the student); a
    # hand-graded code answer runs as a "solution"
    label: str  # grade_id, or "cell N" of the instructor's notebook
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
    def load(cls, path: Path) -> Instructor:
        nb = nbformat.read(path, as_version=4)
        roles = classify(nb, display_path(path))
        code = [
            c.source
            for c, r in zip(nb.cells, roles)
            if c.cell_type == "code" and r.role not in ANSWER_ROLES
        ]
        solutions = [
            c.source
            for c, r in zip(nb.cells, roles)
            if c.cell_type == "code" and r.role in ANSWER_ROLES
        ]
        return cls(path, nb, roles, _imported_modules(code), _bound_names(solutions))

    @property
    def max_points(self) -> float:
        """Points of the autograded test cells (hand-graded answers are not counted here)."""
        return sum(r.points for r in self.roles if r.role == "test")

    @property
    def by_hand(self) -> list:
        """The answers graded by hand (nbgrader's manually graded cells), with their points."""
        return [r for r in self.roles if r.role == "manual"]


def _parse(source: str):
    try:
        return ast.parse(
            "\n".join(
                l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))
            )
        )
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
                names |= {
                    n.id
                    for n in ast.walk(node)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                }
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
        notes.append(
            "cells were moved; they were run in the order of the original notebook"
        )
    plan = [PlanCell(s, "extra", "a cell you added") for s in extras_after.get(-1, [])]
    for index, (cell, role) in enumerate(zip(cells, instructor.roles)):
        label = role.grade_id or f"cell {index}"
        mine = matched.get(index)
        if role.role in ANSWER_ROLES and cell.cell_type == "code":
            if mine is None:
                notes.append(
                    f"solution cell `{label}` was deleted: graded as unanswered"
                )
                source = student_source(cell, role.role)
            else:
                source = mine.source
            plan.append(PlanCell(source, "solution", label))
        elif cell.cell_type == "code" and role.role not in ANSWER_ROLES:
            if mine is None:
                notes.append(
                    f"{'test' if role.role == 'test' else 'set-up'} cell `{label}` was deleted: "
                    "restored from the instructor's copy"
                )
            elif mine.source not in (student_source(cell, role.role), cell.source):
                notes.append(
                    f"changes to the locked cell `{label}` were ignored: restored from the "
                    "instructor's copy"
                )
            plan.append(PlanCell(cell.source, role.role, label, role.points))
        plan += [
            PlanCell(s, "extra", "a cell you added")
            for s in extras_after.get(index, [])
        ]
    return plan, notes
