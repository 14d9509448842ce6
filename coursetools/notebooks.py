"""Finding notebooks, keeping them clean in git, and writing them from percent-format scripts."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from coursetools import ROOT

EXECUTED_FOLDERS = ("chapters", "solutions")   # notebooks that must run top to bottom
ALL_FOLDERS = ("chapters", "solutions", "exercises")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


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
            raise SystemExit(f"give a chapter number (like 01) or a notebook path, not {name!r}")
        matches = sorted((ROOT / folders[0]).glob(f"{int(name):02d}-*.ipynb"))
        if not matches:
            raise SystemExit(f"no notebook for chapter {int(name):02d} in {folders[0]}/")
        out += matches
    return out


def dirty_cells(nb) -> list[int]:
    """Indices of code cells that carry outputs or an execution count (must be empty in git)."""
    return [i for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))]


def strip_outputs(nb):
    """Remove outputs and execution counts in place; return the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def write_notebook(nb, path: Path) -> None:
    """Write a notebook deterministically: nbformat 4.5, 1-space indent, newline at the end."""
    nbformat.validate(nb)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


_CELL_MARK = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<tags>.*)$")


def notebook_from_percent(text: str):
    """Build a notebook from a percent-format script (``# %%`` code cells, ``# %% [markdown]``).

    Markdown cells are written as comment lines (``# text``). ``tags=["a","b"]`` after the marker
    sets cell tags. Cell ids are derived from the cell's position so the output is deterministic.
    Chapter authors may use this to write a notebook as a script; the ``.ipynb`` is what is kept.
    """
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        m = _CELL_MARK.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tag_match = re.search(r"tags=\[(.*?)\]", m.group("tags"))
            tags = [t.strip().strip("'\"") for t in tag_match.group(1).split(",")] if tag_match else []
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
    return nb
