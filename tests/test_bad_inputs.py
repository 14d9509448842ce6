"""Property-based bad-input tests (hypothesis): every public function of ``utils`` given a wrong
shape, an empty input, NaN or infinity, probabilities outside [0, 1], a wrong dtype or an id out
of range must raise ``ValueError``/``TypeError`` whose message names the argument.

The suite is a table: one :class:`Row` per (function, valid example arguments, argument to
corrupt, ways to corrupt it). A new module adds rows; a public function without a row is listed
by :func:`test_every_public_function_has_a_row_or_is_listed` (add a row, or add it to
``NOT_YET_COVERED`` with a reason). Corruptions that a function still accepts are listed in
``KNOWN_GAPS`` and run as strict expected failures: fixing the function makes them fail, so the
entry must then be removed.

Modules may keep their rows in their own file, ``tests/bad_inputs/<module>.py`` (the format is in
``tests/bad_inputs/__init__.py``); such a module counts as covered even while it is still named in
``NOT_YET_COVERED_MODULES``.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest
import torch
from bad_inputs import OUTCOME, PROB, Row, corrupt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import utils
from utils import calibration, checks, discrete_diffusion, risk_scores

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# ------------------------------------------------------------------------- valid examples
P = [0.1, 0.4, 0.5, 0.8, 0.95]
Y = [0, 1, 1, 0, 1]


def _pair():
    return {"p_hat": np.array(P), "y": np.array(Y, dtype=float)}


def _logits():
    # two columns, both read: every corrupted element reaches the computation
    g = torch.Generator().manual_seed(0)
    return {"logits": torch.randn(4, 2, generator=g), "yes_id": 1, "no_id": 0}


V = 4  # discrete_diffusion vocabulary; the mask id is V


def _dce():
    g = torch.Generator().manual_seed(0)
    log_cond = torch.log_softmax(torch.randn(3, 5, V, generator=g), -1)
    x0 = torch.randint(0, V, (3, 5), generator=g)
    masked = torch.ones(3, 5, dtype=torch.bool)
    return {"log_cond": log_cond, "x0": x0, "masked": masked, "mask_prob": 0.5}


def _ao():
    kw = _dce()
    del kw["mask_prob"]
    return kw


def _conditionals():
    g = torch.Generator().manual_seed(1)
    x_t = torch.tensor([[0, V, 2], [V, 1, V]])
    return {
        "conditionals": torch.softmax(torch.randn(2, 3, V, generator=g), -1),
        "x_t": x_t,
        "sigma_bar": 0.7,
        "mask_id": V,
    }


ROWS = [
    # calibration: (p_hat, y) pairs and single probability arrays
    *[
        Row(f, _pair, "p_hat", PROB)
        for f in (
            calibration.brier_score,
            calibration.ece_binned,
            calibration.reliability_curve,
            calibration.accuracy,
            calibration.balance_terms,
            calibration.balance_score,
            calibration.balance_standard_error,
        )
    ],
    *[
        Row(f, _pair, "y", OUTCOME)
        for f in (
            calibration.brier_score,
            calibration.ece_binned,
            calibration.balance_score,
            calibration.accuracy,
        )
    ],
    Row(calibration.confidence, lambda: {"p_hat": np.array(P)}, "p_hat", PROB),
    Row(calibration.logit, lambda: {"p": np.array(P)}, "p", PROB),
    Row(calibration.distort_probs, lambda: {"p": np.array(P), "tau": 2.0}, "p", PROB),
    Row(
        calibration.true_calibration_error,
        lambda: {"p_hat": np.array(P), "p_true": np.array(P[::-1])},
        "p_true",
        PROB,
    ),
    # risk scores
    Row(risk_scores.two_option_risk, _logits, "logits", ("nan", "inf", "shape")),
    Row(risk_scores.two_option_risk, _logits, "yes_id", ("id",), vocab=2),
    Row(risk_scores.two_option_risk, _logits, "no_id", ("id",), vocab=2),
    Row(
        risk_scores.auc_score,
        lambda: {"y": np.array(Y), "scores": np.array(P)},
        "scores",
        ("nan", "inf", "empty", "dtype"),
    ),
    Row(
        risk_scores.auc_score,
        lambda: {"y": np.array(Y), "scores": np.array(P)},
        "y",
        ("nan", "prob", "empty", "dtype"),
    ),
    Row(
        risk_scores.sharpen,
        lambda: {"risk": np.array(P), "temperature": 0.5},
        "risk",
        PROB,
    ),
    Row(
        risk_scores.calibration_slope,
        lambda: {"y": np.array(Y), "risk": np.array(P)},
        "risk",
        PROB,
    ),
    # checks (a notebook habit): compare refuses NaN and empty input with AssertionError
]

# (row id, kind): corruptions a function still accepts; strict xfail (see the module docstring)
KNOWN_GAPS: dict[tuple[str, str], str] = {}

# modules with no table, and why: none of their public functions takes an array of data
NOT_YET_COVERED_MODULES = {
    "catalog",  # data, no functions of arrays
    "progress",  # progress bars
    "training",  # takes models and data loaders
    "validation",  # its checks are the ones under test here; tests/test_validation.py pins them
}


def _module_tables() -> dict[str, object]:
    """The per-module tables ``tests/bad_inputs/<module>.py`` (see that package's docstring)."""
    import bad_inputs

    return {
        info.name: importlib.import_module(f"bad_inputs.{info.name}")
        for info in pkgutil.iter_modules(bad_inputs.__path__)
    }


MODULE_TABLES = _module_tables()
for _table in MODULE_TABLES.values():
    ROWS += _table.ROWS
    KNOWN_GAPS |= getattr(_table, "KNOWN_GAPS", {})

CASES = [(row, kind) for row in ROWS for kind in row.kinds]


def _case_id(case):
    row, kind = case
    return f"{row.id}-{kind}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_gives_a_clear_error_naming_the_argument(case):
    row, kind = case
    gap = KNOWN_GAPS.get((row.id, kind))

    @SETTINGS
    @given(
        index=st.integers(0, 50),
        scale=st.floats(0.01, 100.0) | st.floats(-100.0, -0.01),
    )
    def check(index, scale):
        kwargs = row.valid()
        row.func(**kwargs)  # the valid example itself works
        kwargs[row.arg] = corrupt(row, kwargs[row.arg], kind, index, scale)
        with pytest.raises((ValueError, TypeError)) as info:
            row.func(**kwargs)
        assert row.arg in str(info.value), (
            f"{row.id} with {kind}: message {str(info.value)!r} does not name {row.arg!r}"
        )

    if gap is None:
        check()
        return
    try:
        check()
    except (
        BaseException
    ) as exc:  # the known gap is still there ("DID NOT RAISE" is a BaseException)
        if isinstance(exc, KeyboardInterrupt):
            raise
        pytest.xfail(f"known gap: {gap} ({type(exc).__name__})")
    pytest.fail(
        f"{row.id} with {kind} now gives a clear error: remove it from KNOWN_GAPS"
    )


def test_two_option_risk_rejects_nan_logits_instead_of_returning_nan():
    g = torch.Generator().manual_seed(0)
    kw = {"logits": torch.randn(4, 6, generator=g), "yes_id": 1, "no_id": 2}
    kw["logits"][2, kw["no_id"]] = float("nan")
    with pytest.raises(
        ValueError, match=r"^logits must be finite at yes_id and no_id; row 2"
    ):
        risk_scores.two_option_risk(**kw)
    # a NaN in another column is not read, so it does not matter
    kw["logits"][2, kw["no_id"]] = 0.0
    kw["logits"][:, 0] = float("nan")
    assert np.isfinite(risk_scores.two_option_risk(**kw)).all()
    with pytest.raises(TypeError, match="^logits must be a torch.Tensor"):
        risk_scores.two_option_risk(np.zeros((2, 3)), 0, 1)


def test_lambda_dce_loss_rejects_logits_and_accepts_log_probabilities():
    kw = _dce()
    assert (discrete_diffusion.lambda_dce_loss(**kw) >= 0).all()
    raw = kw["log_cond"] - 3.0  # all <= 0, but exp does not sum to 1
    with pytest.raises(
        ValueError, match="exp\\(log_cond\\) must sum to 1 .* got a sum of 0.04979"
    ):
        discrete_diffusion.lambda_dce_loss(raw, kw["x0"], kw["masked"], 0.5)
    with pytest.raises(
        ValueError, match=r"^log_cond must hold log-probabilities \(<= 0, no NaN\)"
    ):
        discrete_diffusion.lambda_dce_loss(
            kw["log_cond"] + 3.0, kw["x0"], kw["masked"], 0.5
        )
    # unmasked positions are not read, so they need not be normalised (only <= 0)
    changed = kw["log_cond"].clone()
    masked = kw["masked"].clone()
    masked[:, 0] = False
    changed[:, 0] = -50.0
    torch.testing.assert_close(
        discrete_diffusion.lambda_dce_loss(changed, kw["x0"], masked, 0.5),
        discrete_diffusion.lambda_dce_loss(kw["log_cond"], kw["x0"], masked, 0.5),
    )


def test_log_linear_sigma_bar_at_one_with_eps_zero_is_an_error_not_infinity():
    with pytest.raises(
        ValueError, match=r"^t = 1 with eps = 0 gives sigma_bar = infinity"
    ):
        discrete_diffusion.log_linear_sigma_bar(1, eps=0)
    assert float(discrete_diffusion.log_linear_sigma_bar(0.5, eps=0)) == pytest.approx(
        math.log(2)
    )
    assert float(discrete_diffusion.log_linear_sigma_bar(1, eps=1e-3)) == pytest.approx(
        -math.log(1e-3)
    )


def test_compare_refuses_nan_and_empty():
    with pytest.raises(AssertionError, match="NaN or infinite"):
        checks.compare("x", [np.nan], [1.0])
    with pytest.raises(AssertionError, match="empty"):
        checks.compare("x", [], [])


def _public_functions(module):
    names = getattr(module, "__all__", None) or [
        n for n in vars(module) if not n.startswith("_")
    ]
    for name in names:
        obj = getattr(module, name, None)
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield obj


# public functions of the covered modules with no row yet: add rows (and remove them here)
NOT_YET_COVERED: set[str] = set()

# functions of the covered modules whose inputs are models, generators, dataclasses or text
NO_ARRAY_INPUT = {
    "calibration.sigmoid",  # any real input is valid; NaN in, NaN out (documented: elementwise)
    "risk_scores.sample_population",
    "risk_scores.describe",
    "risk_scores.render_prompt",
    "risk_scores.build_tokenizer",
    "risk_scores.prompt_tokens",
    "risk_scores.pretraining_corpus",
    "risk_scores.risk_multiple_choice",
    "risk_scores.digits_to_risk",
    "risk_scores.risk_verbalized",
    "risk_scores.instruction_tune",
    "risk_scores.answer_key_loss",
    "risk_scores.prompt_text",
    "risk_scores.question_token",
    "risk_scores.true_risk",
    "risk_scores.evaluate_risk_scores",
    "risk_scores.side_question_corpus",
    "risk_scores.tune_on_answers",
    "risk_scores.true_risk_probit",
    "checks.compare",
    "checks.show_source",
    "checks.expect_error",
    "checks.source_without_docstring",
}


def test_every_public_function_has_a_row_or_is_listed():
    covered = {f"{r.func.__module__.split('.')[-1]}.{r.func.__name__}" for r in ROWS}
    listed = NO_ARRAY_INPUT | NOT_YET_COVERED
    for table in MODULE_TABLES.values():
        listed |= set(getattr(table, "NO_ARRAY_INPUT", {}))
    missing = []
    for info in pkgutil.iter_modules(utils.__path__):
        if info.name in NOT_YET_COVERED_MODULES and info.name not in MODULE_TABLES:
            continue
        module = importlib.import_module(f"utils.{info.name}")
        for func in _public_functions(module):
            key = f"{info.name}.{func.__name__}"
            if key not in covered and key not in listed:
                missing.append(key)
    assert not missing, f"public functions without a bad-input row: {missing}"
