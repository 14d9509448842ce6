"""The claim record: how each chapter reports its paper's headline effect in miniature.

Every chapter ends with a *claim check*: a number computed from the notebook's own run, compared
with a threshold and shown beside the paper's value and beside a *control* (the same quantity
for an arm that would pass if the paper's idea were wrong). :func:`record_claim` writes it to
``$COURSE_CLAIMS_DIR/NN.json`` (default ``_build/claims/`` in the course folder), where the tests,
the scoreboard, the seed sweep and the book collect it through :func:`load_all`. One claim is
stored as one JSON object, several as a list of objects, each with at least the keys of
:data:`REQUIRED_KEYS`.

Each record says what kind of evidence it is (:data:`EVIDENCE`): ``"effect"`` for an effect that
would not appear if the paper's idea were wrong (it needs a control), ``"check"`` for a
consistency check shown to readers. An *asserted* claim that does not hold raises
``AssertionError`` after it is recorded, so the notebook fails loudly. ``asserted=False`` marks an
effect the chapter reports but does not assert (typically one the miniature does not reproduce).

This module is the one owner of: the claims folder (:func:`claims_dir`), the record's file name
(:func:`claims_path`), the verdict words (:func:`verdict`) and the short number format
(:func:`short`).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import numbers
import operator
import os
from pathlib import Path

CLAIMS_ENV = "COURSE_CLAIMS_DIR"
REQUIRED_KEYS = (
    "chapter",
    "claim",
    "paper_value",
    "ours",
    "threshold",
    "holds",
    "seed",
    "evidence",
)
EVIDENCE = {
    "effect": "an effect that would not appear if the paper's idea were wrong",
    "check": "a consistency check shown to readers",
}
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
COURSE_ROOT = Path(__file__).resolve().parent.parent
VERDICTS = ("holds", "fails", "not reproduced")


def claims_dir() -> Path:
    """The folder claim records go to: ``COURSE_CLAIMS_DIR`` or ``<course>/_build/claims``."""
    text = os.environ.get(CLAIMS_ENV, "").strip()
    return Path(text).expanduser() if text else COURSE_ROOT / "_build" / "claims"


def _chapter_number(chapter) -> int:
    """``chapter`` as an int in 0..99 (``"07"`` is 7); ``ValueError`` naming it otherwise."""
    message = f"chapter must be a number from 0 to 99, got {chapter!r}"
    try:
        number = int(chapter)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    whole = isinstance(chapter, str) or number == chapter  # -0.5 is not chapter 0
    if not whole or not 0 <= number <= 99:
        raise ValueError(message)
    return number


def claims_path(chapter: int | str, directory: Path | str | None = None) -> Path:
    """Path of chapter ``chapter``'s record file, ``NN.json`` (``chapter`` may be ``"07"``)."""
    return Path(directory or claims_dir()) / f"{_chapter_number(chapter):02d}.json"


def chapter_of(notebook: Path | str) -> int | None:
    """The chapter number a notebook's file name starts with (``07-x.ipynb`` -> 7), else None."""
    stem = Path(notebook).name[:2]
    return int(stem) if stem.isdigit() else None


def verdict(record: dict) -> str:
    """One of :data:`VERDICTS`: ``holds``; ``fails`` (asserted); ``not reproduced`` (reported)."""
    if record["holds"]:
        return "holds"
    return "fails" if record.get("asserted", True) else "not reproduced"


def _plain(value, what: str):
    """Turn numpy scalars/arrays and tuples into JSON values; reject NaN and unknown types."""
    # numpy and torch values (a numpy bool becomes a Python bool, not 1)
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
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
    raise TypeError(
        f"{what} must be a number, string, list or dict, got {type(value).__name__}"
    )


