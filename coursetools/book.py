"""``course.py book``: execute the chapters and build the static HTML book in ``_build/html``.

The build, step by step:

1. find ``chapters/NN-*.ipynb`` (chapters not written yet appear as "planned");
2. execute them in parallel, one torch thread each, through the execution cache shared with the
   test suite (``coursetools.execute.execute_cached``): a chapter re-executes only when its
   notebook, a file of ``utils/`` or ``datasets/`` it used, the seed or a package version changed;
3. stop with the chapter, cell and traceback if any chapter failed;
4. write the page sources into a temporary folder: the executed notebooks with a header (paper,
   citation, downloads, claim), the landing page, the scoreboard (generated from this build's
   claim records) and the references (from ``utils/catalog.py``);
5. run Sphinx (configuration in ``book/``) with warnings as errors, check that every internal
   link and image of the result resolves, and only then replace ``_build/html`` with it;
6. copy this build's claim records into the claims folder (``utils.claims.claims_dir()``).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

from coursetools import BUILD, ROOT
from coursetools.execute import Execution, execute_cached, write_claims
from coursetools.exercises import exercise_name
from utils.catalog import BY_NUMBER, CHAPTERS, PARTS
from utils.claims import claims_dir as default_claims_dir
from utils.claims import load_all, validate_record, verdict
from utils.claims import short as _short
from utils.core import get_seed

BOOK_DIR = ROOT / "book"  # conf.py, page templates, static files
PREFACE = 0


class BookError(RuntimeError):
    """The book could not be built; the message says which chapter, cell or link, and why."""


@dataclass
class ChapterPage:
    """One chapter notebook that exists, and what its execution produced."""

    number: int
    path: Path
    execution: Execution | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def catalog(self):
        return BY_NUMBER.get(self.number)

    def title(self) -> str:
        """The notebook's own title (its first ``# `` heading), else the file name."""
        nb = self.execution.nb if self.execution and self.execution.nb else None
        cells = nb["cells"] if nb else []
        for cell in cells:
            if cell["cell_type"] == "markdown":
                source = "".join(cell["source"])
                first = source.lstrip().splitlines()[0] if source.strip() else ""
                if first.startswith("# "):
                    return first[2:].strip()
        return self.path.stem

    def records(self) -> list[dict]:
        """The claim records this chapter's run wrote (all of its record files)."""
        out = []
        for name, text in (self.execution.claims if self.execution else {}).items():
            data = json.loads(text)
            for record in data if isinstance(data, list) else [data]:
                try:
                    out.append(validate_record(record))
                except ValueError as exc:
                    raise BookError(
                        f"{self.path.name}: claim record {name}: {exc}"
                    ) from None
        return out

    def verdict(self) -> str:
        """``reproduced``, ``partly`` (some unasserted claim does not hold) or ``unchecked``."""
        records = self.records()
        if not records:
            return "unchecked"
        return "reproduced" if all(r["holds"] for r in records) else "partly"


# --- 1. finding the chapters -----------------------------------------------------------------


def find_chapters(chapters_dir: Path) -> list[ChapterPage]:
    """Every ``NN-*.ipynb`` in ``chapters_dir``, in chapter order; one notebook per number."""
    pages = {}
    for path in sorted(Path(chapters_dir).glob("[0-9][0-9]-*.ipynb")):
        number = int(path.name[:2])
        if number in pages:
            raise BookError(
                f"two notebooks for chapter {number:02d}: {pages[number].path.name} "
                f"and {path.name}"
            )
        if number != PREFACE and number not in BY_NUMBER:
            raise BookError(
                f"{path.name}: chapter {number:02d} is not in utils/catalog.py"
            )
        pages[number] = ChapterPage(number, path.resolve())
    return list(pages.values())


# --- 2. executing them -------------------------------------------------------------------------


def _execute_one(job) -> Execution | None:
    """Run in a worker process: one notebook through the cache (None: busy elsewhere)."""
    path, seed, claims, run_id, blocking = job
    return execute_cached(
        path, seed=seed, claims_dir=claims, threads=1, run_id=run_id, blocking=blocking
    )


