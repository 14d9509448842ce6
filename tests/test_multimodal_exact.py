"""Exact values, boundaries and error messages of utils.multimodal (chapter 11).

Written to kill the mutants that tests/test_multimodal.py lets survive (``python3 course.py
mutate multimodal``): every check's error message anchored at both ends, so that the argument's
name and the reported values are pinned; the language model and the connectors trained step by
step by hand (same seeds, same batches, same optimiser) and compared with the module's training
loops; the encoders, the probe and the similarity measures against NumPy, scikit-learn and torch
on inputs where each constant (an epsilon, a seed, a split size) changes the result.
"""

import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from torch import nn

from utils import multimodal as mm
from utils.tiny_lm import TinyLM, TinyLMConfig, frozen_copy, train_next_token

TOK = mm.make_tokenizer()
with torch.random.fork_rng():
    torch.manual_seed(0)
    LM = frozen_copy(
        TinyLM(
            TinyLMConfig(
                len(TOK), d_model=16, n_heads=2, n_layers=3, d_ff=32, max_len=16
            )
        )
    )

# padded to 12 tokens (fewer than the 16 positions every model gets at least)
SHORT_DOCS = [
    "<bos> this is the digit seven .",
    "<bos> we count to five . four is even .",
    "<bos> after six comes seven .",
    "<bos> a picture of the number two . three is odd .",
    "<bos> here is a drawing of one .",
    "<bos> before zero comes nine . this is the digit nine .",
]
# 18 tokens: longer than 16, so the model needs max_len = 18
LONG_DOCS = SHORT_DOCS[:2] + [
    "<bos> the digit one and the digit two . the digit three and the digit four . ."
]


def _seed_drawn_by(generator_seed: int) -> int:
    """The seed the module draws from ``torch.Generator().manual_seed(generator_seed)``."""
    g = torch.Generator().manual_seed(generator_seed)
    return int(torch.randint(0, 2**31 - 1, (1,), generator=g))


def _advanced_generator(generator_seed: int, *sizes: int) -> torch.Generator:
    """A generator seeded with ``generator_seed`` after drawing ``sizes`` integers in turn."""
    g = torch.Generator().manual_seed(generator_seed)
    for size in sizes:
        torch.randint(0, 2**31 - 1, (size,), generator=g)
    return g


# ------------------------------------------------------------------------ error messages
def _corpus(n, rng):
    return lambda: mm.make_caption_corpus(n, rng)


def _train_lm(docs=SHORT_DOCS, generator=None, **kw):
    g = torch.Generator() if generator is None else generator
    return lambda: mm.train_frozen_lm(docs, TOK, g, **kw)


def _train_conn(connectors=None, features=None, labels=range(4), lm=LM, **kw):
    conn = [mm.Connector(3, 1, 16)] if connectors is None else connectors
    feats = [torch.zeros(4, 3)] if features is None else features
    kw.setdefault("steps", 1)
    return lambda: mm.train_connectors(
        lm, TOK, conn, feats, list(labels), generator=torch.Generator(), **kw
    )


_TRAINABLE = TinyLM(TinyLMConfig(len(TOK), d_model=16, n_layers=1, d_ff=16))
_H = np.zeros((2, 5, 3))

