"""Unit tests of utils.tiny_lm, the course's shared tiny transformer language model."""

from __future__ import annotations

import pytest
import torch

from utils.tiny_lm import (
    TinyLM,
    TinyLMConfig,
    WordTokenizer,
    causal_mask,
    generate_greedy,
    next_token_loss,
    train_next_token,
)


def small_model(causal=True, seed=0, **kw) -> TinyLM:
    torch.manual_seed(seed)
    config = dict(
        vocab_size=20,
        d_model=16,
        n_heads=2,
        n_layers=3,
        d_ff=32,
        max_len=12,
        causal=causal,
    )
    config.update(kw)
    return TinyLM(TinyLMConfig(**config)).eval()


def tokens(B=4, T=9, V=20, seed=1) -> torch.Tensor:
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ agreement with torch.nn
@pytest.mark.parametrize("causal", [True, False])
def test_block_matches_torch_encoder_layer(causal):
    """One block = nn.TransformerEncoderLayer(norm_first=True, gelu, no dropout) with the same weights."""
    torch.manual_seed(0)
    reference = torch.nn.TransformerEncoderLayer(
        16, 4, 40, dropout=0.0, activation="gelu", norm_first=True, batch_first=True
    ).eval()
    # make LayerNorm and bias parameters non-trivial so a swapped or missing one is caught
    with torch.no_grad():
        for name, p in reference.named_parameters():
            if "norm" in name or "bias" in name:
                p.normal_()
    model = small_model(d_model=16, n_heads=4, d_ff=40, causal=causal)
    block = model.blocks[0]
    block.load_state_dict(reference.state_dict())
    x = torch.randn(3, 7, 16)
    mask = causal_mask(7) if causal else None
    with torch.no_grad():
        expected = reference(x, src_mask=mask, is_causal=causal)
        ours = block(x, None if mask is None else ~mask)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


def test_block_differs_from_reference_without_the_mask():
    """The agreement above is not vacuous: dropping the causal mask changes the output."""
    model = small_model()
    x = torch.randn(2, 6, 16)
    with torch.no_grad():
        assert not torch.allclose(
            model.blocks[0](x, ~causal_mask(6)), model.blocks[0](x), atol=1e-4
        )


# ------------------------------------------------------------------ causality and masking
def test_causal_model_ignores_later_tokens():
    model = small_model(causal=True)
    x = tokens()
    y = x.clone()
    y[:, 5:] = (y[:, 5:] + 1) % 20  # change tokens from position 5 on
    with torch.no_grad():
        a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :5], b[:, :5])  # earlier logits unchanged
    assert not torch.allclose(a[:, 5:], b[:, 5:])  # later ones do change


def test_bidirectional_model_sees_later_tokens():
    model = small_model(causal=False)
    x = tokens()
    y = x.clone()
    y[:, -1] = (y[:, -1] + 1) % 20
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, 0], model(y)[:, 0])


def test_padding_on_the_right_does_not_change_real_positions():
    model = small_model()
    x = tokens(B=2, T=6)
    padded = torch.cat([x, torch.zeros(2, 3, dtype=torch.long)], dim=1)
    pad_mask = torch.zeros(2, 9, dtype=torch.bool)
    pad_mask[:, 6:] = True
    with torch.no_grad():
        torch.testing.assert_close(model(padded, pad_mask=pad_mask)[:, :6], model(x))


# ------------------------------------------------------------------ ffn_keep
def test_ffn_keep_all_ones_equals_no_mask():
    model = small_model()
    x = tokens()
    keep = torch.ones(model.n_layers, 1, x.shape[1])
    with torch.no_grad():
        torch.testing.assert_close(model(x, ffn_keep=keep), model(x))
        keep_b = torch.ones(model.n_layers, x.shape[0], x.shape[1])
        torch.testing.assert_close(model(x, ffn_keep=keep_b), model(x))


def test_ffn_keep_zero_skips_the_feed_forward_update():
    """Zero at (layer l, position t): block l's output at t is its post-attention state there."""
    model = small_model(causal=False)
    x = tokens(B=2, T=5)
    keep = torch.ones(model.n_layers, 1, 5)
    keep[1, 0, 2] = 0
    with torch.no_grad():
        _, hidden = model(x, ffn_keep=keep, return_hidden=True)
        block = model.blocks[1]
        h_in = hidden[1]
        after_attn = h_in + block.self_attn(block.norm1(h_in))
        full = block(h_in)
    torch.testing.assert_close(hidden[2][:, 2], after_attn[:, 2])
    torch.testing.assert_close(hidden[2][:, [0, 1, 3, 4]], full[:, [0, 1, 3, 4]])
    assert not torch.allclose(hidden[2][:, 2], full[:, 2])


# ------------------------------------------------------------------ shapes and embeds
def test_shapes_and_hidden_states():
    model = small_model()
    x = tokens(B=4, T=9)
    logits, hidden = model(x, return_hidden=True)
    assert logits.shape == (4, 9, 20)
    assert len(hidden) == model.n_layers + 1
    assert all(h.shape == (4, 9, 16) for h in hidden)


