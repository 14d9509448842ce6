"""Exact tests of utils.discrete_diffusion (chapter 13): small cases solved by hand, closed forms
(a Markov chain's conditionals between two seen neighbours), every message and boundary."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from scipy import stats

from utils.discrete_diffusion import (
    BoundEstimate,
    ConditionalMLP,
    MarkovChainSource,
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

P2 = [[0.9, 0.1], [0.2, 0.8]]
PI2 = [0.3, 0.7]


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def two_state():
    return MarkovChainSource(P2, PI2)


def uniform_fn(V):
    return conditional_fn(
        lambda x: torch.full((*x.shape, V), 1 / V, dtype=torch.float64), V
    )


# ---------------------------------------------------------------------------- the source
def test_source_messages_and_boundaries():
    with pytest.raises(
        ValueError,
        match=exact(
            "transition must be a square [V, V] matrix with V >= 2, got shape (1, 1)"
        ),
    ):
        MarkovChainSource([[1.0]], [1.0])
    with pytest.raises(
        ValueError,
        match=exact(
            "transition must be a square [V, V] matrix with V >= 2, got shape (2,)"
        ),
    ):
        MarkovChainSource([0.5, 0.5], [1.0])
    with pytest.raises(
        ValueError,
        match=exact(
            "transition must be a square [V, V] matrix with V >= 2, got shape (2, 3)"
        ),
    ):
        MarkovChainSource([[0.5, 0.5, 0], [0.5, 0.5, 0]], [1.0, 0])
    with pytest.raises(
        ValueError, match=exact("initial must have shape [2], got shape (1, 2)")
    ):
        MarkovChainSource(P2, [PI2])
    for bad_p, bad_pi, name in (
        ([[float("nan"), 1.0], [0.5, 0.5]], PI2, "transition"),
        ([[1.0, 0.0], [0.5, 0.5]], [1.5, -0.5], "initial"),
        ([[1.0, 0.0], [0.5, 0.5]], [float("inf"), 0.0], "initial"),
    ):
        with pytest.raises(
            ValueError, match=exact(f"{name} holds probabilities outside [0, 1]")
        ):
            MarkovChainSource(bad_p, bad_pi)
    with pytest.raises(
        ValueError,
        match=exact("every row of transition must sum to 1, got row sums [0.9, 1.0]"),
    ):
        MarkovChainSource([[0.5, 0.4], [0.5, 0.5]], PI2)
    with pytest.raises(ValueError, match="every row of transition must sum to 1"):
        MarkovChainSource([[0.5, 0.5 + 1e-4], [0.5, 0.5]], PI2)
    with pytest.raises(ValueError, match=exact("initial must sum to 1, got 1.1")):
        MarkovChainSource(P2, [0.4, 0.7])
    with pytest.raises(ValueError, match="initial must sum to 1"):
        MarkovChainSource(P2, [0.3, 0.7 + 1e-8])
    # boundaries that are valid: probabilities 0 and 1, a sum off by far less than 1e-9
    src = MarkovChainSource([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5 - 1e-11])
    assert src.vocab_size == 2 and src.mask_id == 2
    assert src.transition.dtype == torch.float64 and src.initial.dtype == torch.float64


def test_log_prob_by_hand():
    src = two_state()
    x = torch.tensor([[0], [1]])
    torch.testing.assert_close(src.log_prob(x), torch.tensor([0.3, 0.7]).double().log())
    x = torch.tensor([[1, 0], [0, 0]])
    expected = torch.tensor([0.7 * 0.2, 0.3 * 0.9], dtype=torch.float64).log()
    torch.testing.assert_close(src.log_prob(x), expected)
    x = torch.tensor([[0, 0, 1]])
    torch.testing.assert_close(
        src.log_prob(x), torch.tensor([0.3 * 0.9 * 0.1]).double().log()
    )


def test_entropy_by_enumeration_with_zero_probabilities():
    src = MarkovChainSource([[1.0, 0.0], [0.5, 0.5]], [0.5, 0.5])
    assert src.entropy(1) == pytest.approx(math.log(2), rel=1e-12)
    p = src.log_prob(all_sequences(2, 4)).exp().numpy()
    assert src.entropy(4) == pytest.approx(stats.entropy(p), rel=1e-12)
    # by hand: H(first) + (L - 1) steps; state 1 stays in 1 with probability 0.5^k
    assert src.entropy(2) == pytest.approx(math.log(2) + 0.5 * math.log(2), rel=1e-12)
    with pytest.raises(ValueError, match=exact("length must be at least 1, got 0")):
        src.entropy(0)


def test_sample_is_reproducible_and_checks_sizes():
    src = two_state()
    a, b = src.sample(50, 6, gen(1)), src.sample(50, 6, gen(1))
    assert torch.equal(a, b) and a.shape == (50, 6) and a.dtype == torch.long
    assert not torch.equal(a, src.sample(50, 6, gen(2)))
    assert src.sample(1, 1, gen(0)).shape == (1, 1)
    for n, length in ((0, 3), (3, 0)):
        with pytest.raises(
            ValueError,
            match=exact(f"need n >= 1 and length >= 1, got n={n}, length={length}"),
        ):
            src.sample(n, length)
    # a deterministic chain: the first token decides the whole sequence
    det = MarkovChainSource([[0.0, 1.0], [1.0, 0.0]], [0.0, 1.0])
    assert det.sample(2, 5, gen(0)).tolist() == [[1, 0, 1, 0, 1]] * 2


def test_conditionals_between_seen_neighbours_on_a_long_sequence():
    """With x^{i-1} = a and x^{i+1} = b seen, p(x^i = v | ...) = P[a, v] P[v, b] / sum_v (...);
    on 2001 positions the messages must stay normalised (no underflow)."""
    src = sticky_chain(4, stay=0.65)
    L = 2001
    x0 = src.sample(3, L, gen(3))
    x_t = x0.clone()
    x_t[:, 1::2] = src.mask_id
    out = src.conditionals(x_t)
    assert out.dtype == torch.float64 and bool(torch.isfinite(out).all())
    P = src.transition
    a, b = x0[:, 0:-1:2], x0[:, 2::2]  # [3, 1000] neighbours of the masked positions
    expected = P[a] * P[:, b].permute(1, 2, 0)  # [3, 1000, V]: P[a, v] * P[v, b]
    expected = expected / expected.sum(-1, keepdim=True)
    torch.testing.assert_close(out[:, 1::2], expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(
        out[:, 0::2], torch.nn.functional.one_hot(x0[:, 0::2], 4).double()
    )
    # the first token masked, the second seen: p(x^1 = v | x^2 = b) ~ initial[v] P[v, b]
    x_t = torch.tensor([[4, 2, 4, 4]])
    first = src.initial * P[:, 2]
    torch.testing.assert_close(src.conditionals(x_t)[0, 0], first / first.sum())
    # the last token masked after a seen one: p(x^4 = v | x^3 = c) = P[c, v]
    x_t = torch.tensor([[4, 4, 1, 4]])
    torch.testing.assert_close(src.conditionals(x_t)[0, 3], P[1])


def test_sticky_chain_by_hand():
    src = sticky_chain(3, stay=0.5)
    expected = torch.tensor(
        [[0.5, 1 / 3, 1 / 6], [0.25, 0.5, 0.25], [1 / 6, 1 / 3, 0.5]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(src.transition, expected)
    torch.testing.assert_close(
        src.initial, torch.full((3,), 1 / 3, dtype=torch.float64)
    )
    two = sticky_chain(2, stay=0.9)
    torch.testing.assert_close(
        two.transition, torch.tensor([[0.9, 0.1], [0.1, 0.9]]).double()
    )
    default = sticky_chain()
    assert default.vocab_size == 4 and float(default.transition[0, 0]) == 0.65
    with pytest.raises(ValueError, match=exact("vocab_size must be at least 2, got 1")):
        sticky_chain(1)
    for bad in (0.0, 1.0):
        with pytest.raises(
            ValueError, match=exact(f"stay must lie in (0, 1), got {bad}")
        ):
            sticky_chain(3, bad)


# ---------------------------------------------------------------------------- forward process
def test_log_linear_sigma_bar_values_and_boundaries():
    out = log_linear_sigma_bar([0.0, 0.5, 1.0], eps=0.1)
    assert out.dtype == torch.float64
    torch.testing.assert_close(
        out,
        torch.tensor([0.0, -math.log(1 - 0.45), -math.log(0.1)], dtype=torch.float64),
    )
    assert float(log_linear_sigma_bar(0.5)) == pytest.approx(-math.log(1 - 0.999 * 0.5))
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError, match=exact("t must lie in [0, 1]")):
            log_linear_sigma_bar(bad)
    for eps in (1.0, -0.1):
        with pytest.raises(
            ValueError, match=exact(f"eps must lie in [0, 1), got {eps}")
        ):
            log_linear_sigma_bar(0.5, eps=eps)


def test_mask_tokens_rates_values_and_errors():
    x0 = torch.zeros(2, 20000, dtype=torch.long) + torch.tensor([[1], [2]])
    x_t, masked = mask_tokens(x0, torch.tensor([0.1, 0.9]), 3, gen(4))
    assert masked.dtype == torch.bool
    assert abs(float(masked[0].double().mean()) - 0.1) < 0.01
    assert abs(float(masked[1].double().mean()) - 0.9) < 0.01
    assert torch.equal(x_t, torch.where(masked, 3, x0))
    again, _ = mask_tokens(x0, torch.tensor([0.1, 0.9]), 3, gen(4))
    assert torch.equal(again, x_t)
    all_masked, m = mask_tokens(x0[:, :5], 1.0, 3)
    assert bool(m.all()) and bool((all_masked == 3).all())
    for bad in (0.0, 1.5):
        with pytest.raises(
            ValueError,
            match=exact(
                f"mask_prob must lie in (0, 1]; got values from {bad} to {bad}"
            ),
        ):
            mask_tokens(x0, bad, 3)
    with pytest.raises(
        ValueError,
        match=exact("mask_prob must be a number or have shape [2], got shape (3,)"),
    ):
        mask_tokens(x0, [0.5, 0.5, 0.5], 3)
    with pytest.raises(
        ValueError, match=exact("x0 holds token ids outside 0..2 (min 2, max 3)")
    ):
        mask_tokens(x0 + 1, 0.5, 3)


def test_token_checks_name_the_argument():
    src = two_state()
    with pytest.raises(
        TypeError, match=exact("x must be a torch.Tensor of token ids, got list")
    ):
        src.log_prob([[0, 1]])
    with pytest.raises(
        ValueError, match=exact("x_t must have shape [B, L], got shape (3,)")
    ):
        src.conditionals(torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=exact("x is empty (shape (2, 0))")):
        src.log_prob(torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(
        TypeError, match=exact("x must hold integer token ids, got dtype torch.float32")
    ):
        src.log_prob(torch.zeros(2, 3))
    with pytest.raises(
        TypeError, match=exact("x must hold integer token ids, got dtype torch.bool")
    ):
        src.log_prob(torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(
        ValueError,
        match=exact("x_t holds token ids outside 0..1 or the mask id 2 (min 0, max 3)"),
    ):
        src.conditionals(torch.tensor([[0, 3]]))
    with pytest.raises(
        ValueError,
        match=exact(
            "x_t holds token ids outside 0..1 or the mask id 2 (min -1, max 2)"
        ),
    ):
        src.conditionals(torch.tensor([[-1, 2]]))
    with pytest.raises(
        ValueError, match=exact("x holds token ids outside 0..1 (min 0, max 2)")
    ):
        src.log_prob(torch.tensor([[0, 2]]))
    assert src.conditionals(torch.tensor([[2, 1]], dtype=torch.int32)).shape == (
        1,
        2,
        2,
    )


def test_mask_k_tokens_boundaries_and_messages():
    x0 = torch.arange(6).view(1, 6) % 3
    x_t, masked = mask_k_tokens(x0, torch.tensor([6]), 3)
    assert bool(masked.all()) and bool((x_t == 3).all())
    x_t, masked = mask_k_tokens(x0.repeat(4000, 1), torch.full((4000,), 1), 3, gen(5))
    assert torch.equal(masked.sum(1), torch.ones(4000, dtype=torch.long))
    counts = masked.sum(0).numpy()  # which position is masked: uniform
    assert stats.chisquare(counts).pvalue > 1e-3
    assert torch.equal(x_t, torch.where(masked, 3, x0))
    for k, lo, hi in (([0], 0, 0), ([7], 7, 7)):
        with pytest.raises(
            ValueError, match=exact(f"k must lie in 1..6, got values from {lo} to {hi}")
        ):
            mask_k_tokens(x0, torch.tensor(k), 3)
    with pytest.raises(
        ValueError,
        match=exact("k must be an integer tensor of shape [1], got (1,) torch.float32"),
    ):
        mask_k_tokens(x0, torch.tensor([2.0]), 3)
    with pytest.raises(
        ValueError,
        match=exact("k must be an integer tensor of shape [1], got (2,) torch.int64"),
    ):
        mask_k_tokens(x0, torch.tensor([2, 2]), 3)


# ---------------------------------------------------------------------------- Theorem 1
def test_concrete_score_scalar_values_and_errors():
    s = torch.tensor([math.log(2), math.log(3), math.log(1.5)], dtype=torch.float64)
    torch.testing.assert_close(
        concrete_score_scalar(s), torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    )
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(
            ValueError, match=exact("sigma_bar must be positive and finite")
        ):
            concrete_score_scalar(bad)


def test_concrete_score_by_hand_with_a_time_per_row():
    cond = torch.tensor([[[0.25, 0.75], [0.5, 0.5]], [[1.0, 0.0], [0.1, 0.9]]])
    x_t = torch.tensor([[2, 0], [2, 2]])
    out = concrete_score(cond, x_t, torch.tensor([math.log(2), math.log(3)]), 2)
    expected = torch.tensor(
        [[[0.25, 0.75], [0.0, 0.0]], [[0.5, 0.0], [0.05, 0.45]]], dtype=torch.float64
    )
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expected)
    with pytest.raises(
        ValueError,
        match=exact("sigma_bar must be a number or have shape [2], got (3,)"),
    ):
        concrete_score(cond, x_t, [0.5, 0.5, 0.5], 2)
    with pytest.raises(
        ValueError,
        match=exact("conditionals must have shape [B, L, V] = (2, 2, 2), got ndarray"),
    ):
        concrete_score(cond.numpy(), x_t, 0.5, 2)
    with pytest.raises(
        ValueError,
        match=exact(
            "conditionals must have shape [B, L, V] = (2, 2, 2), got (2, 2, 3)"
        ),
    ):
        concrete_score(torch.full((2, 2, 3), 0.3), x_t, 0.5, 2)
    for bad in (-0.01, 1.001):
        with pytest.raises(
            ValueError, match=exact("conditionals must be probabilities in [0, 1]")
        ):
            concrete_score(torch.full((2, 2, 2), bad), x_t, 0.5, 2)
    assert concrete_score(torch.full((2, 2, 2), 1 + 1e-7), x_t, 0.5, 2).shape == (
        2,
        2,
        2,
    )


def test_all_sequences_and_its_limit():
    assert all_sequences(2, 2).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert all_sequences(3, 1).tolist() == [[0], [1], [2]]
    assert all_sequences(10, 5).shape == (100_000, 5)  # exactly at the limit
    with pytest.raises(
        ValueError,
        match=exact(
            "4**9 sequences are too many to enumerate (limit 100000); use a shorter length"
        ),
    ):
        all_sequences(4, 9)


def test_noisy_marginal_by_hand():
    src = two_state()
    keep = math.exp(-0.5)
    out = noisy_marginal(src, torch.tensor([[0], [1], [2]]), 0.5)
    torch.testing.assert_close(
        out, torch.tensor([0.3 * keep, 0.7 * keep, 1 - keep], dtype=torch.float64)
    )
    out = noisy_marginal(src, torch.tensor([[1, 2], [2, 0]]), 0.5)
    p_second_is_0 = 0.3 * 0.9 + 0.7 * 0.2
    expected = torch.tensor(
        [0.7 * keep * (1 - keep), p_second_is_0 * keep * (1 - keep)],
        dtype=torch.float64,
    )
    torch.testing.assert_close(out, expected)
    for bad in (0.0, -1.0):
        with pytest.raises(
            ValueError, match=exact(f"sigma_bar must be positive, got {bad}")
        ):
            noisy_marginal(src, torch.tensor([[0]]), bad)


def test_brute_force_score_fills_later_positions_after_a_seen_one():
    src = two_state()
    x_t = torch.tensor([[0, 2, 1], [1, 2, 2]])
    sigma = 0.7
    brute = brute_force_concrete_score(src, x_t, sigma)
    torch.testing.assert_close(
        brute, concrete_score(src.conditionals(x_t), x_t, sigma, 2), rtol=1e-12, atol=0
    )
    assert bool((brute[:, 0] == 0).all()) and bool((brute[0, 2] == 0).all())
    assert bool((brute[1, 2] > 0).all())


# ---------------------------------------------------------------------------- the network
def test_conditional_mlp_layout_and_errors():
    torch.manual_seed(0)
    model = ConditionalMLP(length=3, vocab_size=4, embed_dim=5, hidden=7)
    assert model.embed.num_embeddings == 5 and model.embed.embedding_dim == 5
    sizes = [
        (m.in_features, m.out_features) for m in model.body if hasattr(m, "in_features")
    ]
    assert sizes == [(15, 7), (7, 7), (7, 12)]
    assert all(isinstance(model.body[i], torch.nn.GELU) for i in (1, 3))
    x = torch.tensor([[0, 4, 3], [4, 4, 4]])
    out = model(x)
    with torch.no_grad():
        logits = model.body(model.embed(x).flatten(1)).view(2, 3, 4)
    torch.testing.assert_close(out, torch.log_softmax(logits, -1))
    with pytest.raises(ValueError, match=exact("x_t must have 3 positions, got 2")):
        model(torch.zeros(1, 2, dtype=torch.long))
    for bad in (dict(length=0), dict(vocab_size=0), dict(embed_dim=0), dict(hidden=0)):
        with pytest.raises(
            ValueError,
            match=exact(
                "length, vocab_size, embed_dim and hidden must all be positive"
            ),
        ):
            ConditionalMLP(**(dict(length=2, vocab_size=2) | bad))
    assert ConditionalMLP(1, 1, 1, 1)(torch.tensor([[1]])).shape == (1, 1, 1)


def test_model_conditional_fn_is_labelled_and_in_eval_mode():
    torch.manual_seed(0)
    model = ConditionalMLP(length=2, vocab_size=3, hidden=8).train()
    cond = model_conditional_fn(model, 3)
    assert cond.vocab_size == 3 and not model.training
    x = torch.tensor([[3, 1]])
    with torch.no_grad():
        torch.testing.assert_close(cond(x), model(x).exp())
    assert exact_conditional_fn(two_state()).vocab_size == 2
    net = network_conditionals(model)
    assert not net(x).requires_grad


# ---------------------------------------------------------------------------- losses
def test_losses_by_hand():
    log_cond = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]]))
    x0 = torch.tensor([[0, 1, 1]])
    masked = torch.tensor([[True, True, False]])
    nll = math.log(2) + math.log(4 / 3)
    assert float(lambda_dce_loss(log_cond, x0, masked, 0.25)) == pytest.approx(
        nll / 0.25
    )
    assert float(ao_arm_loss(log_cond, x0, masked)) == pytest.approx(nll * 3 / 2)
    assert lambda_dce_loss(log_cond.double(), x0, masked, 0.5).dtype == torch.float64
    # log_cond a little above 0 (within atol) is accepted; further above is not
    ok = log_cond.clone()
    ok[0, 2] = torch.tensor([9e-4, -1e-3])
    lambda_dce_loss(ok, x0, masked, 1.0)
    bad = log_cond.clone()
    bad[0, 2, 0] = 2e-3
    with pytest.raises(
        ValueError,
        match="^log_cond must hold log-probabilities \\(<= 0, no NaN\\), got a largest value 0.002",
    ):
        lambda_dce_loss(bad, x0, masked, 1.0)
    nan = log_cond.clone()
    nan[0, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="got a largest value inf; pass log_softmax"):
        lambda_dce_loss(nan, x0, masked, 1.0)
    off = log_cond.clone()
    off[0, 0] = torch.log(torch.tensor([0.5, 0.4995]))  # sums to 0.9995: within 1e-3
    lambda_dce_loss(off, x0, masked, 1.0)
    off[0, 0] = torch.log(torch.tensor([0.5, 0.497]))
    with pytest.raises(ValueError, match="got a sum of 0.997; pass log_softmax"):
        lambda_dce_loss(off, x0, masked, 1.0)


def test_loss_shape_messages():
    log_cond = torch.log_softmax(torch.randn(2, 3, 4), -1)
    x0 = torch.zeros(2, 3, dtype=torch.long)
    masked = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(
        ValueError,
        match=exact(
            "log_cond must have shape [B, L, V] with [B, L] = x0's shape (2, 4), got (2, 3, 4)"
        ),
    ):
        ao_arm_loss(log_cond, torch.zeros(2, 4, dtype=torch.long), masked)
    with pytest.raises(
        ValueError,
        match=exact("log_cond must be a [B, L, V] tensor, got shape (2, 3)"),
    ):
        ao_arm_loss(log_cond[..., 0], x0, masked)
    with pytest.raises(
        TypeError, match=exact("log_cond must be a torch.Tensor, got list")
    ):
        ao_arm_loss([[[0.0]]], x0, masked)
    with pytest.raises(
        ValueError,
        match=exact(
            "masked must be a boolean tensor of shape (2, 3), got (2, 3) torch.int64"
        ),
    ):
        ao_arm_loss(log_cond, x0, masked.long())
    with pytest.raises(
        ValueError,
        match=exact(
            "masked must be a boolean tensor of shape (2, 3), got (2, 2) torch.bool"
        ),
    ):
        ao_arm_loss(log_cond, x0, masked[:, :2])
    with pytest.raises(
        ValueError, match=exact("x0 holds token ids outside 0..3 (min 0, max 4)")
    ):
        ao_arm_loss(log_cond, x0 + 4 * torch.eye(2, 3, dtype=torch.long), masked)
    with pytest.raises(
        ValueError,
        match=exact("every row must have at least one masked position (k >= 1)"),
    ):
        ao_arm_loss(log_cond, x0, torch.tensor([[True, False, False], [False] * 3]))


def test_stratified_mask_probs_floor_order_and_errors():
    lam = stratified_mask_probs(100, gen(15), floor=0.3)
    assert (
        lam.dtype == torch.float64 and float(lam.min()) == 0.3 and float(lam.max()) <= 1
    )
    assert (
        int((lam == 0.3).sum()) >= 29
    )  # the 30 lowest slices are clamped (one may straddle)
    assert not torch.equal(lam, lam.sort().values)  # random order, not sorted
    again = stratified_mask_probs(100, gen(15), floor=0.3)
    assert torch.equal(lam, again)
    one = stratified_mask_probs(1, gen(1))
    assert one.shape == (1,) and 1e-3 <= float(one) <= 1
    tiny = stratified_mask_probs(2000, gen(2))
    assert float(tiny.min()) == 1e-3
    with pytest.raises(ValueError, match=exact("batch must be at least 1, got 0")):
        stratified_mask_probs(0)


# ---------------------------------------------------------------------------- bounds
def test_bounds_charge_zero_probability_tokens_1e300():
    """A model sure of the wrong token: each masked position costs -log(1e-300) (the floor)."""
    V = 3
    wrong = conditional_fn(
        lambda x: torch.nn.functional.one_hot(torch.full_like(x, 2), V).double(), V
    )
    x0 = torch.zeros(5, 4, dtype=torch.long)
    floor = -math.log(1e-300)
    ao = ao_arm_bound(wrong, x0, n_draws=3, generator=gen(1))
    torch.testing.assert_close(
        ao.per_sequence, torch.full((5,), 4 * floor, dtype=torch.float64)
    )
    assert ao.length == 4
    nll = chain_rule_nll(wrong, x0, [3, 1, 0, 2])
    torch.testing.assert_close(nll, torch.full((5,), 4 * floor, dtype=torch.float64))


def test_lambda_dce_bound_of_a_uniform_model_per_draw():
    """Uniform conditionals: each draw is final_mask_prob * (#masked / lambda) * log V."""
    V = 4
    x0 = torch.zeros(6, 5, dtype=torch.long)
    est = lambda_dce_bound(
        uniform_fn(V), x0, n_draws=1, generator=gen(3), final_mask_prob=0.5
    )
    g = gen(3)
    lam = stratified_mask_probs(6, g) * 0.5
    _, masked = mask_tokens(x0, lam, V, g)
    expected = 0.5 * masked.sum(1) / lam * math.log(V)
    torch.testing.assert_close(est.per_sequence, expected)
    two = lambda_dce_bound(uniform_fn(V), x0, n_draws=2, generator=gen(3))
    g = gen(3)
    draws = []
    for _ in range(2):
        lam = stratified_mask_probs(6, g)
        _, masked = mask_tokens(x0, lam, V, g)
        draws.append(masked.sum(1) / lam * math.log(V))
    torch.testing.assert_close(two.per_sequence, (draws[0] + draws[1]) / 2)


def test_ao_arm_bound_of_a_uniform_model_is_exact_for_any_number_of_draws():
    x0 = torch.zeros(3, 5, dtype=torch.long)
    for n in (1, 3):
        est = ao_arm_bound(uniform_fn(4), x0, n_draws=n, generator=gen(n))
        torch.testing.assert_close(
            est.per_sequence, torch.full((3,), 5 * math.log(4), dtype=torch.float64)
        )


def test_bound_and_chain_rule_messages():
    cond = uniform_fn(2)
    x0 = torch.zeros(2, 3, dtype=torch.long)
    for fn in (ao_arm_bound, lambda_dce_bound):
        with pytest.raises(
            ValueError, match=exact("n_draws must be at least 1, got 0")
        ):
            fn(cond, x0, n_draws=0)
        for bad in (x0[0], x0[:0], x0.numpy()):
            with pytest.raises(
                ValueError,
                match=exact("x0 must be a non-empty [B, L] tensor of tokens"),
            ):
                fn(cond, bad)
    with pytest.raises(
        ValueError,
        match=exact(
            "cond_fn must carry a vocab_size attribute; wrap it with conditional_fn(...)"
        ),
    ):
        ao_arm_bound(lambda x: x, x0)
    for bad in (0.0, 1.0001):
        with pytest.raises(
            ValueError, match=exact(f"final_mask_prob must be in (0, 1], got {bad!r}")
        ):
            lambda_dce_bound(cond, x0, final_mask_prob=bad)
    with pytest.raises(
        ValueError, match=exact("order must be a permutation of 0..2, got [0, 1]")
    ):
        chain_rule_nll(cond, x0, [0, 1])
    with pytest.raises(
        ValueError, match=exact("order must be a permutation of 0..2, got [0, 2, 2]")
    ):
        chain_rule_nll(cond, x0, [0, 2, 2])


def test_chain_rule_nll_by_hand():
    """A conditional function that sees how many tokens are revealed: the order matters."""

    def fn(x):
        revealed = (x != 2).sum(1, keepdim=True).double()  # [B, 1]
        p1 = (0.2 + 0.3 * revealed)[..., None].expand(*x.shape, 1)
        return torch.cat([1 - p1, p1], -1)

    cond = conditional_fn(fn, 2)
    x0 = torch.tensor([[1, 0, 1]])
    # order 0, 1, 2: p(1) = 0.2, then p(0) = 1 - 0.5, then p(1) = 0.8
    expected = -math.log(0.2) - math.log(0.5) - math.log(0.8)
    assert float(chain_rule_nll(cond, x0, [0, 1, 2])) == pytest.approx(expected)
    # order 1, 2, 0: p(0) = 0.8 with nothing revealed, then p(1) = 0.5, then p(1) = 0.8
    assert float(chain_rule_nll(cond, x0, torch.tensor([1, 2, 0]))) == pytest.approx(
        -math.log(0.8) - math.log(0.5) - math.log(0.8)
    )


def test_conditional_fn_checks_its_output():
    bad_shape = conditional_fn(lambda x: torch.full((*x.shape, 3), 0.5), 2)
    with pytest.raises(
        ValueError,
        match=exact(
            "the conditional function returned shape (1, 2, 3), expected (1, 2, 2)"
        ),
    ):
        bad_shape(torch.zeros(1, 2, dtype=torch.long))
    for value in (-0.1, 1.00001):
        fn = conditional_fn(lambda x, v=value: torch.full((*x.shape, 2), v), 2)
        with pytest.raises(
            ValueError,
            match=exact("the conditional function returned values outside [0, 1]"),
        ):
            fn(torch.zeros(1, 2, dtype=torch.long))
    edge = conditional_fn(lambda x: torch.full((*x.shape, 2), 1 + 1e-7), 2)
    assert edge(torch.zeros(1, 2, dtype=torch.long)).shape == (1, 2, 2)
    assert edge.vocab_size == 2


# ---------------------------------------------------------------------------- the sampler
def test_reveal_probability_values_and_errors():
    assert reveal_probability(0, 1) == 1.0 and reveal_probability(3, 4) == 1.0
    assert reveal_probability(0, 4) == pytest.approx(0.25)
    assert reveal_probability(1, 4, eps=0.1) == pytest.approx(1 / 3)
    assert reveal_probability(2, 4, eps=0.5) == pytest.approx(0.5)
    for step, steps in ((4, 4), (-1, 4), (0, 0)):
        with pytest.raises(
            ValueError,
            match=exact(f"need 0 <= step < steps, got step={step}, steps={steps}"),
        ):
            reveal_probability(step, steps)


def test_cached_sampler_nfe_on_small_cases():
    src = two_state()
    cond = exact_conditional_fn(src)
    one = sample_absorbing(cond, 50, 1, 8, cache=True, generator=gen(0))
    assert torch.equal(
        one.nfe, torch.ones(50, dtype=torch.long)
    )  # one token: one evaluation
    plain = sample_absorbing(cond, 50, 1, 8, cache=False, generator=gen(0))
    assert torch.equal(plain.nfe, torch.full((50,), 8)) and plain.mean_nfe == 8.0
    assert torch.equal(one.samples, plain.samples) and one.samples.shape == (50, 1)
    # one step reveals everything at once
    single = sample_absorbing(cond, 20, 6, 1, generator=gen(1))
    assert torch.equal(single.nfe, torch.ones(20, dtype=torch.long))
    # a row is evaluated at the start and after every step that revealed a token,
    # while it still has masked tokens
    calls = []

    def counting(x):
        calls.append(x.shape[0])
        return cond(x)

    counted = conditional_fn(counting, 2)
    res = sample_absorbing(counted, 30, 3, 5, generator=gen(2))
    assert sum(calls) == int(res.nfe.sum()) and calls[0] == 30
    for n, length, steps in ((0, 2, 2), (2, 0, 2), (2, 2, 0)):
        with pytest.raises(
            ValueError,
            match=exact(
                f"need n, length and steps >= 1, got n={n}, length={length}, steps={steps}"
            ),
        ):
            sample_absorbing(cond, n, length, steps)


def test_sampler_one_step_draws_each_token_from_its_marginal():
    src = MarkovChainSource([[0.5, 0.5], [0.5, 0.5]], [0.1, 0.9])
    x = sample_absorbing(
        exact_conditional_fn(src), 20000, 1, 1, generator=gen(5)
    ).samples
    assert abs(float(x.double().mean()) - 0.9) < 0.01
    a = sample_absorbing(exact_conditional_fn(src), 100, 4, 3, generator=gen(6)).samples
    b = sample_absorbing(exact_conditional_fn(src), 100, 4, 3, generator=gen(6)).samples
    assert torch.equal(a, b)


def test_expected_nfe_by_hand():
    assert expected_nfe(2, 2) == pytest.approx(1.5)
    assert expected_nfe(4, 3) == pytest.approx(4 * (1 - 0.75**3))
    for steps, length in ((0, 3), (3, 0)):
        with pytest.raises(
            ValueError,
            match=exact(f"steps and length must be at least 1, got {steps}, {length}"),
        ):
            expected_nfe(steps, length)


def test_bound_estimate_by_hand():
    est = BoundEstimate(torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64), length=2)
    assert est.per_token == 2.0
    assert est.stderr_per_token == pytest.approx(2.0 / math.sqrt(3) / 2)
    assert np.isclose(est.stderr_per_token, stats.sem([2.0, 4.0, 6.0]) / 2)


