"""ruff (configured in pyproject.toml) finds no lint error and no unformatted file in the course:
coursetools/, utils/, tests/, course.py and the notebooks of chapters/ and solutions/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    local = Path(sys.executable).with_name("ruff")
    if local.exists():
        return [str(local)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed (it is in requirements.txt)")
    return [found]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*_ruff(), *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_finds_nothing():
    result = _run("check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, f"ruff check:\n{result.stdout}{result.stderr}"


def test_ruff_format_leaves_every_file_as_it_is():
    result = _run("format", "--no-cache", "--check", ".")
    assert result.returncode == 0, (
        "ruff format --check (run `ruff format .`):\n" + result.stdout + result.stderr
    )


def test_ruff_check_fails_on_a_lint_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    result = _run(
        "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad)
    )
    assert result.returncode == 1 and "F401" in result.stdout


def test_ruff_format_check_fails_on_an_unformatted_file(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("x = {  'a':1 }\n")
    result = _run(
        "format",
        "--no-cache",
        "--check",
        "--config",
        str(ROOT / "pyproject.toml"),
        str(bad),
    )
    assert result.returncode == 1 and "bad.py" in result.stdout
