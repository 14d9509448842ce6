"""Execute every notebook in chapters/ and solutions/ end to end, and check its claim records.

A failure names the notebook, the cell and the traceback. The per-cell time-out
(COURSE_NB_TIMEOUT, default 900 s) only guards against hangs; budgets are `course.py bench`'s job.

Executions go through the execution cache (coursetools.execute.execute_cached) under this test
run's id: each notebook runs once per test run, and the book test (tests/test_book.py) reuses the
same executions instead of running every chapter a second time. An entry from an earlier run never
stands in for a test: the id differs, so the notebook executes again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from coursetools import ROOT
from coursetools.execute import execute_cached, execute_notebook
from coursetools.notebooks import find_notebooks
from utils.claims import chapter_of, claims_dir, claims_path, load_records
from utils.core import get_seed

NOTEBOOKS = find_notebooks()
SEED = get_seed()


def check_claims(records: list[dict], notebook: str) -> None:
    """Every chapter asserts at least one effect (with a control), and every asserted claim
    holds."""
    asserted = [r for r in records if r.get("asserted", True)]
    assert any(r["evidence"] == "effect" for r in asserted), (
        f"{notebook} asserts no effect (CONTRIBUTING.md: every chapter asserts one, beside a "
        "control)"
    )
    failing = [r["claim"] for r in asserted if not r["holds"]]
    assert not failing, f"{notebook}: asserted claim(s) do not hold: {failing}"


@pytest.mark.notebook
@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS]
)
def test_notebook_runs(path: Path, record_property, testrun_uid):
    is_chapter = path.parent.name == "chapters"
    with tempfile.TemporaryDirectory() as scratch:
        folder = claims_dir() if is_chapter else Path(scratch)
        result = execute_cached(
            path, seed=SEED, claims_dir=folder, threads=1, run_id=testrun_uid
        )
        record_property("notebook", str(path.relative_to(ROOT)))
        record_property("notebook_seconds", round(result.seconds, 1))
        record_property("notebook_peak_mb", result.peak_mb)
        if not result.ok:
            pytest.fail(result.error, pytrace=False)
        record_file = claims_path(chapter_of(path), folder)
        if is_chapter:
            assert record_file.exists(), (
                f"{path.name} wrote no claim record to {record_file}"
            )
        if record_file.exists():
            check_claims(load_records(record_file), path.name)


def test_claim_check_catches_failures():
    """The claims check itself can fail: no asserted claim, or an asserted claim that fails."""
    good = {"claim": "x", "holds": True, "asserted": True, "evidence": "effect"}
    check_claims([good], "nb")
    with pytest.raises(AssertionError, match="asserts no effect"):
        check_claims([{**good, "asserted": False}], "nb")
    with pytest.raises(AssertionError, match="asserts no effect"):
        check_claims([{**good, "evidence": "check"}], "nb")
    with pytest.raises(AssertionError, match="do not hold"):
        check_claims([good, {**good, "claim": "y", "holds": False}], "nb")
    check_claims(
        [good, {**good, "claim": "y", "holds": False, "asserted": False}], "nb"
    )


def test_executor_reports_failing_cell(tmp_path):
    """A notebook that raises is reported with its cell index, source and traceback."""
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_code_cell("raise ValueError('boom here')"),
        ]
    )
    path = tmp_path / "99-broken.ipynb"
    nbformat.write(nb, path)
    result = execute_notebook(
        path, claims_dir=tmp_path / "claims", measure_memory=False
    )
    assert not result.ok and result.failed_cell == 1
    assert (
        "cell 1" in result.error
        and "boom here" in result.error
        and "ValueError" in result.error
    )
