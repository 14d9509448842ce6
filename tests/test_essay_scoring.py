"""Unit tests of utils.essay_scoring (chapter 05).

Quadratic weighted kappa against scikit-learn; integrated gradients against closed forms (a
linear and a quadratic scorer) and its completeness on the real scorer; the rubric, the
probes and the detector on small cases solved by hand; every bad input.
"""

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score

from utils import essay_scoring as es
from utils.core import torch_generator

VOCAB = es.make_vocabulary()
ADV, ADV2 = es.ADVANCED_WORDS[0], es.ADVANCED_WORDS[1]
TOPIC = es.TOPIC_WORDS[0]


def small_corpus(n=60, seed=0, disorder_rate=0.12):
    essays, ability = es.generate_essays(
        n, np.random.default_rng(seed), disorder_rate=disorder_rate
    )
    return essays, ability


# --- vocabulary and essays -------------------------------------------------------------
def test_vocabulary_ids_and_classes():
    assert es.make_vocabulary() == VOCAB  # a fixed vocabulary
    assert isinstance(VOCAB, es.Vocabulary)
    assert VOCAB.size == 1 + 20 + 40 + 30 + 20 + 8 + 1
    assert VOCAB.words[0] == es.PAD and VOCAB.id_of(es.PAD) == 0
    assert VOCAB.word_class[VOCAB.id_of(ADV)] == "advanced"
    assert VOCAB.word_class[VOCAB.id_of("finally")] == "connective"
    with pytest.raises(KeyError, match="zebra"):
        VOCAB.id_of("zebra")


def test_generated_essays_follow_their_description():
    essays, ability = small_corpus(200, disorder_rate=0.0)
    assert len(essays) == 200 and ability.shape == (200,)
    for essay in essays:
        assert 3 <= len(essay) <= 8
        assert es.coherence(essay) == 1.0  # nothing shuffled
        for sentence in essay:
            assert sentence[0] in es.CONNECTIVES and sentence[-1] == es.END
            assert es.SENTENCE_WORDS[0] <= len(sentence) - 2 < es.SENTENCE_WORDS[1]
        assert essay[-1][0] == "finally"
    lengths = np.array([len(e) for e in essays])
    assert np.corrcoef(ability, lengths)[0, 1] > 0.5  # abler writers write more


def test_disorder_rate_shuffles_sentences():
    essays, _ = small_corpus(200, disorder_rate=1.0)
    assert np.mean([es.coherence(e) < 1 for e in essays]) > 0.8
    essays, _ = small_corpus(400, seed=1, disorder_rate=0.5)
    assert 0.3 < np.mean([es.coherence(e) < 1 for e in essays]) < 0.6


def test_generation_is_reproducible_from_the_generator():
    a, _ = small_corpus(20, seed=3)
    b, _ = small_corpus(20, seed=3)
    c, _ = small_corpus(20, seed=4)
    assert a == b and a != c


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 5, "disorder_rate": 1.5}, "disorder_rate"),
        ({"n": 5, "rng": 3}, "rng must be a numpy Generator"),
    ],
)
def test_generate_essays_rejects_bad_input(kwargs, message):
    kwargs = dict(kwargs)  # a copy: the parameters are shared when the test runs again
    kwargs.setdefault("rng", np.random.default_rng(0))
    n = kwargs.pop("n")
    with pytest.raises(ValueError, match=message):
        es.generate_essays(n, **kwargs)


def test_essay_tokens_flattens_and_checks():
    assert es.essay_tokens([["first", "a", "."], ["finally", "b"]]) == [
        "first",
        "a",
        ".",
        "finally",
        "b",
    ]
    with pytest.raises(ValueError, match="essay must be a non-empty list"):
        es.essay_tokens([])
    with pytest.raises(ValueError, match=r"essay\[1\] must be a list of words"):
        es.essay_tokens([["first"], "finally"])


# --- the rubric ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "links, expected",
    [
        (["first", "second", "finally"], 1.0),
        (["second", "first", "finally"], 0.5),
        (["finally", "second", "first"], 0.0),
        (["then", "then"], 0.0),  # equal ranks are not in order
        (["next"], 1.0),  # fewer than two connectives
    ],
)
def test_coherence_by_hand(links, expected):
    essay = [[c, "the", "."] for c in links]
    assert es.coherence(essay) == pytest.approx(expected)