ERRORS = [
    (
        "caption_float",
        lambda: mm.caption(1.0, "label", np.random.default_rng(0)),
        TypeError,
        "digit must be an int, got float",
    ),
    (
        "caption_bool",
        lambda: mm.caption(True, "label", np.random.default_rng(0)),
        TypeError,
        "digit must be an int, got bool",
    ),
    (
        "caption_range",
        lambda: mm.caption(10, "label", np.random.default_rng(0)),
        ValueError,
        "digit must be in [0, 9], got 10",
    ),
    (
        "caption_kind",
        lambda: mm.caption(3, "copy", np.random.default_rng(0)),
        ValueError,
        "kind must be one of ('label', 'picture', 'after', 'before', 'parity', "
        "'pair', 'drawing', 'count'), got 'copy'",
    ),
    (
        "corpus_n_docs",
        _corpus(0, np.random.default_rng(0)),
        ValueError,
        "n_docs must be a positive integer, got 0",
    ),
    (
        "corpus_rng",
        _corpus(3, 0),
        TypeError,
        "rng must be a numpy Generator (course.rng)",
    ),
    (
        "repeats_doc",
        lambda: mm.answer_repeats_context(3),
        TypeError,
        "doc must be a string, got int",
    ),
    (
        "lm_docs_empty",
        _train_lm(docs=[]),
        ValueError,
        "docs must be a non-empty list of strings",
    ),
    (
        "lm_docs_str",
        _train_lm(docs="<bos> this is the digit one ."),
        ValueError,
        "docs must be a non-empty list of strings",
    ),
    (
        "lm_generator",
        _train_lm(generator=0),
        TypeError,
        "generator must be a torch.Generator (course.torch_generator(k))",
    ),
    (
        "lm_steps",
        _train_lm(steps=0),
        ValueError,
        "steps must be a positive integer, got 0",
    ),
    (
        "encoder_fit_images",
        lambda: mm.FrozenEncoder("pixels").fit(np.ones(4)),
        ValueError,
        "images must be 2-D, got shape (4,)",
    ),
    (
        "encoder_kind",
        lambda: mm.FrozenEncoder("cnn").fit(np.ones((3, 2))),
        ValueError,
        "kind must be pixels, pca or random, got 'cnn'",
    ),
    (
        "encoder_dim",
        lambda: mm.FrozenEncoder("random").fit(np.ones((3, 2))),
        ValueError,
        "dim must be a positive integer, got None",
    ),
    (
        "encoder_not_fitted",
        lambda: mm.FrozenEncoder("pixels")(np.ones((3, 2))),
        RuntimeError,
        "call fit(train_images) before encoding",
    ),
    (
        "encoder_call_images",
        lambda: mm.FrozenEncoder("pixels").fit(np.ones((3, 2)))(np.ones(2)),
        ValueError,
        "images must be 2-D, got shape (2,)",
    ),
    (
        "encoder_columns",
        lambda: mm.FrozenEncoder("pixels").fit(np.ones((3, 2)))(np.ones((3, 5))),
        ValueError,
        "images must have 2 columns, got 5",
    ),
    (
        "connector_in_dim",
        lambda: mm.Connector(0, 2, 8),
        ValueError,
        "in_dim must be a positive integer, got 0",
    ),
    (
        "connector_n_tokens",
        lambda: mm.Connector(5, 0, 8),
        ValueError,
        "n_tokens must be a positive integer, got 0",
    ),
    (
        "connector_d_model",
        lambda: mm.Connector(5, 2, 0),
        ValueError,
        "d_model must be a positive integer, got 0",
    ),
    (
        "connector_hidden",
        lambda: mm.Connector(5, 2, 8, hidden=0),
        ValueError,
        "hidden must be a positive integer, got 0",
    ),
    (
        "connector_feats",
        lambda: mm.Connector(5, 2, 8)(torch.zeros(5)),
        ValueError,
        "feats must have shape [B, F], got (5,)",
    ),
    (
        "prompt_P",
        lambda: mm.prompt_embeds(LM, TOK, torch.zeros(2, 3, 5)),
        ValueError,
        "P must have shape [B, k, 16], got (2, 3, 5)",
    ),
    (
        "positions_n_tokens",
        lambda: mm.perceptual_positions(0),
        ValueError,
        "n_tokens must be a positive integer, got 0",
    ),
    (
        "digit_logits",
        lambda: mm.digit_logits(torch.zeros(3, 4), TOK),
        ValueError,
        "logits must have shape [B, T, V], got (3, 4)",
    ),
    (
        "accuracy_scores",
        lambda: mm.accuracy(np.zeros(3), [0, 1, 2]),
        ValueError,
        "scores must be 2-D, got shape (3,)",
    ),
    (
        "accuracy_labels_shape",
        lambda: mm.accuracy(np.zeros((4, 3)), [0, 1, 2]),
        ValueError,
        "labels must have shape (4,), got (3,)",
    ),
    (
        "accuracy_labels_dtype",
        lambda: mm.accuracy(np.zeros((2, 3)), [0.0, 1.0]),
        ValueError,
        "labels must be integer class ids, got dtype float64",
    ),
    (
        "accuracy_labels_high",  # a label equal to the number of classes
        lambda: mm.accuracy(np.zeros((2, 3)), [0, 3]),
        ValueError,
        "labels must lie in [0, 3)",
    ),
    (
        "accuracy_labels_negative",  # only the lower bound broken
        lambda: mm.accuracy(np.zeros((2, 3)), [-1, 2]),
        ValueError,
        "labels must lie in [0, 3)",
    ),
    (
        "connectors_empty",
        _train_conn(connectors=[], features=[]),
        ValueError,
        "connectors and features must be non-empty and of equal length",
    ),
    (
        "connectors_lengths",
        _train_conn(features=[torch.zeros(4, 3), torch.zeros(4, 3)]),
        ValueError,
        "connectors and features must be non-empty and of equal length",
    ),
    (
        "connectors_steps",
        _train_conn(steps=0),
        ValueError,
        "steps must be a positive integer, got 0",
    ),
    (
        "connectors_rows",
        _train_conn(features=[torch.zeros(5, 3)]),
        ValueError,
        "every features matrix needs one row per label",
    ),
    (
        "connectors_frozen",
        _train_conn(lm=_TRAINABLE),
        ValueError,
        "lm must be frozen (use utils.tiny_lm.frozen_copy)",
    ),
    (
        "connectors_checkpoints",
        _train_conn(steps=2, checkpoints=(0, 3)),
        ValueError,
        "checkpoints must lie in [0, steps=2], got 3",
    ),
    (
        "cosine_matrix_a",
        lambda: mm.cosine_matrix(np.ones(3), np.ones((2, 3))),
        ValueError,
        "a must be 2-D, got shape (3,)",
    ),
    (
        "cosine_matrix_b",
        lambda: mm.cosine_matrix(np.ones((2, 3)), np.ones(3)),
        ValueError,
        "b must be 2-D, got shape (3,)",
    ),
    (
        "cosine_matrix_width",
        lambda: mm.cosine_matrix(np.ones((2, 5)), np.ones((3, 4))),
        ValueError,
        "a and b must have the same width, got 5 and 4",
    ),
    (
        "paired_cosine_a",
        lambda: mm.paired_cosine(np.ones(3), np.ones((1, 3))),
        ValueError,
        "a must be 2-D, got shape (3,)",
    ),
    (
        "paired_cosine_b",
        lambda: mm.paired_cosine(np.ones((1, 3)), np.ones(3)),
        ValueError,
        "b must be 2-D, got shape (3,)",
    ),
    (
        "paired_cosine_shape",
        lambda: mm.paired_cosine(np.ones((2, 3)), np.ones((3, 3))),
        ValueError,
        "a and b must have the same shape, got (2, 3) and (3, 3)",
    ),
    (
        "token_average_hidden",
        lambda: mm.token_average(np.ones((4, 6)), [0]),
        ValueError,
        "hidden must be 3-D, got shape (4, 6)",
    ),
    (
        "token_average_empty",
        lambda: mm.token_average(_H, []),
        ValueError,
        "positions is empty",
    ),
    (
        "token_average_high",  # T = 5, d = 3: the bound is T
        lambda: mm.token_average(_H, [0, 5]),
        ValueError,
        "positions must lie in [0, 5), got [0, 5]",
    ),
    (
        "token_average_negative",
        lambda: mm.token_average(_H, [-1]),
        ValueError,
        "positions must lie in [0, 5), got [-1]",
    ),
    (
        "alignment_layers",
        lambda: mm.alignment_per_layer([], [], [0]),
        ValueError,
        "p_states and text_states need one entry per layer",
    ),
    (
        "alignment_layer_counts",
        lambda: mm.alignment_per_layer(
            [np.ones((2, 3))], [np.ones((4, 3))] * 2, [0, 1]
        ),
        ValueError,
        "p_states and text_states need one entry per layer",
    ),
    (
        "alignment_labels_count",  # B = 2 examples, C = 4 classes
        lambda: mm.alignment_per_layer([np.ones((2, 3))], [np.ones((4, 3))], [0]),
        ValueError,
        "labels must be 2 integers",
    ),
    (
        "alignment_labels_range",
        lambda: mm.alignment_per_layer([np.ones((2, 3))], [np.ones((4, 3))], [0, 4]),
        ValueError,
        "labels must lie in [0, 4)",
    ),
    (
        "ima_per_layer_ndim",
        lambda: mm.ima_score(np.ones((1, 3))),
        ValueError,
        "per_layer must be 1-D, got shape (1, 3)",
    ),
    (
        "ima_too_short",
        lambda: mm.ima_score([0.5]),
        ValueError,
        "per_layer needs the input layer and at least one block",
    ),
    (
        "ima_layers_empty",
        lambda: mm.ima_score([0.1, 0.2, 0.3], layers=[]),
        ValueError,
        "layers must lie in [0, 3), got []",
    ),
    (
        "ima_layers_negative",
        lambda: mm.ima_score([0.1, 0.2, 0.3], layers=[-1]),
        ValueError,
        "layers must lie in [0, 3), got [-1]",
    ),
    (
        "ima_layers_high",
        lambda: mm.ima_score([0.1, 0.2, 0.3], layers=[1, 3]),
        ValueError,
        "layers must lie in [0, 3), got [1, 3]",
    ),
    (
        "spearman_x",
        lambda: mm.spearman(np.ones((3, 1)), np.arange(3.0)),
        ValueError,
        "x must be 1-D, got shape (3, 1)",
    ),
    (
        "spearman_y",
        lambda: mm.spearman(np.arange(3.0), np.ones((3, 1))),
        ValueError,
        "y must be 1-D, got shape (3, 1)",
    ),
    (
        "spearman_length",
        lambda: mm.spearman([1.0, 2.0], [1.0, 2.0, 3.0]),
        ValueError,
        "x and y must have the same length, got 2 and 3",
    ),
    (
        "spearman_one_value",
        lambda: mm.spearman([1.0], [2.0]),
        ValueError,
        "x needs at least 2 values",
    ),
    (
        "spearman_constant",
        lambda: mm.spearman([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]),
        ValueError,
        "x or y is constant: the rank correlation is undefined",
    ),
    (
        "consecutive_one_layer",
        lambda: mm.consecutive_cosine([_H], [0]),
        ValueError,
        "hidden needs at least two layers",
    ),
    (
        "consecutive_first_2d",  # the first of two layers is 2-D, the second 3-D
        lambda: mm.consecutive_cosine([np.ones((5, 3)), _H], [0]),
        ValueError,
        "hidden must be 3-D, got shape (5, 3)",
    ),
    (
        "consecutive_second_2d",
        lambda: mm.consecutive_cosine([_H, np.ones((5, 3))], [0]),
        ValueError,
        "hidden must be 3-D, got shape (5, 3)",
    ),
    (
        "consecutive_empty",
        lambda: mm.consecutive_cosine([_H, _H], []),
        ValueError,
        "positions must lie in [0, 5), got []",
    ),
    (
        "consecutive_negative",
        lambda: mm.consecutive_cosine([_H, _H], [-1, 2]),
        ValueError,
        "positions must lie in [0, 5), got [-1, 2]",
    ),
    (
        "consecutive_high",  # T = 5, d = 3: the bound is T
        lambda: mm.consecutive_cosine([_H, _H], [5]),
        ValueError,
        "positions must lie in [0, 5), got [5]",
    ),
    (
        "noise_P",
        lambda: mm.norm_matched_noise(torch.zeros(3, 8), torch.Generator()),
        ValueError,
        "P must be a tensor of shape [B, k, d]",
    ),
    (
        "noise_P_array",
        lambda: mm.norm_matched_noise(np.ones((1, 2, 3)), torch.Generator()),
        ValueError,
        "P must be a tensor of shape [B, k, d]",
    ),
    (
        "nearest_P",
        lambda: mm.nearest_words(np.ones((4, 3)), np.ones((6, 3))),
        ValueError,
        "P must be 3-D, got shape (4, 3)",
    ),
    (
        "nearest_embedding",
        lambda: mm.nearest_words(np.ones((1, 2, 3)), np.ones(3)),
        ValueError,
        "embedding must be 2-D, got shape (3,)",
    ),
    (
        "mask_n_layers",
        lambda: mm.ffn_skip_mask(0, 5, [0], [0]),
        ValueError,
        "n_layers must be a positive integer, got 0",
    ),
    (
        "mask_length",
        lambda: mm.ffn_skip_mask(3, 0, [0], [0]),
        ValueError,
        "length must be a positive integer, got 0",
    ),
    (
        "mask_positions",
        lambda: mm.ffn_skip_mask(3, 5, [-1], [0]),
        ValueError,
        "positions must lie in [0, 5), got [-1]",
    ),
    (
        "mask_layers",
        lambda: mm.ffn_skip_mask(3, 5, [0], [3]),
        ValueError,
        "layers must lie in [0, 3), got [3]",
    ),
    (
        "fraction_mask_ndim",
        lambda: mm.ffn_fraction_skipped(np.ones((1, 2))),
        ValueError,
        "mask must be 3-D, got shape (1, 2)",
    ),
    (
        "fraction_mask_values",
        lambda: mm.ffn_fraction_skipped(np.full((1, 1, 2), 0.5)),
        ValueError,
        "mask must hold only 0s and 1s",
    ),
    (
        "separability_h_a",
        lambda: mm.separability(np.ones(3), np.ones((4, 3))),
        ValueError,
        "h_a must be 2-D, got shape (3,)",
    ),
    (
        "separability_h_b",
        lambda: mm.separability(np.ones((4, 3)), np.ones(3)),
        ValueError,
        "h_b must be 2-D, got shape (3,)",
    ),
]


