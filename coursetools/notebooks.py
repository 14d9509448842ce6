"""Finding notebooks, keeping them clean in git, and writing them from percent-format scripts."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat

from coursetools import ROOT

EXECUTED_FOLDERS = ("chapters", "solutions")  # notebooks that must run top to bottom
ALL_FOLDERS = ("chapters", "solutions", "exercises")
KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}
# The Python the course is tested with. JupyterLab writes the kernel's language_info into a
# notebook when the kernel connects, and marks the file changed when that differs from what the
# file holds (a "save changes?" prompt, then an autosave that rewrites a tracked file). Every
# notebook is written with exactly what ipykernel reports on this Python, so that opening it
# there and running nothing leaves it unmodified (tests/test_jupyterlab.py checks it).
COURSE_PYTHON = "3.11.7"
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": COURSE_PYTHON,
}


def find_notebooks(folders=EXECUTED_FOLDERS, root: Path = ROOT) -> list[Path]:
    """Notebooks named ``NN-*.ipynb`` in the given folders, in chapter order."""
    found = []
    for folder in folders:
        found += sorted((root / folder).glob("[0-9][0-9]-*.ipynb"))
    return found


def resolve_notebooks(names: list[str], folders=EXECUTED_FOLDERS) -> list[Path]:
    """Turn user input (``01``, ``1``, ``chapters/01-balance-score.ipynb``) into notebook paths."""
    if not names:
        return find_notebooks(folders)
    out = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb":
            if not path.exists():
                raise SystemExit(f"no such notebook: {name}")
            out.append(path.resolve())
            continue
        if not name.isdigit():
            raise SystemExit(
                f"give a chapter number (like 01) or a notebook path, not {name!r}"
            )
        matches = sorted((ROOT / folders[0]).glob(f"{int(name):02d}-*.ipynb"))
        if not matches:
            raise SystemExit(
                f"no notebook for chapter {int(name):02d} in {folders[0]}/"
            )
        out += matches
    return out


def dirty_cells(nb) -> list[int]:
    """Indices of code cells that carry outputs or an execution count (must be empty in git)."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (cell.get("outputs") or cell.get("execution_count"))
    ]


def write_notebook(nb, path: Path) -> None:
    """Write a notebook deterministically: nbformat 4.5, 1-space indent, newline at the end,
    the course's kernelspec and language_info (:data:`LANGUAGE_INFO`)."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = copy.deepcopy(LANGUAGE_INFO)
    nbformat.validate(nb)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


_CELL_MARK = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<tags>.*)$")


def notebook_from_percent(text: str):
    """Build a notebook from a percent-format script (``# %%`` code cells, ``# %% [markdown]``).

    Markdown cells are written as comment lines (``# text``). ``tags=["a","b"]`` after the marker
    sets cell tags; ``nbgrader={...}`` (JSON, on the marker line) sets the cell's nbgrader
    metadata. Cell ids are derived from the cell's position so the output is deterministic.
    Chapter authors may use this to write a notebook as a script; the ``.ipynb`` is what is kept.
    """
    cells, kind, tags, grading, lines = [], None, [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(
                l[2:] if l.startswith("# ") else l.lstrip("#")
                for l in body.splitlines()
            )
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        if grading is not None:
            cell.metadata["nbgrader"] = grading
        cells.append(cell)

    for line in text.splitlines():
        m = _CELL_MARK.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tag_match = re.search(r"tags=\[(.*?)\]", m.group("tags"))
            tags = (
                [t.strip().strip("'\"") for t in tag_match.group(1).split(",")]
                if tag_match
                else []
            )
            grade_match = re.search(r"nbgrader=(\{.*\})", m.group("tags"))
            grading = json.loads(grade_match.group(1)) if grade_match else None
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = copy.deepcopy(LANGUAGE_INFO)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
    return nb
