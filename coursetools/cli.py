"""Subcommands of ``python3 course.py``; each lives in its own module."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from coursetools import ROOT


def default_jobs() -> int:
    """Notebooks run side by side: one per core, at most 4 (each kernel holds up to ~2 GB)."""
    return max(1, min(os.cpu_count() or 1, 4))


def cmd_test(args, extra) -> int:
    """Run the pytest suite: unit tests and every notebook, one worker per core."""
    jobs = args.jobs or default_jobs()
    cmd = [sys.executable, "-m", "pytest", "-n", str(jobs), *extra]
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def cmd_lab(args, extra) -> int:
    """Open JupyterLab on the course folder."""
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={ROOT}", *extra]
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def cmd_setup(args, extra) -> int:
    print(f"course environment ready: {sys.executable}")
    return 0


def cmd_bench(args, extra) -> int:
    from coursetools.bench import main

    return main(args.notebooks, jobs=args.jobs, seed=args.seed)


def cmd_scoreboard(args, extra) -> int:
    from coursetools.scoreboard import main

    return main(args.dir)


def cmd_seeds(args, extra) -> int:
    from coursetools.seeds import main

    return main(args.chapter, seeds=args.seeds, jobs=args.jobs)


def cmd_new(args, extra) -> int:
    from coursetools.scaffold import main

    return main(args)


def cmd_mutate(args, extra) -> int:
    from coursetools.mutation import main

    return main(
        args.modules,
        min_score=args.min_score,
        jobs=args.jobs,
        list_survivors=args.list_survivors,
        keep=args.keep,
    )


def cmd_book(args, extra) -> int:
    from coursetools.book import main

    return main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course.py", description="What's in a Score? course commands."
    )
    parser.add_argument(
        "--no-venv",
        action="store_true",
        help="use the Python that runs course.py instead of .venv/ (e.g. an "
        "activated conda environment)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "book", help="execute the chapters and build the HTML book in _build/html"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="notebooks executed at once (default: cores)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="COURSE_SEED for the build (default: env or 0)",
    )
    p.set_defaults(func=cmd_book)

    p = sub.add_parser("test", help="run the test suite (extra arguments go to pytest)")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="pytest-xdist workers (default: cores, at most 4)",
    )
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("lab", help="open JupyterLab in the course environment")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("setup", help="only create or update the environment")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("bench", help="time every notebook and measure its peak memory")
    p.add_argument(
        "notebooks", nargs="*", help="chapter numbers or notebook paths (default: all)"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="notebooks at once (default 1: clean timings)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("scoreboard", help="print the claim records as a table")
    p.add_argument(
        "--dir",
        default=None,
        help="claims folder (default: COURSE_CLAIMS_DIR or _build/claims)",
    )
    p.set_defaults(func=cmd_scoreboard)

    p = sub.add_parser(
        "seeds",
        help="run chapters under several seeds; print claims side by "
        "side and keep them for the book's scoreboard",
    )
    p.add_argument(
        "chapter",
        nargs="*",
        help="chapter numbers (e.g. 01 12) or notebook paths (default: every chapter)",
    )
    p.add_argument(
        "--seeds", default="0,1,2,3,4", help="comma-separated seeds (default 0,1,2,3,4)"
    )
    p.add_argument(
        "--jobs", type=int, default=None, help="runs at once (default: cores)"
    )
    p.set_defaults(func=cmd_seeds)

    p = sub.add_parser(
        "new",
        help="start a chapter: notebook, solutions, utils module, tests, "
        "catalog entry (never overwrites)",
    )
    p.add_argument("number", help="chapter number, e.g. 15")
    p.add_argument("slug", help="file name words joined by '-', e.g. conformal-scores")
    p.add_argument("title", help="the paper's title (used for a new catalog entry)")
    p.add_argument(
        "--module",
        default=None,
        help="name of the paper module utils/<module>.py (default: from the slug)",
    )
    p.set_defaults(func=cmd_new)

    p = sub.add_parser(
        "mutate",
        help="mutation testing of utils modules with mutmut: how many "
        "small changes to a module its unit tests catch",
    )
    p.add_argument(
        "modules",
        nargs="*",
        help="utils module names, e.g. calibration core "
        "(default: every paper module and the core modules)",
    )
    p.add_argument(
        "--min-score",
        type=float,
        default=90.0,
        help="exit 1 when a module's score is below this percentage (default 90)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="mutmut --max-children: mutants tested at once (default: cores)",
    )
    p.add_argument(
        "--list-survivors",
        action="store_true",
        help="print the diff of every surviving mutant",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch folder (to rerun mutmut by hand)",
    )
    p.set_defaults(func=cmd_mutate)

    _add_classroom_commands(sub)
    return parser


def _add_classroom_commands(sub) -> None:
    """``exercises`` and ``grade`` (coursetools.classroom), when that module is present."""
    try:
        from coursetools import classroom
    except ImportError:
        return
    classroom.add_commands(sub)


def main(argv: list[str]) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("test", "lab"):
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    return args.func(args, extra) or 0
