"""The claim record: how each chapter reports its paper's headline effect in miniature.

Every chapter ends with a *claim check*: a number computed from the notebook's own run, compared
with a threshold and printed beside the paper's value. :func:`record_claim` writes it to
``$COURSE_CLAIMS_DIR/NN.json`` (default ``_build/claims/`` in the course folder), where the tests,
the scoreboard command and the book collect it. One claim is stored as one JSON object, several
as a list of objects, each with at least the keys of :data:`REQUIRED_KEYS`.

An *asserted* claim that does not hold raises ``AssertionError`` after it is recorded, so the
notebook fails loudly. ``asserted=False`` marks an effect the chapter reports but does not
assert (typically one the miniature does not reproduce); the scoreboard shows it as such.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import operator
import os
from pathlib import Path

CLAIMS_ENV = "COURSE_CLAIMS_DIR"
REQUIRED_KEYS = ("chapter", "claim", "paper_value", "ours", "threshold", "holds", "seed")
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
COURSE_ROOT = Path(__file__).resolve().parent.parent


def claims_dir() -> Path:
    """The folder claim records go to: ``COURSE_CLAIMS_DIR`` or ``<course>/_build/claims``."""
    text = os.environ.get(CLAIMS_ENV, "").strip()
    return Path(text).expanduser() if text else COURSE_ROOT / "_build" / "claims"


def claims_path(chapter: int, directory: Path | str | None = None) -> Path:
    """Path of chapter ``chapter``'s record file, ``NN.json``."""
    return Path(directory or claims_dir()) / f"{int(chapter):02d}.json"


def _plain(value, what: str):
    """Turn numpy scalars/arrays and tuples into JSON values; reject NaN and unknown types."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):  # numpy / torch
        value = value.tolist()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{what} must be finite, got {value}")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, what) for k, v in value.items()}
    raise TypeError(f"{what} must be a number, string, list or dict, got {type(value).__name__}")


def validate_record(record: dict) -> dict:
    """Check one claim record and return it; ``ValueError`` names what is missing or wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"a claim record must be a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f"claim record is missing key(s) {', '.join(missing)}: {record!r}")
    if not isinstance(record["holds"], bool):
        raise ValueError(f"'holds' must be true or false, got {record['holds']!r}")
    if not isinstance(record.get("asserted", True), bool):
        raise ValueError(f"'asserted' must be true or false, got {record['asserted']!r}")
    if not isinstance(record["chapter"], int) or isinstance(record["chapter"], bool):
        raise ValueError(f"'chapter' must be an integer, got {record['chapter']!r}")
    if not isinstance(record["claim"], str) or not record["claim"].strip():
        raise ValueError("'claim' must be a non-empty sentence")
    return record


def load_records(path: Path | str) -> list[dict]:
    """Read one ``NN.json`` (an object or a list of objects) and validate every record."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    records = data if isinstance(data, list) else [data]
    if not records:
        raise ValueError(f"{path}: holds no claim record")
    for record in records:
        try:
            validate_record(record)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return records


def load_all(directory: Path | str | None = None) -> dict[int, list[dict]]:
    """All records in a claims folder, keyed by chapter number."""
    directory = Path(directory or claims_dir())
    out = {}
    for path in sorted(directory.glob("[0-9][0-9].json")):
        out[int(path.stem)] = load_records(path)
    return out


def record_claim(chapter: int, claim: str, *, paper_value, ours, threshold, holds: bool | None = None,
                 op: str | None = None, asserted: bool = True, seed: int | None = None,
                 directory: Path | str | None = None, **extra) -> dict:
    """Record one claim of chapter ``chapter`` and print it beside the paper's value.

    Give either ``op`` (one of ``<``, ``<=``, ``>``, ``>=``), so that ``holds = ours op threshold``
    is computed here, or ``holds`` computed by the caller for a compound claim (then ``ours`` and
    ``threshold`` may be dicts of the quantities involved). ``paper_value`` may be a number or a
    short text (a theorem's statement, "qualitative"). Extra keyword arguments are stored too.

    Re-running the claim in the same folder replaces the earlier record with the same text.
    Returns the record; raises ``AssertionError`` afterwards if an asserted claim does not hold.
    """
    from utils.core import get_seed

    if (holds is None) == (op is None):
        raise ValueError("give exactly one of holds=<bool> or op='<', '<=', '>' or '>='")
    if op is not None:
        if op not in COMPARISONS:
            raise ValueError(f"op must be one of {sorted(COMPARISONS)}, got {op!r}")
        if not isinstance(ours, numbers.Real) and not hasattr(ours, "item"):
            raise TypeError("with op=..., ours must be a single number")
        holds = bool(COMPARISONS[op](float(ours), float(threshold)))
    if not isinstance(holds, (bool,)) and type(holds).__name__ != "bool_":
        raise TypeError(f"holds must be a bool, got {type(holds).__name__}")
    record = {
        "chapter": int(chapter),
        "claim": str(claim),
        "paper_value": _plain(paper_value, "paper_value"),
        "ours": _plain(ours, "ours"),
        "threshold": _plain(threshold, "threshold"),
        "comparison": op,
        "holds": bool(holds),
        "asserted": bool(asserted),
        "seed": get_seed() if seed is None else int(seed),
        "recorded_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    record.update({k: _plain(v, k) for k, v in extra.items()})
    validate_record(record)

    path = claims_path(chapter, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    others = [r for r in (load_records(path) if path.exists() else []) if r["claim"] != record["claim"]]
    records = others + [record]
    path.write_text(json.dumps(records[0] if len(records) == 1 else records, indent=2) + "\n")

    print(format_record(record))
    if asserted and not record["holds"]:
        raise AssertionError(f"claim does not hold: {claim} (ours={record['ours']}, threshold="
                             f"{record['threshold']})")
    return record


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def format_record(record: dict) -> str:
    """A few human lines for one record, as printed by :func:`record_claim`."""
    if record["holds"]:
        verdict = "HOLDS"
    else:
        verdict = "DOES NOT HOLD" if record.get("asserted", True) else "not reproduced (reported, not asserted)"
    cmp = f" {record['comparison']} " if record.get("comparison") else " vs threshold "
    return (f"Claim check, chapter {record['chapter']:02d}: {record['claim']}\n"
            f"  paper: {_short(record['paper_value'])}\n"
            f"  ours:  {_short(record['ours'])}{cmp}{_short(record['threshold'])}  ->  {verdict}"
            f"  (seed {record['seed']})")
