"""Pins exact values to kill mutants that the other risk_scores tests let survive.

The pure parts of utils.risk_scores (chapter 02): tests/test_risk_scores.py and
tests/test_risk_scores_exact.py let some mutants of the task definition, the prompts,
the side-question corpus and the metrics survive. These tests pin exact values instead:
prompts and vocabularies word for word, the side-question corpus replayed from the same
random draws, metrics against closed forms and scikit-learn, every boundary the code
treats specially, and every error message whole (so the argument name and the reported
values are pinned). No model is trained.

The task and its features are built inside each test (never at import time), so that
their own checks run under the mutant being tested.
"""

import re

import numpy as np
import pytest
import torch
from scipy.special import expit, logit
from scipy.stats import norm
from sklearn.metrics import brier_score_loss, roc_auc_score

from utils.calibration import ece_binned
from utils.risk_scores import (
    Feature,
    Population,
    RiskTask,
    SideQuestion,
    auc_score,
    build_tokenizer,
    calibration_slope,
    evaluate_risk_scores,
    prompt_tokens,
    question_token,
    render_prompt,
    sample_population,
    sharpen,
    side_question_corpus,
    true_risk_probit,
    two_option_risk,
)


def exactly(message: str) -> str:
    """A ``match`` pattern for the whole message, read literally."""
    return f"^{re.escape(message)}$"


def small_task(intercept=0.25, threshold=10.0, noise_scale=0.8) -> RiskTask:
    """Two features, "a" (2 categories) and "b" (3 categories)."""
    return RiskTask(
        name="Small",
        target="score",
        threshold=threshold,
        question="Is the score above 10?",
        features=(
            Feature("a", ("a0", "a1"), ("has a0", "has a1"), (0.5, 0.5), (-1.0, 1.0)),
            Feature(
                "b",
                ("b0", "b1", "b2"),
                ("has b0", "has b1", "has b2"),
                (0.2, 0.3, 0.5),
                (0.0, 0.5, 2.0),
            ),
        ),
        intercept=intercept,
        interaction=("a", "b", 0.5),
        noise_scale=noise_scale,
    )


def high_b() -> SideQuestion:
    return SideQuestion("high-b", "b", ("b1", "b2"), "Is b above b0?")


# ------------------------------------------------------------------ task definition
def test_feature_accepts_shares_that_sum_to_one_up_to_rounding():
    f = Feature(
        "x", ("u", "v", "w"), ("is u", "is v", "is w"), (0.3, 0.6, 0.1), (0, 1, 2)
    )
    assert sum(f.shares) != 1.0  # 0.9999999999999999: within the 1e-9 tolerance
    assert f.values == ("u", "v", "w")


@pytest.mark.parametrize(
    "fields, message",
    [
        (
            (("u",), ("is u",), (1.0,), (0.0,)),
            "feature 'x' needs at least two categories",
        ),
        (
            (("u", "v"), ("is u",), (0.5, 0.5), (0.0, 1.0)),
            "feature 'x': phrases has 1 entries, values has 2",
        ),
        (
            (("u", "v"), ("is u", "is v"), (0.2, 0.3, 0.5), (0.0, 1.0)),
            "feature 'x': shares has 3 entries, values has 2",
        ),
        (
            (("u", "v"), ("is u", "is v"), (0.5, 0.5), (0.0,)),
            "feature 'x': effects has 1 entries, values has 2",
        ),
        (
            (("u", "v"), ("is u", "is v"), (0.0, 1.0), (0.0, 1.0)),
            "feature 'x': shares must be positive and sum to 1",
        ),
        (
            (("u", "v"), ("is u", "is v"), (0.5, 0.5 + 1e-8), (0.0, 1.0)),
            "feature 'x': shares must be positive and sum to 1",
        ),
        (
            (("u", "v"), ("is u", "is v"), (-0.5, 1.5), (0.0, 1.0)),
            "feature 'x': shares must be positive and sum to 1",
        ),
    ],
)
def test_feature_errors_name_the_feature_and_the_field(fields, message):
    with pytest.raises(ValueError, match=exactly(message)):
        Feature("x", *fields)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([0, 1, 2], "rows must have shape [n, 2] (a, b), got (3,)"),
        (np.zeros((2, 3), int), "rows must have shape [n, 2] (a, b), got (2, 3)"),
        (np.zeros((0, 2), int), "rows is empty"),
        ([[0.0, 1.0]], "rows must hold integer category indices, got dtype float64"),
        # 3 is one past the last category of b: the first bad row is row 1
        (
            [[0, 0], [1, 3], [0, 3]],
            "field 'b' of row 1 is 3, outside its 3 categories [0, 2]",
        ),
        (
            [[0, 0], [0, 2], [-1, 0]],
            "field 'a' of row 2 is -1, outside its 2 categories [0, 1]",
        ),
    ],
)
def test_check_rows_errors_name_the_field_row_and_range(rows, message):
    with pytest.raises(ValueError, match=exactly(message)):
        small_task().check_rows(rows)