def execute_chapters(
    pages: list[ChapterPage],
    *,
    seed: int,
    jobs: int,
    claims: Path,
    run_id: str | None = None,
) -> None:
    """Execute (or restore) every page's notebook, ``jobs`` at a time, one torch thread each.

    A notebook that another process (a test worker) is executing right now is skipped in a first
    round and waited for in a second, so the book and the tests share the work instead of
    queueing behind each other.
    """
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        busy = _execute_round(pages, pool, (seed, claims, run_id), blocking=False)
        if busy:
            _execute_round(busy, pool, (seed, claims, run_id), blocking=True)


def _execute_round(pages, pool, settings, *, blocking: bool) -> list[ChapterPage]:
    """Submit every page; store the results; return the pages that were busy elsewhere."""
    futures = [
        (page, pool.submit(_execute_one, (page.path, *settings, blocking)))
        for page in pages
    ]
    busy = []
    for page, future in futures:
        result = future.result()
        if result is None:
            busy.append(page)
            continue
        page.execution = result
        how = (
            f"from the cache (ran {result.seconds:.1f} s)"
            if result.cached
            else f"executed in {result.seconds:.1f} s"
        )
        print(f"  {page.path.name:<44} {how if result.ok else 'FAILED'}", flush=True)
    return busy


def check_executions(pages: list[ChapterPage]) -> None:
    """Raise :class:`BookError` naming every chapter that failed, its cell and traceback."""
    failed = [p for p in pages if not p.execution.ok]
    if failed:
        details = "\n\n".join(p.execution.error for p in failed)
        names = ", ".join(p.path.name for p in failed)
        raise BookError(f"{len(failed)} chapter(s) failed: {names}\n\n{details}")


# --- 4. the page sources -------------------------------------------------------------------------


def md_literal(text: str) -> str:
    """Markdown that shows ``text`` as it is: every ASCII punctuation mark backslash-escaped."""
    return "".join(
        "\\" + c if c.isascii() and not c.isalnum() and not c.isspace() else c
        for c in str(text)
    )


def md_citation(entry) -> str:
    """A catalog entry's full citation in Markdown, the title in italics, with its links."""
    arxiv = f", arXiv:{entry.arxiv}" if entry.arxiv else ""
    text = (
        f"{md_literal(entry.authors)} ({entry.year}). *{md_literal(entry.title)}*. "
        f"{md_literal(entry.venue + arxiv)}."
    )
    links = [f"[arXiv:{entry.arxiv}]({entry.paper_url})"] if entry.arxiv else []
    if entry.code:
        links.append(f"[official code]({entry.code})")
    return f"{text} {' · '.join(links)}".rstrip()


def page_link(page: ChapterPage) -> str:
    """The chapter's page, relative to the book's root."""
    return f"chapters/{page.name}.html"


def chapter_header(page: ChapterPage, seed: int, exercises_dir: Path) -> str:
    """The box under a chapter's title: part, paper, citation, code, downloads, run, claim."""
    lines = [":::{admonition} About this chapter", ":class: chapter-about tip", ""]
    entry = page.catalog
    if entry is not None:
        lines.append(
            f"**Part {entry.part}, {md_literal(PARTS[entry.part])}.** The score: "
            f"{md_literal(entry.score)}.\n"
        )
        links = [f"[arXiv:{entry.arxiv}]({entry.paper_url})"] if entry.arxiv else []
        links.append(
            f"[official code]({entry.code})" if entry.code else "no official code"
        )
        lines.append(f"**Paper.** {' · '.join(links)} (full citation below).\n")
    downloads = [f"{{download}}`the notebook <../downloads/chapters/{page.path.name}>`"]
    exercise = exercise_name(page.path.stem)
    if (Path(exercises_dir) / exercise).is_file():
        downloads.append(
            f"{{download}}`its exercises <../downloads/exercises/{exercise}>`"
        )
    lines.append(
        f"**Run it.** In the course folder ([get the course](../index.md#get-the-course-and-run-it)), open "
        f"`chapters/{page.path.name}` in JupyterLab (`python3 course.py lab`). "
        f"Download {' and '.join(downloads)}. This page was executed in "
        f"{page.execution.seconds:.0f} s with seed {seed}.\n"
    )
    lines.append(
        f"**Claim check.** {_claim_sentence(page)} See the "
        f"[reproduction scoreboard](../scoreboard.md)."
    )
    lines.append(":::")
    return "\n".join(lines)


