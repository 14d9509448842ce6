"""Bad-input rows of utils.discrete_diffusion (chapter 13); the format is in ``__init__.py``."""

from __future__ import annotations

import torch

from bad_inputs import Row
from utils import discrete_diffusion as dd

V = 4  # vocabulary; the mask id is V


def _gen():
    return torch.Generator().manual_seed(0)


def _dce():
    g = _gen()
    log_cond = torch.log_softmax(torch.randn(3, 5, V, generator=g), -1)
    x0 = torch.randint(0, V, (3, 5), generator=g)
    masked = torch.ones(3, 5, dtype=torch.bool)
    return {"log_cond": log_cond, "x0": x0, "masked": masked, "mask_prob": 0.5}


def _ao():
    kw = _dce()
    del kw["mask_prob"]
    return kw


def _x0():
    return torch.randint(0, V, (3, 5), generator=_gen())


def _x_t():
    return torch.tensor([[0, V, 2], [V, 1, V]])


def _conditionals():
    g = torch.Generator().manual_seed(1)
    return {
        "conditionals": torch.softmax(torch.randn(2, 3, V, generator=g), -1),
        "x_t": _x_t(),
        "sigma_bar": 0.7,
        "mask_id": V,
    }


def _source():
    return dd.sticky_chain(V)


def _noisy():
    return {"source": _source(), "x_t": _x_t(), "sigma_bar": 0.5}


def _cond():
    return dd.exact_conditional_fn(_source())


TOKENS = ("id", "shape", "empty", "dtype")

