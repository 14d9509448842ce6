"""The first layer of isolation: each grading kernel inside a bubblewrap sandbox (Linux).

``bwrap`` (Debian/Ubuntu package ``bubblewrap``) starts the kernel in new namespaces, with a file
system made of a few read-only binds:

* the system (``/usr``, the ``/lib*`` and ``/bin`` links, a few files of ``/etc``), Python's own
  installation and the course's virtual environment, and ``utils/``, ``coursetools/`` and
  ``datasets/`` of the course: all read-only;
* the course's ``solutions/`` and the instructor notebooks' folder (``--solutions``): absent, or
  an empty tmpfs over each where they lie inside something bound;
* the submission's temporary folder (its copy of the student's folder, its home, its sockets to
  the grader): the only writable place, at the same path as outside;
* nothing else of the machine: not the instructor's home, the gradebook, the other students'
  folders, ``/tmp`` (a fresh, empty one).

It has no network (its own network namespace: only a loopback of its own), its own process
namespace (``--unshare-pid``: when the kernel stops, every process it started stops with it;
``--die-with-parent``: so does the grader's end), its own session (no terminal to inject into)
and no capabilities. The grader talks to the kernel over ZeroMQ *ipc* sockets (files in the
submission's folder), which cross the network namespace where TCP on loopback cannot.

Where bubblewrap is missing or cannot start (user namespaces disabled, a container that forbids
them), :func:`probe` says why; the grader then runs the kernel without this layer and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from coursetools import ROOT

# parts of the course a grading kernel may read (the rest of the course folder is not there)
COURSE_PARTS = ("utils", "coursetools", "datasets")
# files and folders of /etc that programs and libraries read at start-up
ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "fonts",
    "alternatives",
    "mime.types",
    "os-release",
)
TOP_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class Isolation:
    """How grading kernels are isolated in this run."""

    bwrap: str | None  # path of the bwrap program when the sandbox is used
    reason: str = ""  # why not, when it is not

    @property
    def strong(self) -> bool:
        return self.bwrap is not None

    def label(self) -> str:
        """The gradebook's ``isolation`` column."""
        return "bubblewrap" if self.strong else "weaker: audit hook only"

    def describe(self) -> str:
        if self.strong:
            return (
                "isolation: bubblewrap sandbox (no network, read-only system, instructor files hidden, "
                "own process namespace) plus the audit hook"
            )
        return (
            f"isolation: WEAKER than it should be: {self.reason}. Kernels run with the audit hook only: "
            "a submission using native code can read your solutions, use the network and leave "
            "processes behind. Install bubblewrap (README, For instructors) or grade in a container."
        )


def _python_dirs() -> list[Path]:
    """Python's installation and the virtual environment, as real paths (deduplicated, outermost)."""
    dirs = {
        Path(p).resolve()
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    dirs.add(Path(sys.executable).resolve().parent.parent)
    return sorted(
        d for d in dirs if not any(o != d and d.is_relative_to(o) for o in dirs)
    )


def command(
    box: Path, hidden: list[Path], bwrap: str = "bwrap", cwd: Path | None = None
) -> list[str]:
    """The ``bwrap`` arguments that run a program in ``cwd`` (default: ``box``), with ``box`` as its only
    writable folder."""
    args = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in TOP_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += [
        "--ro-bind-try",
        "/sys/devices/system/cpu",
        "/sys/devices/system/cpu",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    bound = [Path("/usr")]
    for path in _python_dirs() + [ROOT / part for part in COURSE_PARTS]:
        if path.exists() and not any(path.is_relative_to(b) for b in bound):
            args += ["--ro-bind", str(path), str(path)]
            bound.append(path)
    for path in hidden:  # after the binds, so that the tmpfs lies over them
        path = Path(path).resolve()
        if path.is_dir() and any(path.is_relative_to(b) for b in bound):
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
    box = Path(box).resolve()
    args += [
        "--bind",
        str(box),
        str(box),
        "--remount-ro",
        "/",
        "--chdir",
        str(Path(cwd).resolve() if cwd else box),
    ]
    return args + ["--"]


def probe(folder: Path, hidden: list[Path]) -> Isolation:
    """Whether bubblewrap can run a grading kernel's Python here; say why not when it cannot."""
    if sys.platform != "linux":
        return Isolation(
            None, f"bubblewrap exists only on Linux (this is {sys.platform})"
        )
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation(None, "bubblewrap (bwrap) is not installed")
    box = Path(folder) / "probe"
    box.mkdir(parents=True, exist_ok=True)
    test = (
        "import socket, coursetools.grading.kernel\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\nexcept OSError:\n    pass\n"
        "else:\n    raise SystemExit('the network is reachable')"
    )
    try:
        done = subprocess.run(
            command(box, hidden, bwrap) + [sys.executable, "-c", test],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(ROOT),
            },
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(
            None, f"bubblewrap could not start ({type(exc).__name__}: {exc})"
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return Isolation(
            None,
            f"bubblewrap could not start a sandbox here ({last}; are unprivileged user "
            "namespaces disabled?)",
        )
    return Isolation(bwrap)