def validate_record(record: dict) -> dict:
    """Check one claim record and return it; ``ValueError`` names what is missing or wrong."""
    if not isinstance(record, dict):
        raise ValueError(
            f"a claim record must be a JSON object, got {type(record).__name__}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(
            f"claim record is missing key(s) {', '.join(missing)}: {record!r}"
        )
    if not isinstance(record["holds"], bool):
        raise ValueError(f"'holds' must be true or false, got {record['holds']!r}")
    if not isinstance(record.get("asserted", True), bool):
        raise ValueError(
            f"'asserted' must be true or false, got {record['asserted']!r}"
        )
    if not isinstance(record["chapter"], int) or isinstance(record["chapter"], bool):
        raise ValueError(f"'chapter' must be an integer, got {record['chapter']!r}")
    if not isinstance(record["claim"], str) or not record["claim"].strip():
        raise ValueError("'claim' must be a non-empty sentence")
    if record["evidence"] not in EVIDENCE:
        raise ValueError(
            f"'evidence' must be one of {sorted(EVIDENCE)}, got {record['evidence']!r}"
        )
    if record["evidence"] == "effect" and record.get("control") is None:
        raise ValueError(
            "an 'effect' claim needs a 'control': the same quantity for an arm "
            "that would pass if the paper's idea were wrong"
        )
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


def _holds(ours, threshold, op, holds):
    if (holds is None) == (op is None):
        raise ValueError(
            "give exactly one of holds=<bool> or op='<', '<=', '>' or '>='"
        )
    if op is None:
        # a numpy bool scalar (np.bool_) counts as a bool
        numpy_bool = (
            hasattr(holds, "dtype") and str(holds.dtype) == "bool" and holds.ndim == 0
        )
        if not isinstance(holds, bool) and not numpy_bool:
            raise TypeError(f"holds must be a bool, got {type(holds).__name__}")
        return bool(holds)
    if op not in COMPARISONS:
        raise ValueError(f"op must be one of {sorted(COMPARISONS)}, got {op!r}")
    numbers_ = []
    for name, value in (("ours", ours), ("threshold", threshold)):
        try:  # a number, or a numpy/torch scalar of numbers (not text, not a bool)
            number = None if isinstance(value, (bool, str)) else float(value)
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise TypeError(
                f"with op=..., {name} must be a single number, got {value!r}"
            )
        if not math.isfinite(number):
            raise ValueError(f"{name} must be finite, got {value}")
        numbers_.append(number)
    return bool(COMPARISONS[op](*numbers_))


