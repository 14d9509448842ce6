"""Tests of utils.discrete_diffusion (chapter 13, RADD): brute force and library references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from utils.discrete_diffusion import (
    BoundEstimate,
    ConditionalMLP,
    MarkovChainSource,
    SampleResult,
    all_sequences,
    ao_arm_bound,
    ao_arm_loss,
    brute_force_concrete_score,
    chain_rule_nll,
    concrete_score,
    concrete_score_scalar,
    conditional_fn,
    exact_conditional_fn,
    expected_nfe,
    lambda_dce_bound,
    lambda_dce_loss,
    log_linear_sigma_bar,
    mask_k_tokens,
    mask_tokens,
    model_conditional_fn,
    network_conditionals,
    noisy_marginal,
    oracle_nll_per_token,
    reveal_probability,
    sample_absorbing,
    sticky_chain,
    stratified_mask_probs,
)

V = 4


@pytest.fixture
def source():
    return sticky_chain(V, stay=0.65)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def enumerate_conditionals(source, x_t):
    """p0(x^i = v | unmasked tokens) by summing p0 over every clean sequence that agrees with x_t."""
    clean = all_sequences(source.vocab_size, x_t.shape[1])
    p0 = source.log_prob(clean).exp()
    out = torch.zeros(*x_t.shape, source.vocab_size, dtype=torch.float64)
    for b, row in enumerate(x_t):
        seen = row != source.mask_id
        agree = (clean[:, seen] == row[seen]).all(1)
        weights = p0 * agree
        for i in range(x_t.shape[1]):
            for v in range(source.vocab_size):
                out[b, i, v] = weights[clean[:, i] == v].sum() / weights.sum()
    return out


# ---------------------------------------------------------------- the data source
def test_log_prob_and_entropy_match_enumeration_and_scipy(source):
    clean = all_sequences(V, 5)
    p = source.log_prob(clean).exp()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    assert source.entropy(5) == pytest.approx(stats.entropy(p.numpy()), abs=1e-10)
    # one step of the chain: the entropy of the first token plus one transition row on average
    rows = stats.entropy(source.transition.numpy(), axis=1)
    assert source.entropy(2) == pytest.approx(
        stats.entropy(source.initial.numpy()) + source.initial.numpy() @ rows
    )


def test_samples_follow_the_chain(source):
    x = source.sample(6000, 3, gen(1))
    counts = np.bincount((x[:, 0] * V + x[:, 1]).numpy(), minlength=V * V)
    expected = (source.initial[:, None] * source.transition).flatten().numpy() * len(x)
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    # and the test can fail: counts of a different chain are rejected
    other = sticky_chain(V, stay=0.4).sample(6000, 3, gen(1))
    wrong = np.bincount((other[:, 0] * V + other[:, 1]).numpy(), minlength=V * V)
    assert stats.chisquare(wrong, expected).pvalue < 1e-6


def test_conditionals_match_brute_force_enumeration(source):
    x0 = source.sample(12, 5, gen(2))
    x_t, masked = mask_tokens(x0, 0.6, V, gen(3))
    x_t[0] = V  # a fully masked row: the conditionals are the marginals
    exact = source.conditionals(x_t)
    torch.testing.assert_close(
        exact, enumerate_conditionals(source, x_t), rtol=0, atol=1e-12
    )
    marginals = torch.stack(
        [
            source.initial @ torch.linalg.matrix_power(source.transition, i)
            for i in range(5)
        ]
    )
    torch.testing.assert_close(exact[0], marginals, rtol=0, atol=1e-12)
    unmasked = x_t != V
    assert torch.equal(exact[unmasked].argmax(-1), x_t[unmasked])


# ---------------------------------------------------------------- Theorem 1
@pytest.mark.parametrize("sigma_bar", [0.05, 0.7, 4.0])
def test_theorem1_concrete_score_is_scalar_times_conditional(source, sigma_bar):
    x0 = source.sample(40, 6, gen(4))
    x_t, _ = mask_tokens(x0, 0.5, V, gen(5))
    brute = brute_force_concrete_score(source, x_t, sigma_bar)
    theorem = concrete_score(source.conditionals(x_t), x_t, sigma_bar, V)
    torch.testing.assert_close(theorem, brute, rtol=1e-12, atol=0)
    # the quotient by the scalar does not depend on time
    again = brute_force_concrete_score(
        source, x_t, 2 * sigma_bar
    ) / concrete_score_scalar(2 * sigma_bar)
    torch.testing.assert_close(
        brute / concrete_score_scalar(sigma_bar), again, rtol=1e-12, atol=1e-15
    )


def test_noisy_marginal_sums_to_one_over_all_noisy_sequences(source):
    noisy = all_sequences(V + 1, 3)  # tokens 0..3 and the mask 4
    assert float(noisy_marginal(source, noisy, 0.9).sum()) == pytest.approx(
        1.0, abs=1e-12
    )


def test_scalar_and_schedule():
    s = torch.tensor([0.1, 1.0, 5.0], dtype=torch.float64)
    torch.testing.assert_close(
        concrete_score_scalar(s), torch.exp(-s) / (1 - torch.exp(-s))
    )
    t = torch.tensor([0.0, 0.5, 1.0])
    torch.testing.assert_close(
        1 - torch.exp(-log_linear_sigma_bar(t, eps=1e-3)), (1 - 1e-3) * t.double()
    )


# ---------------------------------------------------------------- losses and the bound
def test_lambda_dce_matches_torch_cross_entropy():
    g = gen(6)
    log_cond = torch.log_softmax(torch.randn(5, 7, V, generator=g), -1)
    x0 = torch.randint(0, V, (5, 7), generator=g)
    lam = torch.tensor([0.1, 0.3, 0.5, 0.9, 1.0])
    x_t, masked = mask_tokens(x0, lam, V, g)
    ce = torch.nn.functional.cross_entropy(
        log_cond.transpose(1, 2), x0, reduction="none"
    )  # [B, L]
    expected = (ce * masked).sum(1) / lam
    torch.testing.assert_close(lambda_dce_loss(log_cond, x0, masked, lam), expected)
    # unmasked positions contribute nothing
    changed = log_cond.clone()
    changed[~masked] = -50.0
    torch.testing.assert_close(lambda_dce_loss(changed, x0, masked, lam), expected)


def test_ao_arm_loss_weights_by_length_over_k():
    log_cond = torch.full((1, 4, V), math.log(0.25))
    x0 = torch.zeros(1, 4, dtype=torch.long)
    masked = torch.tensor([[True, False, True, False]])
    assert float(ao_arm_loss(log_cond, x0, masked)) == pytest.approx(
        4 / 2 * 2 * math.log(4)
    )


def test_chain_rule_with_exact_conditionals_is_exact_for_every_order(source):
    x0 = source.sample(200, 8, gen(7))
    exact = -source.log_prob(x0)
    cond = exact_conditional_fn(source)
    g = gen(8)
    for _ in range(4):
        order = torch.randperm(8, generator=g)
        torch.testing.assert_close(
            chain_rule_nll(cond, x0, order), exact, rtol=0, atol=1e-10
        )


def test_ao_arm_bound_is_unbiased_with_exact_conditionals(source):
    x0 = source.sample(1000, 8, gen(9))
    bound = ao_arm_bound(exact_conditional_fn(source), x0, n_draws=4, generator=gen(10))
    exact = float(-source.log_prob(x0).mean()) / 8
    assert abs(bound.per_token - exact) < 4 * bound.stderr_per_token
    # a model that ignores the context pays for it: its bound sits well above the exact NLL
    uniform = conditional_fn(
        lambda x: torch.full((*x.shape, V), 1 / V, dtype=torch.float64), V
    )
    assert ao_arm_bound(uniform, x0, 2, gen(11)).per_token == pytest.approx(math.log(V))
    assert math.log(V) - exact > 0.2


def test_mask_k_tokens_masks_exactly_k(source):
    x0 = source.sample(50, 9, gen(12))
    k = torch.randint(1, 10, (50,), generator=gen(13))
    x_t, masked = mask_k_tokens(x0, k, V, gen(14))
    assert torch.equal(masked.sum(1), k) and torch.equal(x_t == V, masked)


def test_stratified_mask_probs_cover_the_unit_interval():
    lam = stratified_mask_probs(100, gen(15))
    assert lam.min() >= 1e-3 and lam.max() <= 1
    assert torch.equal(
        (lam.sort().values * 100).floor().clamp(max=99),
        torch.arange(100.0, dtype=torch.float64),
    )


# ---------------------------------------------------------------- the sampler and caching
def test_reveal_probability_is_one_over_steps_left():
    for i in range(10):
        assert reveal_probability(i, 10) == pytest.approx(1 / (10 - i))


def test_expected_nfe_formula():
    assert expected_nfe(1024, 1024) == pytest.approx(
        647.4, abs=0.1
    )  # the paper's E-NFE
    assert expected_nfe(1, 16) == 1 and expected_nfe(64, 1) == pytest.approx(1)


@pytest.mark.parametrize("steps", [1, 5, 32])
def test_cached_and_uncached_samplers_give_identical_samples(source, steps):
    cond = exact_conditional_fn(source)
    cached = sample_absorbing(cond, 300, 8, steps, cache=True, generator=gen(16))
    plain = sample_absorbing(cond, 300, 8, steps, cache=False, generator=gen(16))
    assert torch.equal(cached.samples, plain.samples)
    assert (cached.samples < V).all()  # everything revealed
    assert (plain.nfe == steps).all()
    assert (cached.nfe >= 1).all() and (cached.nfe <= min(steps, 8)).all()
    # a different random stream gives different samples (the equality above is not vacuous)
    other = sample_absorbing(cond, 300, 8, steps, cache=True, generator=gen(17))
    assert not torch.equal(other.samples, cached.samples)


def test_cached_and_uncached_agree_for_a_network():
    torch.manual_seed(0)
    model = ConditionalMLP(length=6, vocab_size=V, hidden=32)
    cond = model_conditional_fn(model, V)
    cached = sample_absorbing(cond, 200, 6, 24, cache=True, generator=gen(18))
    plain = sample_absorbing(cond, 200, 6, 24, cache=False, generator=gen(18))
    assert torch.equal(cached.samples, plain.samples)
    assert cached.mean_nfe < plain.mean_nfe / 2


def test_cached_nfe_matches_the_occupied_steps_formula(source):
    cond = exact_conditional_fn(source)
    result = sample_absorbing(cond, 3000, 8, 16, cache=True, generator=gen(19))
    nfe = result.nfe.double()
    assert abs(float(nfe.mean()) - expected_nfe(16, 8)) < 4 * float(
        nfe.std()
    ) / math.sqrt(3000)


def test_sampler_marginals_follow_the_chain(source):
    """One step reveals every token independently from its marginal: first token ~ initial."""
    x = sample_absorbing(
        exact_conditional_fn(source), 4000, 5, 1, generator=gen(20)
    ).samples
    last_marginal = source.initial @ torch.linalg.matrix_power(source.transition, 4)
    for column, probs in ((0, source.initial), (4, last_marginal)):
        counts = np.bincount(x[:, column].numpy(), minlength=V)
        assert stats.chisquare(counts, probs.numpy() * len(x)).pvalue > 1e-3


# ---------------------------------------------------------------- the network
def test_network_has_no_time_input_and_returns_log_probabilities():
    model = ConditionalMLP(length=5, vocab_size=V)
    out = model(torch.full((3, 5), V))
    assert out.shape == (3, 5, V)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(3, 5))
    with pytest.raises(TypeError):
        model(torch.full((3, 5), V), torch.tensor(0.5))  # no time argument
    with pytest.raises(ValueError, match="5 positions"):
        model(torch.zeros(3, 4, dtype=torch.long))


# ---------------------------------------------------------------- bad input
def test_bad_sources_are_rejected():
    with pytest.raises(ValueError, match="sum to 1"):
        MarkovChainSource([[0.5, 0.4], [0.5, 0.5]], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        MarkovChainSource([[1.5, -0.5], [0.5, 0.5]], [0.5, 0.5])
    with pytest.raises(ValueError, match="square"):
        MarkovChainSource([[0.5, 0.5]], [1.0])
    with pytest.raises(ValueError, match="initial must have shape"):
        MarkovChainSource([[0.5, 0.5], [0.5, 0.5]], [1.0])


def test_bad_tokens_and_shapes_are_rejected(source):
    with pytest.raises(ValueError, match="outside"):
        source.log_prob(torch.tensor([[0, 1, 7]]))
    with pytest.raises(ValueError, match="shape"):
        source.conditionals(torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        source.log_prob(torch.zeros(0, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        source.log_prob(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="too many"):
        all_sequences(4, 12)


def test_bad_probabilities_and_times_are_rejected(source):
    x0 = source.sample(4, 5, gen(21))
    for bad in (0.0, -0.1, 1.2, float("nan")):
        with pytest.raises(ValueError, match=r"\(0, 1\]"):
            mask_tokens(x0, bad, V)
    with pytest.raises(ValueError, match="shape"):
        mask_tokens(x0, torch.tensor([0.5, 0.5]), V)
    x_t, masked = mask_tokens(x0, 0.5, V, gen(22))
    log_cond = torch.log_softmax(torch.randn(4, 5, V), -1)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        lambda_dce_loss(log_cond, x0, masked, torch.tensor([0.5, 0.5, 0.0, 0.5]))
    with pytest.raises(ValueError, match=r"\[B, L, V\]"):
        lambda_dce_loss(log_cond[:, :3], x0, masked, 0.5)
    with pytest.raises(ValueError, match="boolean"):
        lambda_dce_loss(log_cond, x0, masked.long(), 0.5)
    with pytest.raises(ValueError, match="at least one masked"):
        ao_arm_loss(log_cond, x0, torch.zeros_like(masked))
    with pytest.raises(ValueError, match="positive"):
        concrete_score_scalar(0.0)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        concrete_score(torch.full((4, 5, V), 2.0), x_t, 0.5, V)
    with pytest.raises(ValueError, match="shape"):
        concrete_score(torch.full((4, 5, V + 1), 0.2), x_t, 0.5, V)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        log_linear_sigma_bar(1.5)


def test_bad_sampler_and_bound_arguments_are_rejected(source):
    cond = exact_conditional_fn(source)
    with pytest.raises(ValueError, match="permutation"):
        chain_rule_nll(cond, source.sample(2, 4, gen(23)), [0, 1, 1, 3])
    with pytest.raises(ValueError, match="steps"):
        sample_absorbing(cond, 10, 4, 0)
    with pytest.raises(ValueError, match="vocab_size"):
        sample_absorbing(lambda x: x, 10, 4, 3)
    bad_shape = conditional_fn(lambda x: torch.full((*x.shape, V + 1), 0.2), V)
    with pytest.raises(ValueError, match="returned shape"):
        sample_absorbing(bad_shape, 10, 4, 3)
    with pytest.raises(ValueError, match="step"):
        reveal_probability(5, 5)
    with pytest.raises(ValueError, match="at least 1"):
        expected_nfe(0, 16)


# ---------------------------------------------------------------- Theorem 2: the two forms of the bound
def test_lambda_dce_bound_agrees_with_the_ao_arm_form_with_exact_conditionals(source):
    """Theorem 2: with every token masked at the final time the lambda-DCE and AO-ARM forms have the
    same expectation, and with exact conditionals both equal the exact NLL."""
    x0 = source.sample(1500, 8, gen(30))
    cond = exact_conditional_fn(source)
    lam = lambda_dce_bound(cond, x0, n_draws=8, generator=gen(31))
    ao = ao_arm_bound(cond, x0, n_draws=8, generator=gen(32))
    exact = -source.log_prob(x0)
    diff = (lam.per_sequence - ao.per_sequence) / 8
    se = float(diff.std()) / math.sqrt(len(diff))
    assert abs(float(diff.mean())) < 4 * se
    gap = (lam.per_sequence - exact) / 8
    assert abs(float(gap.mean())) < 4 * float(gap.std()) / math.sqrt(len(gap))
    # the control: a schedule that stops at 90% masked misses the most-masked part of the integral
    early = lambda_dce_bound(
        cond, x0, n_draws=8, generator=gen(33), final_mask_prob=0.9
    )
    low = (early.per_sequence - ao.per_sequence) / 8
    assert float(low.mean()) < -8 * float(low.std()) / math.sqrt(len(low))


def test_lambda_dce_bound_of_a_uniform_model_is_log_v_exactly():
    """A model that predicts uniformly pays log V per masked token; the 1/lambda weight makes the
    expected number of charged tokens L for every lambda, so each draw gives L log V on average."""
    x0 = torch.zeros(4000, 6, dtype=torch.long)
    uniform = conditional_fn(
        lambda x: torch.full((*x.shape, V), 1 / V, dtype=torch.float64), V
    )
    bound = lambda_dce_bound(uniform, x0, n_draws=4, generator=gen(34))
    assert isinstance(bound, BoundEstimate) and bound.length == 6
    assert bound.per_token == pytest.approx(
        math.log(V), abs=4 * bound.stderr_per_token + 1e-3
    )
    half = lambda_dce_bound(
        uniform, x0, n_draws=4, generator=gen(35), final_mask_prob=0.5
    )
    assert half.per_token == pytest.approx(
        0.5 * math.log(V), abs=4 * half.stderr_per_token + 1e-3
    )


def test_lambda_dce_bound_rejects_bad_arguments(source):
    cond = exact_conditional_fn(source)
    x0 = source.sample(4, 5, gen(36))
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="final_mask_prob"):
            lambda_dce_bound(cond, x0, final_mask_prob=bad)
    with pytest.raises(ValueError, match="n_draws"):
        lambda_dce_bound(cond, x0, n_draws=0)
    with pytest.raises(ValueError, match="x0"):
        lambda_dce_bound(cond, x0[0])


def test_bound_estimate_summaries_are_per_token():
    est = BoundEstimate(
        torch.tensor([8.0, 12.0, 10.0, 10.0], dtype=torch.float64), length=4
    )
    assert est.per_token == 2.5
    assert est.stderr_per_token == pytest.approx(
        float(torch.tensor([8.0, 12, 10, 10]).std()) / 2 / 4
    )


def test_network_conditionals_are_the_exponentiated_network_output():
    torch.manual_seed(0)
    model = ConditionalMLP(length=5, vocab_size=V, hidden=16).train()
    cond = network_conditionals(model)
    x_t = torch.tensor([[0, 1, V, 2, V], [V, V, V, V, V]])
    probs = cond(x_t)
    assert not model.training and not probs.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(probs, model(x_t).exp())
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 5))


def test_sample_result_mean_nfe_and_oracle_nll(source):
    result = SampleResult(torch.zeros(3, 4, dtype=torch.long), torch.tensor([2, 3, 7]))
    assert result.mean_nfe == 4.0
    x = torch.tensor([[0, 0, 0, 0], [1, 1, 2, 2]])
    expected = float(-source.log_prob(x).mean()) / 4
    assert oracle_nll_per_token(source, x) == pytest.approx(expected, rel=1e-12)
    # the chain's own samples score its entropy per token on average
    samples = source.sample(20000, 8, gen(37))
    assert oracle_nll_per_token(source, samples) == pytest.approx(
        source.entropy(8) / 8, abs=0.01
    )
