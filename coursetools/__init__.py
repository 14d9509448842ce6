"""Course machinery that is not itself taught: executing notebooks, the benchmark, the scoreboard,
the seed sweep, the book build, the exercise generator and the grader. Entry point: ``course.py``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