def _claim_sentence(page: ChapterPage) -> str:
    records = page.records()
    if not records:
        return "This chapter recorded no claim."
    held = sum(r["holds"] for r in records)
    return f"{held} of {len(records)} claim(s) recorded by this run hold."


_TITLE_CALL = re.compile(
    r"""\blabel\(\s*[\w.\[\]]+\s*,\s*(["'])(?P<title>[^"'{}]+)\1"""
)
_TITLE_SET = re.compile(r"""\.(?:set_title|suptitle)\(\s*(["'])(?P<title>[^"'{}]+)\1""")
_CHAPTER_MENTION = re.compile(r"(?<![\[\w/`-])([Cc]hapter) (\d\d)\b(?![\]`])")


def figure_titles(source: str) -> list[str]:
    """The titles a plotting cell gives its axes (``label(ax, "title", ...)``, ``set_title``)."""
    return [
        m["title"].strip()
        for pattern in (_TITLE_CALL, _TITLE_SET)
        for m in pattern.finditer(source)
    ]


def caption_figures(nb, prefix: str) -> None:
    """Give each cell that draws a figure a numbered caption and alt text from its axes' titles.

    myst-nb reads ``mystnb.figure`` (caption, name: numbered by Sphinx) and ``mystnb.image``
    (alt text) from the cell's metadata; a chapter's own metadata wins.
    """
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not any(
            "image/png" in out.get("data", {}) for out in cell.get("outputs", [])
        ):
            continue
        titles = figure_titles(cell.source)
        if not titles:
            continue
        text = "; ".join(dict.fromkeys(titles))
        meta = cell.metadata.setdefault("mystnb", {})
        meta.setdefault(
            "figure", {"caption": md_literal(text), "name": f"{prefix}-fig-{i}"}
        )
        meta.setdefault("image", {"alt": f"Figure: {text}"})


def link_chapter_mentions(nb, written: dict[int, str]) -> None:
    """Turn "chapter 12" in the prose into a link to that chapter's page, when it exists."""

    def link(match):
        number = int(match[2])
        return (
            f"[{match[1]} {match[2]}]({written[number]}.ipynb)"
            if number in written
            else match[0]
        )

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts = re.split(
                r"(`[^`]*`|\$\$.*?\$\$|\$[^$]*\$)", cell.source, flags=re.DOTALL
            )
            cell.source = "".join(
                part if j % 2 else _CHAPTER_MENTION.sub(link, part)
                for j, part in enumerate(parts)
            )


def chapter_notebook(
    page: ChapterPage,
    seed: int,
    exercises_dir: Path,
    written: dict[int, str] | None = None,
):
    """The executed notebook with the chapter header inserted after its title cell."""
    nb = nbformat.from_dict(page.execution.nb)
    header = nbformat.v4.new_markdown_cell(chapter_header(page, seed, exercises_dir))
    header.id = "course-chapter-header"
    first = nb.cells[0] if nb.cells else None
    at = (
        1
        if first is not None
        and first.cell_type == "markdown"
        and first.source.lstrip().startswith("# ")
        else 0
    )
    nb.cells.insert(at, header)
    caption_figures(nb, page.name[:2])
    link_chapter_mentions(
        nb, {n: stem for n, stem in (written or {}).items() if n != page.number}
    )
    if page.catalog is not None and page.catalog.module:
        table = code_map(page.catalog)
        if table:
            cell = nbformat.v4.new_markdown_cell(table)
            cell.id = "course-code-map"
            nb.cells.append(cell)
    return nb


