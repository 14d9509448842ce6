"""Undo a submission's monkeypatching before each test cell (runs inside the grading kernel).

Before any student code runs, :func:`install` imports the modules the tests rely on and records
every function, class and module they expose (and the code object of each Python function). After
each instructor cell, :func:`remember` records the names it bound to such objects in the notebook's
namespace (``np``, ``assert_allclose``, ``seeded_split``...). Before each test cell, :func:`restore`
puts back anything a submission replaced, deleted or rebound, and returns what it put back, so the
grader can say so in the feedback. A student who replaces ``numpy.testing.assert_allclose``, a
``utils`` function, ``builtins.abs`` or rebinds ``np`` is graded against the real ones.

Only functions, classes and modules are restored: library state that legitimately changes
(settings, caches, numbers) is left alone. Code that deliberately finds and edits this module's
records is not stopped (README, "For instructors"). This module runs inside the kernel and imports
nothing from the grader.
"""

from __future__ import annotations

import importlib
import sys
import types

MARK = "__COURSE_GUARD__"
ALWAYS = ("builtins", "math", "numpy", "numpy.testing", "utils")
RECURSIVE = ("numpy.testing", "utils")  # these prefixes are guarded with all submodules
_IGNORED = {
    "__warningregistry__",
    "__loader__",
    "__spec__",
    "__cached__",
    "__file__",
    "__path__",
    "__doc__",
    "__name__",
    "__package__",
    "__builtins__",
    "_",
    "__",
    "___",
}
_PER_MODULE = {
    "builtins": {"input", "raw_input"},  # ipykernel swaps these for every request
    # IPython wraps it when a notebook's first plot switches on inline figures
    "matplotlib.pyplot": {"draw_if_interactive"},
}
_MEMBERS = (
    classmethod,
    staticmethod,
    property,
)  # class members worth guarding besides callables
_modules: dict = {}  # name -> (module, {attr: value}, {attr: code object})
_classes: list = []  # (class, {attr: value})
_names: dict = {}  # notebook global -> value bound by an instructor cell
# builtins the guard itself needs, kept before any student code can replace them
_original = {"setattr": setattr, "isinstance": isinstance, "callable": callable}


def _watched(value) -> bool:
    return _original["isinstance"](value, types.ModuleType) or _original["callable"](
        value
    )


def _guarded(name: str, exact: set) -> bool:
    return name in exact or any(
        name == p or name.startswith(p + ".") for p in RECURSIVE
    )


def install(modules: list[str]) -> None:
    """Import ``modules`` (and the defaults) and record what they expose."""
    exact = set(ALWAYS) | set(modules)
    for name in sorted(exact):
        try:
            importlib.import_module(name)
        except (
            Exception
        ):  # a module the notebook imports may not exist: its cell will say so
            pass
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or not _guarded(name, exact):
            continue
        skip = _IGNORED | _PER_MODULE.get(name, set())
        attrs = {k: v for k, v in vars(module).items() if k not in skip and _watched(v)}
        codes = {
            k: v.__code__ for k, v in attrs.items() if isinstance(v, types.FunctionType)
        }
        _modules[name] = (module, attrs, codes)
        if name == "utils" or name.startswith("utils."):
            for value in attrs.values():
                if isinstance(value, type) and value.__module__ == name:
                    _classes.append(
                        (
                            value,
                            {
                                k: v
                                for k, v in vars(value).items()
                                if k not in _IGNORED
                                and (_watched(v) or isinstance(v, _MEMBERS))
                            },
                        )
                    )


def _from_notebook(value) -> bool:
    """Whether a function was written in a notebook cell (ipykernel files cells under ipykernel_*)."""
    code = getattr(value, "__code__", None)
    filename = getattr(code, "co_filename", "")
    return filename.startswith("<") or "ipykernel_" in filename


def remember(namespace: dict) -> None:
    """Record the notebook globals bound to guarded modules and their functions and classes."""
    known = {id(m) for m, _, _ in _modules.values()}
    known |= {id(v) for _, attrs, _ in _modules.values() for v in attrs.values()}
    for key, value in namespace.items():
        if not key.startswith("_") and id(value) in known:
            _names[key] = value


def restore(namespace: dict) -> list[str]:
    """Put back every replaced, deleted or rebound guarded object; return their names."""
    put_back = []
    for name, (module, attrs, codes) in _modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            put_back.append(f"sys.modules[{name!r}]")
        current = module.__dict__
        for key, value in list(attrs.items()):
            now = current.get(key, _modules)
            if now is value:
                pass
            elif getattr(now, "__wrapped__", None) is value and not _from_notebook(now):
                # a library decorated it (torch._dynamo wraps torch.manual_seed): the new original
                attrs[key] = value = now
                codes.pop(key, None)
                if isinstance(now, types.FunctionType):
                    codes[key] = now.__code__
            else:
                current[key] = value
                put_back.append(f"{name}.{key}")
            code = codes.get(key)
            if code is not None and value.__code__ is not code:
                try:
                    value.__code__ = code
                    put_back.append(f"{name}.{key}.__code__")
                except (
                    ValueError
                ):  # cannot happen for a code object we took from this function
                    put_back.append(f"{name}.{key}.__code__ (could not be restored)")
    for cls, attrs in _classes:
        for key, value in attrs.items():
            if cls.__dict__.get(key, _modules) is not value:
                _original["setattr"](cls, key, value)
                put_back.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
    for key, value in _names.items():
        if namespace.get(key, _modules) is not value:
            namespace[key] = value
            put_back.append(key)
    return put_back