@pytest.mark.parametrize(
    "name, call, error, message", ERRORS, ids=[e[0] for e in ERRORS]
)
def test_error_message_names_the_argument(name, call, error, message):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        call()


# ------------------------------------------------------------------------------- corpus
def test_answer_repeats_context_with_the_prompt_as_the_last_words():
    """A prompt with no word after it is not a question: None, not an index error."""
    assert mm.answer_repeats_context("<bos> seven . this is the digit") is None
    assert mm.answer_repeats_context("this is the digit") is None
    assert mm.answer_repeats_context("this is the digit seven") is False


# ---------------------------------------------------------------------- the frozen model
def test_train_frozen_lm_equals_training_by_hand():
    """Seeded from the generator's one draw, padding weighted 0, every setting passed on."""
    g = torch.Generator().manual_seed(5)
    rng_before = torch.get_rng_state()
    model, losses = mm.train_frozen_lm(
        SHORT_DOCS, TOK, g, steps=2, batch_size=4, lr=0.02, n_layers=2, d_model=8
    )
    seed = _seed_drawn_by(5)
    tokens = TOK.encode_batch(SHORT_DOCS)  # [6, 12], padded
    assert tokens.shape == (6, 12) and (tokens == TOK.pad_id).any()
    weight = (tokens[:, 1:] != TOK.pad_id).float()
    config = TinyLMConfig(
        len(TOK), d_model=8, n_heads=4, n_layers=2, d_ff=32, max_len=16
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = TinyLM(config)
    log = train_next_token(
        ref, tokens, steps=2, batch_size=4, lr=0.02, weight=weight, seed=seed
    )
    assert model.config == config
    assert losses == log.losses and len(losses) == 2
    ref_state = ref.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref_state[k]), k
    assert torch.equal(g.get_state(), _advanced_generator(5, 1).get_state())
    assert torch.equal(torch.get_rng_state(), rng_before)  # the global RNG untouched