def code_map(entry) -> str:
    """The chapter's paper -> code table (coursetools.contract.equation_map), folded."""
    from coursetools.contract import equation_map

    try:
        rows = equation_map(entry.module)
    except ImportError:
        return ""
    if not rows:
        return ""
    lines = [
        ":::{admonition} Paper → code: where each part of the paper lives",
        ":class: dropdown code-map",
        "",
        f"Every public function of `utils/{entry.module}.py`, the part of the paper it "
        f"implements, and the unit tests in `tests/test_{entry.module}.py` that check it.",
        "",
        "```{list-table}",
        ":header-rows: 1",
        ":class: code-map-table",
        "",
        "* - Paper\n  - Function\n  - Tested by",
    ]
    for row in rows:
        tests = ", ".join(f"`{t}`" for t in row.tests) or "—"
        lines.append(f"* - {md_literal(row.where)}\n  - `{row.function}`\n  - {tests}")
    lines += ["```", ":::"]
    return "\n".join(lines)


def card_text(number: int) -> tuple[str, str, str]:
    """Title, authors line and kind of score on a chapter's card (the preface has no paper)."""
    entry = BY_NUMBER.get(number)
    if entry is None:
        return (
            "Preface: the map, the notation and the conventions",
            "how to run, navigate and test the course",
            "what a score is, and how we check one",
        )
    authors = [a.strip() for a in entry.authors.split(",")]
    names = (
        authors[0]
        if len(authors) == 1
        else (" and ".join(authors) if len(authors) == 2 else f"{authors[0]} et al.")
    )
    return entry.title, f"{names}, {entry.year}", entry.score


def chapter_card(number: int, page: ChapterPage | None) -> str:
    """One card of the landing page: a link for a chapter that exists, a plain box if planned."""
    title, paper, score = (html.escape(text) for text in card_text(number))
    if page is None:
        meta = '<span class="course-badge planned">planned</span>'
    else:
        verdict = page.verdict()
        badge = {
            "reproduced": "claim reproduced",
            "partly": "partly reproduced",
            "unchecked": "no claim",
        }[verdict]
        meta = (
            f'<span class="course-badge {verdict}">{badge}</span>'
            f"<span>runs in {page.execution.seconds:.0f} s</span>"
        )
    heading = "PREFACE" if number == PREFACE else f"CHAPTER {number:02d}"
    body = (
        f'<span class="card-number">{heading}</span>'
        f'<span class="card-title">{title}</span><span class="card-paper">{paper}</span>'
        f'<span class="card-score">{score}</span><span class="card-meta">{meta}</span>'
    )
    if page is None:
        return f'<div class="chapter-card planned">{body}</div>'
    return f'<a class="chapter-card" href="{page_link(page)}">{body}</a>'


