"""``course.py new NN slug "Paper title"``: start a chapter in the shape of the contract.

Creates, and never overwrites:

* ``chapters/NN-slug.ipynb``: the fixed headings (:data:`coursetools.contract.HEADINGS`), the
  set-up cell, a step-by-step ``compare`` cell, a figure and a claim check with a control;
* ``solutions/NN-slug.ipynb``: one example exercise in the marker format;
* ``utils/<module>.py``: the module docstring and one function with its ``Paper:`` line;
* ``tests/test_<module>.py``: the unit-test pattern of the course;
* ``tests/bad_inputs/<module>.py``: the module's rows of the bad-input table;
* the catalog entry in ``utils/catalog.py`` when chapter NN has none yet.

The made chapter runs as it is (a test executes it), so an author starts from something green
and replaces the examples one by one.
"""

from __future__ import annotations

import re
from pathlib import Path

from coursetools import ROOT
from coursetools.notebooks import notebook_from_percent, write_notebook

TEMPLATES = Path(__file__).resolve().parent / "templates"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MODULE = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(ValueError):
    """The chapter cannot be made as asked; the message says why and changes nothing."""


def _entry_for(number: int, root: Path):
    """The catalog entry of chapter ``number`` as the catalog file in ``root`` defines it."""
    namespace: dict = {}
    exec(
        compile((root / "utils" / "catalog.py").read_text(), "catalog.py", "exec"),
        namespace,
    )
    return namespace["BY_NUMBER"].get(number)


def _catalog_entry_source(number: int, slug: str, title: str, module: str) -> str:
    return (
        f'    Chapter({number}, {slug!r}, 1, "(the kind of score)",\n'
        f"            {title!r},\n"
        f'            "(authors)", 2025, "(venue)", None, None,\n'
        f"            module={module!r}, uses=()),\n"
    )


def plan(
    number: int, slug: str, title: str, module: str | None, root: Path = ROOT
) -> dict:
    """What :func:`new_chapter` would write: ``{path: text}``; raises :class:`ScaffoldError`."""
    if not 1 <= number <= 99:
        raise ScaffoldError(f"chapter number must be between 1 and 99, got {number}")
    slug = slug.removeprefix(f"{number:02d}-")
    if not SLUG.match(slug):
        raise ScaffoldError(
            f"slug must be lower-case words joined by '-', got {slug!r}"
        )
    full_slug = f"{number:02d}-{slug}"
    entry = _entry_for(number, root)
    module = (
        module
        or (entry.module if entry is not None and entry.module else None)
        or slug.replace("-", "_")
    )
    if not MODULE.match(module):
        raise ScaffoldError(f"module must be a Python module name, got {module!r}")
    files: dict[Path, str] = {}
    if entry is not None:
        if entry.slug != full_slug:
            raise ScaffoldError(
                f"the catalog already has chapter {number:02d} as {entry.slug!r}, "
                f"not {full_slug!r}"
            )
        if entry.module and entry.module != module:
            raise ScaffoldError(
                f"the catalog gives chapter {number:02d} the module "
                f"{entry.module!r}; pass --module {entry.module}"
            )
        citation, arxiv, code = entry.citation(), entry.arxiv, entry.code
    else:
        citation, arxiv, code = f"(authors) ((year)). {title}. (venue).", None, None
        catalog = root / "utils" / "catalog.py"
        text = catalog.read_text()
        if "\n]\n\nBY_NUMBER" not in text:
            raise ScaffoldError("cannot find the end of CHAPTERS in utils/catalog.py")
        files[catalog] = text.replace(
            "\n]\n\nBY_NUMBER",
            "\n"
            + _catalog_entry_source(number, full_slug, title, module).rstrip("\n")
            + "\n]\n\nBY_NUMBER",
            1,
        )
    values = dict(
        nn=f"{number:02d}",
        n=number,
        slug=slug,
        title=title,
        module=module,
        citation=citation,
        arxiv_ref=f"arXiv:{arxiv}v1" if arxiv else "arXiv:NNNN.NNNNNv1",
        code_line=f"Official code: {code}." if code else "No official code.",
        links=" · ".join(
            ([f"[arXiv:{arxiv}](https://arxiv.org/abs/{arxiv})"] if arxiv else [])
            + [f"[official code]({code})" if code else "No official code."]
        ),
    )
    made = {
        root / "chapters" / f"{full_slug}.ipynb": ("chapter.py.txt", True),
        root / "solutions" / f"{full_slug}.ipynb": ("solutions.py.txt", True),
        root / "utils" / f"{module}.py": ("module.py.txt", False),
        root / "tests" / f"test_{module}.py": ("test_module.py.txt", False),
        root / "tests" / "bad_inputs" / f"{module}.py": ("bad_inputs.py.txt", False),
    }
    taken = [str(p.relative_to(root)) for p in made if p.exists()]
    if taken:
        raise ScaffoldError(
            "refusing to overwrite: "
            + ", ".join(taken)
            + " (move them aside, or start from them by hand)"
        )
    for path, (template, _is_notebook) in made.items():
        files[path] = (TEMPLATES / template).read_text().format(**values)
    return files


def new_chapter(
    number: int, slug: str, title: str, module: str | None = None, root: Path = ROOT
) -> list[Path]:
    """Write the files of :func:`plan` and return their paths (notebooks written as JSON)."""
    files = plan(number, slug, title, module, root)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            write_notebook(notebook_from_percent(text), path)
        else:
            path.write_text(text)
    return list(files)


def main(args) -> int:
    try:
        number = int(args.number)
        paths = new_chapter(number, args.slug, args.title, args.module)
    except (ValueError, ScaffoldError) as exc:
        print(f"course.py new: {exc}")
        return 2
    for path in paths:
        print(f"wrote {path.relative_to(ROOT)}")
    nn = f"{number:02d}"
    print(
        f"\nNext: read CONTRIBUTING.md, then\n"
        f"  python3 course.py bench {nn}           # runs the chapter: time and memory\n"
        f"  python3 course.py exercises {nn}       # generates the student notebook\n"
        f"  python3 course.py test -k '{nn} or contract'"
    )
    return 0
