"""Exact tests of utils.claims (the claim record): every message, every branch, the exact text
and HTML of a claim box, so that a mutation of the record's code changes a pinned value."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import types

import numpy as np
import pytest
import torch

from utils import claims

CHECK = dict(evidence="check")


def _record(**change):
    """A complete, valid record (as written by record_claim) with some fields changed."""
    base = {
        "chapter": 7,
        "claim": "gap < 0.01",
        "evidence": "effect",
        "paper_value": 0.0,
        "paper_typical": None,
        "ours": 0.003,
        "threshold": 0.01,
        "comparison": "<",
        "control": 0.2,
        "control_label": None,
        "holds": True,
        "asserted": True,
        "seed": 4,
    }
    return base | change


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


# ----------------------------------------------------------------------- folder and file names
def test_claims_dir_strips_blanks_and_expands_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CLAIMS_DIR", "   ")
    assert claims.claims_dir() == claims.COURSE_ROOT.joinpath("_build", "claims")
    monkeypatch.setenv("COURSE_CLAIMS_DIR", f"  {tmp_path}/x  ")
    assert claims.claims_dir() == tmp_path / "x"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_CLAIMS_DIR", "~/records")
    assert claims.claims_dir() == tmp_path / "records"


def test_claims_path_defaults_to_the_claims_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CLAIMS_DIR", str(tmp_path))
    assert claims.claims_path(3) == tmp_path / "03.json"
    assert claims.claims_path(12, tmp_path / "d") == tmp_path / "d" / "12.json"
    assert claims.claims_path("5", str(tmp_path)) == tmp_path / "05.json"


@pytest.mark.parametrize(
    "name,chapter",
    [
        ("07-x.ipynb", 7),
        ("chapters/13-discrete.ipynb", 13),
        ("x.ipynb", None),
        ("7-x.ipynb", None),
        ("a7-x.ipynb", None),
        ("100-x.ipynb", 10),
    ],
)
def test_chapter_of(name, chapter):
    assert claims.chapter_of(name) == chapter


# ----------------------------------------------------------------------------- verdict words
def test_verdict_without_asserted_key_is_an_asserted_claim():
    assert claims.verdict({"holds": False}) == "fails"
    assert claims.verdict({"holds": True}) == "holds"


# ----------------------------------------------------------------------------- JSON values
def test_plain_keeps_json_values_and_converts_numpy_and_torch():
    plain = claims._plain
    assert plain(True, "x") is True and plain(False, "x") is False
    assert plain(None, "x") is None and plain("text", "x") == "text"
    out = plain(np.int64(3), "x")
    assert out == 3 and type(out) is int
    out = plain(np.float32(0.5), "x")
    assert out == 0.5 and type(out) is float
    out = plain(torch.tensor(2.5), "x")
    assert out == 2.5 and type(out) is float
    assert plain(np.array([1, 2]), "x") == [1, 2]
    assert plain((1, 2.5, "a"), "x") == [1, 2.5, "a"]
    assert plain({1: np.float64(0.25), "b": [np.int32(1)]}, "x") == {
        "1": 0.25,
        "b": [1],
    }
    out = plain(3, "x")
    assert out == 3 and type(out) is int
    out = plain(np.bool_(True), "x")
    assert out is True


def test_plain_rejects_nan_infinity_and_unknown_types_by_name():
    with pytest.raises(ValueError, match=exact("ours must be finite, got nan")):
        claims._plain(float("nan"), "ours")
    with pytest.raises(ValueError, match=exact("control must be finite, got -inf")):
        claims._plain([1.0, {"a": -np.inf}], "control")
    with pytest.raises(
        TypeError,
        match=exact("extra must be a number, string, list or dict, got object"),
    ):
        claims._plain(object(), "extra")
    with pytest.raises(
        TypeError, match=exact("s must be a number, string, list or dict, got set")
    ):
        claims._plain({1}, "s")


# ----------------------------------------------------------------------------- validation
def test_validate_record_messages_are_exact():
    good = _record()
    assert claims.validate_record(good) is good
    with pytest.raises(
        ValueError, match=exact("a claim record must be a JSON object, got list")
    ):
        claims.validate_record([good])
    missing = {k: v for k, v in good.items() if k not in ("seed", "holds")}
    with pytest.raises(
        ValueError, match="^claim record is missing key\\(s\\) holds, seed: \\{"
    ):
        claims.validate_record(missing)
    cases = [
        ({"holds": 1}, "'holds' must be true or false, got 1"),
        ({"asserted": "yes"}, "'asserted' must be true or false, got 'yes'"),
        ({"chapter": 7.0}, "'chapter' must be an integer, got 7.0"),
        ({"chapter": False}, "'chapter' must be an integer, got False"),
        ({"claim": ""}, "'claim' must be a non-empty sentence"),
        ({"claim": 3}, "'claim' must be a non-empty sentence"),
        (
            {"evidence": "hunch"},
            "'evidence' must be one of ['check', 'effect'], got 'hunch'",
        ),
        (
            {"control": None},
            "an 'effect' claim needs a 'control': the same quantity for an arm "
            "that would pass if the paper's idea were wrong",
        ),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=exact(message)):
            claims.validate_record(good | change)
    # a check needs no control, and a record without "asserted" is valid
    no_asserted = {k: v for k, v in good.items() if k != "asserted"}
    assert claims.validate_record(no_asserted | {"evidence": "check", "control": None})
    assert claims.validate_record(
        good | {"control": 0.0}
    )  # a control of 0 is a control


def test_load_records_reads_an_object_or_a_list_and_names_the_file(tmp_path):
    path = tmp_path / "04.json"
    path.write_text(json.dumps(_record()))
    assert claims.load_records(path) == [_record()]
    path.write_text(json.dumps([_record(), _record(claim="b")]))
    assert [r["claim"] for r in claims.load_records(str(path))] == ["gap < 0.01", "b"]
    path.write_text(json.dumps([_record(), _record(holds="no")]))
    with pytest.raises(
        ValueError, match=exact(f"{path}: 'holds' must be true or false, got 'no'")
    ):
        claims.load_records(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match=exact(f"{path}: holds no claim record")):
        claims.load_records(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: not valid JSON (")):
        claims.load_records(path)


def test_load_all_keys_by_chapter_and_ignores_other_files(tmp_path, monkeypatch):
    (tmp_path / "03.json").write_text(json.dumps(_record(chapter=3)))
    (tmp_path / "11.json").write_text(json.dumps([_record(chapter=11)] * 2))
    (tmp_path / "notes.json").write_text("not a record")
    (tmp_path / "5.json").write_text("not a record")
    out = claims.load_all(tmp_path)
    assert list(out) == [3, 11] and len(out[11]) == 2 and out[3][0]["chapter"] == 3
    monkeypatch.setenv("COURSE_CLAIMS_DIR", str(tmp_path))
    assert claims.load_all() == out
    assert claims.load_all(tmp_path / "none") == {}


# ----------------------------------------------------------------------------- holds / op
def test_holds_rules_and_messages():
    holds = claims._holds
    assert holds(1, 2, None, True) is True and holds(1, 2, None, False) is False
    assert holds(1, 2, None, np.bool_(True)) is True
    assert holds(np.float64(1.0), torch.tensor(2.0), "<", None) is True
    assert holds(2, 2, ">=", None) is True and holds(2, 2, ">", None) is False
    assert holds(2, 2, "<=", None) is True and holds(2, 2, "<", None) is False
    both = "give exactly one of holds=<bool> or op='<', '<=', '>' or '>='"
    with pytest.raises(ValueError, match=exact(both)):
        holds(1, 2, "<", True)
    with pytest.raises(ValueError, match=exact(both)):
        holds(1, 2, None, None)
    with pytest.raises(TypeError, match=exact("holds must be a bool, got int")):
        holds(1, 2, None, 1)
    with pytest.raises(TypeError, match=exact("holds must be a bool, got ndarray")):
        holds(1, 2, None, np.array([True]))
    with pytest.raises(TypeError, match=exact("holds must be a bool, got Tensor")):
        holds(1, 2, None, torch.tensor(True))
    with pytest.raises(
        ValueError, match=exact("op must be one of ['<', '<=', '>', '>='], got '=='")
    ):
        holds(1, 2, "==", None)
    with pytest.raises(
        TypeError,
        match=exact("with op=..., threshold must be a single number, got True"),
    ):
        holds(1, True, "<", None)
    with pytest.raises(
        TypeError, match=exact("with op=..., ours must be a single number, got '1'")
    ):
        holds("1", 2, "<", None)
    with pytest.raises(
        TypeError,
        match=exact(
            "with op=..., ours must be a single number, got array(['a'], dtype='<U1')"
        ),
    ):
        holds(np.array(["a"]), 2, "<", None)
    with pytest.raises(
        TypeError,
        match=exact("with op=..., threshold must be a single number, got {'a': 1}"),
    ):
        holds(1, {"a": 1}, ">", None)
    assert holds(np.array(1.5), np.float32(1.5), ">=", None) is True
    with pytest.raises(ValueError, match=exact("ours must be finite, got inf")):
        holds(float("inf"), 2, "<", None)
    with pytest.raises(ValueError, match=exact("threshold must be finite, got nan")):
        holds(1, np.float64("nan"), "<", None)


# ----------------------------------------------------------------------------- record_claim
def test_record_claim_stores_every_field(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SEED", "9")
    folder = tmp_path / "a" / "b"  # created, parents included
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    rec = claims.record_claim(
        "12",
        7,  # the claim text is str()-ed
        paper_value=np.float32(0.5),
        paper_typical=(1, 2),
        ours=np.int64(3),
        threshold=2,
        op=">",
        evidence="effect",
        control=np.float64(1.5),
        control_label="shuffled",
        directory=folder,
        show=False,
        note=np.array([0.25]),
    )
    after = dt.datetime.now(dt.timezone.utc)
    assert isinstance(rec, claims.ClaimRecord)
    stamp = rec.pop("recorded_at")
    assert rec == {
        "chapter": 12,
        "claim": "7",
        "evidence": "effect",
        "paper_value": 0.5,
        "paper_typical": [1, 2],
        "ours": 3,
        "threshold": 2,
        "comparison": ">",
        "control": 1.5,
        "control_label": "shuffled",
        "holds": True,
        "asserted": True,
        "seed": 9,
        "note": [0.25],
    }
    when = dt.datetime.fromisoformat(stamp)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", stamp)
    assert before <= when <= after
    text = (folder / "12.json").read_text()
    assert text.startswith('{\n  "chapter": 12,\n  "claim": "7",\n') and text.endswith(
        "}\n"
    )
    assert capsys.readouterr().out == ""
    # an explicit seed wins over COURSE_SEED; asserted=0 is stored as a bool
    rec = claims.record_claim(
        12, "b", paper_value=0, ours=1, threshold=0, op=">", seed=np.int64(3),
        asserted=0, directory=folder, show=False, **CHECK,
    )  # fmt: skip
    assert rec["seed"] == 3 and rec["asserted"] is False and rec["comparison"] == ">"
    assert rec["control"] is None and rec["control_label"] is None
    saved = json.loads((folder / "12.json").read_text())
    assert isinstance(saved, list) and [r["claim"] for r in saved] == ["7", "b"]


def test_record_claim_with_holds_stores_no_comparison(tmp_path):
    rec = claims.record_claim(
        1, "c", paper_value=1, ours={"a": 1}, threshold={"a": 2}, holds=False,
        asserted=False, directory=tmp_path, show=False, **CHECK,
    )  # fmt: skip
    assert rec["comparison"] is None and rec["holds"] is False
    assert rec["ours"] == {"a": 1} and rec["paper_typical"] is None


def test_failing_claim_message_is_exact(tmp_path):
    with pytest.raises(
        AssertionError,
        match=exact("claim does not hold: big (ours=0.1235, threshold=a = 0.5)"),
    ):
        claims.record_claim(
            3, "big", paper_value=1, ours=0.123456, threshold={"a": 0.5}, holds=False,
            directory=tmp_path, show=False, **CHECK,
        )  # fmt: skip
    # a claim that holds does not raise, asserted or not
    claims.record_claim(
        3, "ok", paper_value=1, ours=1, threshold=0, op=">", directory=tmp_path,
        show=False, **CHECK,
    )  # fmt: skip


def test_record_claim_prints_its_box_outside_a_notebook(tmp_path, capsys):
    rec = claims.record_claim(
        2, "spread grows", paper_value=11.75, ours=1.2, threshold=1.5, op=">",
        asserted=False, seed=1, directory=tmp_path, **CHECK,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert out == claims.format_record(rec) + "\n"
    assert out == (
        "Claim 02 [check] NOT REPRODUCED: spread grows\n"
        "  paper      11.75\n"
        "  ours       1.2\n"
        "  threshold  > 1.5\n"
        "  (seed 1)\n"
    )


# ----------------------------------------------------------------------------- formatting
def test_short():
    assert claims.short(2 / 3) == "0.6667" and claims.short(123456.0) == "1.235e+05"
    assert claims.short(True) == "True" and claims.short("x") == "x"
    assert claims.short([1.0, None]) == "[1, —]" and claims.short([]) == "[]"
    assert claims.short({"a": {"b": 0.5}}) == "a = b = 0.5"
    assert claims._short is claims.short


def test_format_record_with_every_row():
    record = _record(paper_typical=0.5, control_label="random partition", holds=False)
    assert claims.format_record(record) == (
        "Claim 07 [effect] FAILS: gap < 0.01\n"
        "  paper                       0\n"
        "  paper, typical              0.5\n"
        "  ours                        0.003\n"
        "  control (random partition)  0.2\n"
        "  threshold                   < 0.01\n"
        "  (seed 4)"
    )
    plain = _record(comparison=None, control=None, evidence="check", asserted=False)
    plain["threshold"] = {"x": 1}
    assert claims.format_record(plain) == (
        "Claim 07 [check] HOLDS: gap < 0.01\n"
        "  paper      0\n"
        "  ours       0.003\n"
        "  threshold  x = 1\n"
        "  (seed 4)"
    )
    # a record without the optional keys (as an older file may hold)
    bare = {
        k: v for k, v in _record().items() if k in (*claims.REQUIRED_KEYS, "control")
    }
    assert claims._rows(bare) == [
        ("paper", "0"),
        ("ours", "0.003"),
        ("control (control)", "0.2"),
        ("threshold", "0.01"),
    ]


BOX_STYLE = 'style="padding:1px 8px 1px 0;vertical-align:top;text-align:left"'


@pytest.mark.parametrize(
    "change,colour",
    [
        ({}, "#1a7f37"),
        ({"holds": False}, "#cf222e"),
        ({"holds": False, "asserted": False}, "#9a6700"),
    ],
)
def test_claim_box_html_is_exact(change, colour):
    record = _record(claim="a < b", control_label="<x>", **change)
    word = claims.verdict(record).upper()  # the words themselves: tests/test_core.py
    rows = "".join(
        f"<tr><th {BOX_STYLE}>{k}</th><td {BOX_STYLE}>{v}</td></tr>"
        for k, v in [
            ("paper", "0"),
            ("ours", "0.003"),
            ("control (&lt;x&gt;)", "0.2"),
            ("threshold", "&lt; 0.01"),
        ]
    )
    expected = (
        f'<div class="claim-box" style="border:1px solid {colour};border-left-width:6px;'
        "border-radius:4px;padding:6px 10px;margin:6px 0;max-width:100%;"
        'overflow-wrap:anywhere">'
        f'<p style="margin:0 0 4px 0"><strong style="color:{colour}">{word}</strong>'
        " · <em>effect</em> · a &lt; b</p>"
        f'<table style="border:none;margin:0;font-size:90%">{rows}</table>'
        '<p style="margin:4px 0 0 0;font-size:80%">chapter 07, seed 4</p></div>'
    )
    box = claims.ClaimBox(record)
    assert box._repr_html_() == expected
    assert repr(box) == claims.format_record(record)


def test_claim_record_shows_nothing_more_in_a_notebook():
    rec = claims.ClaimRecord({"a": 1})
    assert rec == {"a": 1} and rec._ipython_display_() is None


# ----------------------------------------------------------------------------- display
def test_display_uses_ipython_in_a_notebook_and_print_elsewhere(monkeypatch, capsys):
    import IPython
    import IPython.display

    box = claims.ClaimBox(_record())
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    claims._display(box)
    assert shown == [box] and capsys.readouterr().out == ""
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    claims._display(box)
    assert shown == [box] and capsys.readouterr().out == repr(box) + "\n"
    # without IPython at all the box is printed
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    claims._display(box)
    assert capsys.readouterr().out == repr(box) + "\n"


@pytest.mark.parametrize("bad", [-1, 100, "x", None, float("nan"), float("inf"), -0.5])
def test_chapter_must_be_a_number_from_0_to_99(bad, tmp_path):
    message = exact(f"chapter must be a number from 0 to 99, got {bad!r}")
    with pytest.raises(ValueError, match=message):
        claims.claims_path(bad, tmp_path)
    with pytest.raises(ValueError, match=message):
        claims.record_claim(
            bad, "c", paper_value=0, ours=1, threshold=0, op=">", directory=tmp_path,
            show=False, **CHECK,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_chapter_boundaries(tmp_path):
    assert claims.claims_path(0, tmp_path).name == "00.json"
    assert claims.claims_path(99, tmp_path).name == "99.json"
    assert claims.claims_path(np.int64(7), tmp_path).name == "07.json"


@pytest.mark.parametrize("name", ["paper_value", "paper_typical", "control", "note"])
def test_record_claim_names_the_value_that_is_not_finite(name, tmp_path):
    kwargs = dict(paper_value=1.0, ours=1.0, threshold=0.0, op=">", directory=tmp_path)
    kwargs[name] = [0.5, float("nan")]
    with pytest.raises(ValueError, match=exact(f"{name} must be finite, got nan")):
        claims.record_claim(1, "c", show=False, **CHECK, **kwargs)