# ---------------------------------------------------------------------------- bad input
def test_bad_input_messages_name_the_argument():
    with pytest.raises(
        TypeError, match=exact("t must be a number or an array of numbers, got 'a'")
    ):
        log_linear_sigma_bar("a")
    with pytest.raises(TypeError, match="^sigma_bar must be a number or an array"):
        concrete_score_scalar(np.array(["a"]))
    with pytest.raises(TypeError, match="^mask_prob must be a number or an array"):
        mask_tokens(torch.zeros(1, 2, dtype=torch.long), "x", 2)
    x_t = torch.tensor([[2, 0]])
    with pytest.raises(
        TypeError,
        match=exact("conditionals must be a float tensor, got dtype torch.int64"),
    ):
        concrete_score(torch.zeros(1, 2, 2, dtype=torch.long), x_t, 0.5, 2)
    nan = torch.full((1, 2, 2), 0.5)
    nan[0, 1, 1] = float("nan")
    with pytest.raises(
        ValueError, match=exact("conditionals must be probabilities in [0, 1]")
    ):
        concrete_score(nan, x_t, 0.5, 2)
    for args, name, value in (((0, 2), "vocab_size", 0), ((2, -1), "length", -1)):
        with pytest.raises(
            ValueError, match=exact(f"{name} must be a positive integer, got {value}")
        ):
            all_sequences(*args)
    for floor in (-0.1, 1.1, float("nan")):
        with pytest.raises(
            ValueError, match=exact(f"floor must lie in [0, 1], got {floor}")
        ):
            stratified_mask_probs(3, floor=floor)
    assert float(stratified_mask_probs(4, gen(0), floor=1.0).min()) == 1.0
    assert float(stratified_mask_probs(4, gen(0), floor=0.0).min()) > 0
    for eps in (1.0, -0.5, float("nan")):
        with pytest.raises(
            ValueError, match=exact(f"eps must lie in [0, 1), got {eps}")
        ):
            reveal_probability(0, 3, eps=eps)
    assert reveal_probability(0, 3, eps=0.0) == pytest.approx(1 / 3)
    with pytest.raises(
        ValueError, match=exact("samples holds token ids outside 0..1 (min 0, max 2)")
    ):
        oracle_nll_per_token(two_state(), torch.tensor([[0, 2]]))