def test_rubric_counts_distinct_words_and_coherence():
    essay = [["first", ADV, ADV, TOPIC, "the", "."], ["second", ADV2, TOPIC, "."]]
    assert es.rubric_raw(essay) == pytest.approx(2 * 1.0 + 1 * 0.5 + 4 * 1.0)
    disordered = [essay[1], essay[0], ["finally", "."]]
    # connectives second, first, finally: one of two pairs in order
    assert es.rubric_raw(disordered) == pytest.approx(2.5 + 4 * 0.5)


@pytest.mark.parametrize(
    "words, raw, score",
    [
        ([], 4.0, 1),  # 3 <= raw < 5
        ([TOPIC], 4.5, 1),
        ([ADV], 5.0, 2),  # exactly on the cut at 5 -> the upper score
        ([ADV, TOPIC], 5.5, 2),
    ],
)
def test_rubric_score_cuts_by_hand(words, raw, score):
    essay = [["first", *words, "."]]  # one connective: coherence 1 -> 4 points
    assert es.rubric_raw(essay) == pytest.approx(raw)
    assert es.rubric_score(essay) == score
    assert es.rubric_points(essay) == pytest.approx((raw - 3) / 2 + 1)


def test_rubric_score_ends_of_the_scale():
    low = [["second", "the", "."], ["first", "."]]  # raw 0
    assert es.rubric_score(low) == 0 and es.rubric_points(low) == pytest.approx(-0.5)
    high = [["first", *es.ADVANCED_WORDS, "."]]  # raw 34
    assert es.rubric_score(high) == 10
    just = [["first", *es.ADVANCED_WORDS[:17], "."]]  # raw 21: the last cut
    assert es.rubric_score(just) == 10
    below = [["first", *es.ADVANCED_WORDS[:16], TOPIC, "."]]  # raw 20.5
    assert es.rubric_score(below) == 9


def test_rubric_score_equals_rounded_down_points():
    essays, _ = small_corpus(200, seed=5)
    for e in essays:
        assert es.rubric_score(e) == int(np.clip(np.floor(es.rubric_points(e)), 0, 10))


# --- quadratic weighted kappa ----------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qwk_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 11, size=300)
    pred = np.clip(y + rng.integers(-3, 4, size=300), 0, 10)
    ours = es.quadratic_weighted_kappa(y, pred, 0, 10)
    reference = cohen_kappa_score(y, pred, weights="quadratic", labels=np.arange(11))
    assert ours == pytest.approx(reference, abs=1e-12)


def test_qwk_with_an_offset_scale_and_by_hand():
    y, pred = np.array([1, 2, 3, 3]), np.array([1, 3, 3, 2])
    # O = [[1,0,0],[0,0,1],[0,1,1]]: two cells off by one, each weighing 1/4
    # margins (1, 1, 2) on both sides: E = outer / 4; W = (i - j)^2 / 4
    expected = np.outer([1, 1, 2], [1, 1, 2]) / 4
    weights = np.subtract.outer(range(3), range(3)) ** 2 / 4
    by_hand = 1 - (1 / 4 + 1 / 4) / (weights * expected).sum()
    assert es.quadratic_weighted_kappa(y, pred, 1, 3) == pytest.approx(
        by_hand, abs=1e-12
    )
    assert by_hand == pytest.approx(7 / 11)  # sum(W * E) = 5.5 / 4
    assert es.quadratic_weighted_kappa(y, y, 1, 3) == pytest.approx(1.0)


def test_qwk_is_zero_when_nothing_varies():
    assert es.quadratic_weighted_kappa([4, 4, 4], [4, 4, 4], 0, 10) == 0.0


def test_qwk_of_a_constant_prediction_is_zero():
    y = np.arange(11)
    assert es.quadratic_weighted_kappa(y, np.full(11, 5), 0, 10) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "y_true, y_pred, lo, hi, message",
    [
        ([1, 2], [1.5, 2], 0, 5, "y_pred must hold integer ratings"),
        ([1, 7], [1, 2], 0, 5, r"y_true must lie in \[0, 5\]"),
        ([1, 2], [-1, 2], 0, 5, r"y_pred must lie in \[0, 5\]"),
        ([1, 2], [1, 2], 5, 5, "max_rating must exceed min_rating"),
        ([1, 2], [1, 2], 0.0, 5, "min_rating must be an integer"),
        ([1, 2], [1, 2, 3], 0, 5, "y_true and y_pred must have the same length"),
        ([], [], 0, 5, "y_true is empty"),
        ([1, np.nan], [1, 2], 0, 5, "y_true must be finite"),
    ],
)
def test_qwk_rejects_bad_input(y_true, y_pred, lo, hi, message):
    with pytest.raises(ValueError, match=message):
        es.quadratic_weighted_kappa(y_true, y_pred, lo, hi)