def test_check_rows_accepts_the_last_category():
    rows = small_task().check_rows([[1, 2], [0, 0]])
    np.testing.assert_array_equal(rows, [[1, 2], [0, 0]])


def test_side_question_answers_are_integers():
    answers = high_b().answers(small_task(), [[0, 0], [1, 1], [0, 2], [1, 0]])
    np.testing.assert_array_equal(answers, [0, 1, 1, 0])
    assert answers.dtype == np.int64


def test_population_subset_keeps_every_field():
    pop = Population(
        X=np.array([[0, 0], [1, 1], [0, 2]]),
        target=np.array([5.0, 20.0, 30.0]),
        y=np.array([0, 1, 1]),
        p_true=np.array([0.1, 0.6, 0.9]),
    )
    sub = pop.subset([2, 0])
    np.testing.assert_array_equal(sub.X, [[0, 2], [0, 0]])
    np.testing.assert_array_equal(sub.target, [30.0, 5.0])
    np.testing.assert_array_equal(sub.y, [1, 0])
    np.testing.assert_array_equal(sub.p_true, [0.9, 0.1])
    assert len(sub) == 2


def test_true_risk_probit_with_an_integer_intercept():
    X = np.array([[0, 0], [1, 2], [0, 1]])
    eta = true_risk_probit(small_task(intercept=0), X)
    sd_a, sd_b = np.std([-1.0, 1.0]), np.std([0.0, 0.5, 2.0])
    za, zb = np.array([-1.0, 1.0, -1.0]), np.array([0.0, 2.0, 0.5])
    assert eta.dtype == np.float64
    np.testing.assert_allclose(eta, za + zb + 0.5 * za * zb / (sd_a * sd_b), atol=1e-14)
    np.testing.assert_array_equal(eta, true_risk_probit(small_task(intercept=0.0), X))


# ------------------------------------------------------------------ population
def test_sample_population_replays_its_random_draws():
    task = small_task()
    pop = sample_population(task, 6, np.random.default_rng(3))
    ref = np.random.default_rng(3)  # the same draws, in the same order
    X = np.stack(
        [ref.choice(2, size=6, p=(0.5, 0.5)), ref.choice(3, size=6, p=(0.2, 0.3, 0.5))],
        axis=1,
    )
    eta = true_risk_probit(task, X)
    target = 10.0 * np.exp(0.8 * (eta + ref.standard_normal(6)))
    np.testing.assert_array_equal(pop.X, X)
    np.testing.assert_allclose(pop.target, target, rtol=1e-13)
    np.testing.assert_array_equal(pop.y, (target > 10.0).astype(int))
    assert pop.y.dtype == np.int64
    np.testing.assert_allclose(pop.p_true, norm.cdf(eta), atol=1e-15)


def test_sample_population_of_one_person():
    for n in (1, np.int64(1)):
        pop = sample_population(small_task(), n, np.random.default_rng(0))
        assert pop.X.shape == (1, 2) and len(pop) == 1