def test_schedule_with_eps_zero():
    assert float(log_linear_sigma_bar(0.5, eps=0)) == pytest.approx(math.log(2))
    message = exact(
        "t = 1 with eps = 0 gives sigma_bar = infinity (every token masked); "
        "use eps > 0 or t < 1"
    )
    for t in (1.0, [0.5, 1.0]):
        with pytest.raises(ValueError, match=message):
            log_linear_sigma_bar(t, eps=0.0)
    assert float(log_linear_sigma_bar(1.0, eps=0.5)) == pytest.approx(math.log(2))


def test_mask_k_tokens_checks_x0_and_uses_the_generator():
    x0 = torch.zeros(3, 6, dtype=torch.long)
    k = torch.tensor([1, 3, 5])
    a = mask_k_tokens(x0, k, 3, gen(7))[1]
    assert torch.equal(a, mask_k_tokens(x0, k, 3, gen(7))[1])
    assert not torch.equal(a, mask_k_tokens(x0, k, 3, gen(8))[1])
    with pytest.raises(
        ValueError, match=exact("x0 holds token ids outside 0..2 (min 0, max 3)")
    ):
        mask_k_tokens(x0 + 3 * torch.eye(3, 6, dtype=torch.long), k, 3)


def test_conditional_mlp_defaults_and_token_check():
    model = ConditionalMLP(2, 3)
    assert model.embed.embedding_dim == 16 and model.body[0].out_features == 256
    with pytest.raises(
        ValueError,
        match=exact("x_t holds token ids outside 0..2 or the mask id 3 (min 0, max 4)"),
    ):
        model(torch.tensor([[0, 4]]))


