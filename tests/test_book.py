"""The HTML book (coursetools/book.py) and the execution cache it shares with the notebook tests.

The book is built once per test module from the chapters that exist, reusing the executions of
tests/test_notebooks.py from the same test run (same run id), then read three ways: its files
(landing page, scoreboard, references, chapter pages), a static check of every internal link, and
a real browser, headless Chromium, which loads every page offline and checks links, images, math
and the console. Screenshots at desktop and phone widths go to _build/screenshots/.

Without Chromium (Debian: chromium, chromium-driver) the browser tests skip with the reason; on
CI (CI=true) they fail instead.
"""

from __future__ import annotations

import fcntl
import html
import json
import multiprocessing
import os
import textwrap
from pathlib import Path

import nbformat
import pytest

from coursetools import BUILD, ROOT
from coursetools.book import (
    BookError,
    BuildReport,
    build_book,
    check_links,
    execute_chapters,
    find_chapters,
    md_literal,
)
from coursetools.execute import execute_cached
from utils.catalog import CHAPTERS
from utils.claims import short as _short
from utils.core import get_seed

SEED = get_seed()
SCREENSHOTS = BUILD / "screenshots"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ON_CI = os.environ.get("CI", "").lower() == "true"


# --- the built book ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(testrun_uid):
    """The book of this test run, built once even when several xdist workers ask for it.

    The first worker builds it into _build/test-book/ (not the user's _build/html), one notebook
    at a time beside the notebook tests; the others wait on the lock and take the same site,
    restoring the chapters' executions from the cache (same run id: nothing re-executes).
    """
    site = BUILD / "test-book"
    site.mkdir(parents=True, exist_ok=True)
    with open(site / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = site / "run-id.txt"
        if stamp.exists() and stamp.read_text() == testrun_uid:
            pages = find_chapters(ROOT / "chapters")
            execute_chapters(
                pages, seed=SEED, jobs=1, claims=site / "claims", run_id=testrun_uid
            )
            return BuildReport(
                out=site / "html",
                seconds=0.0,
                executed=0,
                from_cache=len(pages),
                pages=pages,
            )
        stamp.unlink(missing_ok=True)
        report = build_book(site / "html", seed=SEED, jobs=1, run_id=testrun_uid)
        stamp.write_text(testrun_uid)
        return report


def read(report, name: str) -> str:
    return (report.out / name).read_text(encoding="utf-8")


def test_landing_page_has_a_card_per_chapter_and_planned_ones_are_not_links(book):
    index = read(book, "index.html")
    written = {p.number: p for p in book.pages}
    for chapter in CHAPTERS:
        page = written.get(chapter.number)
        assert f"CHAPTER {chapter.number:02d}" in index
        if page is None:
            assert f'href="chapters/{chapter.slug}.html"' not in index, (
                f"{chapter.slug} is planned"
            )
        else:
            assert f'href="chapters/{chapter.slug}.html"' in index
            assert (book.out / "chapters" / f"{chapter.slug}.html").is_file()
    planned = len(CHAPTERS) - len([n for n in written if n != 0])
    assert index.count('class="chapter-card planned"') == planned
    for needle in (
        "Prerequisites",
        "Get the course",
        "Part 5: Score functions",
        "whats-in-a-score.zip",
    ):
        assert needle in index


def test_scoreboard_shows_the_records_of_this_build(book):
    board = _page_text(book, "scoreboard.html")
    records = [r for page in book.pages for r in page.records()]
    assert records, "no chapter recorded a claim"
    for record in records:
        assert _words(record["claim"]) in board
        for key in ("paper_value", "ours", "threshold"):
            for shown in _shown(record[key]):
                assert _words(shown) in board, (
                    f"{key} {shown!r} of {record['claim']!r} is not on the scoreboard"
                )
    asserted = [r for r in records if r.get("asserted", True)]
    assert (
        f"{sum(r['holds'] for r in asserted)} of {len(asserted)} asserted claims hold"
        in board
    )


def _shown(value) -> list[str]:
    """How the scoreboard prints a record's value: one line per entry of a dict."""
    if isinstance(value, dict):
        return [f"{str(k).replace('_', ' ')} = {_short(v)}" for k, v in value.items()]
    return [_short(value)]


def _plain_quotes(text: str) -> str:
    """Undo Sphinx's typographic quotes and dashes, to compare with the records' plain text."""
    for fancy, plain in (
        ("\u2019", "'"),
        ("\u2018", "'"),
        ("\u201c", '"'),
        ("\u201d", '"'),
        ("\u2014", "---"),
        ("\u2013", "--"),
        ("\u2026", "..."),
    ):
        text = text.replace(fancy, plain)
    return text


def _words(text: str) -> str:
    """Text as a page shows it: Sphinx's typographic quotes undone, whitespace collapsed."""
    return _plain_quotes(" ".join(str(text).split()))


def _page_text(book, name: str) -> str:
    """A built page's HTML with entities decoded (Sphinx writes "@" as &#64;), as words."""
    return _words(html.unescape(read(book, name)))


def test_chapter_pages_cite_the_paper_and_offer_downloads(book):
    for page in book.pages:
        text = _page_text(book, f"chapters/{page.name}.html")
        downloads = [
            p
            for name in (page.path.name, f"{page.path.stem}-exercises.ipynb")
            for p in (book.out / "_downloads").rglob(name)
        ]
        assert downloads, f"{page.name}: notebook not offered for download"
        if page.catalog is not None:
            assert page.catalog.paper_url in text
            assert _words(page.catalog.title) in text
        assert 'class="prev-next-area"' in text or "prev-next" in text, (
            "no previous/next navigation"
        )
        if (ROOT / "exercises" / f"{page.path.stem}-exercises.ipynb").is_file():
            assert len(downloads) == 2, f"{page.name}: exercise notebook not offered"


def test_references_list_all_fourteen_papers(book):
    text = read(book, "references.html")
    for chapter in CHAPTERS:
        assert chapter.paper_url in text


def test_site_needs_no_network(book):
    """No page loads a script, stylesheet or image from the web; MathJax is bundled."""
    assert (book.out / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in book.out.rglob("*.html"):
        if "_static" in page.relative_to(book.out).parts:
            continue
        text = page.read_text(encoding="utf-8")
        for attr in ('src="http', "src='http", 'stylesheet" href="http'):
            assert attr not in text, f"{page.name} loads {attr}... from the network"


def test_every_internal_link_resolves(book):
    assert check_links(book.out) == []


# --- the link check and the build's failure modes ------------------------------------------------


def test_link_check_finds_missing_pages_images_and_anchors(tmp_path):
    (tmp_path / "a.html").write_text(
        '<p id="here"><a href="b.html#nowhere">x</a><img src="p.png">'
        '<a href="#here">ok</a><a href="https://example.org/">ext</a>'
        '<a href="gone.html">y</a></p>'
    )
    (tmp_path / "b.html").write_text('<a href="a.html#here">back</a>')
    problems = check_links(tmp_path)
    assert len(problems) == 3, problems
    assert any("b.html#nowhere" in p and "anchor" in p for p in problems)
    assert any("p.png" in p for p in problems) and any(
        "gone.html" in p for p in problems
    )


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# A chapter")]
        + [nbformat.v4.new_code_cell(s) for s in sources]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_failing_chapter_fails_the_build_and_keeps_the_old_site(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    chapters = tmp_path / "chapters"
    _notebook(
        chapters / "01-balance-score.ipynb",
        "x = 1",
        "raise ValueError('broken on purpose')",
    )
    out, claims = tmp_path / "html", tmp_path / "claims"
    out.mkdir()
    (out / "index.html").write_text("the previous book")
    with pytest.raises(BookError) as failure:
        build_book(
            out,
            seed=0,
            jobs=1,
            chapters_dir=chapters,
            exercises_dir=tmp_path,
            claims_out=claims,
        )
    message = str(failure.value)
    assert "01-balance-score.ipynb" in message and "cell 2" in message
    assert "ValueError" in message and "broken on purpose" in message
    assert (out / "index.html").read_text() == "the previous book"
    assert not claims.exists()
    assert not list(tmp_path.glob(".book-*")), "temporary build folder left behind"


def test_chapters_outside_the_catalog_are_refused(tmp_path):
    _notebook(tmp_path / "42-unknown.ipynb", "x = 1")
    with pytest.raises(BookError, match="42"):
        find_chapters(tmp_path)


def test_markdown_literal_escapes_markup():
    assert md_literal("|a - b| < 0.01 *x* $y$") == r"\|a \- b\| \< 0\.01 \*x\* \$y\$"


# --- the execution cache ----------------------------------------------------------------------


@pytest.fixture
def traced_project(tmp_path):
    """A notebook that imports a helper module and reads a data file, both in traced folders."""
    lib, data = tmp_path / "lib", tmp_path / "data"
    lib.mkdir()
    data.mkdir()
    (lib / "helper.py").write_text("VALUE = 1\n")
    (data / "table.txt").write_text("3\n")
    (tmp_path / "untraced.txt").write_text("anything\n")
    path = _notebook(
        tmp_path / "nb" / "07-cache-probe.ipynb",
        textwrap.dedent(f"""\
        import sys, pathlib
        sys.path.insert(0, {str(lib)!r})
        import helper
        rows = open({str(data / "table.txt")!r}).read()
        with open({str(tmp_path / "runs.log")!r}, 'a') as log:
            log.write('ran\\n')
        from utils import record_claim
        record_claim(7, "the probe ran", paper_value=1, ours=helper.VALUE, threshold=0, op=">",
                     evidence="check")"""),
    )
    return {"path": path, "lib": lib, "data": data, "root": tmp_path}


def _cached(project, seed=0, run_id=None, claims=None):
    root = project["root"]
    return execute_cached(
        project["path"],
        seed=seed,
        claims_dir=claims or root / "claims",
        cache=root / "cache",
        run_id=run_id,
        traced=[project["lib"], project["data"]],
    )


def _runs(project) -> int:
    log = project["root"] / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_cache_reuses_a_run_and_restores_its_claim_records(traced_project):
    first = _cached(traced_project)
    assert first.ok and not first.cached, first.error
    names = {Path(d).name for d in first.dependencies}
    assert {"helper.py", "table.txt"} <= names, names
    again = _cached(traced_project, claims=traced_project["root"] / "fresh-claims")
    assert again.cached and _runs(traced_project) == 1
    assert again.seconds == first.seconds and again.peak_mb == first.peak_mb
    restored = (traced_project["root"] / "fresh-claims" / "07.json").read_text()
    assert (
        restored == first.claims["07.json"]
    )  # same bytes: same recorded_at, same values
    assert json.loads(restored)["ours"] == 1


def test_cache_misses_when_a_used_file_the_seed_or_the_run_changes(traced_project):
    _cached(traced_project)
    (traced_project["root"] / "untraced.txt").write_text(
        "changed, but nobody uses it\n"
    )
    assert _cached(traced_project).cached
    (traced_project["lib"] / "helper.py").write_text("VALUE = 2\n")
    assert not _cached(traced_project).cached, (
        "a change to an imported module was missed"
    )
    (traced_project["data"] / "table.txt").write_text("4\n")
    assert not _cached(traced_project).cached, (
        "a change to an opened data file was missed"
    )
    assert not _cached(traced_project, seed=1).cached, "the seed is not part of the key"
    assert not _cached(traced_project, run_id="another run").cached
    assert _cached(traced_project, run_id="another run").cached
    nb = nbformat.read(traced_project["path"], as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("y = 2"))
    nbformat.write(nb, traced_project["path"])
    assert not _cached(traced_project).cached, "a change to the notebook was missed"
    assert _runs(traced_project) == 6


def _cached_in_process(project):
    result = _cached(project)
    return result.ok, result.cached


def test_two_processes_wanting_one_notebook_execute_it_once(traced_project):
    with multiprocessing.get_context("fork").Pool(2) as pool:
        outcomes = pool.map(_cached_in_process, [traced_project, traced_project])
    assert all(ok for ok, _ in outcomes)
    assert sorted(cached for _, cached in outcomes) == [False, True]
    assert _runs(traced_project) == 1


# --- in a real browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through selenium and the Debian chromedriver (nothing downloaded)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = f"browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if ON_CI:
            pytest.fail(f"on CI the browser test must run: {reason}")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any web request fails
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


WIDTHS = {"desktop": (1366, 900, False), "phone": (390, 844, True)}
WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done(true), () => done(false));
  } else if (Date.now() - start > 15000) { done(null); } else { setTimeout(poll, 100); }
})();"""
PAGE_FACTS = r"""
const math = document.querySelectorAll('.math').length;
return {
  math: math,
  typeset: document.querySelectorAll('mjx-container').length,
  math_errors: document.querySelectorAll('mjx-merror').length,
  broken_images: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
                      .map(i => i.getAttribute('src')),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  pipe_tables: Array.from(document.querySelectorAll('article p'))
    .map(p => p.textContent.trim())
    .filter(t => /^\|.*\|/.test(t) && (t.match(/\|/g) || []).length >= 4)
    .map(t => t.slice(0, 60)),
  cut_off: Array.from(document.querySelectorAll('article *')).filter(el => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || (r.right <= window.innerWidth + 2 && r.left >= -2)) return false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll') return false;
    }
    return true;
  }).map(el => el.tagName.toLowerCase() + '.' + (el.className.baseVal ?? el.className))
    .slice(0, 5),
  tracebacks: Array.from(document.querySelectorAll('.cell_output, .output'))
    .map(o => o.textContent)
    .filter(t => /Traceback \(most recent call last\)|\b\w+Warning: /.test(t))
    .map(t => t.trim().slice(0, 80)),
  stderr: document.querySelectorAll('.output.stderr').length,
};"""


def _emulate(driver, width: str) -> None:
    w, h, mobile = WIDTHS[width]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile},
    )


def _visit(driver, page: Path, width: str) -> dict:
    """Load ``page``, wait for MathJax, screenshot it, and return what the page says about itself."""
    _emulate(driver, width)
    driver.get_log("browser")  # forget earlier pages' messages
    driver.get(page.as_uri())
    typeset = (
        driver.execute_async_script(WAIT_FOR_MATH)
        if driver.find_elements("css selector", ".math")
        else None
    )
    facts = driver.execute_script(PAGE_FACTS)
    facts["typeset_ok"] = typeset
    facts["console"] = [
        e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{page.stem}-{width}.png"))
    return facts


def _browser_pages(book) -> list[Path]:
    return [
        book.out / "index.html",
        book.out / "scoreboard.html",
        book.out / "references.html",
    ] + [book.out / "chapters" / f"{p.name}.html" for p in book.pages]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_in_the_browser(book, browser, width):
    problems = []
    for page in _browser_pages(book):
        facts = _visit(browser, page, width)
        name = f"{page.relative_to(book.out)} ({width})"
        if facts["console"]:
            problems.append(f"{name}: console errors {facts['console']}")
        if facts["broken_images"]:
            problems.append(
                f"{name}: images that did not load {facts['broken_images']}"
            )
        if facts["math"] and (
            facts["typeset_ok"] is not True
            or not facts["typeset"]
            or facts["math_errors"]
        ):
            problems.append(
                f"{name}: math not typeset ({facts['math']} formulas, "
                f"{facts['typeset']} typeset, {facts['math_errors']} errors)"
            )
        if facts["overflow"] > 2:
            problems.append(
                f"{name}: page is {facts['overflow']} px wider than the screen"
            )
        if facts["pipe_tables"]:
            problems.append(
                f"{name}: tables printed as raw pipe text {facts['pipe_tables']}"
            )
        if facts["cut_off"]:
            problems.append(
                f"{name}: content cut off at the screen's edge, and not "
                f"scrollable: {facts['cut_off']}"
            )
        if facts["tracebacks"] or facts["stderr"]:
            problems.append(
                f"{name}: tracebacks or warnings in the page "
                f"{facts['tracebacks']} ({facts['stderr']} stderr outputs)"
            )
        problems += [f"{name}: {p}" for p in _dead_links(facts["links"], book.out)]
    assert not problems, "\n".join(problems)


def _dead_links(links: list[str], site: Path) -> list[str]:
    """Links the browser resolved to files of the site that do not exist (anchors too)."""
    from urllib.parse import unquote, urlsplit

    dead = []
    for link in links:
        parts = urlsplit(link)
        if parts.scheme != "file":
            continue
        target = Path(unquote(parts.path))
        if not target.is_file():
            dead.append(f"link to a missing file {link}")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and f'id="{unquote(parts.fragment)}"'
            not in target.read_text(encoding="utf-8")
        ):
            dead.append(f"link to a missing anchor {link}")
    return dead


def test_chapter_math_is_typeset(book, browser):
    """At least one chapter page has display math, and MathJax typeset all of it offline."""
    counts = []
    for page in book.pages:
        facts = _visit(browser, book.out / "chapters" / f"{page.name}.html", "desktop")
        counts.append(facts["typeset"])
        assert facts["typeset"] >= facts["math"], f"{page.name}: {facts}"
    assert max(counts) > 0, "no chapter page has typeset math"


def test_search_finds_pages_offline(book, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    _emulate(browser, "desktop")
    browser.get((book.out / "search.html").as_uri() + "?q=calibration")
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements("css selector", "#search-results li, ul.search li")
    )
    hits = browser.find_elements("css selector", "#search-results li, ul.search li")
    assert hits, "the search found nothing for 'calibration'"
    browser.save_screenshot(str(SCREENSHOTS / "search-desktop.png"))
    errors = [
        e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
    ]
    assert not errors, errors


def test_book_offers_the_whole_course_as_one_archive(book):
    import zipfile

    [archive] = list((book.out / "_downloads").rglob("whats-in-a-score.zip"))
    names = set(zipfile.ZipFile(archive).namelist())
    for needed in (
        "course.py",
        "requirements.txt",
        "utils/__init__.py",
        "utils/core.py",
        "chapters/00-preface.ipynb",
        "README.md",
    ):
        assert f"whats-in-a-score/{needed}" in names, f"the archive lacks {needed}"
    assert not any("/.venv/" in n or "/_build/" in n for n in names)


def test_chapter_pages_show_the_paper_to_code_map(book):
    for page in book.pages:
        if page.catalog is None or not page.catalog.module:
            continue
        text = read(book, f"chapters/{page.name}.html")
        assert "Paper → code" in text, f"{page.name}: no paper → code map"
        assert f"utils.{page.catalog.module}." in text
