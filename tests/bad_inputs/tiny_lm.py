"""Bad-input rows of utils.tiny_lm (the shared tiny language model); format in ``__init__.py``."""

from __future__ import annotations

import torch

from bad_inputs import Row
from utils.tiny_lm import (
    TinyLM,
    TinyLMConfig,
    attention_allowed,
    causal_mask,
    generate_greedy,
    next_token_loss,
    train_next_token,
)

V = 12
TOKENS = ("id", "shape", "empty", "dtype")


def _model():
    torch.manual_seed(0)
    config = TinyLMConfig(
        vocab_size=V, d_model=8, n_heads=2, n_layers=1, d_ff=16, max_len=8
    )
    return TinyLM(config).eval()


def _tokens(B=3, T=5):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(1))


def _pad():
    pad = torch.zeros(2, 4, dtype=torch.bool)
    pad[:, 3] = True
    return {"T": 4, "causal": True, "pad_mask": pad}


ROWS = [
    Row(causal_mask, lambda: {"T": 4}, "T", ("negative", "dtype")),
    Row(attention_allowed, _pad, "T", ("negative", "dtype")),
    Row(attention_allowed, _pad, "pad_mask", ("shape", "dtype")),
    Row(
        next_token_loss,
        lambda: {"model": _model(), "batch": _tokens()},
        "batch",
        TOKENS,
        vocab=V,
    ),
    Row(
        train_next_token,
        lambda: {"model": _model(), "tokens": _tokens(), "steps": 1, "batch_size": 2},
        "tokens",
        TOKENS,
        vocab=V,
    ),
    Row(
        train_next_token,
        lambda: {"model": _model(), "tokens": _tokens(), "steps": 1, "batch_size": 2},
        "steps",
        ("negative",),
    ),
    Row(
        generate_greedy,
        lambda: {"model": _model(), "prompt": _tokens(T=3), "n_new": 2},
        "prompt",
        TOKENS,
        vocab=V,
    ),
    Row(
        generate_greedy,
        lambda: {"model": _model(), "prompt": _tokens(T=3), "n_new": 2},
        "n_new",
        ("negative",),
    ),
    Row(
        generate_greedy,
        lambda: {
            "model": _model(),
            "prompt": _tokens(T=3),
            "n_new": 1,
            "allowed": [1, 4],
        },
        "allowed",
        ("id", "empty"),
        vocab=V,
    ),
]

NO_ARRAY_INPUT = {
    "tiny_lm.frozen_copy": "its input is a model",
}