def test_log_prob_checks_at_exactly_the_tolerance():
    """A value of exactly atol = 1e-3 is allowed, and so is a total of exactly exp(1e-3)."""
    one = torch.tensor([[[1e-3]]], dtype=torch.float64)  # V = 1
    x0 = torch.zeros(1, 1, dtype=torch.long)
    masked = torch.ones(1, 1, dtype=torch.bool)
    assert float(lambda_dce_loss(one, x0, masked, 1.0)) == pytest.approx(-1e-3)
    over = torch.tensor([[[0.0011]]], dtype=torch.float64)
    with pytest.raises(ValueError, match="got a largest value 0.0011; "):
        lambda_dce_loss(over, x0, masked, 1.0)
    low = torch.log(torch.tensor([[[0.5, 0.497]]], dtype=torch.float64))
    with pytest.raises(
        ValueError,
        match=exact(
            "log_cond must hold log-probabilities: exp(log_cond) must sum to 1 over "
            "the vocabulary at each masked position, got a sum of 0.997; "
            "pass log_softmax(logits), not logits"
        ),
    ):
        lambda_dce_loss(low, x0, masked, 1.0)
    nan = torch.tensor([[[float("nan"), 0.0]]])
    with pytest.raises(
        ValueError,
        match=exact(
            "log_cond must hold log-probabilities (<= 0, no NaN), got a largest value inf; "
            "pass log_softmax(logits), not logits"
        ),
    ):
        lambda_dce_loss(nan, x0, masked, 1.0)


