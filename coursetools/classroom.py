"""``course.py exercises`` and ``course.py grade``: classroom assignments.

The work is done in :mod:`coursetools.exercises` (the format and the generator) and
the package :mod:`coursetools.grading` (the grader); this module only registers the two commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

from coursetools import BUILD, ROOT


def cmd_exercises(args, extra) -> int:
    from coursetools.exercises import generate

    return generate(
        args.chapters,
        solutions=Path(args.solutions),
        exercises=Path(args.exercises),
        force=args.force,
        check=args.check,
    )


def cmd_grade(args, extra) -> int:
    from coursetools.grading.run import IsolationRefused, Limits, grade

    target = Path(args.submission)
    if not target.exists():
        raise SystemExit(f"no such file or folder: {args.submission}")
    limits = Limits()
    for name, value in (
        ("cell_seconds", args.cell_timeout),
        ("notebook_seconds", args.notebook_timeout),
        ("memory_mb", args.memory_mb),
    ):
        if value is not None and value <= 0:
            raise SystemExit(
                f"--{name.replace('_', '-')}: give a positive number, not {value}"
            )
        if value is not None:
            setattr(limits, name, value)
    if args.jobs is not None and args.jobs < 1:
        raise SystemExit(f"--jobs: give a positive number, not {args.jobs}")
    out = Path(args.out)
    try:
        reports = grade(
            target,
            out,
            solutions=Path(args.solutions),
            limits=limits,
            jobs=args.jobs,
            isolation="require" if args.require_isolation else "auto",
        )
    except IsolationRefused as exc:
        print(exc.code, file=sys.stderr)
        return 2
    print(
        f"graded {len(reports)} notebook(s): {out / 'gradebook.csv'} and {out / 'feedback'}/"
    )
    return 0


def add_commands(sub) -> None:
    """Register ``exercises`` and ``grade`` on ``course.py``'s sub-command parser."""
    p = sub.add_parser(
        "exercises",
        help="generate exercises/ from solutions/ (or check they are in sync)",
    )
    p.add_argument(
        "chapters",
        nargs="*",
        help="chapter numbers or solutions notebooks (default: all)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and name every exercise that differs from what would be generated",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="regenerate even exercises with changes, after backing each up to exercises/.backups/",
    )
    p.add_argument(
        "--solutions",
        default=str(ROOT / "solutions"),
        help="source folder (default: solutions/)",
    )
    p.add_argument(
        "--exercises",
        default=str(ROOT / "exercises"),
        help="target folder (default: exercises/)",
    )
    p.set_defaults(func=cmd_exercises)

    p = sub.add_parser(
        "grade", help="grade a submitted notebook or a folder of submissions"
    )
    p.add_argument(
        "submission",
        help="a notebook, or a folder: one sub-folder or one .ipynb per student",
    )
    p.add_argument(
        "--out",
        default=str(BUILD / "grades"),
        help="gradebook and feedback folder (default: _build/grades/)",
    )
    p.add_argument(
        "--solutions",
        default=str(ROOT / "solutions"),
        help="the instructor notebooks (default: solutions/)",
    )
    p.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        help="seconds per cell (default: $COURSE_GRADE_CELL_SECONDS, else 120)",
    )
    p.add_argument(
        "--notebook-timeout",
        type=float,
        default=None,
        help="seconds per notebook (default: $COURSE_GRADE_NOTEBOOK_SECONDS, else 600)",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=None,
        help="address-space limit of the kernel in MB (default: $COURSE_GRADE_MEMORY_MB, else 4096)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="submissions graded at once (default: the number of cores)",
    )
    p.add_argument(
        "--require-isolation",
        action="store_true",
        help="refuse to grade unless each kernel can run inside bubblewrap (README, For instructors)",
    )
    p.set_defaults(func=cmd_grade)
