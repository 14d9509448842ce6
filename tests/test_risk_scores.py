"""Unit tests of utils.risk_scores (chapter 02): prompts, risk read-outs and the evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import brier_score_loss, roc_auc_score

from utils.risk_scores import (
    INCOME_TASK,
    SIDE_QUESTIONS,
    Feature,
    Population,
    RiskTask,
    SideQuestion,
    answer_key_loss,
    auc_score,
    build_tokenizer,
    calibration_slope,
    describe,
    digits_to_risk,
    evaluate_risk_scores,
    instruction_tune,
    pretraining_corpus,
    prompt_text,
    prompt_tokens,
    question_token,
    render_prompt,
    risk_multiple_choice,
    risk_verbalized,
    sample_population,
    sharpen,
    side_question_corpus,
    true_risk,
    true_risk_probit,
    tune_on_answers,
    two_option_risk,
)
from utils.tiny_lm import TinyLM, TinyLMConfig

TASK = INCOME_TASK


@pytest.fixture(scope="module")
def population():
    return sample_population(TASK, 4000, np.random.default_rng(0))


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(TASK)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return TinyLM(TinyLMConfig(vocab_size=len(tokenizer), max_len=10)).eval()


@pytest.fixture(scope="module")
def trained_model(tokenizer, population):
    """A model briefly pretrained on the corpus, so that its risks carry signal."""
    from utils.tiny_lm import train_next_token

    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    tokens, weight = pretraining_corpus(
        TASK,
        tokenizer,
        population.subset(slice(0, 2000)),
        population.subset(slice(2000, 4000)),
        rng,
    )
    m = TinyLM(TinyLMConfig(vocab_size=len(tokenizer), max_len=tokens.shape[1]))
    train_next_token(
        m, tokens, steps=150, batch_size=256, lr=3e-3, weight=weight, seed=0
    )
    return m.eval()


# ---------------------------------------------------------------------------- the population
def test_population_matches_its_true_risk(population):
    """Labels are 1[target > threshold] and their frequency tracks p(x) (checked in 5 risk bins)."""
    assert np.array_equal(
        population.y, (population.target > TASK.threshold).astype(int)
    )
    np.testing.assert_allclose(population.p_true, true_risk(TASK, population.X))
    bins = np.digitize(population.p_true, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        inside = bins == b
        gap = abs(population.y[inside].mean() - population.p_true[inside].mean())
        assert gap < 4 * np.sqrt(0.25 / inside.sum()) + 0.01


def test_bad_rows_name_the_field(tokenizer):
    X = np.zeros((3, TASK.n_features), dtype=int)
    X[1, 1] = 7  # education has 5 categories
    with pytest.raises(ValueError, match="education"):
        prompt_tokens(TASK, tokenizer, X, "mc")
    with pytest.raises(ValueError, match="shape"):
        prompt_tokens(TASK, tokenizer, np.zeros((3, 2), dtype=int), "mc")
    with pytest.raises(ValueError, match="empty"):
        prompt_tokens(TASK, tokenizer, np.zeros((0, TASK.n_features), dtype=int), "mc")
    with pytest.raises(ValueError, match="format"):
        prompt_tokens(
            TASK, tokenizer, np.zeros((1, TASK.n_features), dtype=int), "yes/no"
        )


def test_prompts_render_every_field(population, tokenizer):
    text = render_prompt(TASK, population.X[0], "mc")
    for f, v in zip(TASK.features, population.X[0]):
        assert f.phrases[v] in text
    assert (
        "A. Yes" in text
        and render_prompt(TASK, population.X[0], "mc", False).count("A. No") == 1
    )
    ids = prompt_tokens(TASK, tokenizer, population.X[:5], "num")
    assert ids.shape == (5, TASK.n_features + 1) and ids.dtype == torch.long


def test_corpus_reports_are_rounded_true_risks(population, tokenizer):
    rng = np.random.default_rng(1)
    records, reports = (
        population.subset(slice(0, 1000)),
        population.subset(slice(1000, 4000)),
    )
    tokens, weight = pretraining_corpus(TASK, tokenizer, records, reports, rng)
    assert tokens.shape == (4000, TASK.n_features + 3) and weight.shape == (
        4000,
        TASK.n_features + 2,
    )
    digit_tokens = tokens[1000:, -2:].numpy()
    digits = np.vectorize(lambda t: int(tokenizer.tokens[t]))(digit_tokens)
    stated = digits_to_risk(digits)
    assert np.all(np.abs(stated - reports.p_true) <= 0.01 + 1e-9)  # rounded to 2 digits
    assert abs(stated.mean() - reports.p_true.mean()) < 0.002  # and unbiased
    assert (
        weight[:1000, -1].sum() == 0 and weight[1000:].min() == 1
    )  # records are padded


# ---------------------------------------------------------------------------- risk read-outs
def test_two_option_risk_is_the_renormalized_softmax():
    logits = torch.randn(50, 23, generator=torch.Generator().manual_seed(0)) * 3
    expected = torch.softmax(logits[:, [4, 9]], dim=-1)[:, 0].numpy()
    np.testing.assert_allclose(two_option_risk(logits, 4, 9), expected, atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        two_option_risk(logits, 4, 23)
    with pytest.raises(ValueError, match="different"):
        two_option_risk(logits, 4, 4)


def test_multiple_choice_risks_are_probabilities_and_orderings_average(
    trained_model, tokenizer, population
):
    model = trained_model
    X = population.X[:200]
    r_first = risk_multiple_choice(model, tokenizer, TASK, X)
    r_avg = risk_multiple_choice(model, tokenizer, TASK, X, average_orderings=True)
    assert r_first.shape == (200,) and np.all((r_first >= 0) & (r_first <= 1))
    # the swapped-key risk, computed by hand, averages with the first to give r_avg
    logits = model(prompt_tokens(TASK, tokenizer, X, "mc", positive_first=False))[:, -1]
    r_swapped = two_option_risk(logits.detach(), tokenizer.id("B"), tokenizer.id("A"))
    np.testing.assert_allclose(r_avg, (r_first + r_swapped) / 2, atol=1e-6)


def test_verbalized_risks_lie_on_the_digit_grid(trained_model, tokenizer, population):
    model = trained_model
    r = risk_verbalized(model, tokenizer, TASK, population.X[:100], n_digits=2)
    assert r.shape == (100,)
    np.testing.assert_allclose(r * 100, np.round(r * 100), atol=1e-9)
    assert np.all((r >= 0) & (r <= 0.99))
    np.testing.assert_allclose(digits_to_risk([[3, 7], [0, 5]]), [0.37, 0.05])
    with pytest.raises(ValueError, match="between 0 and 9"):
        digits_to_risk([[3, 12]])


def test_untrained_model_warns_that_it_is_not_answering(tokenizer, population):
    torch.manual_seed(0)
    model = TinyLM(TinyLMConfig(vocab_size=len(tokenizer), max_len=10)).eval()
    with torch.no_grad():  # make the answer keys very unlikely
        model.head.bias[tokenizer.id("A")] = -20
        model.head.bias[tokenizer.id("B")] = -20
    with pytest.warns(RuntimeWarning, match="answer keys"):
        risk_multiple_choice(model, tokenizer, TASK, population.X[:10])


def test_instruction_tuning_sharpens_but_keeps_the_order(
    trained_model, tokenizer, population
):
    """A short tune towards sharpened own answers spreads the scores; the original is untouched."""
    model = trained_model
    X = population.X[:1000]
    before = risk_multiple_choice(model, tokenizer, TASK, X)
    tuned = instruction_tune(
        model,
        tokenizer,
        TASK,
        X,
        steps=40,
        temperature=0.25,
        lr=1e-3,
        batch_size=128,
        seed=0,
    )
    after = risk_multiple_choice(tuned, tokenizer, TASK, X)
    np.testing.assert_allclose(risk_multiple_choice(model, tokenizer, TASK, X), before)
    assert after.std() > 1.3 * before.std()
    y = population.y[:1000]
    assert auc_score(y, after) > auc_score(y, before) - 0.05  # it still ranks people
    rank_corr = np.corrcoef(
        np.argsort(np.argsort(before)), np.argsort(np.argsort(after))
    )[0, 1]
    assert rank_corr > 0.8


def test_instruction_tuning_rejects_bad_replay_and_steps(
    trained_model, tokenizer, population
):
    X = population.X[:10]
    tokens = torch.zeros(5, 9, dtype=torch.long)
    with pytest.raises(ValueError, match="replay"):
        instruction_tune(
            trained_model,
            tokenizer,
            TASK,
            X,
            steps=1,
            replay=(tokens, torch.ones(5, 9)),
        )
    with pytest.raises(ValueError, match="steps"):
        instruction_tune(trained_model, tokenizer, TASK, X, steps=0)


# ---------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("kind", ["continuous", "tied"])
def test_auc_and_brier_match_scikit_learn(kind):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    r = np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1)
    if kind == "tied":
        r = np.round(r, 1)  # verbalized scores take few values
    scores = evaluate_risk_scores(y, r)
    assert scores["auc"] == pytest.approx(roc_auc_score(y, r), abs=1e-12)
    assert scores["brier"] == pytest.approx(brier_score_loss(y, r), abs=1e-12)
    assert scores["sd"] == pytest.approx(np.std(r)) and scores["mean"] == pytest.approx(
        np.mean(r)
    )
    assert 0 <= scores["ece"] <= 1


def test_sharpening_keeps_auc_and_raises_spread():
    rng = np.random.default_rng(4)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(int)
    sharp = sharpen(p, 0.25)
    assert auc_score(y, sharp) == pytest.approx(auc_score(y, p))
    assert sharp.std() > 1.3 * p.std()
    np.testing.assert_allclose(sharpen(p, 1.0), p, atol=1e-9)
    with pytest.raises(ValueError, match="temperature"):
        sharpen(p, 0.0)


@pytest.mark.parametrize(
    "y, r, match",
    [
        ([0, 1, 1], [0.2, 1.3, 0.5], r"\[0, 1\]"),  # probability above 1
        ([0, 1, 2], [0.2, 0.3, 0.5], "0 or 1"),  # outcome not binary
        ([], [], "empty"),
        ([0, 1], [0.2, 0.3, 0.4], "same length"),
    ],
)
def test_evaluation_rejects_bad_input(y, r, match):
    with pytest.raises(ValueError, match=match):
        evaluate_risk_scores(y, r)


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="positive and one negative"):
        auc_score([1, 1, 1], [0.1, 0.2, 0.3])


# ---------------------------------------------------------------------------- the task itself
def test_task_definition_pins_its_values():
    """The synthetic task: feature shares and effects as written, true risk = Phi(probit)."""
    from scipy.stats import norm

    assert isinstance(TASK, RiskTask) and TASK.n_features == 6
    age = TASK.feature("age")
    assert (
        isinstance(age, Feature) and age.values[3] == "45-54" and age.effects[0] == -0.9
    )
    with pytest.raises(KeyError, match="no feature"):
        TASK.feature("height")
    with pytest.raises(ValueError, match="shares"):
        Feature("x", ("a", "b"), ("is a", "is b"), (0.5, 0.6), (0.0, 0.0))
    row = np.zeros(
        (1, 6), dtype=int
    )  # youngest, no diploma, <20 h, service, male, married
    # intercept + effects + interaction weight * z_edu * z_hours / (sd_edu * sd_hours)
    edu, hours = TASK.feature("education"), TASK.feature("hours")
    expected = (
        -0.3
        - 0.9
        - 0.6
        - 1.0
        - 0.6
        + 0.15
        + 0.2
        + 0.25 * (-0.6) * (-1.0) / (np.std(edu.effects) * np.std(hours.effects))
    )
    assert true_risk_probit(TASK, row)[0] == pytest.approx(expected, abs=1e-12)
    assert true_risk(TASK, row)[0] == pytest.approx(norm.cdf(expected), abs=1e-12)


def test_sampled_people_have_the_feature_shares_and_subsets_keep_rows():
    pop = sample_population(TASK, 20_000, np.random.default_rng(5))
    assert isinstance(pop, Population) and len(pop) == 20_000
    shares = (
        np.bincount(pop.X[:, TASK.features.index(TASK.feature("hours"))], minlength=5)
        / 20_000
    )
    np.testing.assert_allclose(shares, TASK.feature("hours").shares, atol=0.015)
    sub = pop.subset(slice(10, 20))
    assert len(sub) == 10 and np.array_equal(sub.y, pop.y[10:20])
    with pytest.raises(ValueError, match="positive integer"):
        sample_population(TASK, 0, np.random.default_rng(0))


def test_describe_and_prompt_text_say_every_field(tokenizer):
    row = np.array([2, 3, 2, 6, 1, 0])
    assert describe(TASK, row) == (
        "The person is 35 to 44 years old. The person holds a bachelor's "
        "degree. The person works 35 to 44 hours a week. The person has "
        "a professional job. The person is a woman. The person is married."
    )
    ids = prompt_tokens(TASK, tokenizer, row[None], "mc")[0]
    assert prompt_text(tokenizer, ids) == (
        "age:35-44 education:bachelor hours:35-44 "
        "occupation:professional sex:female marital:married "
        "<ask:A=yes,B=no>"
    )


# ---------------------------------------------------------------------------- side questions
def test_side_questions_have_definite_answers():
    X = np.array([[0, 0, 0, 0, 0, 1], [3, 3, 2, 2, 1, 0], [5, 4, 4, 7, 0, 2]])
    answers = {q.name: q.answers(TASK, X).tolist() for q in SIDE_QUESTIONS}
    assert answers == {
        "age45+": [0, 1, 1],
        "degree": [0, 1, 1],
        "full-time": [0, 1, 1],
        "white-collar": [0, 1, 1],
        "woman": [0, 1, 0],
        "married": [0, 1, 0],
    }
    bad = SideQuestion("tall", "age", ("200cm",), "Is this person tall?")
    with pytest.raises(ValueError, match="not categories"):
        bad.answers(TASK, X)


def test_side_question_tokens_extend_the_vocabulary():
    plain, side = build_tokenizer(TASK), build_tokenizer(TASK, SIDE_QUESTIONS)
    assert len(side) == len(plain) + 2 * len(SIDE_QUESTIONS)
    assert side.tokens[: len(plain)] == plain.tokens  # old ids are unchanged
    q = SIDE_QUESTIONS[1]
    assert question_token("mc", True, q) == "<ask:degree:A=yes,B=no>"
    assert question_token("mc", False, q) == "<ask:degree:A=no,B=yes>"
    assert question_token("num") == "<ask:probability>"
    ids = prompt_tokens(TASK, side, np.zeros((2, 6), dtype=int), "mc", False, about=q)
    assert ids[:, -1].tolist() == [side.id("<ask:degree:A=no,B=yes>")] * 2
    with pytest.raises(ValueError, match="multiple-choice"):
        question_token("num", True, q)


def test_side_question_corpus_states_answers_with_the_given_error_rate(population):
    tok = build_tokenizer(TASK, SIDE_QUESTIONS)
    X = population.X
    clean, weight = side_question_corpus(
        TASK, tok, X, SIDE_QUESTIONS, np.random.default_rng(6), error_rate=0.0
    )
    assert clean.shape == (len(X), TASK.n_features + 3) and weight.shape == (
        len(X),
        TASK.n_features + 2,
    )
    assert (
        (clean[:, -1] == tok.pad_id).all()
        and weight[:, -1].sum() == 0
        and weight[:, :-1].min() == 1
    )
    ask = {
        tok.id(question_token("mc", order, q)): (q, order)
        for q in SIDE_QUESTIONS
        for order in (True, False)
    }
    correct = []
    for row, x in zip(clean.tolist(), X):
        q, order = ask[row[TASK.n_features]]
        yes = q.answers(TASK, x[None])[0] == 1
        correct.append(
            tok.tokens[row[TASK.n_features + 1]] == ("A" if yes == order else "B")
        )
    assert all(correct)
    noisy, _ = side_question_corpus(
        TASK, tok, X, SIDE_QUESTIONS, np.random.default_rng(6), error_rate=0.2
    )
    flipped = (
        (noisy[:, TASK.n_features + 1] != clean[:, TASK.n_features + 1]).float().mean()
    )
    assert abs(float(flipped) - 0.2) < 4 * np.sqrt(
        0.2 * 0.8 / len(X)
    )  # same draws, 20% flipped
    with pytest.raises(ValueError, match="error_rate"):
        side_question_corpus(
            TASK, tok, X, SIDE_QUESTIONS, np.random.default_rng(0), error_rate=0.5
        )
    with pytest.raises(ValueError, match="at least one"):
        side_question_corpus(TASK, tok, X, (), np.random.default_rng(0))


@pytest.fixture(scope="module")
def side_model(population):
    """A model briefly pretrained on income text and 20%-wrong side answers."""
    from utils.tiny_lm import train_next_token

    tok = build_tokenizer(TASK, SIDE_QUESTIONS)
    rng = np.random.default_rng(7)
    a, wa = pretraining_corpus(
        TASK,
        tok,
        population.subset(slice(0, 2000)),
        population.subset(slice(2000, 4000)),
        rng,
    )
    b, wb = side_question_corpus(
        TASK, tok, population.X, SIDE_QUESTIONS, rng, error_rate=0.2
    )
    tokens, weight = torch.cat([a, b]), torch.cat([wa, wb])
    torch.manual_seed(0)
    m = TinyLM(TinyLMConfig(vocab_size=len(tok), max_len=tokens.shape[1]))
    train_next_token(
        m, tokens, steps=200, batch_size=256, lr=3e-3, weight=weight, seed=0
    )
    return m.eval(), tok, (tokens, weight)


def _p_correct(model, tok, X, question):
    logits = model(prompt_tokens(TASK, tok, X, "mc", True, question))[:, -1].detach()
    p_yes = two_option_risk(logits, tok.id("A"), tok.id("B"))
    answer = question.answers(TASK, X)
    return np.where(answer == 1, p_yes, 1 - p_yes).mean()


def test_tuning_on_correct_answers_makes_side_answers_certain(side_model, population):
    model, tok, _ = side_model
    X = population.X[:1000]
    q = SIDE_QUESTIONS[0]
    before = _p_correct(model, tok, X, q)
    tuned = tune_on_answers(
        model, tok, TASK, X, SIDE_QUESTIONS, steps=40, lr=1e-3, seed=0
    )
    noisy = tune_on_answers(
        model, tok, TASK, X, SIDE_QUESTIONS, steps=40, lr=1e-3, seed=0, label_noise=0.2
    )
    assert _p_correct(model, tok, X, q) == before  # the original is untouched
    assert _p_correct(tuned, tok, X, q) > max(before, 0.9)
    assert _p_correct(noisy, tok, X, q) < _p_correct(tuned, tok, X, q) - 0.05
    assert not tuned.training


def test_tune_on_answers_rejects_bad_arguments(side_model, population):
    model, tok, (tokens, weight) = side_model
    X = population.X[:10]
    with pytest.raises(ValueError, match="steps"):
        tune_on_answers(model, tok, TASK, X, SIDE_QUESTIONS, steps=0)
    with pytest.raises(ValueError, match="label_noise"):
        tune_on_answers(model, tok, TASK, X, SIDE_QUESTIONS, steps=1, label_noise=1.5)
    with pytest.raises(ValueError, match="at least one"):
        tune_on_answers(model, tok, TASK, X, (), steps=1)
    with pytest.raises(ValueError, match="replay"):
        tune_on_answers(
            model,
            tok,
            TASK,
            X,
            SIDE_QUESTIONS,
            steps=1,
            replay=(tokens, torch.ones(len(tokens), 3)),
        )
    replayed = tune_on_answers(
        model, tok, TASK, X, SIDE_QUESTIONS, steps=2, replay=(tokens, weight)
    )
    assert isinstance(replayed, TinyLM)


def test_answer_key_loss_is_the_soft_cross_entropy(
    trained_model, tokenizer, population
):
    prompts = prompt_tokens(TASK, tokenizer, population.X[:8], "mc")
    a, b = tokenizer.id("A"), tokenizer.id("B")
    yes, no = torch.full((8,), a), torch.full((8,), b)
    q = torch.linspace(0, 1, 8)
    logp = torch.log_softmax(trained_model(prompts)[:, -1], -1).detach()
    expected = -(q * logp[:, a] + (1 - q) * logp[:, b]).mean()
    with torch.no_grad():
        loss = answer_key_loss(trained_model, (prompts, yes, no, q))
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)


# ---------------------------------------------------------------------------- calibration slope
def test_calibration_slope_matches_scikit_learn_and_reads_temperature():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(8)
    z = rng.normal(0, 1.5, 20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-z))).astype(int)
    sharp = 1 / (1 + np.exp(-z / 0.4))  # logits 2.5x too large
    ref = (
        LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000)
        .fit(np.log(sharp / (1 - sharp))[:, None], y)
        .coef_[0, 0]
    )
    assert calibration_slope(y, sharp) == pytest.approx(ref, rel=1e-5)
    assert calibration_slope(y, sharp) == pytest.approx(0.4, abs=0.03)
    assert calibration_slope(y, 1 / (1 + np.exp(-z))) == pytest.approx(1.0, abs=0.06)
    with pytest.raises(ValueError, match="both outcomes"):
        calibration_slope([1, 1, 1], [0.2, 0.5, 0.7])
    with pytest.raises(ValueError, match="not all equal"):
        calibration_slope([0, 1, 1], [0.5, 0.5, 0.5])
