"""Unit tests of utils.multimodal (chapter 11): the corpus has no copy template, the frozen
model stays frozen, the similarity measures match torch / scikit-learn / SciPy on known
cases, and skipping the FFN changes only the chosen tokens."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import cosine_similarity

from utils import multimodal as mm
from utils.tiny_lm import TinyLM, TinyLMConfig, frozen_copy


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tok():
    return mm.make_tokenizer()


@pytest.fixture(scope="module")
def lm(tok):
    torch.manual_seed(0)
    model = TinyLM(
        TinyLMConfig(len(tok), d_model=16, n_heads=2, n_layers=3, d_ff=32, max_len=16)
    )
    return frozen_copy(model)


# ------------------------------------------------------------------------------- corpus
def test_caption_kinds_by_hand():
    rng = np.random.default_rng(0)
    assert mm.caption(7, "label", rng) == "this is the digit seven ."
    assert mm.caption(7, "after", rng) == "after six comes seven ."
    assert mm.caption(7, "before", rng) == "before eight comes seven ."
    assert mm.caption(0, "after", rng) == "after nine comes zero ."
    assert mm.caption(9, "before", rng) == "before zero comes nine ."
    assert mm.caption(4, "parity", rng) == "four is even ."
    assert mm.caption(3, "parity", rng) == "three is odd ."
    assert mm.caption(2, "picture", rng) == "a picture of the number two ."
    assert mm.caption(2, "drawing", rng) == "here is a drawing of two ."
    assert mm.caption(5, "count", rng) == "we count to five ."
    pair = mm.caption(1, "pair", rng).split()
    assert (
        pair[:5] == ["the", "digit", "one", "and", "the"] and pair[6] in mm.DIGIT_WORDS
    )


@pytest.mark.parametrize(
    "digit, kind, error, match",
    [
        (10, "label", ValueError, "digit"),
        (-1, "label", ValueError, "digit"),
        (1.0, "label", TypeError, "digit"),
        (True, "label", TypeError, "digit"),
        (3, "copy", ValueError, "kind"),
    ],
)
def test_caption_rejects_bad_input(digit, kind, error, match):
    with pytest.raises(error, match=match):
        mm.caption(digit, kind, np.random.default_rng(0))


def test_corpus_is_reproducible_and_tokenizable():
    tok = mm.make_tokenizer()
    a = mm.make_caption_corpus(50, np.random.default_rng(3))
    b = mm.make_caption_corpus(50, np.random.default_rng(3))
    assert a == b and len(a) == 50
    assert all(d.startswith("<bos> ") and d.count(" .") == 2 for d in a)
    tok.encode_batch(a)  # every word is in the fixed vocabulary
    assert tok.tokens[0] == "<pad>" and tok.tokens[1:11] == mm.DIGIT_WORDS


def test_corpus_has_no_copy_template():
    docs = mm.make_caption_corpus(3000, np.random.default_rng(0))
    flags = [r for r in map(mm.answer_repeats_context, docs) if r is not None]
    assert len(flags) > 300
    # independent digits: at most ~19% of answers repeat an earlier digit word by chance;
    # the copy template of the first draft gave 100%
    assert np.mean(flags) < 0.25


def test_answer_repeats_context_by_hand():
    assert mm.answer_repeats_context("seven . this is the digit seven .") is True
    assert (
        mm.answer_repeats_context("<bos> this is the digit two . two is even .")
        is False
    )
    assert mm.answer_repeats_context("<bos> after six comes seven .") is None
    with pytest.raises(TypeError, match="doc"):
        mm.answer_repeats_context(3)


def test_corpus_rejects_bad_input():
    with pytest.raises(ValueError, match="n_docs"):
        mm.make_caption_corpus(0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        mm.make_caption_corpus(3, 0)


# --------------------------------------------------------------------------- frozen model
def test_train_frozen_lm_returns_a_frozen_trained_model(tok):
    docs = mm.make_caption_corpus(64, np.random.default_rng(0))
    g = torch.Generator().manual_seed(0)
    model, losses = mm.train_frozen_lm(docs, tok, g, steps=3, batch_size=16, d_model=16)
    assert len(losses) == 3 and not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert model.n_layers == 4 and model.config.d_model == 16
    with pytest.raises(ValueError, match="docs"):
        mm.train_frozen_lm([], tok, g, steps=3)
    with pytest.raises(TypeError, match="generator"):
        mm.train_frozen_lm(docs, tok, 0, steps=3)
    with pytest.raises(ValueError, match="steps"):
        mm.train_frozen_lm(docs, tok, g, steps=0)


def test_training_connectors_leaves_the_language_model_unchanged(lm, tok):
    before = {k: v.clone() for k, v in lm.state_dict().items()}
    feats = torch.randn(40, 5)
    conn = mm.Connector(5, 2, 16, generator=torch.Generator().manual_seed(1))
    w0 = conn.net.weight.detach().clone()
    labels = np.arange(40) % 10
    mm.train_connectors(
        lm,
        tok,
        [conn],
        [feats],
        labels,
        steps=3,
        batch_size=8,
        generator=torch.Generator().manual_seed(0),
    )
    for k, v in lm.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not torch.equal(conn.net.weight, w0)


def test_train_connectors_refuses_a_trainable_model(tok):
    model = TinyLM(TinyLMConfig(len(tok), d_model=16, n_heads=2, n_layers=1, d_ff=16))
    conn = mm.Connector(3, 1, 16)
    with pytest.raises(ValueError, match="frozen"):
        mm.train_connectors(
            model,
            tok,
            [conn],
            [torch.randn(4, 3)],
            [0, 1, 2, 3],
            steps=1,
            generator=torch.Generator(),
        )


def test_joint_training_equals_training_each_arm_alone(lm, tok):
    """The fixed-budget comparison: arms trained together get exactly their own gradients."""
    feats_a, feats_b = torch.randn(30, 4), torch.randn(30, 6)
    labels = np.arange(30) % 10

    def make():
        g = torch.Generator().manual_seed(5)
        return mm.Connector(4, 2, 16, generator=g), mm.Connector(6, 2, 16, generator=g)

    a1, b1 = make()
    mm.train_connectors(
        lm,
        tok,
        [a1, b1],
        [feats_a, feats_b],
        labels,
        steps=4,
        batch_size=8,
        generator=torch.Generator().manual_seed(0),
    )
    a2, _ = make()
    mm.train_connectors(
        lm,
        tok,
        [a2],
        [feats_a],
        labels,
        steps=4,
        batch_size=8,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(a1.net.weight, a2.net.weight, atol=1e-5, rtol=1e-4)


def test_train_connectors_checkpoints(lm, tok):
    feats = torch.randn(20, 3)
    conn = mm.Connector(3, 1, 16, generator=torch.Generator().manual_seed(0))
    saved = mm.train_connectors(
        lm,
        tok,
        [conn],
        [feats],
        np.arange(20) % 10,
        steps=4,
        batch_size=4,
        generator=torch.Generator().manual_seed(0),
        checkpoints=(0, 2, 4),
        eval_features=[feats[:5]],
    )
    assert sorted(saved) == [0, 2, 4]
    assert saved[0][0].shape == (5, 1, 16)
    assert not torch.equal(saved[0][0], saved[4][0])
    torch.testing.assert_close(saved[4][0], conn(feats[:5]))
    with pytest.raises(ValueError, match="checkpoints"):
        mm.train_connectors(
            lm,
            tok,
            [conn],
            [feats],
            np.arange(20) % 10,
            steps=2,
            generator=torch.Generator(),
            checkpoints=(3,),
        )
    with pytest.raises(ValueError, match="connectors"):
        mm.train_connectors(lm, tok, [], [], [], steps=2, generator=torch.Generator())
    with pytest.raises(ValueError, match="features"):
        mm.train_connectors(
            lm,
            tok,
            [conn],
            [feats[:5]],
            np.arange(20) % 10,
            steps=2,
            generator=torch.Generator(),
        )


# ------------------------------------------------------------------------ perceptual side
def test_load_digit_split_is_stratified_and_reproducible():
    a = mm.load_digit_split(0)
    b = mm.load_digit_split(0)
    assert a[0].shape == (1257, 64) and a[1].shape == (540, 64)
    np.testing.assert_array_equal(a[3], b[3])
    counts = np.bincount(a[3], minlength=10)
    assert counts.min() >= 50


def test_pca_encoder_matches_sklearn():
    X = np.random.default_rng(0).normal(size=(100, 12))
    enc = mm.FrozenEncoder("pca", 4, seed=0).fit(X)
    ref = PCA(4, random_state=0).fit(X).transform(X)
    ref = (ref - ref.mean(0)) / (ref.std(0) + 1e-6)
    np.testing.assert_allclose(enc(X).numpy(), ref, atol=1e-5)
    assert enc.name == "pca-4"


def test_pixel_and_random_encoders():
    X = np.random.default_rng(1).normal(loc=3.0, scale=2.0, size=(80, 10))
    pix = mm.FrozenEncoder("pixels").fit(X)
    f = pix(X).numpy()
    np.testing.assert_allclose(f.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(f.std(0), 1, atol=1e-4)
    assert pix.name == "pixels" and f.shape == (80, 10)
    r1 = mm.FrozenEncoder("random", 3, seed=2).fit(X)
    r2 = mm.FrozenEncoder("random", 3, seed=2).fit(X)
    np.testing.assert_array_equal(r1(X).numpy(), r2(X).numpy())
    assert r1(X).shape == (80, 3) and r1.name == "random-3"


def test_encoder_rejects_bad_input():
    X = np.ones((5, 4))
    with pytest.raises(ValueError, match="kind"):
        mm.FrozenEncoder("cnn").fit(X)
    with pytest.raises(ValueError, match="dim"):
        mm.FrozenEncoder("pca").fit(X)
    with pytest.raises(RuntimeError, match="fit"):
        mm.FrozenEncoder("pixels")(X)
    enc = mm.FrozenEncoder("pixels").fit(X)
    with pytest.raises(ValueError, match="columns"):
        enc(np.ones((5, 3)))
    with pytest.raises(ValueError, match="images"):
        mm.FrozenEncoder("pixels").fit(np.ones(4))


def test_connector_shapes_and_errors():
    lin = mm.Connector(5, 3, 8)
    mlp = mm.Connector(5, 3, 8, hidden=7)
    assert lin(torch.randn(2, 5)).shape == (2, 3, 8)
    assert mlp(torch.randn(2, 5)).shape == (2, 3, 8)
    assert isinstance(lin.net, torch.nn.Linear) and len(mlp.net) == 3
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    torch.testing.assert_close(
        mm.Connector(5, 1, 8, generator=g1).net.weight,
        mm.Connector(5, 1, 8, generator=g2).net.weight,
    )
    with pytest.raises(ValueError, match="n_tokens"):
        mm.Connector(5, 0, 8)
    with pytest.raises(ValueError, match="feats"):
        lin(torch.randn(5))


def test_prompt_layout(lm, tok):
    P = torch.randn(2, 3, 16)
    e = mm.prompt_embeds(lm, tok, P)
    assert e.shape == (2, 1 + 3 + 4, 16)
    assert mm.perceptual_positions(3) == [1, 2, 3]
    torch.testing.assert_close(e[:, 1:4], P)
    torch.testing.assert_close(e[0, 0], lm.tok_emb.weight[tok.id("<bos>")])
    torch.testing.assert_close(e[1, -1], lm.tok_emb.weight[tok.id("digit")])
    with pytest.raises(ValueError, match="P"):
        mm.prompt_embeds(lm, tok, torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="n_tokens"):
        mm.perceptual_positions(0)


def test_digit_logits_and_accuracy(lm, tok):
    logits, hidden = mm.run_multimodal(lm, tok, torch.randn(4, 2, 16))
    assert logits.shape == (4, 7, len(tok)) and len(hidden) == lm.n_layers + 1
    d = mm.digit_logits(logits, tok)
    torch.testing.assert_close(d[:, 7], logits[:, -1, tok.id("seven")])
    assert mm.accuracy(np.eye(3), [0, 1, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels"):
        mm.accuracy(np.eye(3), [0, 1])
    with pytest.raises(ValueError, match="logits"):
        mm.digit_logits(torch.randn(3, 4), tok)


# ----------------------------------------------------------------------- similarity tools
def test_cosines_match_sklearn_and_torch():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(
        mm.cosine_matrix(a, b), cosine_similarity(a, b), atol=1e-12
    )
    c = rng.normal(size=(6, 5))
    ref = torch.nn.functional.cosine_similarity(torch.tensor(a), torch.tensor(c), dim=1)
    np.testing.assert_allclose(mm.paired_cosine(a, c), ref.numpy(), atol=1e-12)
    z = np.zeros((1, 5))
    assert mm.cosine_matrix(z, b).tolist() == [[0.0] * 4]
    assert mm.paired_cosine(z, a[:1]).tolist() == [0.0]
    with pytest.raises(ValueError, match="width"):
        mm.cosine_matrix(a, rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match="shape"):
        mm.paired_cosine(a, b)


def test_token_average_by_hand():
    h = np.arange(24, dtype=float).reshape(1, 4, 6)
    np.testing.assert_allclose(mm.token_average(h, [1, 3]), (h[:, 1] + h[:, 3]) / 2)
    with pytest.raises(ValueError, match="positions"):
        mm.token_average(h, [4])
    with pytest.raises(ValueError, match="positions"):
        mm.token_average(h, [])


def test_class_word_states_layer_zero_is_embedding_plus_position(lm, tok):
    states = mm.class_word_states(lm, tok)
    assert len(states) == lm.n_layers + 1 and states[0].shape == (10, 16)
    ids = torch.tensor([tok.id(w) for w in mm.DIGIT_WORDS])
    ref = lm.tok_emb.weight[ids] + lm.pos_emb.weight[5]
    np.testing.assert_allclose(states[0], ref.numpy(), atol=1e-6)


def test_alignment_on_known_cases():
    rng = np.random.default_rng(0)
    t = [rng.normal(size=(10, 6)) for _ in range(2)]
    labels = np.array([0, 3, 7, 7])
    p = [ti[labels] for ti in t]  # perceptual states equal to their class word
    plain = mm.alignment_per_layer(p, t, labels, contrastive=False)
    np.testing.assert_allclose(plain, [1.0, 1.0])
    con = mm.alignment_per_layer(p, t, labels)
    for layer in range(2):
        sims = cosine_similarity(p[layer], t[layer])
        mism = (sims.sum(1) - 1.0) / 9
        assert con[layer] == pytest.approx(np.mean(1.0 - mism))
    shuffled = mm.alignment_per_layer(p, t, np.array([3, 0, 1, 2]))
    assert np.all(shuffled < con)


def test_alignment_rejects_bad_labels():
    t = [np.ones((10, 3))]
    p = [np.ones((2, 3))]
    for bad in ([0, 10], [-1, 0], [0.5, 1.0], [0]):
        with pytest.raises(ValueError, match="labels"):
            mm.alignment_per_layer(p, t, np.array(bad))
    with pytest.raises(ValueError, match="layer"):
        mm.alignment_per_layer(p, t + t, np.array([0, 1]))


def test_ima_score_leaves_out_the_input_layer():
    assert mm.ima_score([10.0, 1.0, 2.0, 3.0]) == pytest.approx(2.0)
    assert mm.ima_score([10.0, 1.0, 2.0, 3.0], layers=[0, 3]) == pytest.approx(6.5)
    with pytest.raises(ValueError, match="layers"):
        mm.ima_score([1.0, 2.0], layers=[2])
    with pytest.raises(ValueError, match="per_layer"):
        mm.ima_score([1.0])


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.integers(0, 4, 20).astype(float), rng.normal(size=20)
        assert mm.spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert mm.spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="constant"):
        mm.spearman([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="same length"):
        mm.spearman([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        mm.spearman([1.0], [2.0])


def test_consecutive_cosine_matches_torch():
    rng = np.random.default_rng(0)
    hs = [rng.normal(size=(3, 5, 4)) for _ in range(3)]
    out = mm.consecutive_cosine(hs, [1, 2])
    assert out.shape == (2,)
    ref = torch.nn.functional.cosine_similarity(
        torch.tensor(hs[1][:, [1, 2]]), torch.tensor(hs[2][:, [1, 2]]), dim=-1
    ).mean()
    assert out[1] == pytest.approx(float(ref))
    np.testing.assert_allclose(mm.consecutive_cosine([hs[0], 2 * hs[0]], [0]), [1.0])
    with pytest.raises(ValueError, match="two layers"):
        mm.consecutive_cosine(hs[:1], [0])
    with pytest.raises(ValueError, match="positions"):
        mm.consecutive_cosine(hs, [5])


def test_norm_matched_noise_keeps_norms():
    P = torch.randn(4, 3, 8) * torch.arange(1, 4.0)[None, :, None]
    z = mm.norm_matched_noise(P, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.norm(dim=-1), P.norm(dim=-1))
    assert mm.paired_cosine(z.reshape(-1, 8), P.reshape(-1, 8)).mean() < 0.5
    z2 = mm.norm_matched_noise(P, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z, z2)
    with pytest.raises(ValueError, match="P"):
        mm.norm_matched_noise(torch.randn(3, 8), torch.Generator())


def test_nearest_words_recovers_the_words_themselves():
    E = np.random.default_rng(0).normal(size=(12, 6))
    ids = np.array([[3, 7], [11, 0]])
    assert mm.nearest_words(2.5 * E[ids], E).tolist() == ids.tolist()
    with pytest.raises(ValueError, match="P"):
        mm.nearest_words(E, E)


# --------------------------------------------------------------------------- FFN skipping
def test_ffn_skip_mask_and_fraction():
    m = mm.ffn_skip_mask(3, 5, [1, 2], [0, 2])
    assert m.shape == (3, 1, 5)
    assert m[0, 0].tolist() == [1, 0, 0, 1, 1] and m[1, 0].tolist() == [1] * 5
    assert m[2, 0].tolist() == [1, 0, 0, 1, 1]
    assert mm.ffn_fraction_skipped(m) == pytest.approx(4 / 15)
    assert mm.ffn_fraction_skipped(mm.ffn_skip_mask(2, 4, [], [0])) == 0.0
    with pytest.raises(ValueError, match="positions"):
        mm.ffn_skip_mask(3, 5, [5], [0])
    with pytest.raises(ValueError, match="layers"):
        mm.ffn_skip_mask(3, 5, [0], [3])
    with pytest.raises(ValueError, match="mask"):
        mm.ffn_fraction_skipped(np.full((1, 1, 2), 0.5))


def test_skipping_changes_only_the_chosen_tokens(lm, tok):
    P = torch.randn(3, 2, 16) * 3
    pos = mm.perceptual_positions(2)  # [1, 2]
    _, base = mm.run_multimodal(lm, tok, P)
    mask = mm.ffn_skip_mask(lm.n_layers, 7, pos, [1])
    _, skipped = mm.run_multimodal(lm, tok, P, ffn_keep=mask)
    for layer in range(2):  # before and at the skipped block's input: identical
        torch.testing.assert_close(skipped[layer], base[layer])
    diff = (skipped[2] - base[2]).abs().amax(dim=(0, 2))  # per position, after block 2
    assert diff[pos].min() > 1e-4
    assert diff[[0, 3, 4, 5, 6]].max() == 0.0  # other tokens untouched in that block
    # the skipped tokens' state after the block is the post-attention state: h + Attn only
    blk = lm.blocks[1]
    allowed = ~torch.ones(7, 7, dtype=torch.bool).triu(1)
    attn_only = base[1] + blk.self_attn(blk.norm1(base[1]), allowed)
    torch.testing.assert_close(skipped[2][:, pos], attn_only[:, pos])
    # position 0 comes before every skipped token: unchanged at every layer (causal mask)
    for layer in range(lm.n_layers + 1):
        torch.testing.assert_close(skipped[layer][:, 0], base[layer][:, 0])


def test_skipping_in_the_last_block_cannot_change_the_answer(lm, tok):
    P = torch.randn(3, 2, 16)
    logits, _ = mm.run_multimodal(lm, tok, P)
    last = mm.ffn_skip_mask(lm.n_layers, 7, [1, 2], [lm.n_layers - 1])
    skipped, _ = mm.run_multimodal(lm, tok, P, ffn_keep=last)
    torch.testing.assert_close(skipped[:, -1], logits[:, -1])
    earlier = mm.ffn_skip_mask(lm.n_layers, 7, [1, 2], [0])
    changed, _ = mm.run_multimodal(lm, tok, P * 5, ffn_keep=earlier)
    ref, _ = mm.run_multimodal(lm, tok, P * 5)
    assert (changed[:, -1] - ref[:, -1]).abs().max() > 1e-6


def test_separability_probe():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(100, 4))
    assert mm.separability(a, a + 10.0) == 1.0
    same = mm.separability(a, rng.normal(size=(100, 4)))
    assert 0.3 < same < 0.7