def test_train_frozen_lm_defaults(monkeypatch):
    """400 steps of 64 documents at lr 3e-3, a 4-block model of width 64 (4 heads, FFN 256),
    with as many positions as the longest document (18 here, above the floor of 16)."""
    calls = []

    def spy(model, tokens, **kwargs):
        calls.append((model, tokens, kwargs))
        return SimpleNamespace(losses=[2.5, 2.0])

    monkeypatch.setattr(mm, "train_next_token", spy)
    model, losses = mm.train_frozen_lm(LONG_DOCS, TOK, torch.Generator().manual_seed(2))
    ((trained, tokens, kwargs),) = calls
    assert losses == [2.5, 2.0]
    assert trained.config == TinyLMConfig(
        len(TOK), d_model=64, n_heads=4, n_layers=4, d_ff=256, max_len=18
    )
    assert model is not trained and model.config == trained.config
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert torch.equal(tokens, TOK.encode_batch(LONG_DOCS)) and tokens.shape[1] == 18
    assert {k: kwargs[k] for k in ("steps", "batch_size", "lr", "seed")} == {
        "steps": 400,
        "batch_size": 64,
        "lr": 3e-3,
        "seed": _seed_drawn_by(2),
    }
    assert torch.equal(kwargs["weight"], (tokens[:, 1:] != TOK.pad_id).float())