# --- encoding and the scorer -------------------------------------------------------------
def test_encode_pads_at_the_end():
    essay = [["first", ADV, "."]]
    ids = es.encode([essay, [["finally", "."]]], VOCAB, max_len=5)
    assert ids.dtype == torch.long and ids.shape == (2, 5)
    assert ids[0].tolist() == [
        VOCAB.id_of("first"),
        VOCAB.id_of(ADV),
        VOCAB.id_of("."),
        0,
        0,
    ]
    assert ids[1, 2:].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "essays, max_len, message",
    [
        ([[["first", "zebra", "."]]], 10, "outside the vocabulary"),
        ([[["first", ADV, "."]]], 2, "more than max_len=2"),
        ([], 10, "essays must be a non-empty list"),
        ([[["first"]]], 0, "max_len must be a positive integer"),
    ],
)
def test_encode_rejects_bad_input(essays, max_len, message):
    with pytest.raises(ValueError, match=message):
        es.encode(essays, VOCAB, max_len=max_len)


def tiny_scorer(stream=0):
    return es.EssayScorer(VOCAB.size, generator=torch_generator(0, stream))


def test_scorer_shapes_padding_and_embedding_entry_point():
    essays, _ = small_corpus(6)
    ids = es.encode(essays, VOCAB, max_len=72)
    model = tiny_scorer()
    with torch.no_grad():
        out = model(ids)
        wider = model(torch.nn.functional.pad(ids, (0, 10)))  # more padding
        via_embeddings = model.forward_from_embeddings(
            model.embed(ids), (ids > 0).float()
        )
    assert out.shape == (6,)
    torch.testing.assert_close(out, wider)
    torch.testing.assert_close(out, via_embeddings)


def test_scorer_initialisation_follows_the_generator():
    a, b, c = tiny_scorer(0), tiny_scorer(0), tiny_scorer(1)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    assert not torch.equal(a.head.weight, c.head.weight)
    assert torch.all(a.embed.weight[0] == 0)


def test_scorer_reads_order():
    """The architecture can tell two orders of the same words apart."""
    model = tiny_scorer()
    ids = es.encode(
        [
            [["first", ADV, "."], ["second", TOPIC, "."]],
            [["second", TOPIC, "."], ["first", ADV, "."]],
        ],
        VOCAB,
    )
    with torch.no_grad():
        out = model(ids)
    assert abs(float(out[0] - out[1])) > 1e-4


@pytest.mark.parametrize(
    "ids, message",
    [
        (torch.zeros(3, dtype=torch.long), "2-D LongTensor"),
        (torch.zeros(2, 3), "2-D LongTensor"),
        (torch.full((1, 3), 500, dtype=torch.long), r"ids must lie in \[0, 120\)"),
        (torch.full((1, 3), -1, dtype=torch.long), r"ids must lie in"),
        (torch.zeros(0, 3, dtype=torch.long), "ids is empty"),
    ],
)
def test_scorer_rejects_bad_ids(ids, message):
    with pytest.raises(ValueError, match=message):
        tiny_scorer()(ids)


def test_scorer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="vocab_size"):
        es.EssayScorer(0)
    with pytest.raises(ValueError, match="hidden"):
        es.EssayScorer(10, hidden=0)


def test_training_lowers_the_loss_and_is_reproducible():
    essays, _ = small_corpus(256, seed=2)
    ids = es.encode(essays, VOCAB)
    scores = np.array([es.rubric_score(e) for e in essays])
    runs = [
        es.train_scorer(
            ids,
            scores,
            vocab_size=VOCAB.size,
            epochs=4,
            batch_size=64,
            generator=torch_generator(0, 1),
        )
        for _ in range(2)
    ]
    (model, (mean, sd), log), (model2, _, log2) = runs
    assert len(log.losses) == 4 * 4
    assert np.mean(log.losses[-4:]) < 0.7 * np.mean(log.losses[:4])
    assert log.losses == log2.losses
    assert mean == pytest.approx(scores.mean()) and sd == pytest.approx(scores.std())
    with torch.no_grad():
        raw = model(ids).numpy()
    np.testing.assert_allclose(
        es.predict_scores(model, ids, (mean, sd)), mean + sd * raw, rtol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scores": np.zeros(3)}, "ids and scores must have the same length"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"scores": np.full(4, np.nan)}, "scores must be finite"),
    ],
)
def test_training_rejects_bad_input(kwargs, message):
    ids = es.encode([[["first", ADV, "."]]] * 4, VOCAB)
    args = {
        "scores": np.arange(4.0),
        "vocab_size": VOCAB.size,
        "generator": torch_generator(0, 1),
        **kwargs,
    }
    scores = args.pop("scores")
    with pytest.raises(ValueError, match=message):
        es.train_scorer(ids, scores, **args)