def chapter_cards(pages: list[ChapterPage]) -> str:
    """The landing page's chapter section: a hidden toctree per part, then its cards."""
    by_number = {p.number: p for p in pages}
    blocks = []
    groups = [(None, "Preface", [PREFACE])] + [
        (part, f"Part {part}: {name}", [c.number for c in CHAPTERS if c.part == part])
        for part, name in PARTS.items()
    ]
    for part, caption, numbers in groups:
        existing = [by_number[n] for n in numbers if n in by_number]
        if part is not None:
            blocks.append(f"### {caption}\n")
        if existing:
            entries = "\n".join(f"chapters/{p.name}" for p in existing)
            blocks.append(
                f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{entries}\n```\n"
            )
        cards = "\n".join(
            chapter_card(n, by_number.get(n))
            for n in numbers
            if n != PREFACE or n in by_number
        )
        if cards:
            blocks.append(f'<div class="chapter-grid">\n{cards}\n</div>\n')
    blocks.append(
        "```{toctree}\n:hidden:\n:caption: Reference\n\nscoreboard\nreferences\n```\n"
    )
    return "\n".join(blocks)


def scoreboard_table(
    claims: Path, pages: list[ChapterPage] | None = None, seed: int = 0
) -> str:
    """The scoreboard, from this build's claim records (nothing typed by hand), with what the
    kept seed sweeps (``course.py seeds``) say of each claim when their sources are current."""
    from coursetools.seeds import load_sweeps, summarize

    records = [r for _, chapter in sorted(load_all(claims).items()) for r in chapter]
    if not records:
        return "*No chapter recorded a claim in this build.*\n"
    paths = {p.number: p.path for p in pages or []}
    sweeps = {n: load_sweeps(path) for n, path in paths.items()}
    titles = {p.number: p.title() for p in pages or []}
    asserted = [r for r in records if r.get("asserted", True)]
    held = sum(r["holds"] for r in asserted)
    swept = any(sweeps.values())
    lines = [
        f"**{held} of {len(asserted)} asserted claims hold** in this build (seed {seed}); "
        f"{len(records) - len(asserted)} claim(s) reported but not asserted.",
        ""
        if swept
        else "No seed sweep matches this build's sources: the *Seeds* column is "
        "empty. Run `python3 course.py seeds` (every chapter, seeds 0-4) and rebuild to "
        "see how each claim fares across seeds.",
        "",
        "```{list-table}",
        ":header-rows: 1",
        ":class: scoreboard",
        ":widths: 14 30 14 14 14 14",
        "",
        "* - Chapter\n  - Claim\n  - Paper\n  - Ours (control)\n  - Verdict\n  - Seeds",
    ]
    for r in records:
        word = verdict(r)
        number = r["chapter"]
        chapter = (
            f"[{md_literal(titles.get(number, f'Chapter {number:02d}'))}]"
            f"({_chapter_doc(number)})"
        )
        paper = md_value(r["paper_value"])
        if r.get("paper_typical") is not None:
            paper += "\\\n    typical: " + md_value(r["paper_typical"])
        ours = md_value(r["ours"])
        if r.get("control") is not None:
            ours += (
                "\\\n    "
                + md_literal(f"control ({r.get('control_label') or 'control'}): ")
                + md_value(r["control"])
            )
        comparison = r.get("comparison") or ""
        threshold = (md_literal(comparison) + " " if comparison else "") + md_value(
            r["threshold"]
        )
        kind = "effect" if r["evidence"] == "effect" else "check"
        summary = summarize(r["claim"], sweeps.get(number, []))
        if summary is None:
            seeds_text = f"seed {r['seed']} only"
        else:
            seeds_text = f"held on {summary['held']} of {summary['seeds']} seeds"
            if summary["low"] is not None:
                seeds_text += (
                    f"\\\n    ours from {md_literal(_short(summary['low']))} "
                    f"to {md_literal(_short(summary['high']))}"
                )
        cells = [
            chapter,
            f"*{kind}.* {md_literal(r['claim'])}",
            paper,
            ours,
            f"[{md_literal(word)}]{{.verdict .{word.split()[0].lower()}}}\\\n    "
            f"threshold {threshold}",
            seeds_text,
        ]
        lines.append("* - " + "\n  - ".join(cells))
    lines.append("```")
    return "\n".join(lines) + "\n"


def md_value(value) -> str:
    """A record's value as Markdown: a number or text as printed, a dict one entry per line,
    its keys written as words (``chain_rule_error`` -> ``chain rule error``)."""
    if isinstance(value, dict):
        return "\\\n    ".join(
            md_literal(f"{str(k).replace('_', ' ')} = {_short(v)}")
            for k, v in value.items()
        )
    return md_literal(_short(value))


def _chapter_doc(number: int) -> str:
    entry = BY_NUMBER.get(number)
    return f"chapters/{entry.slug}.ipynb" if entry else "chapters/00-preface.ipynb"


def papers_list(pages: list[ChapterPage]) -> str:
    """The bibliography of the fourteen papers, from the catalog, linking chapters that exist."""
    written = {p.number for p in pages}
    items = []
    for c in CHAPTERS:
        where = (
            f"[chapter {c.number:02d}](chapters/{c.slug}.ipynb)"
            if c.number in written
            else f"chapter {c.number:02d} (planned)"
        )
        items.append(f"{c.number}. {md_citation(c)}. Taught in {where}.")
    return "\n".join(items) + "\n"


def fill(template: str, marker: str, content: str) -> str:
    """Put ``content`` where ``<!-- marker -->`` stands in a page template."""
    tag = f"<!-- {marker} -->"
    if tag not in template:
        raise BookError(f"page template lacks the {tag} marker")
    return template.replace(tag, content)


ARCHIVE_NAME = "whats-in-a-score.zip"
REPOSITORY_ENV = (
    "COURSE_REPOSITORY_URL"  # where the course lives; shown when set (book/conf.py)
)