# ---------------------------------------------------------------------------- encoders
def test_pixel_encoder_epsilon_on_a_nearly_constant_pixel():
    """Standardised by std + 1e-6: a pixel with spread 1e-6 comes out at half its z-score."""
    X = np.array([[0.0, 1.0], [2e-6, 3.0], [0.0, 5.0], [2e-6, 7.0]])
    enc = mm.FrozenEncoder("pixels").fit(X)
    f = enc(X)
    assert f.dtype == torch.float32
    np.testing.assert_allclose(
        f[:, 0].numpy(), [-0.5, 0.5, -0.5, 0.5], rtol=1e-5, atol=0
    )
    z = np.array([-3.0, -1.0, 1.0, 3.0]) / np.sqrt(5.0)
    np.testing.assert_allclose(
        f[:, 1].numpy(), z / (1 + 1e-6 / np.sqrt(5.0)), rtol=1e-6
    )


def test_random_encoder_matches_its_formula():
    """A N(0, 1/64) projection of small images (std ~1e-5, so the 1e-6 epsilon and the
    projection's scale both show), then standardised with the training mean and std."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 64)) * 1e-5
    enc = mm.FrozenEncoder("random", 3, seed=4).fit(X)
    proj = np.random.default_rng(4).normal(size=(64, 3)) / 8.0
    raw = X @ proj
    ref = (raw - raw.mean(0)) / (raw.std(0) + 1e-6)
    assert np.all(raw.std(0) < 2e-5)
    np.testing.assert_allclose(enc(X).numpy(), ref, rtol=1e-5, atol=1e-6)
    X_new = rng.normal(size=(4, 64)) * 1e-5
    np.testing.assert_allclose(
        enc(X_new).numpy(),
        (X_new @ proj - raw.mean(0)) / (raw.std(0) + 1e-6),
        rtol=1e-5,
        atol=1e-6,
    )


def test_pca_encoder_passes_its_seed_to_the_randomized_solver():
    """501 x 64 images: scikit-learn's "auto" picks the randomized SVD, which uses the seed."""
    X = np.random.default_rng(1).normal(size=(501, 64))
    enc = mm.FrozenEncoder("pca", 4, seed=3).fit(X)
    pca = PCA(4, random_state=3).fit(X)
    assert pca._fit_svd_solver == "randomized"
    ref = pca.transform(X)
    ref = (ref - ref.mean(0)) / (ref.std(0) + 1e-6)
    np.testing.assert_allclose(enc(X).numpy(), ref, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- connectors
def test_connector_is_seeded_from_one_draw_of_its_generator():
    g = torch.Generator().manual_seed(3)
    rng_before = torch.get_rng_state()
    lin = mm.Connector(5, 2, 8, generator=g)
    mlp = mm.Connector(5, 2, 8, hidden=7, generator=g)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.equal(g.get_state(), _advanced_generator(3, 1, 1).get_state())
    ref_g = torch.Generator().manual_seed(3)
    with torch.random.fork_rng():
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=ref_g)))
        ref_lin = nn.Linear(5, 16)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=ref_g)))
        ref_mlp = nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 16))
    for got, ref in ((lin.net, ref_lin), (mlp.net, ref_mlp)):
        ref_state = ref.state_dict()
        for k, v in got.state_dict().items():
            assert torch.equal(v, ref_state[k]), k
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(lin(x), ref_lin(x).view(3, 2, 8), rtol=0, atol=0)


