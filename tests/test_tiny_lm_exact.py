"""Exact tests of utils.tiny_lm: messages, boundaries, the forward pass piece by piece against
torch.nn references, the initialisation, the batches the trainer draws, and the tokenizer."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from utils.tiny_lm import (
    Block,
    SelfAttention,
    TinyLM,
    TinyLMConfig,
    WordTokenizer,
    attention_allowed,
    causal_mask,
    frozen_copy,
    generate_greedy,
    next_token_loss,
    train_next_token,
)


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def model(seed=0, **kw) -> TinyLM:
    torch.manual_seed(seed)
    config = dict(vocab_size=20, d_model=16, n_heads=2, n_layers=3, d_ff=32, max_len=12)
    return TinyLM(TinyLMConfig(**(config | kw))).eval()


def ids(B=4, T=9, V=20, seed=1) -> torch.Tensor:
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------- tokenizer
def test_tokenizer_vocabulary_rules_and_messages():
    with pytest.raises(
        ValueError, match=exact("level must be 'word' or 'char', got 'byte'")
    ):
        WordTokenizer(["a"], level="byte")
    with pytest.raises(ValueError, match=exact("the vocabulary has duplicate tokens")):
        WordTokenizer(["a", "b", "a"])
    with pytest.raises(ValueError, match=exact("the vocabulary is empty")):
        WordTokenizer([])
    tok = WordTokenizer(["x", "y"], level="char")
    assert tok.index == {"x": 0, "y": 1} and len(tok) == 2 and tok.level == "char"


def test_fit_keeps_specials_first_once_and_units_in_order():
    tok = WordTokenizer.fit(["b a b", "c a"], specials=("<s>", "<pad>", "<s>"))
    assert tok.tokens == ["<s>", "<pad>", "b", "a", "c"] and tok.level == "word"
    assert tok.pad_id == 1
    chars = WordTokenizer.fit(["ab ", "ba"], level="char")
    assert chars.tokens == ["<pad>", "a", "b", " "] and chars.level == "char"
    assert WordTokenizer.fit([]).tokens == ["<pad>"]
    with pytest.raises(
        TypeError, match=exact("texts must be a list of strings, not one string")
    ):
        WordTokenizer.fit("a b")
    with pytest.raises(TypeError, match=exact("expected a string, got int")):
        WordTokenizer.fit(["a", 3])


def test_ids_encode_and_unknown_tokens():
    tok = WordTokenizer.fit(["the cat sat", "the dog"])
    assert [tok.id(w) for w in ("<pad>", "the", "dog")] == [0, 1, 4]
    assert tok.encode("dog  the\tcat") == [4, 1, 2]
    with pytest.raises(KeyError) as info:
        tok.id("cow")
    assert info.value.args[0] == "unknown token 'cow' (not in the 5-token vocabulary)"
    with pytest.raises(KeyError):
        _ = WordTokenizer(["a"]).pad_id


def test_encode_batch_padding_and_lengths():
    tok = WordTokenizer.fit(["a b c", "d"], specials=("<s>", "<pad>"))  # pad id 1
    out = tok.encode_batch(["a b", "d"])
    assert out.dtype == torch.long and out.tolist() == [[2, 3], [5, 1]]
    assert tok.encode_batch(["d"], length=3).tolist() == [[5, 1, 1]]
    assert tok.encode_batch(["a b c"], length=3).tolist() == [[2, 3, 4]]
    with pytest.raises(
        ValueError, match=exact("a text has 3 tokens, more than length=2")
    ):
        tok.encode_batch(["a", "a b c"], length=2)
    with pytest.raises(ValueError, match=exact("encode_batch needs at least one text")):
        tok.encode_batch([])
    # a vocabulary without <pad> encodes texts of equal length (nothing to pad)
    bare = WordTokenizer(["x", "y"])
    assert bare.encode_batch(["x y", "y x"]).tolist() == [[0, 1], [1, 0]]
    assert bare.encode_batch(["x y"], length=2.0).tolist() == [[0, 1]]
    with pytest.raises(KeyError):
        bare.encode_batch(["x y", "y"])


def test_decode_bounds_pad_and_levels():
    tok = WordTokenizer.fit(["the cat"])
    assert tok.decode([1, 0, 2]) == "the cat"
    assert tok.decode(torch.tensor([1, 0, 2]), skip_pad=False) == "the <pad> cat"
    assert tok.decode(np.array([2])) == "cat" and tok.decode([]) == ""
    for bad in (3, -1):
        with pytest.raises(
            ValueError, match=exact(f"token id {bad} is outside the vocabulary [0, 3)")
        ):
            tok.decode([1, bad, 9])
    chars = WordTokenizer(["a", "b"], level="char")
    assert chars.decode([0, 1, 1]) == "abb"


# ---------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "name", ["vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_len"]
)
@pytest.mark.parametrize("bad", [0, True, 2.0, "3"])
def test_config_sizes_must_be_positive_integers(name, bad):
    kwargs = dict(vocab_size=10, d_model=4, n_heads=1) | {name: bad}
    with pytest.raises(
        ValueError, match=exact(f"{name} must be a positive integer, got {bad!r}")
    ):
        TinyLMConfig(**kwargs)


def test_config_accepts_ones_and_numpy_integers_and_checks_dropout():
    c = TinyLMConfig(1, d_model=1, n_heads=1, n_layers=1, d_ff=1, max_len=1)
    assert (c.vocab_size, c.causal, c.dropout) == (1, True, 0.0)
    assert TinyLMConfig(np.int64(5), d_model=np.int32(8)).d_model == 8
    with pytest.raises(
        ValueError, match=exact("d_model=6 must be divisible by n_heads=4")
    ):
        TinyLMConfig(5, d_model=6, n_heads=4)
    assert TinyLMConfig(5, dropout=0.0).dropout == 0.0
    assert TinyLMConfig(5, dropout=0.999).dropout == 0.999
    for bad in (1.0, -0.1):
        with pytest.raises(
            ValueError, match=exact(f"dropout must be in [0, 1), got {bad}")
        ):
            TinyLMConfig(5, dropout=bad)


# ---------------------------------------------------------------------------- masks
def test_causal_mask_and_attention_allowed_by_hand():
    assert causal_mask(3).tolist() == [
        [False, True, True],
        [False, False, True],
        [False, False, False],
    ]
    assert causal_mask(2, device="cpu").dtype == torch.bool
    lower = [[True, False, False], [True, True, False], [True, True, True]]
    assert attention_allowed(3, causal=True).tolist() == lower
    assert attention_allowed(3, causal=False) is None
    pad = torch.tensor([[False, False, True], [False, True, True]])
    keys = attention_allowed(3, causal=False, pad_mask=pad)
    assert keys.shape == (2, 1, 1, 3)
    assert keys[:, 0, 0].tolist() == [[True, True, False], [True, False, False]]
    both = attention_allowed(3, causal=True, pad_mask=pad, device="cpu")
    assert both.shape == (2, 1, 3, 3)
    assert both[0, 0].tolist() == [
        [True, False, False],
        [True, True, False],
        [True, True, False],
    ]
    assert both[1, 0].tolist() == [
        [True, False, False],
        [True, False, False],
        [True, False, False],
    ]


# ---------------------------------------------------------------------------- attention
def _reference_attention(d=8, heads=2, seed=0):
    torch.manual_seed(seed)
    ref = torch.nn.MultiheadAttention(d, heads, batch_first=True).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_()
    ours = SelfAttention(d, heads, dropout=0.9)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def test_self_attention_matches_torch_multihead_attention():
    ref, ours = _reference_attention()
    x = torch.randn(3, 5, 8)
    allowed = ~causal_mask(5)
    with torch.no_grad():
        ours.eval()  # dropout 0.9 is off in eval mode
        torch.testing.assert_close(
            ours(x, allowed), ref(x, x, x, attn_mask=~allowed)[0]
        )
        torch.testing.assert_close(ours(x), ref(x, x, x)[0])
        ours.train()  # and on in training mode
        assert not torch.allclose(ours(x), ref(x, x, x)[0])
    assert ours.n_heads == 2 and ours.dropout == 0.9


def test_self_attention_initialisation():
    torch.manual_seed(0)
    sa = SelfAttention(16, 4)
    bound = math.sqrt(6 / (16 + 48))  # xavier_uniform of a [48, 16] matrix
    w = sa.in_proj_weight.detach()
    assert (
        w.shape == (48, 16) and w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    )
    assert torch.equal(sa.in_proj_bias.detach(), torch.zeros(48))


def test_block_dropout_is_active_only_in_training():
    torch.manual_seed(0)
    block = Block(8, 2, 16, dropout=0.5)
    x = torch.randn(2, 4, 8)
    with torch.no_grad():
        block.train()
        a, b = block(x), block(x)
        assert not torch.allclose(a, b)
        block.eval()
        torch.testing.assert_close(block(x), block(x))
        h = x + block.self_attn(block.norm1(x))
        ffn = block.linear2(torch.nn.functional.gelu(block.linear1(block.norm2(h))))
        torch.testing.assert_close(block(x), h + ffn)
        keep = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
        torch.testing.assert_close(block(x, keep=keep), h + ffn * keep[..., None])


# ---------------------------------------------------------------------------- the model
def test_initialisation_of_the_model():
    m = model(seed=3, vocab_size=50, d_model=32, n_heads=2, n_layers=2, d_ff=64)
    weights = torch.cat(
        [
            m.tok_emb.weight.flatten(),
            m.pos_emb.weight.flatten(),
            m.head.weight.flatten(),
        ]
        + [b.linear1.weight.flatten() for b in m.blocks]
    ).detach()
    assert abs(float(weights.std()) - 0.02) < 0.002
    assert abs(float(weights.mean())) < 0.001
    for module in m.modules():
        if isinstance(module, torch.nn.Linear):
            assert torch.equal(module.bias, torch.zeros_like(module.bias))
        if isinstance(module, torch.nn.LayerNorm):
            assert torch.equal(module.weight, torch.ones_like(module.weight))
    assert m.n_layers == 2 and len(m.blocks) == 2 and m.head.out_features == 50
    with pytest.raises(TypeError, match=exact("TinyLM takes a TinyLMConfig")):
        TinyLM({"vocab_size": 5})


def test_forward_is_embedding_plus_position_then_blocks_then_read_out():
    m = model(causal=True)
    x = ids(B=2, T=7)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.5)  # non-trivial LayerNorm, biases and positions
        logits, hidden = m(x, return_hidden=True)
        assert len(hidden) == 4
        h = m.tok_emb(x) + m.pos_emb(torch.arange(7))
        torch.testing.assert_close(hidden[0], h)
        torch.testing.assert_close(m.embed(x), m.tok_emb(x))
        for layer, block in enumerate(m.blocks):
            h = block(h, ~causal_mask(7))
            torch.testing.assert_close(hidden[layer + 1], h)
        torch.testing.assert_close(logits, m.head(m.norm_f(h)))
        torch.testing.assert_close(m(x), logits)
        # bidirectional: no mask at all
        m.config.causal = False
        h = hidden[0]
        for block in m.blocks:
            h = block(h)
        torch.testing.assert_close(m(x), m.head(m.norm_f(h)))


def test_ffn_keep_is_applied_per_layer_and_accepts_lists():
    m = model(causal=False)
    x = ids(B=2, T=4)
    keep = [[[1, 1, 0, 1]], [[0, 1, 1, 1]], [[1, 1, 1, 0]]]
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.5)
        _, hidden = m(x, ffn_keep=keep, return_hidden=True)
        h = hidden[0]
        for layer, block in enumerate(m.blocks):
            h = block(h, keep=torch.tensor(keep[layer], dtype=torch.float32))
            torch.testing.assert_close(hidden[layer + 1], h)
        per_row = torch.tensor(keep).expand(3, 2, 4).clone()
        per_row[0, 1] = 1  # row 1 keeps everything in layer 0
        _, rows = m(x, ffn_keep=per_row, return_hidden=True)
        torch.testing.assert_close(rows[3][0], hidden[3][0])
        assert not torch.allclose(rows[3][1], hidden[3][1])


def test_dropout_in_the_model_only_while_training():
    m = model(dropout=0.5)
    x = ids()
    with torch.no_grad():
        torch.testing.assert_close(m(x), m(x))
        m.train()
        assert not torch.allclose(m(x), m(x))


def test_token_checks_and_boundaries():
    m = model()
    assert m(torch.tensor([[0, 19]])).shape == (1, 2, 20)
    assert m(torch.zeros(1, 12, dtype=torch.long)).shape == (1, 12, 20)
    with pytest.raises(
        TypeError, match=exact("tokens must be a LongTensor of token ids")
    ):
        m(torch.zeros(1, 2, dtype=torch.int32))
    with pytest.raises(
        TypeError, match=exact("tokens must be a LongTensor of token ids")
    ):
        m([[0, 1]])
    with pytest.raises(
        ValueError, match=exact("tokens must have shape [B, T], got (1, 1, 2)")
    ):
        m(torch.zeros(1, 1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=exact("tokens is empty")):
        m(torch.zeros(1, 0, dtype=torch.long))
    for bad, got in (([[0, 20]], "[0, 20]"), ([[-1, 5]], "[-1, 5]")):
        with pytest.raises(
            ValueError, match=exact(f"tokens must hold token ids in [0, 20), got {got}")
        ):
            m(torch.tensor(bad))


def test_embeds_checks_and_boundaries():
    m = model()
    with pytest.raises(
        TypeError, match=exact("embeds must be a float tensor [B, T, d]")
    ):
        m.forward_embeds(torch.zeros(1, 2, 16, dtype=torch.long))
    with pytest.raises(
        TypeError, match=exact("embeds must be a float tensor [B, T, d]")
    ):
        m.forward_embeds(np.zeros((1, 2, 16)))
    for shape in ((2, 16), (1, 2, 8)):
        with pytest.raises(
            ValueError, match=exact(f"embeds must have shape [B, T, 16], got {shape}")
        ):
            m.forward_embeds(torch.zeros(shape))
    for shape in ((0, 2, 16), (2, 0, 16)):
        with pytest.raises(ValueError, match=exact(f"embeds is empty: shape {shape}")):
            m.forward_embeds(torch.zeros(shape))
    with pytest.raises(
        ValueError, match=exact("sequence length 13 exceeds max_len=12")
    ):
        m.forward_embeds(torch.zeros(1, 13, 16))
    logits, hidden = m.forward_embeds(torch.zeros(1, 12, 16))
    assert logits.shape == (1, 12, 20) and len(hidden) == 4


def test_mask_and_keep_checks():
    m = model()
    x = ids(B=4, T=5)
    for mask, got in (
        (torch.zeros(4, 5), "torch.float32 (4, 5)"),
        (torch.zeros(4, 4, dtype=torch.bool), "torch.bool (4, 4)"),
    ):
        with pytest.raises(
            ValueError,
            match=exact(f"pad_mask must be a BoolTensor of shape (4, 5), got {got}"),
        ):
            m(x, pad_mask=mask)
    for shape in ((3, 5), (2, 1, 5), (3, 2, 5), (3, 1, 4), (3, 4, 6)):
        with pytest.raises(
            ValueError,
            match=exact(f"ffn_keep must have shape [3, 4 or 1, 5], got {shape}"),
        ):
            m(x, ffn_keep=torch.ones(shape))
    with pytest.raises(ValueError, match=exact("ffn_keep must hold only 0s and 1s")):
        m(x, ffn_keep=torch.full((3, 1, 5), 2.0))
    assert m(x, ffn_keep=torch.zeros(3, 4, 5)).shape == (4, 5, 20)


# ---------------------------------------------------------------------------- the loss
def test_next_token_loss_is_the_mean_cross_entropy_and_a_weighted_mean():
    m = model()
    x = ids(B=3, T=6)
    with torch.no_grad():
        logits = m(x[:, :-1])
        logp = torch.log_softmax(logits, -1).numpy()
        targets = x[:, 1:].numpy()
        ce = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]  # [3, 5]
        assert float(next_token_loss(m, x)) == pytest.approx(ce.mean(), rel=1e-5)
        weight = torch.rand(3, 5, generator=torch.Generator().manual_seed(2)) * 2
        expected = np.average(ce, weights=weight.numpy())
        assert float(next_token_loss(m, (x, weight))) == pytest.approx(
            expected, rel=1e-5
        )
        assert float(next_token_loss(m, [x, weight])) == pytest.approx(
            expected, rel=1e-5
        )
    with pytest.raises(
        ValueError, match=exact("weight must have shape (3, 5), got (3, 6)")
    ):
        next_token_loss(m, (x, torch.ones(3, 6)))
    cancel = torch.zeros(3, 5)
    cancel[0, 0], cancel[0, 1] = 1.0, -1.0
    with pytest.raises(
        ValueError, match=exact("weight is zero everywhere: nothing to learn from")
    ):
        next_token_loss(m, (x, cancel))


# ---------------------------------------------------------------------------- training
def test_train_next_token_draws_epochs_without_replacement(monkeypatch):
    import utils.training

    seen = {}

    def fake_train(model_, loss_fn, next_batch, **kwargs):
        seen.update(model=model_, loss_fn=loss_fn, kwargs=kwargs)
        seen["batches"] = [next_batch(step) for step in range(5)]
        return "log"

    monkeypatch.setattr(utils.training, "train", fake_train)
    m = model()
    data = torch.arange(7)[:, None] * 2 + torch.arange(3)[None]  # row r: 2r, 2r+1, 2r+2
    out = train_next_token(m, data, steps=11, batch_size=3, lr=0.5, seed=4,
                           weight_decay=0.25, desc="d")  # fmt: skip
    assert out == "log" and seen["model"] is m and seen["loss_fn"] is next_token_loss
    assert seen["kwargs"] == dict(steps=11, lr=0.5, weight_decay=0.25, desc="d")
    g = torch.Generator().manual_seed(4)
    first, second = torch.randperm(7, generator=g), torch.randperm(7, generator=g)
    expected_rows = [
        first[:3],
        first[3:6],
        second[:3],
        second[3:6],
        torch.randperm(7, generator=g)[:3],
    ]
    for batch, rows in zip(seen["batches"], expected_rows):
        assert torch.equal(batch, data[rows])
    # batch_size larger than the data: the whole set, reshuffled each step
    weight = torch.arange(14.0).view(7, 2)
    train_next_token(m, data, steps=1, batch_size=100, weight=weight, seed=1)
    g = torch.Generator().manual_seed(1)
    for batch in seen["batches"]:
        rows = torch.randperm(7, generator=g)
        assert torch.equal(batch[0], data[rows]) and torch.equal(batch[1], weight[rows])
    # an exact multiple: no rows are skipped before the reshuffle
    train_next_token(m, data[:6], steps=1, batch_size=3, seed=2)
    g = torch.Generator().manual_seed(2)
    perm = torch.randperm(6, generator=g)
    assert torch.equal(seen["batches"][1], data[perm[3:6]])
    assert torch.equal(seen["batches"][2], data[torch.randperm(6, generator=g)[:3]])
    assert seen["kwargs"] == dict(
        steps=1, lr=3e-3, weight_decay=0.0, desc="next-token training"
    )


def test_train_next_token_checks_shapes():
    m = model()
    for bad in (torch.zeros(4, dtype=torch.long), torch.zeros(0, 3, dtype=torch.long)):
        with pytest.raises(
            ValueError,
            match=exact(
                f"tokens must be a non-empty [N, T] tensor, got {tuple(bad.shape)}"
            ),
        ):
            train_next_token(m, bad, steps=1)
    with pytest.raises(
        ValueError, match=exact("weight must have shape (4, 2), got (4, 3)")
    ):
        train_next_token(
            m, torch.zeros(4, 3, dtype=torch.long), steps=1, weight=torch.ones(4, 3)
        )


def test_training_leaves_eval_mode_and_lowers_the_loss():
    m = model(vocab_size=6, n_layers=1)
    data = (torch.arange(6)[:, None] + torch.arange(5)[None]) % 6
    log = train_next_token(m, data.repeat(4, 1), steps=30, batch_size=12, lr=1e-2)
    assert not m.training and len(log.losses) == 30 and log.losses[-1] < log.losses[0]


# ---------------------------------------------------------------------------- generation
def test_greedy_generation_is_the_argmax_and_restores_the_mode():
    m = model()
    prompt = ids(B=3, T=4)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.5)
        m.train()
        out = generate_greedy(m, prompt, n_new=2)
        assert m.training  # restored
        m.eval()
        first = m(prompt)[:, -1].argmax(-1)
        second = m(torch.cat([prompt, first[:, None]], 1))[:, -1].argmax(-1)
        assert torch.equal(out, torch.cat([prompt, first[:, None], second[:, None]], 1))
        allowed = [7, 3, 11]
        scores = m(prompt)[:, -1, allowed]
        restricted = generate_greedy(m, prompt, n_new=1, allowed=torch.tensor(allowed))
        assert torch.equal(restricted[:, -1], torch.tensor(allowed)[scores.argmax(-1)])
        assert not m.training
    assert generate_greedy(m, ids(B=1, T=10), n_new=2).shape == (1, 12)


def test_greedy_generation_messages():
    m = model()
    with pytest.raises(ValueError, match=exact("n_new must be at least 1, got 0")):
        generate_greedy(m, ids(T=3), n_new=0)
    with pytest.raises(
        ValueError, match=exact("prompt length 11 + n_new 2 exceeds max_len=12")
    ):
        generate_greedy(m, ids(T=11), n_new=2)
    with pytest.raises(ValueError, match=exact("allowed is empty")):
        generate_greedy(m, ids(T=3), n_new=1, allowed=[])
    with pytest.raises(
        ValueError, match=exact("greedy generation needs a causal model (causal=True)")
    ):
        generate_greedy(model(causal=False), ids(T=3), n_new=1)


def test_frozen_copy_does_not_share_parameters():
    m = model().train()
    frozen = frozen_copy(m)
    assert isinstance(frozen, TinyLM) and frozen is not m
    assert all(p is not q for p, q in zip(m.parameters(), frozen.parameters()))
    with torch.no_grad():
        m.head.bias.add_(1.0)
    assert not torch.equal(frozen.head.bias, m.head.bias)
    assert m.training and not frozen.training


# ---------------------------------------------------------------------------- bad input
def test_bad_input_messages_name_the_argument():
    m = model()
    for bad in (-1, 2.0, True, "3"):
        with pytest.raises(
            ValueError, match=exact(f"T must be a non-negative integer, got {bad!r}")
        ):
            causal_mask(bad)
        with pytest.raises(
            ValueError, match=exact(f"T must be a non-negative integer, got {bad!r}")
        ):
            attention_allowed(bad, causal=False)
    assert causal_mask(0).shape == (0, 0) and causal_mask(np.int64(2)).shape == (2, 2)
    pad = torch.zeros(2, 3, dtype=torch.bool)
    for bad, got in (
        (pad.float(), "torch.float32 (2, 3)"),
        (pad[None], "torch.bool (1, 2, 3)"),
        (pad[:, :2], "torch.bool (2, 2)"),
        ([[False] * 3], "list ()"),
    ):
        with pytest.raises(
            ValueError, match=exact(f"pad_mask must be a BoolTensor [B, 3], got {got}")
        ):
            attention_allowed(3, causal=True, pad_mask=bad)
    x = ids(B=2, T=4)
    with pytest.raises(
        ValueError, match=exact("batch must hold token ids in [0, 20), got [0, 20]")
    ):
        next_token_loss(m, torch.tensor([[0, 20]]))
    with pytest.raises(
        TypeError, match=exact("batch must be a LongTensor of token ids")
    ):
        next_token_loss(m, (x.float(), None))
    with pytest.raises(
        ValueError, match=exact("batch needs at least 2 tokens per row, got 1")
    ):
        next_token_loss(m, x[:, :1])
    assert next_token_loss(m, x[:, :2]).shape == ()
    weight = torch.ones(2, 3)
    weight[1, 2] = float("nan")
    with pytest.raises(ValueError, match=exact("weight must be finite")):
        next_token_loss(m, (x, weight))
    with pytest.raises(
        ValueError, match=exact("tokens must hold token ids in [0, 20), got [-1, 3]")
    ):
        train_next_token(m, torch.tensor([[-1, 3]]), steps=1)
    with pytest.raises(
        ValueError, match=exact("prompt must hold token ids in [0, 20), got [0, 25]")
    ):
        generate_greedy(m, torch.tensor([[0, 25]]), n_new=1)
    with pytest.raises(
        ValueError, match=exact("prompt must have shape [B, T], got (3,)")
    ):
        generate_greedy(m, torch.tensor([0, 1, 2]), n_new=1)
    for allowed, got in (([3, 20], "[3, 20]"), ([-1], "[-1]")):
        with pytest.raises(
            ValueError,
            match=exact(f"allowed must hold token ids in [0, 20), got {got}"),
        ):
            generate_greedy(m, x, n_new=1, allowed=allowed)
    assert generate_greedy(m, x, n_new=1, allowed=[0, 19]).shape == (2, 5)


def test_defaults_of_the_building_blocks():
    assert SelfAttention(8, 2).dropout == 0.0
    block = Block(8, 2, 16)
    assert block.dropout.p == 0.0 and block.self_attn.dropout == 0.0
    assert Block(8, 2, 16, dropout=0.25).self_attn.dropout == 0.25
    m = model(dropout=0.25)
    assert all(b.self_attn.dropout == 0.25 and b.dropout.p == 0.25 for b in m.blocks)


def test_ffn_keep_of_another_dtype_keeps_the_model_dtype():
    m = model()
    x = ids(B=2, T=4)
    keep = torch.ones(3, 1, 4, dtype=torch.float64)
    keep[0, 0, 1] = 0
    with torch.no_grad():
        logits, hidden = m(x, ffn_keep=keep, return_hidden=True)
    assert logits.dtype == torch.float32 and all(
        h.dtype == torch.float32 for h in hidden
    )
    bool_keep = keep.bool()
    with torch.no_grad():
        torch.testing.assert_close(m(x, ffn_keep=bool_keep), logits)


def test_weights_summing_to_less_than_one_are_fine():
    m = model()
    x = ids(B=2, T=4)
    weight = torch.zeros(2, 3)
    weight[1, 2] = 0.5
    with torch.no_grad():
        logits = m(x[:, :-1])
        expected = torch.nn.functional.cross_entropy(logits[1, 2][None], x[1, 3][None])
        torch.testing.assert_close(next_token_loss(m, (x, weight)), expected)


def test_forward_on_the_meta_device_keeps_every_tensor_there():
    """Positions and masks are made on the input's device (checked on "meta", no GPU needed)."""
    assert causal_mask(3, device="meta").device.type == "meta"
    assert attention_allowed(3, causal=True, device="meta").device.type == "meta"
    m = model().to("meta")
    embeds = torch.zeros(2, 5, 16, device="meta")
    pad = torch.zeros(2, 5, dtype=torch.bool, device="meta")
    for kwargs in ({}, {"pad_mask": pad}):
        logits, hidden = m.forward_embeds(embeds, **kwargs)
        assert logits.device.type == "meta" and logits.shape == (2, 5, 20)
        assert all(h.device.type == "meta" for h in hidden)


