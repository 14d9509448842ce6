"""Reporting: the grade of each submitted notebook, the gradebook and the students' feedback.

``gradebook.csv`` has one row per student and exercise: ``student, exercise, points, max,
isolation``. The last column says how the notebook's kernel was isolated: ``bubblewrap``, or
``weaker: audit hook only`` when bubblewrap was missing or could not start (README, "For
instructors"), or ``-`` when nothing ran (not submitted, unreadable). ``feedback/STUDENT.md``
lists every test cell with its points, the message of each failure, the answers left for the
instructor to grade by hand, and a note for everything the grader had to repair or refuse.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ["student", "exercise", "points", "max", "isolation"]


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
    isolation: str = "-"  # how its kernel was isolated (the gradebook's last column)
    by_hand: list[tuple[str, float]] = field(
        default_factory=list
    )  # (grade_id, points) graded by hand

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return (
            self.max_override
            if self.max_override is not None
            else sum(t.max_points for t in self.tests)
        )


def zero(instructor, message: str) -> list[CellScore]:
    """No points on any test cell of ``instructor``, each with ``message``."""
    return [
        CellScore(r.grade_id, 0.0, r.points, message)
        for r in instructor.roles
        if r.role == "test"
    ]


def not_submitted(reports: list[Report], instructors: dict) -> list[Report]:
    """A zero for each exercise some student handed in that another student did not."""
    students = sorted({r.student for r in reports})
    handed_in = {(r.student, r.exercise) for r in reports}
    missing = []
    for exercise in sorted({r.exercise for r in reports if r.exercise in instructors}):
        for student in students:
            if (student, exercise) not in handed_in:
                report = Report(
                    student,
                    exercise,
                    "(none)",
                    zero(instructors[exercise], "not submitted"),
                )
                report.notes.append("no notebook for this exercise was found")
                missing.append(report)
    return missing


def feedback_text(student: str, reports: list[Report]) -> str:
    lines = [f"# Feedback for {student}", ""]
    for r in reports:
        lines += [
            f"## {r.exercise}: {r.points:g} / {r.max_points:g} points",
            "",
            f"Graded file: `{r.submission}`",
            "",
        ]
        for t in r.tests:
            mark = (
                "passed"
                if t.points == t.max_points
                else "failed: " + t.message.strip().replace("\n", "\n  ")
            )
            lines.append(f"* `{t.grade_id}` ({t.points:g}/{t.max_points:g}): {mark}")
        for grade_id, points in r.by_hand:
            worth = (
                f"up to {points:g} points, not included above"
                if points
                else "no points"
            )
            lines.append(f"* `{grade_id}` (written answer, {worth}): graded by hand")
        if r.notes:
            lines += ["", "Notes from the grader:", ""] + [
                "* " + n.strip().replace("\n", "\n  ") for n in r.notes
            ]
        lines.append("")
    return "\n".join(lines)


def write_outputs(reports: list[Report], out: Path) -> None:
    """``out/gradebook.csv`` and ``out/feedback/STUDENT.md``, sorted by student and exercise."""
    out.mkdir(parents=True, exist_ok=True)
    reports = sorted(reports, key=lambda r: (r.student, r.exercise))
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in reports:
            writer.writerow(
                [
                    r.student,
                    r.exercise,
                    f"{r.points:g}",
                    f"{r.max_points:g}",
                    r.isolation,
                ]
            )
    (out / "feedback").mkdir(exist_ok=True)
    for student in sorted({r.student for r in reports}):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", student)
        text = feedback_text(student, [r for r in reports if r.student == student])
        (out / "feedback" / f"{safe}.md").write_text(text, encoding="utf-8")