ROWS = [
    Row(
        dd.sticky_chain,
        lambda: {"vocab_size": 3, "stay": 0.5},
        "stay",
        ("nan", "inf", "prob"),
    ),
    Row(
        dd.sticky_chain,
        lambda: {"vocab_size": 3, "stay": 0.5},
        "vocab_size",
        ("negative",),
    ),
    Row(
        dd.log_linear_sigma_bar,
        lambda: {"t": torch.tensor([0.0, 0.5, 1.0])},
        "t",
        ("nan", "inf", "prob"),
    ),
    Row(
        dd.mask_tokens,
        lambda: {"x0": _x0(), "mask_prob": 0.5, "mask_id": V},
        "x0",
        TOKENS,
        vocab=V,
    ),
    Row(
        dd.mask_tokens,
        lambda: {"x0": _x0(), "mask_prob": torch.tensor([0.2, 0.5, 1.0]), "mask_id": V},
        "mask_prob",
        ("nan", "inf", "prob", "shape", "empty"),
    ),
    Row(
        dd.mask_k_tokens,
        lambda: {"x0": _x0(), "k": torch.tensor([1, 3, 5]), "mask_id": V},
        "x0",
        TOKENS,
        vocab=V,
    ),
    Row(
        dd.mask_k_tokens,
        lambda: {"x0": _x0(), "k": torch.tensor([1, 3, 5]), "mask_id": V},
        "k",
        ("id", "shape", "empty", "dtype", "negative"),
        vocab=6,
    ),
    Row(
        dd.concrete_score_scalar,
        lambda: {"sigma_bar": torch.tensor([0.5])},
        "sigma_bar",
        ("nan", "inf", "negative"),
    ),
    Row(
        dd.concrete_score,
        _conditionals,
        "conditionals",
        ("nan", "inf", "prob", "shape", "empty", "dtype"),
    ),
    Row(dd.concrete_score, _conditionals, "x_t", TOKENS, vocab=V + 1),
    Row(dd.concrete_score, _conditionals, "sigma_bar", ("nan", "inf", "negative")),
    Row(
        dd.all_sequences,
        lambda: {"vocab_size": 2, "length": 3},
        "vocab_size",
        ("negative",),
    ),
    Row(
        dd.all_sequences,
        lambda: {"vocab_size": 2, "length": 3},
        "length",
        ("negative",),
    ),
    Row(dd.noisy_marginal, _noisy, "x_t", TOKENS, vocab=V + 1),
    Row(dd.noisy_marginal, _noisy, "sigma_bar", ("nan", "negative")),
    Row(dd.brute_force_concrete_score, _noisy, "x_t", TOKENS, vocab=V + 1),
    Row(dd.brute_force_concrete_score, _noisy, "sigma_bar", ("nan", "negative")),
    Row(
        dd.lambda_dce_loss, _dce, "log_cond", ("nan", "inf", "shape", "empty", "logits")
    ),
    Row(dd.lambda_dce_loss, _dce, "x0", TOKENS, vocab=V),
    Row(dd.lambda_dce_loss, _dce, "mask_prob", ("nan", "inf", "prob")),
    Row(dd.lambda_dce_loss, _dce, "masked", ("dtype", "shape", "empty")),
    Row(dd.ao_arm_loss, _ao, "log_cond", ("nan", "inf", "shape", "empty", "logits")),
    Row(dd.ao_arm_loss, _ao, "x0", TOKENS, vocab=V),
    Row(dd.ao_arm_loss, _ao, "masked", ("dtype", "shape", "empty")),
    Row(
        dd.stratified_mask_probs,
        lambda: {"batch": 4, "floor": 0.01},
        "batch",
        ("negative",),
    ),
    Row(
        dd.stratified_mask_probs,
        lambda: {"batch": 4, "floor": 0.01},
        "floor",
        ("nan", "inf", "prob"),
    ),
    *[
        Row(
            f,
            lambda: {"cond_fn": _cond(), "x0": _x0(), "n_draws": 1},
            "x0",
            TOKENS,
            vocab=V,
        )
        for f in (dd.ao_arm_bound, dd.lambda_dce_bound)
    ],
    *[
        Row(
            f,
            lambda: {"cond_fn": _cond(), "x0": _x0(), "n_draws": 1},
            "n_draws",
            ("negative",),
        )
        for f in (dd.ao_arm_bound, dd.lambda_dce_bound)
    ],
    Row(
        dd.lambda_dce_bound,
        lambda: {"cond_fn": _cond(), "x0": _x0(), "n_draws": 1, "final_mask_prob": 0.9},
        "final_mask_prob",
        ("nan", "inf", "prob"),
    ),
    Row(
        dd.chain_rule_nll,
        lambda: {
            "cond_fn": _cond(),
            "x0": _x0(),
            "order": torch.tensor([4, 0, 3, 1, 2]),
        },
        "x0",
        TOKENS,
        vocab=V,
    ),
    Row(
        dd.chain_rule_nll,
        lambda: {
            "cond_fn": _cond(),
            "x0": _x0(),
            "order": torch.tensor([4, 0, 3, 1, 2]),
        },
        "order",
        ("id", "shape", "empty"),
        vocab=5,
    ),
    Row(
        dd.reveal_probability, lambda: {"step": 1, "steps": 4}, "step", ("id",), vocab=4
    ),
    Row(dd.reveal_probability, lambda: {"step": 1, "steps": 4}, "steps", ("negative",)),
    Row(
        dd.reveal_probability,
        lambda: {"step": 1, "steps": 4, "eps": 0.1},
        "eps",
        ("nan", "prob"),
    ),
    *[
        Row(
            dd.sample_absorbing,
            lambda: {"cond_fn": _cond(), "n": 2, "length": 3, "steps": 2},
            arg,
            ("negative",),
        )
        for arg in ("n", "length", "steps")
    ],
    Row(dd.expected_nfe, lambda: {"steps": 4, "length": 3}, "steps", ("negative",)),
    Row(dd.expected_nfe, lambda: {"steps": 4, "length": 3}, "length", ("negative",)),
    Row(
        dd.oracle_nll_per_token,
        lambda: {"source": _source(), "samples": _x0()},
        "samples",
        TOKENS,
        vocab=V,
    ),
]

KNOWN_GAPS: dict[tuple[str, str], str] = {}

NO_ARRAY_INPUT = {
    "discrete_diffusion.network_conditionals": "its input is a network (nn.Module)",
    "discrete_diffusion.conditional_fn": "wraps a function; its output is checked on each call",
    "discrete_diffusion.exact_conditional_fn": "its input is a MarkovChainSource",
    "discrete_diffusion.model_conditional_fn": "its inputs are a network and a vocabulary size",
}
