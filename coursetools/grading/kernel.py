"""The IPython kernel that grades one submission, started with its limits already in place.

Run as ``python -m coursetools.grading.kernel -f CONNECTION_FILE`` (the grader writes a kernel
spec for it; with bubblewrap the spec starts it inside the sandbox of :mod:`.sandbox`). Before
ipykernel starts, and so before any student code runs, it sets:

* ``RLIMIT_AS`` (address space, ``COURSE_GRADE_MEMORY_MB``): an allocation beyond it fails with
  ``MemoryError`` inside the student's cell;
* ``RLIMIT_CPU`` (``COURSE_GRADE_CPU_SECONDS``): a backstop that kills a kernel which somehow
  escapes the grader's wall-clock limits; ``RLIMIT_FSIZE``: no file larger than 64 MB; no core dumps;
* an audit hook (PEP 578; it cannot be removed once added) that refuses to open a file for writing,
  delete, rename, chmod or link anything outside ``COURSE_GRADE_WRITABLE`` (the submission's
  temporary folder), to open or list anything under ``COURSE_GRADE_HIDDEN`` (the instructor's
  notebooks), to use the network, to start other programs or to signal other processes.

The audit hook is the second layer. It sees only what Python code does: native code (``ctypes``,
a compiled extension, a program started by it) gets around it. The first layer, where the
system offers it, is the bubblewrap sandbox around this process (README, "For instructors").
"""

from __future__ import annotations

import os
import platform
import resource
import sys

BLOCKED = "grading sandbox:"  # every refusal starts with this; the grader looks for it
FILE_SIZE_LIMIT = 64 * 2**20
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# audit events whose arguments name paths that get changed: event -> positions of those paths
_PATH_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.mkdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.link": (0, 1),
    "os.symlink": (1,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
    "shutil.move": (0, 1),
    "shutil.chown": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.lchmod": (0,),
    "os.removexattr": (0,),
    "os.setxattr": (0,),
}
# events that read a path (or list a folder): refused under the hidden folders
_READ_EVENTS = {"os.listdir": 0, "os.scandir": 0, "glob.glob": 0, "os.chdir": 0}
_SPAWN_EVENTS = {
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "subprocess.Popen",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "os.startfile",
}
_NETWORK_EVENTS = {
    "socket.connect",
    "socket.connect_ex",
    "socket.sendto",
    "socket.sendmsg",
    "socket.bind",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.gethostbyname_ex",
}


def make_guard(writable: list[str], hidden: list[str] = ()):
    """An audit hook: changes to files only under ``writable``, nothing read under ``hidden``."""
    realpath, fspath, join, getcwd = (
        os.path.realpath,
        os.fspath,
        os.path.join,
        os.getcwd,
    )
    roots = tuple(realpath(r) for r in writable) + ("/dev/null",)
    secret = tuple(realpath(h) for h in hidden)
    own_pid = os.getpid()
    busy = []

    def full(path) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # an already open file descriptor: it was checked when opened
        path = fspath(path)
        if isinstance(path, bytes):
            path = path.decode(errors="replace")
        return realpath(join(getcwd(), path))

    def under(path, folders) -> bool:
        name = full(path)
        return name is not None and any(
            name == f or name.startswith(f.rstrip("/") + "/") for f in folders
        )

    def inside(path) -> bool:
        return full(path) is None or under(path, roots)

    log_path = os.environ.get("COURSE_GRADE_REFUSALS")

    def refuse(message: str):
        if (
            log_path
        ):  # inside the sandbox's own folder, so this open passes the check below
            try:
                with open(log_path, "a", encoding="utf-8") as log:
                    log.write(message.replace("\n", " ") + "\n")
            except OSError:
                pass
        return PermissionError(f"{BLOCKED} {message}")

    def guard(event, args):
        if busy or not (
            event == "open"
            or event in _PATH_EVENTS
            or event in _SPAWN_EVENTS
            or event in _NETWORK_EVENTS
            or event in _READ_EVENTS
            or event in ("os.kill", "os.killpg")
        ):
            return
        busy.append(1)
        try:
            if event == "open":
                path, _mode, flags = args
                if secret and under(path, secret):
                    raise refuse(
                        f"reading the instructor's notebooks is not allowed: {path}"
                    )
                if isinstance(flags, int) and flags & _WRITE_FLAGS and not inside(path):
                    raise refuse(
                        f"writing outside the submission folder is not allowed: {path}"
                    )
            elif event in _READ_EVENTS:
                position = _READ_EVENTS[event]
                if secret and position < len(args) and under(args[position], secret):
                    raise refuse(
                        f"reading the instructor's notebooks is not allowed ({event}: {args[position]})"
                    )
            elif event in _PATH_EVENTS:
                for position in _PATH_EVENTS[event]:
                    if position < len(args) and not inside(args[position]):
                        raise refuse(
                            f"changing files outside the submission folder is not allowed "
                            f"({event}: {args[position]})"
                        )
            elif event in _SPAWN_EVENTS:
                raise refuse(f"starting other programs is not allowed ({event})")
            elif event in _NETWORK_EVENTS:
                target = args[1] if len(args) > 1 else (args[0] if args else "")
                raise refuse(f"network access is not allowed ({event}: {target})")
            elif args and args[0] != own_pid:
                raise refuse(f"signalling other processes is not allowed ({event})")
        finally:
            busy.clear()

    return guard


def _limit(name: str, value: int) -> None:
    """Set a hard and soft resource limit; a platform that refuses one (macOS: RLIMIT_AS) goes without."""
    if value > 0 and hasattr(resource, name):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError) as exc:
            print(f"grading sandbox: could not set {name}: {exc}", file=sys.stderr)


def _paths(variable: str) -> list[str]:
    return [p for p in os.environ.get(variable, "").split(os.pathsep) if p]


def main() -> None:
    env = os.environ
    _limit("RLIMIT_AS", int(env.get("COURSE_GRADE_MEMORY_MB", "0") or 0) * 2**20)
    _limit("RLIMIT_CPU", int(env.get("COURSE_GRADE_CPU_SECONDS", "0") or 0))
    _limit("RLIMIT_FSIZE", FILE_SIZE_LIMIT)
    try:
        resource.setrlimit(
            resource.RLIMIT_CORE, (0, 0)
        )  # no core dumps of a crashed kernel
    except (ValueError, OSError):
        pass
    writable = _paths("COURSE_GRADE_WRITABLE")
    platform.platform()  # cached now: on Linux it runs `uname -p`, which the guard would refuse later
    if env.get("COURSE_GRADE_BWRAP"):
        # In its own process namespace the kernel's parent is the sandbox's init, pid 1, which
        # ipykernel takes for "the grader has gone". bwrap's --die-with-parent does that job.
        os.environ["JPY_PARENT_PID"] = "1"
    from ipykernel import (
        kernelapp,  # imported before the hook: its start-up needs nothing it refuses
    )

    if writable:
        sys.addaudithook(make_guard(writable, _paths("COURSE_GRADE_HIDDEN")))
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
