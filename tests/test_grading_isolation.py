"""The grading sandbox against hostile submissions: reading the answers, the network, processes
left running, other students' folders, the gradebook.

Two layers (README, "For instructors"): bubblewrap around each kernel, where it can start, and the
audit hook inside it. The hostile submissions below try each attack twice: from Python (the audit
hook refuses it and the feedback says so) and from native code through ``ctypes``, which the
audit hook cannot see (only bubblewrap stops that). Tests that need bubblewrap skip, saying why,
where it is missing; on CI (``CI=true``, where ``.ci/run`` installs it) they fail instead. Without
bubblewrap, the last test shows what the weaker isolation lets through, as the README says.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from coursetools import ROOT
from coursetools.exercises import exercise_name, make_exercise
from coursetools.grading import sandbox
from coursetools.grading.run import IsolationRefused, Limits, grade

FIXTURE_SOLUTIONS = ROOT / "tests" / "fixtures" / "classroom" / "solutions"
FIXTURE = FIXTURE_SOLUTIONS / "99-split-stats.ipynb"
EXERCISE = exercise_name(FIXTURE.stem)
LIMITS = Limits(cell_seconds=20, notebook_seconds=120, interrupt_grace=2)
MARK = "31415"  # the seconds of the hostile `sleep`, to find it among processes


def silent(*_):
    pass


def _bwrap_or_skip(folder: Path) -> None:
    found = sandbox.probe(folder, [FIXTURE_SOLUTIONS])
    if found.strong:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"CI must grade inside bubblewrap (.ci/run installs it), but {found.reason}"
        )
    pytest.skip(f"needs bubblewrap: {found.reason} (apt-get install bubblewrap)")


def _cell(nb, grade_id):
    return next(
        c
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    )


INSTRUCTOR = nbformat.read(FIXTURE, as_version=4)
RIGHT = {
    g: _cell(INSTRUCTOR, g).source for g in ("ex1-mean", "ex2-held-out", "ex3-spread")
}


def _student(cells: dict[str, str]):
    nb = make_exercise(nbformat.read(FIXTURE, as_version=4), "x", FIXTURE.stem)
    for grade_id, source in cells.items():
        _cell(nb, grade_id).source = source
    return nb


def _native(command: str) -> str:
    """Student code that runs a shell command through libc: invisible to the audit hook."""
    return f"import ctypes\nctypes.CDLL(None).system({command.encode()!r})\n"


def _thief(places: list[str], native: bool):
    """A submission whose every solution cell is the instructor's, read at grading time and exec'd."""
    steal = f'''import json, pathlib, utils
PLACES = {places!r} + [str(pathlib.Path(utils.__file__).parent.parent / "solutions" / "{FIXTURE.name}")]

def steal(grade_id):
    for place in PLACES:
        text = None
        try:
            text = pathlib.Path(place).read_text()
        except OSError:
            pass
        if not text and {native!r}:
            import ctypes
            ctypes.CDLL(None).system(f"cat '{{place}}' > stolen.json 2>/dev/null".encode())
            try:
                text = pathlib.Path("stolen.json").read_text()
            except OSError:
                pass
        if text:
            for cell in json.loads(text)["cells"]:
                if cell["metadata"].get("nbgrader", {{}}).get("grade_id") == grade_id:
                    return "".join(cell["source"])
    raise RuntimeError("nothing to steal")

'''
    return _student(
        {
            "ex1-mean": steal + 'exec(steal("ex1-mean"), globals())',
            "ex2-held-out": 'exec(steal("ex2-held-out"), globals())',
            "ex3-spread": 'exec(steal("ex3-spread"), globals())',
        }
    )


def _network(port: int):
    attack = (
        f"import socket, sys\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        f".sendall(b'python leak')\nexcept OSError:\n    pass\n"
    )
    child = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'native leak')"
    attack += _native(f'{sys.executable} -c "{child}" 2>/dev/null')
    return _student({**RIGHT, "ex3-spread": attack + RIGHT["ex3-spread"]})


def _daemon():
    attack = (
        "import os\ntry:\n    if os.fork() == 0:\n        os.setsid()\n        os._exit(0)\n"
        "except PermissionError:\n    pass\n"
    )
    attack += _native(f"setsid sleep {MARK} >/dev/null 2>&1 </dev/null &")
    return _student({**RIGHT, "ex3-spread": attack + RIGHT["ex3-spread"]})


def _writer(target: Path):
    """Tries to write ``target`` and a file beside it, from Python and from native code."""
    beside = target.parent / "pwned.txt"
    attack = (
        f"for _path in [{str(target)!r}, {str(beside)!r}]:\n    try:\n"
        f"        open(_path, 'a').write('pwned by python')\n    except OSError:\n        pass\n"
    )
    attack += _native(
        f"echo pwned natively >> '{target}'; echo pwned natively > '{beside}'"
    )
    return _student({**RIGHT, "ex3-spread": attack + RIGHT["ex3-spread"]})


class Listener:
    """A TCP server on the grader's loopback that records whatever reaches it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port, self.received = self.sock.getsockname()[1], []
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(1000).decode(errors="replace"))
                except OSError:
                    self.received.append("(connected)")

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _sleepers() -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if f"sleep\0{MARK}".encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def _write(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _feedback(out: Path, student: str) -> str:
    return (out / "feedback" / f"{student}.md").read_text()


def _points(report) -> dict[str, float]:
    return {t.grade_id.split("-")[0]: t.points for t in report.tests}


ZERO, FULL = {"ex1": 0, "ex2": 0, "ex3": 0}, {"ex1": 2, "ex2": 3, "ex3": 1}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A class of hostile submissions graded inside bubblewrap, once for the tests below."""
    root = tmp_path_factory.mktemp("hostile")
    _bwrap_or_skip(root)
    listener = Listener()
    submissions, out = root / "submissions", root / "grades"
    out.mkdir()
    (out / "gradebook.csv").write_text(
        "student,exercise,points,max\nlast term,99-split-stats,6,6\n"
    )
    instructor_file = root / "instructor-notes.txt"
    instructor_file.write_text("not for students")
    cases = {
        "alice": _student(RIGHT),
        "control": _thief(
            ["stolen-source.json"], native=False
        ),  # the attack works where it may read
        "thief": _thief([str(FIXTURE)], native=True),
        "network": _network(listener.port),
        "daemon": _daemon(),
        "meddler": _writer(submissions / "alice" / EXERCISE),
        "forger": _writer(out / "gradebook.csv"),
    }
    for student, nb in cases.items():
        _write(submissions / student / EXERCISE, nb)
    (submissions / "control" / "stolen-source.json").write_bytes(FIXTURE.read_bytes())
    before = {
        "submissions": _tree(submissions),
        "solutions": _tree(FIXTURE_SOLUTIONS),
        "instructor": instructor_file.read_text(),
    }
    lines: list[str] = []
    started = time.monotonic()
    reports = grade(
        submissions,
        out,
        solutions=FIXTURE_SOLUTIONS,
        limits=LIMITS,
        echo=lines.append,
        jobs=2,
    )
    seconds = time.monotonic() - started
    time.sleep(0.5)
    listener.close()
    yield {
        "reports": {r.student: r for r in reports},
        "out": out,
        "before": before,
        "root": root,
        "submissions": submissions,
        "received": listener.received,
        "lines": lines,
        "seconds": seconds,
        "instructor": instructor_file,
    }
    for pid in _sleepers():  # never leave a process behind, even when a test fails
        os.kill(pid, 9)


def test_the_attack_works_where_reading_is_allowed(hostile):
    """The control: the thief's code gets full marks from a copy it may read (so the test can fail)."""
    assert _points(hostile["reports"]["control"]) == FULL, _feedback(
        hostile["out"], "control"
    )
    assert _points(hostile["reports"]["alice"]) == FULL


def test_reading_the_instructors_notebook_scores_like_an_untouched_exercise(hostile):
    report, feedback = hostile["reports"]["thief"], _feedback(hostile["out"], "thief")
    assert _points(report) == ZERO, feedback
    assert "reading the instructor's notebooks is not allowed" in feedback, feedback
    assert "nothing to steal" in feedback, feedback


def test_no_network(hostile):
    report, feedback = (
        hostile["reports"]["network"],
        _feedback(hostile["out"], "network"),
    )
    assert _points(report) == FULL, feedback
    assert "network access is not allowed" in feedback, feedback
    assert hostile["received"] == [], (
        f"a submission reached the grader's network: {hostile['received']}"
    )


def test_no_process_outlives_grading(hostile):
    report, feedback = hostile["reports"]["daemon"], _feedback(hostile["out"], "daemon")
    assert _points(report) == FULL, feedback
    assert "starting other programs is not allowed (os.fork)" in feedback, feedback
    assert "still running when grading ended and were stopped: sleep" in feedback, (
        feedback
    )
    assert _sleepers() == [], "a process started by a submission outlived its grading"


def test_other_students_and_the_gradebook_are_out_of_reach(hostile):
    for student in ("meddler", "forger"):
        report, feedback = (
            hostile["reports"][student],
            _feedback(hostile["out"], student),
        )
        assert _points(report) == FULL, feedback
        assert (
            "refused by the grading sandbox: writing outside the submission folder"
            in feedback
        ), feedback
    assert _tree(hostile["submissions"]) == hostile["before"]["submissions"], (
        "a student's folder was changed"
    )
    assert _tree(FIXTURE_SOLUTIONS) == hostile["before"]["solutions"]
    assert hostile["instructor"].read_text() == hostile["before"]["instructor"]
    for path in hostile["out"].rglob("*"):
        text = path.read_text() if path.is_file() else ""
        assert "pwned by" not in text and "pwned natively" not in text, (
            f"{path} was written by a submission"
        )
    assert not (hostile["out"] / "pwned.txt").exists()
    rows = (hostile["out"] / "gradebook.csv").read_text().splitlines()
    assert rows[0] == "student,exercise,points,max,isolation" and len(rows) == 1 + len(
        hostile["reports"]
    )
    assert all(row.endswith(",bubblewrap") for row in rows[1:]), rows
    assert "isolation: bubblewrap" in hostile["lines"][0]
    print(
        f"hostile class of {len(hostile['reports'])} graded in {hostile['seconds']:.1f} s with 2 jobs"
    )


def _python_ways() -> set[str]:
    """Names in the home folder on the way to Python's installation (pyenv keeps it there)."""
    home = Path.home().resolve()
    return {
        Path(p).resolve().relative_to(home).parts[0]
        for p in (sys.prefix, sys.base_prefix)
        if Path(p).resolve().is_relative_to(home)
    }


def test_the_sandbox_itself(tmp_path):
    """What a program inside the sandbox sees: run directly, without the grader or the audit hook."""
    _bwrap_or_skip(tmp_path)
    box = tmp_path / "box"
    box.mkdir()
    (tmp_path / "beside.txt").write_text("instructor's")
    listener = Listener()
    check = f"""
import os, pathlib, socket, subprocess
root = pathlib.Path({str(ROOT)!r})
for hidden in [root / "solutions", pathlib.Path({str(FIXTURE_SOLUTIONS)!r})]:
    assert not hidden.exists() or list(hidden.iterdir()) == [], f"{{hidden}} is visible"
seen = {{p.name for p in root.iterdir()}}
assert seen <= {{"coursetools", "datasets", "solutions", "utils", ".venv"}} and "utils" in seen, seen
for gone in [{str(tmp_path / "beside.txt")!r}, {str(ROOT / "_build")!r}]:
    assert not pathlib.Path(gone).exists(), gone + " is visible"
home = pathlib.Path({str(Path.home())!r})      # only the way to Python's installation, if it lies there
assert not home.exists() or {{p.name for p in home.iterdir()}} <= {_python_ways()!r}, list(home.iterdir())
for target in ["/usr/pwned", {str(ROOT / "utils" / "pwned.py")!r}, "/etc/pwned"]:
    try:
        open(target, "w")
    except OSError:
        pass
    else:
        raise SystemExit("wrote " + target)
pathlib.Path("written.txt").write_text("ok")
try:
    socket.create_connection(("127.0.0.1", {listener.port}), timeout=2).sendall(b"leak")
except OSError:
    pass
else:
    raise SystemExit("reached the grader's loopback")
subprocess.Popen(["setsid", "sleep", "{MARK}"], start_new_session=True)
print("all checks passed")
"""
    done = subprocess.run(
        sandbox.command(box, [ROOT / "solutions", FIXTURE_SOLUTIONS])
        + [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"]},
    )
    time.sleep(0.5)
    listener.close()
    leftover = _sleepers()
    for pid in leftover:
        os.kill(pid, 9)
    assert done.returncode == 0 and "all checks passed" in done.stdout, (
        done.stdout + done.stderr
    )
    assert (box / "written.txt").read_text() == "ok"
    assert listener.received == []
    assert leftover == [], "a process started in the sandbox outlived it"


def test_require_isolation_refuses_without_bubblewrap(tmp_path, monkeypatch):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / EXERCISE).write_bytes(FIXTURE.read_bytes())
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(IsolationRefused) as refused:
        grade(
            tmp_path / "alice",
            tmp_path / "out",
            solutions=FIXTURE_SOLUTIONS,
            isolation="require",
            echo=silent,
        )
    assert "bubblewrap (bwrap) is not installed" in str(refused.value.code)
    assert not (tmp_path / "out").exists()
    # the command line: exit status 2 and the reason (no bwrap on this PATH)
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "course.py"),
            "--no-venv",
            "grade",
            "alice",
            "--solutions",
            FIXTURE_SOLUTIONS,
            "--require-isolation",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty)},
        timeout=120,
    )
    assert done.returncode == 2 and "isolation was required" in done.stderr, (
        done.stdout + done.stderr
    )