def record_claim(
    chapter: int,
    claim: str,
    *,
    paper_value,
    ours,
    threshold,
    evidence: str,
    holds: bool | None = None,
    op: str | None = None,
    control=None,
    control_label: str | None = None,
    paper_typical=None,
    asserted: bool = True,
    seed: int | None = None,
    directory: Path | str | None = None,
    show: bool = True,
    **extra,
) -> dict:
    """Record one claim of chapter ``chapter`` and show it as one compact box.

    ``paper_value`` is the paper's headline (its best case); ``paper_typical`` the typical value
    from the paper's full results, when the two differ. Give either ``op`` (``<``, ``<=``, ``>``,
    ``>=``), so that ``holds = ours op threshold`` is computed here, or ``holds`` computed by the
    caller for a compound claim (then ``ours`` and ``threshold`` may be dicts). ``evidence`` is
    ``"effect"`` or ``"check"`` (:data:`EVIDENCE`); an effect needs ``control``, the same
    quantity measured on a control arm, described by ``control_label``. Extra keyword arguments
    are stored too. Re-running the claim in the same folder replaces the record with the same
    text. Returns the record; raises ``AssertionError`` afterwards if an asserted claim fails.
    """
    from utils.core import get_seed

    record = {
        "chapter": _chapter_number(chapter),
        "claim": str(claim),
        "evidence": evidence,
        "paper_value": _plain(paper_value, "paper_value"),
        "paper_typical": _plain(paper_typical, "paper_typical"),
        "ours": _plain(ours, "ours"),
        "threshold": _plain(threshold, "threshold"),
        "comparison": op,
        "control": _plain(control, "control"),
        "control_label": control_label,
        "holds": _holds(ours, threshold, op, holds),
        "asserted": bool(asserted),
        "seed": get_seed() if seed is None else int(seed),
        "recorded_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    record.update({k: _plain(v, k) for k, v in extra.items()})
    record = ClaimRecord(validate_record(record))

    path = claims_path(chapter, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    others = [
        r
        for r in (load_records(path) if path.exists() else [])
        if r["claim"] != record["claim"]
    ]
    records = others + [record]
    path.write_text(
        json.dumps(records[0] if len(records) == 1 else records, indent=2) + "\n"
    )

    if show:
        _display(ClaimBox(record))
    if asserted and not record["holds"]:
        raise AssertionError(
            f"claim does not hold: {claim} (ours={short(record['ours'])}, "
            f"threshold={short(record['threshold'])})"
        )
    return record


def short(value) -> str:
    """A number, dict or list written for people: 4 significant digits, ``key = value``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(short(v) for v in value) + "]"
    return "—" if value is None else str(value)


_short = short  # the name older code imported


def _rows(record: dict) -> list[tuple[str, str]]:
    """The labelled lines of a claim box, in reading order."""
    cmp = record.get("comparison")
    rows = [("paper", short(record["paper_value"]))]
    if record.get("paper_typical") is not None:
        rows.append(("paper, typical", short(record["paper_typical"])))
    rows.append(("ours", short(record["ours"])))
    if record.get("control") is not None:
        label = record.get("control_label") or "control"
        rows.append((f"control ({label})", short(record["control"])))
    rows.append(
        (
            "threshold",
            f"{cmp} {short(record['threshold'])}"
            if cmp
            else short(record["threshold"]),
        )
    )
    return rows


def format_record(record: dict) -> str:
    """The claim as plain text lines (the fallback of the box; also used by the CLI)."""
    head = (
        f"Claim {record['chapter']:02d} [{record['evidence']}] "
        f"{verdict(record).upper()}: {record['claim']}"
    )
    width = max(len(k) for k, _ in _rows(record))
    lines = [f"  {k:<{width}}  {v}" for k, v in _rows(record)]
    return "\n".join([head, *lines, f"  (seed {record['seed']})"])


class ClaimRecord(dict):
    """A claim record (a plain dict) that a notebook does not echo: :func:`record_claim` has
    already shown it as a box, so a cell ending in ``record_claim(...)`` shows nothing more."""

    def _ipython_display_(self) -> None:
        pass


class ClaimBox:
    """One claim shown as a compact box: HTML in notebooks and the book, text elsewhere."""

    def __init__(self, record: dict):
        self.record = record

    def __repr__(self) -> str:
        return format_record(self.record)

    def _repr_html_(self) -> str:
        r = self.record
        word = verdict(r)
        colour = {"holds": "#1a7f37", "fails": "#cf222e"}.get(word, "#9a6700")
        cell = 'style="padding:1px 8px 1px 0;vertical-align:top;text-align:left"'
        rows = "".join(
            f"<tr><th {cell}>{html.escape(k)}</th><td {cell}>{html.escape(v)}</td></tr>"
            for k, v in _rows(r)
        )
        return (
            f'<div class="claim-box" style="border:1px solid {colour};border-left-width:6px;'
            "border-radius:4px;padding:6px 10px;margin:6px 0;max-width:100%;"
            'overflow-wrap:anywhere">'
            f'<p style="margin:0 0 4px 0"><strong style="color:{colour}">'
            f"{html.escape(word.upper())}</strong> · <em>{html.escape(r['evidence'])}</em> · "
            f"{html.escape(r['claim'])}</p>"
            f'<table style="border:none;margin:0;font-size:90%">{rows}</table>'
            f'<p style="margin:4px 0 0 0;font-size:80%">chapter {r["chapter"]:02d}, '
            f"seed {r['seed']}</p></div>"
        )


def _display(box: ClaimBox) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(repr(box))
        return
    if get_ipython() is None:
        print(repr(box))
    else:
        display(box)
