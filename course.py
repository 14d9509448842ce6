#!/usr/bin/env python3
"""What's in a Score? -- one entry point for the course.

    python3 course.py book         build the HTML book (executes every chapter)
    python3 course.py test         run the test suite (executes every notebook)
    python3 course.py lab          open JupyterLab in the course environment
    python3 course.py --help       everything else (bench, scoreboard, seeds, exercises, grade)

The first run creates a virtual environment in .venv/ and installs requirements.txt into it;
later runs reinstall only when requirements.txt or pyproject.toml changed. This file uses only
the standard library until the environment exists. Set COURSE_VENV to put the environment
elsewhere, or pass --no-venv to use the Python that runs this file (e.g. an activated conda env).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv")).resolve()
STAMP_NAME = ".course-installed"
MIN_PYTHON = (3, 10)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(cmd: list, **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], **kwargs)
    if result.returncode != 0:
        sys.exit(
            f"course.py: command failed with exit code {result.returncode}: {' '.join(map(str, cmd))}"
        )


def ensure_environment() -> Path:
    """Create .venv and install the requirements when missing or out of date; return its python."""
    python = _venv_python(VENV)
    stamp = VENV / STAMP_NAME
    wanted = _wanted_stamp()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    if not python.exists():
        print(
            f"course.py: creating the course environment in {VENV} (once; a few minutes)",
            flush=True,
        )
        import venv

        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(VENV)
    else:
        print(
            "course.py: requirements changed since the last install; updating the environment",
            flush=True,
        )
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "--upgrade",
            "pip",
        ]
    )
    print(
        "course.py: installing the packages of requirements.txt (quietly; errors are shown)",
        flush=True,
    )
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
            ROOT / "requirements.txt",
            "-e",
            ROOT,
        ]
    )
    stamp.write_text(wanted + "\n")
    return python


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        sys.exit(
            f"course.py needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; this is {sys.version.split()[0]}"
        )
    if "--no-venv" in argv:
        argv = [a for a in argv if a != "--no-venv"]
    elif Path(sys.prefix).resolve() != VENV:
        python = ensure_environment()
        return subprocess.call(
            [str(python), str(Path(__file__).resolve()), "--no-venv", *argv]
        )
    sys.path.insert(0, str(ROOT))
    from coursetools.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