def test_weaker_isolation_is_said_and_the_hook_still_refuses(tmp_path):
    """Without bubblewrap: the output and the gradebook say so; the audit hook refuses what Python
    does; native code gets through (as the README warns), which the control cases below show."""
    listener = Listener()
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    cases = {
        "thief": _thief([str(FIXTURE)], native=False),
        "writer": _writer(tmp_path / "instructor.txt"),
        "native-thief": _thief([str(FIXTURE)], native=True),
        "native-network": _network(listener.port),
    }
    for student, nb in cases.items():
        _write(submissions / student / EXERCISE, nb)
    (tmp_path / "instructor.txt").write_text("mine")
    lines: list[str] = []
    reports = {
        r.student: r
        for r in grade(
            submissions,
            out,
            solutions=FIXTURE_SOLUTIONS,
            limits=LIMITS,
            echo=lines.append,
            jobs=2,
            isolation="hook",
        )
    }
    time.sleep(0.5)
    listener.close()
    assert "WEAKER" in lines[0] and "WEAKER" in lines[-1]
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert all(row.endswith(",weaker: audit hook only") for row in rows[1:]), rows
    assert _points(reports["thief"]) == ZERO
    assert "reading the instructor's notebooks is not allowed" in _feedback(
        out, "thief"
    )
    feedback = _feedback(out, "writer")
    assert (
        "refused by the grading sandbox: writing outside the submission folder"
        in feedback
    )
    assert "pwned by python" not in (tmp_path / "instructor.txt").read_text()
    # what only bubblewrap stops: native code reads the answers and reaches the network
    assert _points(reports["native-thief"]) == FULL
    assert "native leak" in listener.received and "python leak" not in listener.received
    assert "pwned natively" in (tmp_path / "instructor.txt").read_text()
