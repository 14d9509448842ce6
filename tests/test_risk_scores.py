"""Unit tests of utils.risk_scores (chapter 02): prompts, risk read-outs and the evaluation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import brier_score_loss, roc_auc_score

from utils.risk_scores import (INCOME_TASK, auc_score, build_tokenizer, digits_to_risk,
                               evaluate_risk_scores, instruction_tune, pretraining_corpus,
                               prompt_tokens, render_prompt, risk_multiple_choice, risk_verbalized,
                               sample_population, sharpen, true_risk, two_option_risk)
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
    tokens, weight = pretraining_corpus(TASK, tokenizer, population.subset(slice(0, 2000)),
                                        population.subset(slice(2000, 4000)), rng)
    m = TinyLM(TinyLMConfig(vocab_size=len(tokenizer), max_len=tokens.shape[1]))
    train_next_token(m, tokens, steps=150, batch_size=256, lr=3e-3, weight=weight, seed=0)
    return m.eval()


# ---------------------------------------------------------------------------- the population
def test_population_matches_its_true_risk(population):
    """Labels are 1[target > threshold] and their frequency tracks p(x) (checked in 5 risk bins)."""
    assert np.array_equal(population.y, (population.target > TASK.threshold).astype(int))
    np.testing.assert_allclose(population.p_true, true_risk(TASK, population.X))
    bins = np.digitize(population.p_true, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        inside = bins == b
        gap = abs(population.y[inside].mean() - population.p_true[inside].mean())
        assert gap < 4 * np.sqrt(0.25 / inside.sum()) + 0.01


def test_bad_rows_name_the_field(tokenizer):
    X = np.zeros((3, TASK.n_features), dtype=int)
    X[1, 1] = 7                                               # education has 5 categories
    with pytest.raises(ValueError, match="education"):
        prompt_tokens(TASK, tokenizer, X, "mc")
    with pytest.raises(ValueError, match="shape"):
        prompt_tokens(TASK, tokenizer, np.zeros((3, 2), dtype=int), "mc")
    with pytest.raises(ValueError, match="empty"):
        prompt_tokens(TASK, tokenizer, np.zeros((0, TASK.n_features), dtype=int), "mc")
    with pytest.raises(ValueError, match="format"):
        prompt_tokens(TASK, tokenizer, np.zeros((1, TASK.n_features), dtype=int), "yes/no")


def test_prompts_render_every_field(population, tokenizer):
    text = render_prompt(TASK, population.X[0], "mc")
    for f, v in zip(TASK.features, population.X[0]):
        assert f.phrases[v] in text
    assert "A. Yes" in text and render_prompt(TASK, population.X[0], "mc", False).count("A. No") == 1
    ids = prompt_tokens(TASK, tokenizer, population.X[:5], "num")
    assert ids.shape == (5, TASK.n_features + 1) and ids.dtype == torch.long


def test_corpus_reports_are_rounded_true_risks(population, tokenizer):
    rng = np.random.default_rng(1)
    records, reports = population.subset(slice(0, 1000)), population.subset(slice(1000, 4000))
    tokens, weight = pretraining_corpus(TASK, tokenizer, records, reports, rng)
    assert tokens.shape == (4000, TASK.n_features + 3) and weight.shape == (4000, TASK.n_features + 2)
    digit_tokens = tokens[1000:, -2:].numpy()
    digits = np.vectorize(lambda t: int(tokenizer.tokens[t]))(digit_tokens)
    stated = digits_to_risk(digits)
    assert np.all(np.abs(stated - reports.p_true) <= 0.01 + 1e-9)           # rounded to 2 digits
    assert abs(stated.mean() - reports.p_true.mean()) < 0.002               # and unbiased
    assert weight[:1000, -1].sum() == 0 and weight[1000:].min() == 1        # records are padded


# ---------------------------------------------------------------------------- risk read-outs
def test_two_option_risk_is_the_renormalized_softmax():
    logits = torch.randn(50, 23, generator=torch.Generator().manual_seed(0)) * 3
    expected = torch.softmax(logits[:, [4, 9]], dim=-1)[:, 0].numpy()
    np.testing.assert_allclose(two_option_risk(logits, 4, 9), expected, atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        two_option_risk(logits, 4, 23)
    with pytest.raises(ValueError, match="different"):
        two_option_risk(logits, 4, 4)


def test_multiple_choice_risks_are_probabilities_and_orderings_average(trained_model, tokenizer,
                                                                       population):
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
    with torch.no_grad():                                    # make the answer keys very unlikely
        model.head.bias[tokenizer.id("A")] = -20
        model.head.bias[tokenizer.id("B")] = -20
    with pytest.warns(RuntimeWarning, match="answer keys"):
        risk_multiple_choice(model, tokenizer, TASK, population.X[:10])


def test_instruction_tuning_sharpens_but_keeps_the_order(trained_model, tokenizer, population):
    """A short tune towards sharpened own answers spreads the scores; the original is untouched."""
    model = trained_model
    X = population.X[:1000]
    before = risk_multiple_choice(model, tokenizer, TASK, X)
    tuned = instruction_tune(model, tokenizer, TASK, X, steps=40, temperature=0.25, lr=1e-3,
                             batch_size=128, seed=0)
    after = risk_multiple_choice(tuned, tokenizer, TASK, X)
    np.testing.assert_allclose(risk_multiple_choice(model, tokenizer, TASK, X), before)
    assert after.std() > 1.3 * before.std()
    y = population.y[:1000]
    assert auc_score(y, after) > auc_score(y, before) - 0.05     # it still ranks people
    rank_corr = np.corrcoef(np.argsort(np.argsort(before)), np.argsort(np.argsort(after)))[0, 1]
    assert rank_corr > 0.8


def test_instruction_tuning_rejects_bad_replay_and_steps(trained_model, tokenizer, population):
    X = population.X[:10]
    tokens = torch.zeros(5, 9, dtype=torch.long)
    with pytest.raises(ValueError, match="replay"):
        instruction_tune(trained_model, tokenizer, TASK, X, steps=1, replay=(tokens, torch.ones(5, 9)))
    with pytest.raises(ValueError, match="steps"):
        instruction_tune(trained_model, tokenizer, TASK, X, steps=0)


# ---------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("kind", ["continuous", "tied"])
def test_auc_and_brier_match_scikit_learn(kind):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    r = np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1)
    if kind == "tied":
        r = np.round(r, 1)                                   # verbalized scores take few values
    scores = evaluate_risk_scores(y, r)
    assert scores["auc"] == pytest.approx(roc_auc_score(y, r), abs=1e-12)
    assert scores["brier"] == pytest.approx(brier_score_loss(y, r), abs=1e-12)
    assert scores["sd"] == pytest.approx(np.std(r)) and scores["mean"] == pytest.approx(np.mean(r))
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


@pytest.mark.parametrize("y, r, match", [
    ([0, 1, 1], [0.2, 1.3, 0.5], r"\[0, 1\]"),               # probability above 1
    ([0, 1, 2], [0.2, 0.3, 0.5], "0 or 1"),                  # outcome not binary
    ([], [], "empty"),
    ([0, 1], [0.2, 0.3, 0.4], "same length"),
])
def test_evaluation_rejects_bad_input(y, r, match):
    with pytest.raises(ValueError, match=match):
        evaluate_risk_scores(y, r)


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="positive and one negative"):
        auc_score([1, 1, 1], [0.1, 0.2, 0.3])
