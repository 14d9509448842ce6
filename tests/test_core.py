"""Unit tests of the course core: seed, device, threads, claims, progress, splits, training loop."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from utils import claims, core
from utils.data import seeded_split
from utils.progress import progress, progress_enabled
from utils.training import train


# --- seed ---------------------------------------------------------------------------------
def test_seed_defaults_to_zero(monkeypatch):
    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert core.get_seed() == 0


@pytest.mark.parametrize("text,value", [("7", 7), (" 12 ", 12), ("", 0)])
def test_seed_from_environment(monkeypatch, text, value):
    monkeypatch.setenv("COURSE_SEED", text)
    assert core.get_seed() == value


@pytest.mark.parametrize("text", ["abc", "-1", "1.5", "0x10"])
def test_malformed_seed_is_a_clear_error(monkeypatch, text):
    monkeypatch.setenv("COURSE_SEED", text)
    with pytest.raises(ValueError, match="COURSE_SEED must be a non-negative integer"):
        core.get_seed()


def test_seed_everything_makes_runs_repeat(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "5")
    assert core.seed_everything() == 5
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    core.seed_everything(5)
    assert first == (random.random(), np.random.rand(), torch.rand(1).item())
    core.seed_everything(6)
    assert first != (random.random(), np.random.rand(), torch.rand(1).item())


@pytest.mark.parametrize("bad", [-3, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError):
        core.seed_everything(bad)


# --- device and threads -------------------------------------------------------------------
def test_device_is_cpu_without_gpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert core.get_device().type == expected
    assert core.get_device("cpu").type == "cpu"


def test_device_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown device"):
        core.get_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            core.get_device("cuda")


def test_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("COURSE_THREADS", "1")
        assert core.configure_threads() == 1
        monkeypatch.setenv("COURSE_THREADS", "many")
        with pytest.raises(ValueError, match="COURSE_THREADS"):
            core.configure_threads()
        with pytest.raises(ValueError, match="at least 1"):
            core.configure_threads(0)
    finally:
        torch.set_num_threads(before)


def test_setup_returns_seeded_generator(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SEED", "3")
    monkeypatch.delenv("COURSE_THREADS", raising=False)
    a = core.setup(chapter=1, style=False)
    b = core.setup(chapter=1, style=False)
    assert a.seed == 3 and a.rng.random() == b.rng.random()
    assert "seed 3" in capsys.readouterr().out
    assert set(a.report()) >= {"python", "torch", "numpy", "device", "seed"}
    with pytest.raises(ValueError, match="chapter"):
        core.setup(chapter="01")


# --- claims -------------------------------------------------------------------------------
CHECK = dict(evidence="check")


def test_record_claim_writes_required_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CLAIMS_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_SEED", "4")
    rec = claims.record_claim(
        7,
        "gap is small",
        paper_value=0.0,
        ours=np.float64(0.003),
        threshold=0.01,
        op="<",
        evidence="effect",
        control=0.2,
        control_label="random partition",
        paper_typical=0.5,
    )
    data = json.loads((tmp_path / "07.json").read_text())
    assert isinstance(data, dict) and data == rec
    assert (
        set(claims.REQUIRED_KEYS) <= set(data)
        and data["holds"] is True
        and data["seed"] == 4
    )
    assert (
        data["control"] == 0.2
        and data["paper_typical"] == 0.5
        and data["comparison"] == "<"
    )
    out = capsys.readouterr().out
    assert "Claim 07 [effect] HOLDS: gap is small" in out
    assert "control (random partition)  0.2" in out and "paper, typical" in out
    assert "threshold                   < 0.01" in out


def test_claim_box_html_shows_one_compact_box():
    record = {
        "chapter": 1,
        "claim": "x & y",
        "evidence": "effect",
        "paper_value": 1.0,
        "paper_typical": None,
        "ours": 0.123456,
        "threshold": 0.5,
        "comparison": "<",
        "control": 0.9,
        "control_label": "coin <flip>",
        "holds": False,
        "asserted": True,
        "seed": 3,
    }
    page = claims.ClaimBox(record)._repr_html_()
    assert (
        page.count('class="claim-box"') == 1 and "FAILS" in page and "x &amp; y" in page
    )
    assert (
        "coin &lt;flip&gt;" in page
        and "0.1235" in page
        and "paper, typical" not in page
    )


@pytest.mark.parametrize(
    "holds,asserted,word",
    [
        (True, True, "holds"),
        (True, False, "holds"),
        (False, True, "fails"),
        (False, False, "not reproduced"),
    ],
)
def test_verdict_words(holds, asserted, word):
    assert claims.verdict({"holds": holds, "asserted": asserted}) == word


@pytest.mark.parametrize(
    "op,ours,holds",
    [
        ("<", 1.0, False),
        ("<=", 1.0, True),
        (">", 1.0, False),
        (">=", 1.0, True),
        ("<", 0.999, True),
        (">", 1.001, True),
    ],
)
def test_comparison_at_the_threshold(tmp_path, op, ours, holds):
    rec = claims.record_claim(
        1,
        f"c{op}{ours}",
        paper_value=0,
        ours=ours,
        threshold=1.0,
        op=op,
        asserted=False,
        directory=tmp_path,
        show=False,
        **CHECK,
    )
    assert rec["holds"] is holds


def test_several_claims_make_a_list_and_rerun_replaces(tmp_path):
    claims.record_claim(
        2, "a", paper_value=1, ours=2, threshold=1, op=">", directory=tmp_path, **CHECK
    )
    claims.record_claim(
        2,
        "b",
        paper_value="qualitative",
        ours={"x": 1.0},
        threshold={"x": 0.5},
        holds=True,
        directory=tmp_path,
        **CHECK,
    )
    claims.record_claim(
        2, "a", paper_value=1, ours=3, threshold=1, op=">", directory=tmp_path, **CHECK
    )
    records = claims.load_records(tmp_path / "02.json")
    assert [r["claim"] for r in records] == ["b", "a"] and records[1]["ours"] == 3


def test_failing_asserted_claim_raises_after_recording(tmp_path):
    with pytest.raises(AssertionError, match="does not hold"):
        claims.record_claim(
            3,
            "big",
            paper_value=1,
            ours=0.1,
            threshold=0.5,
            op=">",
            directory=tmp_path,
            **CHECK,
        )
    assert claims.load_records(tmp_path / "03.json")[0]["holds"] is False
    rec = claims.record_claim(
        3,
        "not reproduced",
        paper_value=1,
        ours=0.1,
        threshold=0.5,
        op=">",
        asserted=False,
        directory=tmp_path,
        **CHECK,
    )
    assert rec["holds"] is False and rec["asserted"] is False


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(op="<", holds=True, **CHECK), "exactly one"),
        (dict(**CHECK), "exactly one"),
        (dict(op="==", **CHECK), "op must be"),
        (dict(op="<", evidence="hunch"), "'evidence' must be one of"),
        (dict(op="<", evidence="effect"), "needs a 'control'"),
        (dict(op="<", threshold=float("inf"), **CHECK), "threshold must be finite"),
    ],
)
def test_record_claim_argument_errors(tmp_path, kwargs, error):
    kwargs = {"threshold": 2, **kwargs}
    with pytest.raises(ValueError, match=error):
        claims.record_claim(1, "c", paper_value=0, ours=1, directory=tmp_path, **kwargs)
    assert not (tmp_path / "01.json").exists()


def test_record_claim_rejects_nan_and_non_numbers(tmp_path):
    with pytest.raises(ValueError, match="ours must be finite"):
        claims.record_claim(
            1,
            "c",
            paper_value=0,
            ours=float("nan"),
            threshold=2,
            op="<",
            directory=tmp_path,
            **CHECK,
        )
    with pytest.raises(TypeError, match="ours must be a single number"):
        claims.record_claim(
            1,
            "c",
            paper_value=0,
            ours={"a": 1},
            threshold=2,
            op="<",
            directory=tmp_path,
            **CHECK,
        )
    with pytest.raises(TypeError, match="holds must be a bool"):
        claims.record_claim(
            1,
            "c",
            paper_value=0,
            ours=1,
            threshold=2,
            holds=1,
            directory=tmp_path,
            **CHECK,
        )


def test_claims_path_and_chapter_of(tmp_path, monkeypatch):
    assert claims.claims_path(7, tmp_path) == tmp_path / "07.json"
    assert claims.claims_path("12", tmp_path) == tmp_path / "12.json"
    assert (
        claims.chapter_of("chapters/07-x.ipynb") == 7
        and claims.chapter_of("x.ipynb") is None
    )
    monkeypatch.setenv("COURSE_CLAIMS_DIR", str(tmp_path / "here"))
    assert claims.claims_dir() == tmp_path / "here"
    monkeypatch.delenv("COURSE_CLAIMS_DIR")
    assert claims.claims_dir() == claims.COURSE_ROOT.joinpath("_build", "claims")


def test_short_formats_for_people():
    assert claims.short(0.123456) == "0.1235" and claims.short(3) == "3"
    assert claims.short({"a": 1.0, "b": [2.0, 0.5]}) == "a = 1, b = [2, 0.5]"
    assert claims.short(None) == "—"


def test_claim_record_missing_keys_is_a_clear_error(tmp_path):
    (tmp_path / "05.json").write_text(
        json.dumps({"chapter": 5, "claim": "x", "holds": True})
    )
    with pytest.raises(
        ValueError,
        match="missing key\\(s\\) paper_value, ours, threshold, seed, evidence",
    ):
        claims.load_records(tmp_path / "05.json")
    (tmp_path / "06.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        claims.load_records(tmp_path / "06.json")
    (tmp_path / "08.json").write_text("[]")
    with pytest.raises(ValueError, match="holds no claim record"):
        claims.load_records(tmp_path / "08.json")
    good = {k: 1 for k in claims.REQUIRED_KEYS} | {
        "claim": "x",
        "holds": True,
        "evidence": "check",
    }
    assert claims.validate_record(good) is good
    for change, message in [
        ({"holds": "yes"}, "'holds' must be true or false"),
        ({"asserted": 1}, "'asserted' must be true or false"),
        ({"chapter": True}, "'chapter' must be an integer"),
        ({"claim": "  "}, "'claim' must be a non-empty sentence"),
        ({"evidence": "effect"}, "needs a 'control'"),
    ]:
        with pytest.raises(ValueError, match=message):
            claims.validate_record(good | change)


def test_scoreboard_prints_records(tmp_path, capsys):
    from coursetools.scoreboard import main

    claims.record_claim(
        1,
        "Balance tracks TCE",
        paper_value=0.0,
        ours=0.002,
        threshold=0.01,
        op="<",
        directory=tmp_path,
        **CHECK,
    )
    claims.record_claim(
        2,
        "spread grows",
        paper_value=11.75,
        ours=1.2,
        threshold=1.5,
        op=">",
        asserted=False,
        directory=tmp_path,
        **CHECK,
    )
    capsys.readouterr()
    assert main(str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "[01] HOLDS" in out and "[02] NOT REPRODUCED" in out
    assert "1 of 1 asserted claims hold" in out
    assert main(str(tmp_path / "empty")) == 1


# --- progress, splits, training loop ------------------------------------------------------
def test_progress_is_quiet_when_disabled(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    assert not progress_enabled()
    assert sum(progress(range(5), desc="quiet")) == 10
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("COURSE_PROGRESS", "1")
    assert progress_enabled()


def test_seeded_split_is_reproducible_and_respects_groups():
    tr, te = seeded_split(100, 0.2, seed=1)
    assert (
        len(te) == 20 and len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 100
    )
    assert np.array_equal(te, seeded_split(100, 0.2, seed=1)[1])
    groups = np.repeat(np.arange(10), 5)
    tr, te = seeded_split(50, 0.3, seed=0, groups=groups)
    assert set(groups[tr]).isdisjoint(groups[te])
    with pytest.raises(ValueError, match="one label per item"):
        seeded_split(10, groups=np.arange(9))
    with pytest.raises(ValueError, match="test_frac"):
        seeded_split(10, test_frac=1.5)


def test_train_fits_a_line():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64)[:, None]
    y = 3 * x + 1
    model = torch.nn.Linear(1, 1)
    log = train(
        model,
        lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
        lambda step: (x, y),
        steps=300,
        lr=0.05,
        on_step=lambda step, m: {"w": m.weight.item()} if step % 100 == 0 else None,
    )
    assert log.losses[-1] < 1e-3 < log.losses[0]
    assert [r["step"] for r in log.records] == [0, 100, 200]


def test_train_stops_on_nan():
    model = torch.nn.Linear(1, 1)
    with pytest.raises(FloatingPointError, match="step 0"):
        train(
            model,
            lambda m, b: m(b).sum() * float("nan"),
            lambda s: torch.ones(1, 1),
            steps=3,
        )