def test_train_next_token_default_batch_size_and_seed(monkeypatch):
    import utils.training

    seen = {}

    def fake_train(model_, loss_fn, next_batch, **kwargs):
        seen["batch"] = next_batch(0)

    monkeypatch.setattr(utils.training, "train", fake_train)
    data = torch.arange(300)[:, None] % 20 + torch.zeros(1, 3, dtype=torch.long)
    train_next_token(model(), data, steps=1)
    rows = torch.randperm(300, generator=torch.Generator().manual_seed(0))[:256]
    assert torch.equal(seen["batch"], data[rows])


def test_encode_batch_of_empty_texts_is_an_empty_long_tensor():
    out = WordTokenizer.fit(["a"]).encode_batch(["", ""])
    assert out.shape == (2, 0) and out.dtype == torch.long


def test_train_next_token_moves_batches_to_the_model_device(monkeypatch):
    import utils.training

    seen = {}

    def fake_train(model_, loss_fn, next_batch, **kwargs):
        seen["batch"] = next_batch(0)

    monkeypatch.setattr(utils.training, "train", fake_train)
    m = model().to("meta")
    data = ids(B=4, T=3)
    train_next_token(m, data, steps=1, batch_size=2)
    assert seen["batch"].device.type == "meta"
    train_next_token(m, data, steps=1, batch_size=2, weight=torch.ones(4, 2))
    assert all(t.device.type == "meta" for t in seen["batch"])


def test_pad_mask_hides_padding_from_a_bidirectional_model():
    m = model(causal=False)
    x = ids(B=2, T=5)
    padded = torch.cat([x, torch.zeros(2, 2, dtype=torch.long)], dim=1)
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[:, 5:] = True
    with torch.no_grad():
        torch.testing.assert_close(m(padded, pad_mask=pad)[:, :5], m(x))
        assert not torch.allclose(m(padded)[:, :5], m(x))