def test_a_target_exactly_at_the_threshold_is_not_above_it():
    # no noise and threshold 1: log(target) = 0 exactly, so every target is exactly 1.0
    task = small_task(threshold=1.0, noise_scale=0.0)
    pop = sample_population(task, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(pop.target, np.ones(5))
    np.testing.assert_array_equal(pop.y, np.zeros(5))


# ------------------------------------------------------------------ prompts
def test_render_prompt_word_for_word():
    task = small_task()
    head = "Information about a person, from a census survey:\n"
    head += "The person has a1. The person has b2.\n"
    assert render_prompt(task, [1, 2]) == head + (
        "Question: Is the score above 10?\nA. Yes.\nB. No.\nAnswer:"
    )
    assert render_prompt(task, [1, 2], "mc", positive_first=False) == head + (
        "Question: Is the score above 10?\nA. No.\nB. Yes.\nAnswer:"
    )
    assert render_prompt(task, [1, 2], "num") == head + (
        'Question: what is the probability that the answer to "Is the score above '
        '10?" is yes?\nAnswer (a probability between 0 and 1): 0.'
    )


def test_question_tokens_word_for_word():
    assert question_token("mc") == "<ask:A=yes,B=no>"
    assert question_token("mc", True) == "<ask:A=yes,B=no>"
    assert question_token("mc", False) == "<ask:A=no,B=yes>"
    assert question_token("num") == "<ask:probability>"
    assert question_token("mc", about=high_b()) == "<ask:high-b:A=yes,B=no>"
    assert question_token("mc", False, high_b()) == "<ask:high-b:A=no,B=yes>"


def test_build_tokenizer_vocabulary_word_for_word():
    tokenizer = build_tokenizer(small_task(), (high_b(),))
    assert tokenizer.level == "word"
    assert tokenizer.tokens == [
        "<pad>",
        "a:a0",
        "a:a1",
        "b:b0",
        "b:b1",
        "b:b2",
        "<ask:A=yes,B=no>",
        "<ask:A=no,B=yes>",
        "<ask:probability>",
        "A",
        "B",
        *"0123456789",
        "<ask:high-b:A=yes,B=no>",
        "<ask:high-b:A=no,B=yes>",
    ]


def test_prompt_tokens_are_int64_even_from_32_bit_ids():
    task = small_task()
    tokenizer = build_tokenizer(task)
    tokenizer.index = {w: np.int32(i) for w, i in tokenizer.index.items()}
    tokens = prompt_tokens(task, tokenizer, [[1, 2], [0, 0]], "mc", False)
    assert tokens.dtype == torch.int64
    assert tokens.tolist() == [[2, 5, 7], [1, 3, 7]]


# ------------------------------------------------------------ side-question corpus
def corpus_words(tokenizer, tokens) -> list[str]:
    return [" ".join(tokenizer.tokens[t] for t in row) for row in tokens.tolist()]


def test_side_question_corpus_of_one_person_word_for_word():
    # seed 0 draws key order "A=no,B=yes" (0.637 >= 0.5) and a "wrong" draw of 0.270
    task, q = small_task(), high_b()
    tokenizer = build_tokenizer(task, (q,))
    X = [[1, 2]]  # b2: the right answer is yes, key B
    tokens, weight = side_question_corpus(
        task, tokenizer, X, (q,), np.random.default_rng(0)
    )
    assert corpus_words(tokenizer, tokens) == [
        "a:a1 b:b2 <ask:high-b:A=no,B=yes> B <pad>"
    ]
    assert tokens.dtype == torch.int64
    assert weight.tolist() == [[1.0, 1.0, 1.0, 0.0]]
    # error rate 0.3 > 0.270: the recorded answer is wrong
    tokens, _ = side_question_corpus(
        task, tokenizer, X, (q,), np.random.default_rng(0), error_rate=0.3
    )
    assert corpus_words(tokenizer, tokens) == [
        "a:a1 b:b2 <ask:high-b:A=no,B=yes> A <pad>"
    ]


def test_side_question_corpus_replays_its_random_draws():
    task = small_task()
    questions = (high_b(), SideQuestion("a1", "a", ("a1",), "Is a a1?"))
    tokenizer = build_tokenizer(task, questions)
    X = np.array([[0, 0], [1, 1], [0, 2], [1, 0], [1, 2], [0, 1], [1, 1], [0, 0]])
    tokens, weight = side_question_corpus(
        task,
        tokenizer,
        X,
        questions,
        np.random.default_rng(5),
        error_rate=0.25,
        length=6,
    )
    ref = np.random.default_rng(5)  # the same draws, in the same order
    which = ref.integers(2, size=8)
    positive_first = ref.random(8) < 0.5
    wrong = ref.random(8) < 0.25
    expected = []
    for i, (a, b) in enumerate(X):
        q = questions[which[i]]
        yes = bool(q.answers(task, X[i : i + 1])[0]) != wrong[i]
        key = "A" if yes == positive_first[i] else "B"
        token = question_token("mc", bool(positive_first[i]), q)
        expected.append(f"a:a{a} b:b{b} {token} {key} <pad> <pad>")
    assert corpus_words(tokenizer, tokens) == expected
    # the draws cover both questions, both key orders and both kinds of answer
    assert set(which) == {0, 1} and set(positive_first) == {True, False}
    assert set(wrong) == {True, False}
    np.testing.assert_array_equal(weight, np.tile([1.0, 1.0, 1.0, 0.0, 0.0], (8, 1)))


def test_side_question_corpus_default_error_rate_is_0_2():
    task, q = small_task(), high_b()
    tokenizer = build_tokenizer(task, (q,))
    X = np.tile([[1, 2]], (40, 1))

    def corpus(**kw):
        rng = np.random.default_rng(1)
        return side_question_corpus(task, tokenizer, X, (q,), rng, **kw)[0]

    assert torch.equal(corpus(), corpus(error_rate=0.2))
    assert not torch.equal(corpus(), corpus(error_rate=0.3))


def test_side_question_corpus_length():
    task, q = small_task(), high_b()
    tokenizer = build_tokenizer(task, (q,))
    X = [[1, 2], [0, 0]]
    # the shortest rows (F + 2 = 4): prompt and answer, no padding
    tokens, weight = side_question_corpus(
        task, tokenizer, X, (q,), np.random.default_rng(0), length=4
    )
    assert tokens.shape == (2, 4) and weight.shape == (2, 3)
    assert (tokens != tokenizer.pad_id).all() and (weight == 1.0).all()
    tokens, weight = side_question_corpus(
        task, tokenizer, X, (q,), np.random.default_rng(0), length=7.0
    )
    assert tokens.shape == (2, 7) and weight.shape == (2, 6)
    assert (tokens[:, 4:] == tokenizer.pad_id).all()
    for length in (3, 0):
        with pytest.raises(
            ValueError,
            match=exactly(f"length must be at least F + 2 = 4, got {length}"),
        ):
            side_question_corpus(
                task, tokenizer, X, (q,), np.random.default_rng(0), length=length
            )


def test_side_question_corpus_needs_a_question():
    task = small_task()
    with pytest.raises(ValueError, match=exactly("give at least one side question")):
        side_question_corpus(
            task, build_tokenizer(task), [[0, 0]], (), np.random.default_rng(0)
        )


# ------------------------------------------------------------------ risk scores
def test_two_option_risk_names_the_first_row_that_is_not_finite():
    logits = torch.zeros(4, 3)
    logits[0, 2] = float("nan")  # not one of the two options: ignored
    logits[2, 1] = float("inf")
    logits[3, 0] = float("nan")
    message = "logits must be finite at yes_id and no_id; row 2 holds [inf, 0.0]"
    with pytest.raises(ValueError, match=exactly(message)):
        two_option_risk(logits, 1, 0)
    np.testing.assert_array_equal(two_option_risk(logits[:2], 1, 0), [0.5, 0.5])


def test_sharpen_names_the_bad_risk():
    message = "risk must hold probabilities in [0, 1]; risk[1] = 1.5 (1 bad value(s))"
    with pytest.raises(ValueError, match=exactly(message)):
        sharpen([0.2, 1.5], 0.5)


# ------------------------------------------------------------------ evaluation
@pytest.mark.parametrize(
    "y, scores, message",
    [
        ([0, 2], [0.1, 0.2], "y must hold outcomes 0 or 1; y[1] = 2.0"),
        ([0, 1], [None, 0.2], "scores must be numeric, got dtype object"),
        ([0, 1], [0.1, np.nan], "scores must be finite"),
        ([0, 1], [np.inf, 0.1], "scores must be finite"),
        (
            [1, 1],
            [0.1, 0.2],
            "AUC needs at least one positive and one negative outcome",
        ),
        (
            [0, 0],
            [0.1, 0.2],
            "AUC needs at least one positive and one negative outcome",
        ),
        (
            [0, 1],
            [0.1, 0.2, 0.3],
            "y and scores must have the same length, got 2 and 3",
        ),
    ],
)
def test_auc_score_errors(y, scores, message):
    with pytest.raises(ValueError, match=exactly(message)):
        auc_score(y, scores)


def test_auc_score_matches_scikit_learn_on_many_ties():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    scores = rng.integers(0, 4, 300) / 4  # four distinct values: long runs of ties
    assert auc_score(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-14)


@pytest.mark.parametrize(
    "y, risk, message",
    [
        (
            [0, 1],
            [0.2, 1.5],
            "risk must hold probabilities in [0, 1]; risk[1] = 1.5 (1 bad value(s))",
        ),
        ([0, 3], [0.2, 0.5], "y must hold outcomes 0 or 1; y[1] = 3.0"),
    ],
)
def test_evaluation_and_slope_errors_name_the_argument(y, risk, message):
    for metric in (evaluate_risk_scores, calibration_slope):
        with pytest.raises(ValueError, match=exactly(message)):
            metric(y, risk)


def test_evaluate_risk_scores_matches_scikit_learn():
    rng = np.random.default_rng(4)
    risk = rng.uniform(0, 1, 200)
    y = (rng.random(200) < risk).astype(int)
    out = evaluate_risk_scores(y, risk, n_bins=3)
    assert out["auc"] == pytest.approx(roc_auc_score(y, risk), abs=1e-14)
    assert out["brier"] == pytest.approx(brier_score_loss(y, risk), abs=1e-14)
    assert out["ece"] == ece_binned(risk, y, n_bins=3)
    assert out["ece"] != ece_binned(risk, y, n_bins=10)
    assert out["accuracy"] == np.mean((risk >= 0.5) == (y == 1))
    assert out["sd"] == np.std(risk) and out["mean"] == np.mean(risk)
    # the default is 10 bins
    assert evaluate_risk_scores(y, risk) == evaluate_risk_scores(y, risk, n_bins=10)
    assert evaluate_risk_scores(y, risk)["ece"] != ece_binned(risk, y, n_bins=11)


def test_a_risk_of_exactly_one_half_predicts_yes():
    assert evaluate_risk_scores([1, 0], [0.5, 0.2])["accuracy"] == 1.0
    assert evaluate_risk_scores([0, 1], [0.5, 0.8])["accuracy"] == 0.5


def test_calibration_slope_closed_form_on_two_distinct_scores():
    # with two distinct scores the fit is saturated: each group's fitted probability is
    # its outcome rate, so b = (logit(2/3) - logit(1/4)) / (logit(0.55) - logit(0.45))
    y = [0, 0, 0, 1, 1, 1, 0]
    risk = [0.45] * 4 + [0.55] * 3
    expected = np.log(6.0) / (2 * logit(0.55))
    assert calibration_slope(y, risk) == pytest.approx(expected, rel=1e-12)
    # the same slope for scores sharpened by any temperature, up to the factor
    sharpened = expit(3 * logit(np.array(risk)))
    assert calibration_slope(y, sharpened) == pytest.approx(expected / 3, rel=1e-12)
