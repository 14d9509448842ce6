"""nbgrader accepts the instructor notebooks: its own generate, autograde and export, end to end.

In a temporary nbgrader course (sqlite gradebook in the same folder, no exchange, no network):

* ``generate_assignment`` on *every* ``solutions/NN-*.ipynb`` (it validates nbgrader's cell
  metadata: written answers must be manually graded cells, every graded cell needs points...);
* ``autograde`` and ``export`` (nbgrader's CSV exporter) on two notebooks, the test fixture and
  chapter 01 (which has a written answer), for a student who handed in the solutions (full marks)
  and one who handed in our generated exercises untouched (zero).

nbgrader runs in a child process (its applications keep global state); nbgrader is a test
dependency (requirements.txt).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursetools import ROOT
from coursetools.exercises import exercise_name, write_exercise

pytest.importorskip(
    "nbgrader",
    reason="nbgrader is a test dependency: python3 course.py setup installs it",
)

FIXTURE = (
    ROOT / "tests" / "fixtures" / "classroom" / "solutions" / "99-split-stats.ipynb"
)
ALL = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))
GRADED = [FIXTURE, ROOT / "solutions" / "01-balance-score.ipynb"]

SCRIPT = r"""
import json, sys
from traitlets.config import Config
from nbgrader.apps import NbGraderAPI
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

root, students = sys.argv[1], sys.argv[2:]
config = Config()
config.CourseDirectory.root = root
config.CourseDirectory.course_id = "whats-in-a-score"
config.CourseDirectory.db_url = f"sqlite:///{root}/gradebook.db"
config.Exchange.root = f"{root}/exchange"
config.ExecutePreprocessor.timeout = 300
api = NbGraderAPI(config=config)
results = {}
for assignment in ("all", "graded"):
    results["generate " + assignment] = api.generate_assignment(assignment)
for student in students:
    results["autograde " + student] = api.autograde("graded", student)
with Gradebook(config.CourseDirectory.db_url, "whats-in-a-score") as gb:
    CsvExportPlugin(to=f"{root}/grades.csv").export(gb)
print(json.dumps({k: {"success": v["success"], "error": v.get("error"), "log": v.get("log", "")[-3000:]}
                  for k, v in results.items()}))
"""


def test_nbgrader_generates_autogrades_and_exports(tmp_path):
    source = tmp_path / "source"
    (source / "all").mkdir(parents=True)
    (source / "graded").mkdir()
    for path in ALL:
        shutil.copy2(path, source / "all" / path.name)
    for path in GRADED:
        shutil.copy2(path, source / "graded" / path.name)
        solver = tmp_path / "submitted" / "solver" / "graded"
        untouched = tmp_path / "submitted" / "untouched" / "graded"
        solver.mkdir(parents=True, exist_ok=True)
        untouched.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, solver / path.name)
        # our generated exercise, as handed out, renamed to the name nbgrader expects
        handed_out = ROOT / "exercises" / exercise_name(path.stem)
        if handed_out.exists():
            shutil.copy2(handed_out, untouched / path.name)
        else:
            write_exercise(path, untouched / path.name)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COURSE_THREADS": "1",
        "COURSE_PROGRESS": "0",
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), "solver", "untouched"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {
        k: (v["error"] or v["log"]) for k, v in results.items() if not v["success"]
    }
    assert not failed, json.dumps(failed, indent=1)
    # generate_assignment accepted every solutions notebook: each has its student version
    assert sorted(p.name for p in (tmp_path / "release" / "all").glob("*.ipynb")) == [
        p.name for p in ALL
    ]
    released = json.loads((tmp_path / "release" / "all" / ALL[0].name).read_text())
    text = json.dumps(released)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    with open(tmp_path / "grades.csv", newline="") as handle:
        rows = {
            r["student_id"]: r
            for r in csv.DictReader(handle)
            if r["assignment"] == "graded"
        }
    assert float(rows["solver"]["max_score"]) > 0
    assert float(rows["solver"]["score"]) == float(rows["solver"]["max_score"]), rows[
        "solver"
    ]
    assert float(rows["untouched"]["score"]) == 0, rows["untouched"]