# --- integrated gradients --------------------------------------------------------------
class SumModel(torch.nn.Module):
    """F(E) = g(sum_i mask_i E_i . w) with g the identity (linear) or the square."""

    def __init__(self, square=False):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(VOCAB.size, 4, padding_idx=0)
        self.w = torch.randn(4)
        self.square = square
        self.vocab_size = VOCAB.size

    def forward_from_embeddings(self, emb, mask):
        s = ((emb @ self.w) * mask).sum(-1)
        return s**2 if self.square else s + 0.7


def sample_ids(n=5):
    essays, _ = small_corpus(n, seed=4)
    return es.encode(essays, VOCAB)


def test_ig_of_a_linear_model_is_input_times_weight():
    model, ids = SumModel(), sample_ids()
    attr, gap = es.integrated_gradients(model, ids, steps=3)
    with torch.no_grad():
        expected = (model.embed(ids) @ model.w) * (ids > 0)
    np.testing.assert_allclose(attr, expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(gap, 0.0, atol=1e-4)


@pytest.mark.parametrize("steps", [1, 4, 32])
def test_ig_right_riemann_sum_on_a_quadratic_model(steps):
    """F = S^2 with S = sum_i E_i.w: IG_i = (E_i.w) S (m+1)/m, so the gap is S^2/m."""
    model, ids = SumModel(square=True), sample_ids()
    attr, gap = es.integrated_gradients(model, ids, steps=steps)
    with torch.no_grad():
        per_token = ((model.embed(ids) @ model.w) * (ids > 0)).numpy()
    s = per_token.sum(1, keepdims=True)
    np.testing.assert_allclose(
        attr, per_token * s * (steps + 1) / steps, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(gap, s[:, 0] ** 2 / steps, rtol=1e-4, atol=1e-5)


def test_ig_completeness_on_the_scorer_improves_with_steps():
    model, ids = tiny_scorer(), sample_ids(8)
    _, coarse = es.integrated_gradients(model, ids, steps=2)
    attr, fine = es.integrated_gradients(model, ids, steps=64)
    with torch.no_grad():
        change = (
            model(ids)
            - model.forward_from_embeddings(
                torch.zeros(*ids.shape, 24), (ids > 0).float()
            )
        ).numpy()
    assert np.abs(fine).max() < 0.02 * np.abs(change).max()
    assert np.abs(fine).max() < np.abs(coarse).max()
    np.testing.assert_allclose(attr.sum(1) - change, fine, atol=1e-5)
    assert np.all(attr[ids.numpy() == 0] == 0)  # padding gets nothing


def test_ig_scale_and_chunks():
    model, ids = tiny_scorer(), sample_ids(7)
    attr, gap = es.integrated_gradients(model, ids, steps=8)
    attr3, gap3 = es.integrated_gradients(model, ids, steps=8, scale=3.0, chunk=2)
    np.testing.assert_allclose(attr3, 3.0 * attr, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gap3, 3.0 * gap, rtol=1e-3, atol=1e-5)
    assert attr.shape == ids.shape


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"chunk": 0}, "chunk must be a positive integer"),
        ({"scale": float("nan")}, "scale must be a finite number"),
    ],
)
def test_ig_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        es.integrated_gradients(tiny_scorer(), sample_ids(2), **kwargs)
    with pytest.raises(ValueError, match="2-D LongTensor"):
        es.integrated_gradients(tiny_scorer(), sample_ids(2)[0])


# --- the probes ----------------------------------------------------------------------------
ESSAY = [
    ["first", ADV, "the", "."],
    ["second", TOPIC, "good", "."],
    ["finally", ADV2, "."],
]