def course_files(root: Path = ROOT) -> list[str]:
    """The course's own files: what git tracks (and would track), else every file outside
    the build, the environment and caches."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        return sorted(f for f in out if f and (root / f).is_file())
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "_build", "__pycache__", ".ipynb_checkpoints"}
        return sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(root).parts)
        )


def make_course_archive(target: Path, root: Path = ROOT) -> Path:
    """The whole course as one zip (inside a ``whats-in-a-score/`` folder), made at build time."""
    import zipfile

    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in course_files(root):
            archive.write(root / name, f"whats-in-a-score/{name}")
    return target


def get_the_course(pages: list[ChapterPage]) -> str:
    """The landing page's "get the course" text: the archive, the address, two commands."""
    ready = len([p for p in pages if p.number != PREFACE])
    repository = os.environ.get(REPOSITORY_ENV, "").strip()
    where = f"The course lives at <{repository}>: clone it, or " if repository else ""
    return f"""{ready} of {len(CHAPTERS)} chapters are ready; the others are marked *planned*.
{where}Download {{download}}`the whole course <downloads/{ARCHIVE_NAME}>` (one zip, made when
this book was built), unpack it and, with Python 3.10 or newer, run from its folder:

```bash
python3 course.py lab      # creates .venv/ once (a few minutes), then opens JupyterLab
python3 course.py test     # every notebook end to end, every claim, every helper
```

On Linux, install PyTorch's CPU-only build first to avoid a multi-GB download: the README's
*For students* section has the exact commands. Then open `chapters/00-preface.ipynb` and choose
*Run → Run All Cells*. A chapter's notebook runs inside the course folder, which holds the
`utils` library it imports: a notebook downloaded on its own stops at `from utils import setup`.
"""


def write_sources(
    src: Path, pages: list[ChapterPage], *, seed: int, claims: Path, exercises_dir: Path
) -> None:
    """Write every page of the book into ``src`` (a fresh folder)."""
    (src / "chapters").mkdir(parents=True)
    for sub in ("chapters", "exercises"):
        (src / "downloads" / sub).mkdir(parents=True)
    for page in pages:
        written = {p.number: p.path.stem for p in pages}
        nbformat.write(
            chapter_notebook(page, seed, exercises_dir, written),
            src / "chapters" / page.path.name,
        )
        shutil.copy2(page.path, src / "downloads" / "chapters" / page.path.name)
        exercise = Path(exercises_dir) / exercise_name(page.path.stem)
        if exercise.is_file():
            shutil.copy2(exercise, src / "downloads" / "exercises" / exercise.name)
    make_course_archive(src / "downloads" / ARCHIVE_NAME)
    templates = {
        name: (BOOK_DIR / f"{name}.md").read_text()
        for name in ("index", "scoreboard", "references")
    }
    index = fill(templates["index"], "CHAPTER-CARDS", chapter_cards(pages))
    (src / "index.md").write_text(fill(index, "GET-THE-COURSE", get_the_course(pages)))
    (src / "scoreboard.md").write_text(
        fill(
            templates["scoreboard"], "SCOREBOARD", scoreboard_table(claims, pages, seed)
        )
    )
    (src / "references.md").write_text(
        fill(templates["references"], "PAPERS", papers_list(pages))
    )


# --- 5. Sphinx, the link check, publishing -------------------------------------------------------


def run_sphinx(src: Path, out: Path, doctrees: Path) -> None:
    """Build HTML with Sphinx, warnings as errors; :class:`BookError` carries its messages."""
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-W",
        "--keep-going",
        "-n",
        "-c",
        str(BOOK_DIR),
        "-d",
        str(doctrees),
        str(src),
        str(out),
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BookError(
            f"Sphinx failed (exit {done.returncode}); its messages name the page:\n"
            f"{done.stderr.strip() or done.stdout.strip()}"
        )


class _LinkCollector(HTMLParser):
    """The ids of a page and the local targets of its links, images, scripts and stylesheets."""

    def __init__(self):
        super().__init__()
        self.ids, self.targets = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value and tag in ("a", "img", "script", "link", "source", "iframe"):
                self.targets.append((tag, value))