def test_forward_embeds_equals_forward_on_token_embeddings():
    model = small_model()
    x = tokens()
    with torch.no_grad():
        logits_e, hidden_e = model.forward_embeds(model.embed(x))
        logits, hidden = model(x, return_hidden=True)
    torch.testing.assert_close(logits_e, logits)
    torch.testing.assert_close(hidden_e[-1], hidden[-1])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "bad, error",
    [
        (torch.zeros(4, dtype=torch.long), ValueError),  # not [B, T]
        (torch.full((2, 3), 20, dtype=torch.long), ValueError),  # id outside vocabulary
        (torch.zeros(2, 13, dtype=torch.long), ValueError),  # longer than max_len
        (torch.zeros(2, 3), TypeError),  # floats, not ids
        (torch.zeros(0, 3, dtype=torch.long), ValueError),  # empty
    ],
)
def test_bad_tokens_raise(bad, error):
    with pytest.raises(error):
        small_model()(bad)


def test_bad_embeds_and_masks_raise():
    model = small_model()
    with pytest.raises(ValueError, match="shape"):
        model.forward_embeds(torch.randn(2, 5, 8))  # wrong width
    with pytest.raises(ValueError, match="ffn_keep"):
        model(tokens(T=5), ffn_keep=torch.ones(2, 1, 5))  # wrong number of layers
    with pytest.raises(ValueError, match="ffn_keep"):
        model(tokens(B=4, T=5), ffn_keep=torch.ones(3, 2, 5))  # batch neither B nor 1
    with pytest.raises(ValueError, match="0s and 1s"):
        model(tokens(T=5), ffn_keep=torch.full((3, 1, 5), 0.5))
    with pytest.raises(ValueError, match="pad_mask"):
        model(tokens(T=5), pad_mask=torch.zeros(4, 5))  # not boolean


def test_bad_config_raises():
    with pytest.raises(ValueError, match="divisible"):
        TinyLMConfig(vocab_size=10, d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="vocab_size"):
        TinyLMConfig(vocab_size=0)


# ------------------------------------------------------------------ tokenizer
def test_word_and_char_tokenizers_round_trip():
    tok = WordTokenizer.fit(["the cat sat", "the dog"])
    assert tok.tokens == ["<pad>", "the", "cat", "sat", "dog"]
    batch = tok.encode_batch(["the dog", "the cat sat"])
    assert batch.tolist() == [[1, 4, 0], [1, 2, 3]]
    assert tok.decode(batch[0]) == "the dog"
    chars = WordTokenizer.fit(["abba"], level="char")
    assert chars.decode(chars.encode("baab")) == "baab"
    with pytest.raises(KeyError, match="'cow'"):
        tok.encode("the cow")
    with pytest.raises(ValueError, match="longer|more than"):
        tok.encode_batch(["the cat sat"], length=2)
    with pytest.raises(TypeError):
        WordTokenizer.fit("a single string")


# ------------------------------------------------------------------ training and generation
def test_training_learns_a_deterministic_sequence_and_greedy_decodes_it():
    """A counting corpus (t, t+1, t+2, ...) is learnt; greedy generation then continues it."""
    model = small_model(seed=0, vocab_size=12, n_layers=2)
    starts = torch.arange(12)[:, None]
    corpus = (starts + torch.arange(6)[None, :]) % 12  # [12, 6]
    log = train_next_token(
        model, corpus.repeat(20, 1), steps=150, batch_size=64, lr=1e-2, seed=0
    )
    assert log.losses[-1] < 0.1 * log.losses[0]
    out = generate_greedy(model, corpus[:, :2], n_new=3)
    assert out.shape == (12, 5)
    assert torch.equal(out, corpus[:, :5])
    restricted = generate_greedy(model, corpus[:, :2], n_new=1, allowed=[0, 1])
    assert set(restricted[:, -1].tolist()) <= {0, 1}


def test_next_token_loss_weight_selects_positions():
    model = small_model()
    x = tokens(B=3, T=6)
    weight = torch.zeros(3, 5)
    weight[:, -1] = 1
    logits = model(x[:, :-1])
    expected = torch.nn.functional.cross_entropy(logits[:, -1], x[:, -1])
    torch.testing.assert_close(next_token_loss(model, (x, weight)), expected)
    with pytest.raises(ValueError, match="zero everywhere"):
        next_token_loss(model, (x, torch.zeros(3, 5)))


def test_generation_needs_a_causal_model():
    with pytest.raises(ValueError, match="causal"):
        generate_greedy(small_model(causal=False), tokens(T=3), n_new=1)


def test_frozen_copy_is_a_fixed_reference():
    from utils.tiny_lm import frozen_copy

    model = small_model()
    model.train()
    frozen = frozen_copy(model)
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    assert all(p.requires_grad for p in model.parameters())  # the original is untouched
    x = tokens()
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), model.eval()(x))