def test_shuffles_keep_the_content():
    rng = np.random.default_rng(0)
    shuffled = es.shuffle_sentences(ESSAY, rng)
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, ESSAY))
    bag = es.shuffle_words(ESSAY, rng)
    assert len(bag) == 1 and sorted(bag[0]) == sorted(es.essay_tokens(ESSAY))
    orders = {tuple(s[0] for s in es.shuffle_sentences(ESSAY, rng)) for _ in range(40)}
    assert len(orders) == 6  # all 3! orders appear
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        es.shuffle_words(ESSAY, 0)


def test_keep_tokens_by_attribution_and_at_random():
    attributions = np.array([0.1, -2.0, 0.0, 0.3, 0.5, 1.0, 0.0, 0.2, 0.0, 0.9, 0.0])
    kept = es.keep_tokens(ESSAY, attributions, 0.4)  # 4 of 11 tokens, by |IG|
    assert kept == [[ADV, "second", TOPIC, ADV2]]  # |-2.0|, 0.5, 1.0, 0.9 in order
    assert es.keep_tokens(ESSAY, attributions, 1.0) == [es.essay_tokens(ESSAY)]
    rng = np.random.default_rng(1)
    tokens = es.essay_tokens(ESSAY)
    draws = set()
    for _ in range(30):
        (kept_random,) = es.keep_tokens(ESSAY, attributions, 0.4, rng=rng)
        assert len(kept_random) == 4
        rest = iter(tokens)  # a subsequence, order kept
        assert all(any(w == t for t in rest) for w in kept_random)
        draws.add(tuple(kept_random))
    assert len(draws) > 10


@pytest.mark.parametrize(
    "attributions, fraction, message",
    [
        (np.zeros(3), 0.5, "attributions must have one value per token"),
        (np.zeros(11), 0.01, "keeps no token"),
        (np.zeros(11), 1.5, "fraction must be a number in"),
        (np.full(11, np.nan), 0.5, "attributions must be finite"),
    ],
)
def test_keep_tokens_rejects_bad_input(attributions, fraction, message):
    with pytest.raises(ValueError, match=message):
        es.keep_tokens(ESSAY, attributions, fraction)


def test_add_words_at_the_end_and_at_random_places():
    rng = np.random.default_rng(0)
    end = es.add_words(ESSAY, [ADV, ADV], rng)
    assert end[-1] == ["finally", ADV2, ADV, ADV, "."]
    assert end[:2] == ESSAY[:2]
    assert es.rubric_raw(end) == es.rubric_raw(ESSAY)  # repeated words: no change
    for _ in range(20):
        inserted = es.add_words(ESSAY, ["good"] * 3, rng, position="random")
        assert sum(map(len, inserted)) == sum(map(len, ESSAY)) + 3
        for before, after in zip(ESSAY, inserted):
            assert (
                after[0] == before[0] and after[-1] == "."
            )  # connective and stop kept
    assert ESSAY[-1] == ["finally", ADV2, "."]  # the input is unchanged
    no_stop = es.add_words([["first", ADV]], ["good"], rng)
    assert no_stop == [["first", ADV, "good"]]


@pytest.mark.parametrize(
    "words, position, message",
    [
        ([], "end", "words must be a non-empty list"),
        ("good", "end", "words must be a non-empty list"),
        (["good"], "middle", "position must be 'end' or 'random'"),
    ],
)
def test_add_words_rejects_bad_input(words, position, message):
    with pytest.raises(ValueError, match=message):
        es.add_words(ESSAY, words, np.random.default_rng(0), position=position)


def test_trigger_words_by_hand():
    a, b, c = (VOCAB.id_of(w) for w in (ADV, ADV2, TOPIC))
    ids = torch.tensor([[a, b, c, 0], [a, b, c, c]])
    attributions = np.array([[1.0, 3.0, 0.5, 0.0], [2.0, 2.0, 0.5, 0.5]])
    # means per occurrence: ADV 1.5, ADV2 2.5, TOPIC 0.5
    assert es.trigger_words(ids, attributions, VOCAB, k=2, min_count=2) == [ADV2, ADV]
    # TOPIC is seen 3 times, the others twice: with min_count=3 only TOPIC remains
    assert es.trigger_words(ids, attributions, VOCAB, k=1, min_count=3) == [TOPIC]
    with pytest.raises(ValueError, match="cannot pick k=2"):
        es.trigger_words(ids, attributions, VOCAB, k=2, min_count=3)
    with pytest.raises(ValueError, match="attributions must match ids"):
        es.trigger_words(ids, attributions[:, :3], VOCAB)


