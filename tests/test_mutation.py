"""coursetools.mutation (``course.py mutate``): its module list, test selection, mutmut
configuration and score, without running mutmut (that takes minutes; see README)."""

from __future__ import annotations

import pytest
import tomllib

from coursetools import mutation


def test_default_modules_are_existing_catalog_modules_plus_core():
    from utils.catalog import CHAPTERS

    mods = mutation.default_modules()
    assert set(mutation.CORE_MODULES) <= set(mods)
    for c in CHAPTERS:
        for name in c.modules:  # a chapter's own module and those it uses
            exists = (mutation.ROOT / "utils" / f"{name}.py").exists()
            assert (name in mods) == (bool(name) and exists)
    assert "esports_sim" in mods  # used by chapter 1 beside calibration
    assert len(mods) == len(set(mods))


def test_test_files_of_a_module_and_of_claims():
    names = [p.name for p in mutation.test_files("validation")]
    assert names == ["test_validation.py"]
    claims = [p.name for p in mutation.test_files("claims")]
    assert claims == sorted(claims)
    # its own files, then the core's (TEST_FILES): test_core.py and test_core_*.py
    assert "test_claims_exact.py" in claims
    assert set(claims) - {"test_claims_exact.py"} == {
        p.name for p in mutation.test_files("core")
    }
    assert "test_core_exact.py" in [p.name for p in mutation.test_files("core")]
    assert mutation.test_files("no_such_module") == []


def test_pyproject_mutates_only_the_module_and_runs_its_tests():
    tests = mutation.test_files("checks")
    cfg = tomllib.loads(mutation._pyproject("checks", tests))["tool"]["mutmut"]
    assert cfg["source_paths"] == ["utils/checks.py"]
    assert cfg["pytest_add_cli_args_test_selection"] == [
        f"tests/{p.name}" for p in tests
    ]
    assert cfg["pytest_add_cli_args"] == [
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    assert "utils/" in cfg["also_copy"]


def test_score_excludes_skipped_and_counts_timeouts_as_killed():
    r = mutation.Result("m", total=20, killed=15, survived=2, timeout=1, skipped=2)
    assert r.score == pytest.approx(100 * 16 / 18)
    assert mutation.Result("m").score == 0.0
    line = mutation.format_line(r)
    assert line.startswith("m ") and "score  88.9%" in line and "mutants   20" in line
    assert line.endswith("(0 lines marked no-mutate)")  # no utils/m.py


def test_pragma_lines_count_single_lines_and_blocks():
    source = "\n".join(
        [
            "a = 1  # pragma: no mutate (why)",
            "b = 2",
            "# pragma: no mutate start (why)",
            "c = 3",
            "d = 4",
            "# pragma: no mutate end",
            "e = 5",
        ]
    )
    assert mutation.pragma_lines(source) == 3
    assert mutation.pragma_lines("x = 1\n") == 0


def test_unknown_module_is_refused(capsys):
    assert mutation.main(["no_such_module"]) == 2
    assert "no such module in utils/: no_such_module" in capsys.readouterr().err
