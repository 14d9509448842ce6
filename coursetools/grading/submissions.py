"""Finding the submissions: which files, which student, which exercise.

A submission is a notebook file; a class is a folder of them (README, "For instructors").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from coursetools.exercises import META_KEY, exercise_stem


def _student_of_folder(folder: Path) -> str:
    """A folder's name, except the course's own ``exercises/`` (a student checking their own
    work there): then the name of the user running the grader."""
    folder = Path(folder).resolve()
    if (
        folder.name == "exercises"
        and (folder.parent / "utils" / "__init__.py").is_file()
    ):
        import getpass

        try:
            return getpass.getuser() or "you"
        except (KeyError, OSError):
            return "you"
    return folder.name


def find_submissions(target: Path) -> list[tuple[str, Path, Path | None]]:
    """``(student, notebook, folder to copy)`` for each submitted notebook under ``target``.

    * a notebook: one submission, graded alone (without the other files of its folder); the student
      is its folder's name when the file is named after an exercise (``alice/01-balance-score.ipynb``),
      else the file's stem (``alice.ipynb``);
    * a folder holding exercise notebooks (``NN-*.ipynb``) directly: one student, named after the
      folder, graded with a copy of it;
    * any other folder: a class. Each sub-folder is one student (its ``.ipynb`` files, at any depth,
      graded with a copy of that sub-folder, so data files travel along), and each notebook directly
      inside is one student named after the file, graded alone.
    """
    target = Path(target)
    if target.is_file():
        student = (
            _student_of_folder(target.parent)
            if _EXERCISE_NAME.match(target.name)
            else target.stem
        )
        return [(student, target, None)]
    if any(_EXERCISE_NAME.match(p.name) for p in target.glob("*.ipynb")):
        return [
            (_student_of_folder(target), nb, target) for nb in _notebooks_in(target)
        ]
    out = []
    for entry in sorted(target.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            out += [(entry.name, nb, entry) for nb in _notebooks_in(entry)]
        elif entry.suffix == ".ipynb":
            out.append((entry.stem, entry, None))
    return out


_EXERCISE_NAME = re.compile(r"^\d\d-.+\.ipynb$")


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(
        nb
        for nb in folder.rglob("*.ipynb")
        if not any(part.startswith(".") for part in nb.relative_to(folder).parts)
    )


def exercise_of(path: Path, known: set[str]) -> str | None:
    """Which exercise a notebook is: the generator's metadata, else the file name (``NN-slug-exercises``,
    ``NN-slug``, or any name containing an exercise's name)."""
    try:
        meta = (
            json.loads(path.read_text(encoding="utf-8"))
            .get("metadata", {})
            .get(META_KEY, {})
        )
        if isinstance(meta, dict) and meta.get("exercise") in known:
            return meta["exercise"]
    except Exception:
        pass
    stem = exercise_stem(
        path.name
    )  # 01-balance-score-exercises.ipynb or 01-balance-score.ipynb
    if stem in known:
        return stem
    return next(
        (name for name in sorted(known, key=len, reverse=True) if name in path.stem),
        None,
    )