def test_attribution_features_by_hand():
    attr = np.array([[0.5, -1.0, 0.25, 0.0, 9.0], [0.2, 0.4, 0.0, 0.0, 0.0]])
    mask = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=float)
    f = es.attribution_features(attr, mask)
    assert f.shape == (2, len(es.FEATURE_NAMES)) == (2, 11)
    ig = np.array([0.5, -1.0, 0.25, 0.0])
    np.testing.assert_allclose(
        f[0],
        [ig.mean(), ig.std(), 1.75 / 1.75, 1.0, 1.0, 0.5, 0.25, 0.0, 0.0, 1.0, 4.0],
    )
    np.testing.assert_allclose(f[1], [0.3, 0.1, 1.0, 1.0, 0.4, 0.2, 0, 0, 0, 1.0, 2.0])
    wide = np.array([[0.1] * 20])
    g = es.attribution_features(wide, np.ones((1, 20)))
    np.testing.assert_allclose(g[0, 2:4], [3 / 20, 10 / 20])
    assert g[0, 9] == 0.0  # 0.1 is not above 0.3


@pytest.mark.parametrize(
    "attr, mask, message",
    [
        (np.zeros((2, 3)), np.ones((2, 4)), "same shape"),
        (np.zeros((2, 3)), np.full((2, 3), 0.5), "mask must hold 0s and 1s"),
        (np.zeros((2, 3)), np.array([[1, 1, 0], [0, 0, 0]]), "mask row 1 has no token"),
        (np.zeros(3), np.ones(3), "attributions must be 2-D"),
    ],
)
def test_attribution_features_reject_bad_input(attr, mask, message):
    with pytest.raises(ValueError, match=message):
        es.attribution_features(attr, mask)


def test_detection_accuracy_on_separable_and_on_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    separable = labels[:, None] * 3.0 + rng.normal(scale=0.3, size=(100, 2))
    assert es.detection_accuracy(separable, labels, seed=0) == 1.0
    noise = rng.normal(size=(100, 2))
    assert es.detection_accuracy(noise, labels, seed=0) < 0.75
    folds = [es.detection_accuracy(noise, labels, seed=0, folds=k) for k in (2, 10)]
    assert folds[0] != folds[1]


@pytest.mark.parametrize(
    "features, labels, folds, message",
    [
        (np.zeros((4, 2)), np.array([0, 1, 2, 1]), 2, "labels must hold 0"),
        (np.zeros((4, 2)), np.array([0, 1, 0, 1]), 3, "folds must be >= 2"),
        (np.zeros((4, 2)), np.array([0, 1, 0, 1]), 1, "folds must be >= 2"),
        (np.zeros((4, 2)), np.array([0, 1, 0]), 2, "same length"),
        (np.zeros(4), np.array([0, 1, 0, 1]), 2, "features must be 2-D"),
    ],
)
def test_detection_accuracy_rejects_bad_input(features, labels, folds, message):
    with pytest.raises(ValueError, match=message):
        es.detection_accuracy(features, labels, seed=0, folds=folds)


# --- summaries -----------------------------------------------------------------------------
def test_change_slope_matches_polyfit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 0.3 * x + 1.0 + rng.normal(scale=0.1, size=50)
    assert es.change_slope(y, x) == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-10)
    assert es.change_slope(0.3 * x - 2, x) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="rubric_change must vary"):
        es.change_slope(y, np.ones(50))
    with pytest.raises(ValueError, match="same length"):
        es.change_slope(y, x[:10])


def test_fraction_changed_rounds_and_clips():
    before = np.array([2.4, 2.4, 10.2, -0.6, 4.0])
    after = np.array([2.6, 2.45, 11.7, -0.2, 4.0])
    # 2 -> 3 changed; 2 -> 2 same; 10 -> 12 clipped to 10: same; -1 -> 0 clipped: same
    assert es.fraction_changed(before, after) == pytest.approx(1 / 5)
    assert es.fraction_changed(before, after, low=-5, high=20) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="high must exceed low"):
        es.fraction_changed(before, after, low=3, high=3)
    with pytest.raises(ValueError, match="before and after must have the same length"):
        es.fraction_changed(before, after[:2])