def test_stratified_mask_probs_have_float64_resolution():
    one = stratified_mask_probs(1, gen(1))
    assert one.dtype == torch.float64 and float(one) != float(one.float())
    assert float(stratified_mask_probs(3, gen(0), floor=0.0).max()) < 1.0


def test_more_boundaries_and_names():
    cond = torch.full((2, 3, 2), 0.5)
    x_t = torch.tensor([[2, 0, 2], [1, 2, 2]])
    with pytest.raises(
        ValueError,
        match=exact("sigma_bar must be a number or have shape [2], got (3,)"),
    ):
        concrete_score(cond, x_t, [0.5, 0.5, 0.5], 2)
    out = concrete_score(cond.half(), x_t, math.log(2), 2)
    assert out.dtype == torch.float64 and float(out[0, 0, 0]) == 0.5
    edge = torch.full((2, 3, 2), 1 + 1e-6, dtype=torch.float64)  # exactly the tolerance
    assert concrete_score(edge, x_t, 0.5, 2).shape == (2, 3, 2)
    fn = conditional_fn(
        lambda x: torch.full((*x.shape, 2), 1 + 1e-6, dtype=torch.float64), 2
    )
    assert fn(x_t).shape == (2, 3, 2)
    with pytest.raises(
        ValueError,
        match=exact("x_t holds token ids outside 0..1 or the mask id 2 (min 0, max 3)"),
    ):
        noisy_marginal(two_state(), torch.tensor([[0, 3]]), 0.5)
    out = noisy_marginal(two_state(), torch.tensor([[0, 1]]), 0.5)
    assert out.dtype == torch.float64
    assert float(out) == pytest.approx(0.3 * 0.1 * math.exp(-1.0), rel=1e-12)
    # the last step reveals everything, even when 1 - step / steps rounds to 0
    assert reveal_probability(10**17 - 1, 10**17) == 1.0