def test_connector_without_generator_uses_the_global_stream_unseeded():
    with torch.random.fork_rng():
        torch.manual_seed(11)
        conn = mm.Connector(5, 2, 8)
        torch.manual_seed(11)
        ref = nn.Linear(5, 16)
    assert torch.equal(conn.net.weight, ref.weight)
    assert torch.equal(conn.net.bias, ref.bias)


# ------------------------------------------------------------------- task read-out, score
def test_accuracy_by_hand_on_a_non_square_table():
    scores = np.array(
        [[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.0, 0.9, 0.1]]
    )  # arg-max 1, 0, 2, 1
    labels = np.array([1, 0, 2, 2])
    assert mm.accuracy(scores, labels) == 0.75
    assert mm.accuracy(scores, [1, 1, 1, 1]) == 0.5
    t = torch.tensor(scores, requires_grad=True)  # a tensor in the autograd graph
    assert mm.accuracy(t, labels) == 0.75
    assert mm.accuracy(scores, np.array([1, 0, 2, 2], dtype=np.int8)) == 0.75


# ---------------------------------------------------------------- training the connectors
def _train_by_hand(connectors, features, labels, *, steps, batch_size, lr, generator):
    """The module's loop written plainly: one forward pass per connector, the cross-entropies
    summed, one Adam step over every connector's parameters."""
    n = len(labels)
    labels = torch.as_tensor(labels, dtype=torch.long)
    opt = torch.optim.Adam([p for c in connectors for p in c.parameters()], lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, n, (batch_size,), generator=generator)
        loss = 0.0
        for c, f in zip(connectors, features):
            logits, _ = mm.run_multimodal(LM, TOK, c(f[idx]))
            digits = mm.digit_logits(logits, TOK)
            loss = loss + nn.functional.cross_entropy(digits, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


def _three_connectors():
    g = torch.Generator().manual_seed(8)
    return [
        mm.Connector(3, 1, 16, generator=g),
        mm.Connector(4, 2, 16, generator=g),
        mm.Connector(3, 1, 16, hidden=5, generator=g),
    ]


def _features():
    g = torch.Generator().manual_seed(9)
    return [torch.randn(12, 3, generator=g), torch.randn(12, 4, generator=g)] * 2


def test_train_connectors_equals_training_by_hand():
    """Connectors with 1 and 2 tokens mixed, int32 labels, two steps of 5 examples."""
    feats = _features()[:3]
    labels = (np.arange(12) * 7 % 10).astype(np.int32)
    got, ref = _three_connectors(), _three_connectors()
    g = torch.Generator().manual_seed(1)
    out = mm.train_connectors(
        LM, TOK, got, feats, labels, steps=2, batch_size=5, lr=0.05, generator=g
    )
    ref_g = torch.Generator().manual_seed(1)
    _train_by_hand(ref, feats, labels, steps=2, batch_size=5, lr=0.05, generator=ref_g)
    assert out == {}
    assert torch.equal(g.get_state(), ref_g.get_state())
    for c, r in zip(got, ref):
        for (k, v), w in zip(c.state_dict().items(), r.state_dict().values()):
            torch.testing.assert_close(v, w, rtol=1e-5, atol=1e-6, msg=k)
    with torch.no_grad():
        first = _three_connectors()
        assert (got[0].net.weight - first[0].net.weight).abs().max() > 0.05


def test_train_connectors_defaults_are_128_examples_and_lr_1e_2():
    feats = [_features()[0]]
    labels = np.arange(12) % 10
    got, ref = _three_connectors()[:1], _three_connectors()[:1]
    g = torch.Generator().manual_seed(2)
    mm.train_connectors(LM, TOK, got, feats, labels, steps=1, generator=g)
    ref_g = torch.Generator().manual_seed(2)
    _train_by_hand(
        ref, feats, labels, steps=1, batch_size=128, lr=1e-2, generator=ref_g
    )
    assert torch.equal(g.get_state(), ref_g.get_state())
    torch.testing.assert_close(got[0].net.weight, ref[0].net.weight, rtol=0, atol=1e-6)
    torch.testing.assert_close(got[0].net.bias, ref[0].net.bias, rtol=0, atol=1e-6)
    # one Adam step moves every weight by about lr
    start = _three_connectors()[0].net.weight
    step = (got[0].net.weight - start).abs().max().item()
    assert step == pytest.approx(1e-2, rel=1e-3)


# ----------------------------------------------------------------- similarity measures
def test_cosines_of_a_zero_row_in_b_and_of_autograd_tensors():
    a = torch.tensor([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]], requires_grad=True)
    b = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 2.0]], requires_grad=True)
    np.testing.assert_allclose(
        mm.cosine_matrix(a, b), [[0.0, 2.0 / 3.0], [0.0, 0.8]], rtol=1e-15
    )
    np.testing.assert_allclose(mm.paired_cosine(a, b), [0.0, 0.8], rtol=1e-15)
    np.testing.assert_allclose(
        mm.paired_cosine(b.detach(), a.detach()), [0.0, 0.8], rtol=1e-15
    )
    # rows of norm exactly 1 are not treated as zero rows
    e = np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(mm.cosine_matrix(e, e), [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(mm.paired_cosine(e, e[::-1]), [0.0, 0.0])


def test_token_average_includes_position_zero():
    h = np.arange(24, dtype=float).reshape(1, 4, 6)
    np.testing.assert_array_equal(mm.token_average(h, [0, 3]), (h[:, 0] + h[:, 3]) / 2)
    np.testing.assert_array_equal(mm.token_average(h, [0]), h[:, 0])
    t = torch.tensor(h, requires_grad=True)
    np.testing.assert_array_equal(mm.token_average(t, [0, 3]), (h[:, 0] + h[:, 3]) / 2)


def test_ima_score_with_one_block():
    assert mm.ima_score([5.0, 2.0]) == 2.0
    assert mm.ima_score([5.0, 2.0], layers=[0]) == 5.0
    assert mm.ima_score([0.5], layers=[0]) == 0.5


def test_spearman_of_two_values_and_ties():
    assert mm.spearman([1.0, 2.0], [3.0, 1.0]) == -1.0
    assert mm.spearman([1.0, 2.0], [1.0, 3.0]) == 1.0
    # ties get their mean rank whatever order the sort leaves them in
    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    ranks = np.array([5.0, 1.5, 5.0, 3.0, 5.0, 1.5])
    np.testing.assert_array_equal(mm._ranks(x), ranks)
    np.testing.assert_array_equal(mm._ranks(x[::-1]), ranks[::-1])


def test_consecutive_cosine_positions_beyond_the_width():
    """T = 5 positions of width d = 3: position 4 is valid (the bound is T, not d)."""
    rng = np.random.default_rng(2)
    hs = [rng.normal(size=(2, 5, 3)) for _ in range(2)]
    ref = torch.nn.functional.cosine_similarity(
        torch.tensor(hs[0][:, [0, 4]]), torch.tensor(hs[1][:, [0, 4]]), dim=-1
    ).mean()
    out = mm.consecutive_cosine(hs, [0, 4])
    assert out.shape == (1,) and out[0] == pytest.approx(float(ref), abs=1e-12)
    t = [torch.tensor(h, requires_grad=True) for h in hs]
    np.testing.assert_array_equal(mm.consecutive_cosine(t, [0, 4]), out)


def test_nearest_words_of_autograd_tensors():
    E = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], requires_grad=True)
    P = torch.tensor([[[0.2, 3.0], [-5.0, 1.0]]], requires_grad=True)
    assert mm.nearest_words(P, E).tolist() == [[1, 2]]


def test_ffn_fraction_skipped_of_a_tensor_mask():
    m = mm.ffn_skip_mask(2, 4, [0, 3], [1])
    assert mm.ffn_fraction_skipped(m.requires_grad_()) == 0.25


# ----------------------------------------------------------------------------- the probe
def _probe_by_hand(a, b, seed):
    X = np.vstack([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    return float(LogisticRegression(max_iter=500).fit(Xtr, ytr).score(Xte, yte))


def test_separability_matches_scikit_learn_and_defaults_to_seed_0():
    """Overlapping clouds (accuracy strictly between 0.5 and 1): a stratified 30% test split
    seeded with ``seed``, and a logistic regression fitted on the rest."""
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(20, 2)), rng.normal(0.8, 1.0, size=(20, 2))
    for seed in (0, 3):
        assert mm.separability(a, b, seed=seed) == _probe_by_hand(a, b, seed)
    assert mm.separability(a, b) == _probe_by_hand(a, b, 0)
    assert _probe_by_hand(a, b, 0) != _probe_by_hand(a, b, 1)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    assert mm.separability(ta, tb, seed=3) == _probe_by_hand(a, b, 3)