def _parse(page: Path) -> _LinkCollector:
    collector = _LinkCollector()
    collector.feed(page.read_text(encoding="utf-8", errors="replace"))
    return collector


def check_links(site: Path) -> list[str]:
    """Every internal link, image, script and stylesheet of every page resolves, anchors too.

    Returns one line per problem (``page: link -> why``); external links are not followed.
    """
    site = Path(site).resolve()
    parsed = {
        p: _parse(p)
        for p in sorted(site.rglob("*.html"))
        if p.relative_to(site).parts[0] != "_static"
    }  # theme macros, not pages
    problems = []
    for page, collector in parsed.items():
        for tag, link in collector.targets:
            parts = urlsplit(link)
            if (
                parts.scheme
                or parts.netloc
                or link.startswith(("mailto:", "javascript:"))
            ):
                continue
            target = (
                (page.parent / unquote(parts.path)).resolve() if parts.path else page
            )
            name = f"{page.relative_to(site)}: <{tag}> {link}"
            if not target.is_relative_to(site) or not target.exists():
                problems.append(f"{name} -> no such file")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{name} -> no anchor #{parts.fragment}")
    return problems


def publish(built: Path, out: Path) -> None:
    """Replace ``out`` with ``built`` (same file system), so readers never see a half site."""
    out = Path(out)
    old = out.with_name(out.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.replace(out, old)
    os.replace(built, out)
    if old.exists():
        shutil.rmtree(old)


# --- the whole build ---------------------------------------------------------------------------


@dataclass
class BuildReport:
    out: Path
    seconds: float
    executed: int
    from_cache: int
    pages: list


def build_book(
    out: Path | str | None = None,
    *,
    seed: int = 0,
    jobs: int | None = None,
    run_id: str | None = None,
    chapters_dir: Path | str = ROOT / "chapters",
    exercises_dir: Path | str = ROOT / "exercises",
    claims_out: Path | str | None = None,
) -> BuildReport:
    """Build the book into ``out`` (default ``_build/html``); raise :class:`BookError` on failure.

    ``run_id`` is passed to the execution cache (the test suite uses its own, see
    tests/test_notebooks.py). Nothing in ``out`` or ``claims_out`` changes unless the build succeeds.
    """
    start = time.perf_counter()
    out = Path(out) if out else BUILD / "html"
    out.parent.mkdir(parents=True, exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    pages = find_chapters(Path(chapters_dir))
    print(
        f"book: {len(pages)} chapter notebook(s), {len(CHAPTERS) + 1 - len(pages)} planned; "
        f"seed {seed}, {jobs} at a time",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix=".book-", dir=out.parent) as work:
        work = Path(work)
        claims = work / "claims"
        if pages:
            execute_chapters(pages, seed=seed, jobs=jobs, claims=claims, run_id=run_id)
        check_executions(pages)
        claims.mkdir(exist_ok=True)
        write_sources(
            work / "src",
            pages,
            seed=seed,
            claims=claims,
            exercises_dir=Path(exercises_dir),
        )
        print("book: rendering the pages with Sphinx...", flush=True)
        run_sphinx(work / "src", work / "html", work / "doctrees")
        problems = check_links(work / "html")
        if problems:
            raise BookError(
                f"{len(problems)} broken internal link(s):\n" + "\n".join(problems)
            )
        publish(work / "html", out)
    for page in pages:
        write_claims(page.execution, claims_out or default_claims_dir())
    executed = sum(not p.execution.cached for p in pages)
    return BuildReport(
        out=out,
        seconds=time.perf_counter() - start,
        executed=executed,
        from_cache=len(pages) - executed,
        pages=pages,
    )


def main(args) -> int:
    """Entry point of ``python3 course.py book``."""
    seed = args.seed if args.seed is not None else get_seed()
    try:
        report = build_book(seed=seed, jobs=args.jobs)
    except BookError as exc:
        print(
            f"\nbook: BUILD FAILED; _build/html was left as it was.\n{exc}",
            file=sys.stderr,
        )
        return 1
    print(
        f"book: built in {report.seconds:.1f} s ({report.executed} notebook(s) executed, "
        f"{report.from_cache} from the cache) -> {report.out / 'index.html'}"
    )
    return 0
