"""Exact values, boundaries and error messages of utils.essay_scoring (chapter 05).

Written to kill the mutants that tests/test_essay_scoring.py lets survive (``python3 course.py
mutate essay_scoring``): every check's error message, anchored at both ends, so that the
argument's name and the reported values are pinned.
"""

import numpy as np
import pytest
import torch

from utils import essay_scoring as es

V = es.make_vocabulary()
ids = torch.tensor([[1, 2, 0], [3, 0, 0]])
E = [[es.CONNECTIVES[0], es.ADVANCED_WORDS[0], es.END]]
model = es.EssayScorer(
    V.size, dim=4, hidden=4, generator=torch.Generator().manual_seed(0)
)

ERRORS = [
    (
        "gen_n",
        lambda: es.generate_essays(0, np.random.default_rng(0)),
        ValueError,
        "n must be a positive integer, got 0",
    ),
    (
        "gen_rng",
        lambda: es.generate_essays(2, 0),
        ValueError,
        "rng must be a numpy Generator (course.rng), got int",
    ),
    (
        "gen_rate",
        lambda: es.generate_essays(2, np.random.default_rng(0), disorder_rate=1.5),
        ValueError,
        "disorder_rate must be a number in [0, 1], got 1.5",
    ),
    (
        "gen_rate_bool",
        lambda: es.generate_essays(2, np.random.default_rng(0), disorder_rate=True),
        ValueError,
        "disorder_rate must be a number in [0, 1], got True",
    ),
    (
        "tokens_empty",
        lambda: es.essay_tokens([]),
        ValueError,
        "essay must be a non-empty list of sentences (lists of words)",
    ),
    (
        "tokens_str",
        lambda: es.essay_tokens("abc"),
        ValueError,
        "essay must be a non-empty list of sentences (lists of words)",
    ),
    (
        "tokens_sent",
        lambda: es.essay_tokens([["a", 1]]),
        ValueError,
        "essay[0] must be a list of words (strings)",
    ),
    (
        "tokens_sent2",
        lambda: es.essay_tokens([["a"], "b c"]),
        ValueError,
        "essay[1] must be a list of words (strings)",
    ),
    (
        "qwk_true_nan",
        lambda: es.quadratic_weighted_kappa([0, np.nan], [0, 1], 0, 2),
        ValueError,
        "y_true must be finite; its element 1 (flat index) is nan",
    ),
    (
        "qwk_pred_2d",
        lambda: es.quadratic_weighted_kappa([0, 1], [[0, 1]], 0, 2),
        ValueError,
        "y_pred must be 1-D, got shape (1, 2)",
    ),
    (
        "qwk_len",
        lambda: es.quadratic_weighted_kappa([0, 1], [0, 1, 2], 0, 2),
        ValueError,
        "y_true and y_pred must have the same length, got 2 and 3",
    ),
    (
        "qwk_min",
        lambda: es.quadratic_weighted_kappa([0, 1], [0, 1], 0.0, 2),
        ValueError,
        "min_rating must be an integer, got 0.0",
    ),
    (
        "qwk_max_bool",
        lambda: es.quadratic_weighted_kappa([0, 1], [0, 1], 0, True),
        ValueError,
        "max_rating must be an integer, got True",
    ),
    (
        "qwk_order",
        lambda: es.quadratic_weighted_kappa([0, 1], [0, 1], 2, 2),
        ValueError,
        "max_rating must exceed min_rating, got 2 and 2",
    ),
    (
        "qwk_round_true",
        lambda: es.quadratic_weighted_kappa([0, 1.5], [0, 1], 0, 2),
        ValueError,
        "y_true must hold integer ratings; round predictions first",
    ),
    (
        "qwk_round_pred",
        lambda: es.quadratic_weighted_kappa([0, 1], [0.5, 1], 0, 2),
        ValueError,
        "y_pred must hold integer ratings; round predictions first",
    ),
    (
        "qwk_range_true",
        lambda: es.quadratic_weighted_kappa([0, 3], [0, 1], 0, 2),
        ValueError,
        "y_true must lie in [0, 2], got values from 0 to 3",
    ),
    (
        "qwk_range_pred",
        lambda: es.quadratic_weighted_kappa([1, 1], [-1, 1], 0, 2),
        ValueError,
        "y_pred must lie in [0, 2], got values from -1 to 1",
    ),
    (
        "enc_maxlen",
        lambda: es.encode([E], V, max_len=0),
        ValueError,
        "max_len must be a positive integer, got 0",
    ),
    (
        "enc_empty",
        lambda: es.encode([], V),
        ValueError,
        "essays must be a non-empty list of essays",
    ),
    (
        "enc_long",
        lambda: es.encode([E], V, max_len=2),
        ValueError,
        "essays[0] has 3 tokens, more than max_len=2",
    ),
    (
        "enc_unknown",
        lambda: es.encode([E, [["zzz", "qqq", "."]]], V),
        ValueError,
        "essays[1] holds words outside the vocabulary: ['zzz', 'qqq']",
    ),
    (
        "ids_type",
        lambda: es.predict_scores(model, np.zeros((2, 3), int), (0.0, 1.0)),
        ValueError,
        "ids must be a 2-D LongTensor of token ids [B, L]",
    ),
    (
        "ids_float",
        lambda: es.predict_scores(model, ids.float(), (0.0, 1.0)),
        ValueError,
        "ids must be a 2-D LongTensor of token ids [B, L]",
    ),
    (
        "ids_1d",
        lambda: es.predict_scores(model, ids[0], (0.0, 1.0)),
        ValueError,
        "ids must be a 2-D LongTensor of token ids [B, L]",
    ),
    (
        "ids_empty",
        lambda: es.predict_scores(model, ids[:0], (0.0, 1.0)),
        ValueError,
        "ids is empty",
    ),
    (
        "ids_range",
        lambda: es.predict_scores(model, ids + V.size, (0.0, 1.0)),
        ValueError,
        "ids must lie in [0, 120), got 120..123",
    ),
    (
        "ids_neg",
        lambda: es.predict_scores(model, ids - 1, (0.0, 1.0)),
        ValueError,
        "ids must lie in [0, 120), got -1..2",
    ),
    (
        "scorer_vocab",
        lambda: es.EssayScorer(0),
        ValueError,
        "vocab_size must be a positive integer, got 0",
    ),
    (
        "scorer_dim",
        lambda: es.EssayScorer(5, dim=0),
        ValueError,
        "dim must be a positive integer, got 0",
    ),
    (
        "scorer_hidden",
        lambda: es.EssayScorer(5, hidden=0),
        ValueError,
        "hidden must be a positive integer, got 0",
    ),
    (
        "train_scores",
        lambda: es.train_scorer(
            ids, [1.0, np.nan], vocab_size=V.size, generator=torch.Generator()
        ),
        ValueError,
        "scores must be finite; its element 1 (flat index) is nan",
    ),
    (
        "train_scores2d",
        lambda: es.train_scorer(
            ids, [[1.0, 2.0]], vocab_size=V.size, generator=torch.Generator()
        ),
        ValueError,
        "scores must be 1-D, got shape (1, 2)",
    ),
    (
        "train_len",
        lambda: es.train_scorer(
            ids, [1.0, 2.0, 3.0], vocab_size=V.size, generator=torch.Generator()
        ),
        ValueError,
        "ids and scores must have the same length, got 2 and 3",
    ),
    (
        "train_epochs",
        lambda: es.train_scorer(
            ids, [1.0, 2.0], vocab_size=V.size, generator=torch.Generator(), epochs=0
        ),
        ValueError,
        "epochs must be a positive integer, got 0",
    ),
    (
        "train_batch",
        lambda: es.train_scorer(
            ids,
            [1.0, 2.0],
            vocab_size=V.size,
            generator=torch.Generator(),
            batch_size=0,
        ),
        ValueError,
        "batch_size must be a positive integer, got 0",
    ),
    (
        "train_lr",
        lambda: es.train_scorer(
            ids, [1.0, 2.0], vocab_size=V.size, generator=torch.Generator(), lr=0.0
        ),
        ValueError,
        "lr must be a positive finite number, got 0.0",
    ),
    (
        "ig_steps",
        lambda: es.integrated_gradients(model, ids, steps=0),
        ValueError,
        "steps must be a positive integer, got 0",
    ),
    (
        "ig_chunk",
        lambda: es.integrated_gradients(model, ids, chunk=0),
        ValueError,
        "chunk must be a positive integer, got 0",
    ),
    (
        "ig_scale",
        lambda: es.integrated_gradients(model, ids, scale=np.nan),
        ValueError,
        "scale must be a finite number, got nan",
    ),
    (
        "ig_scale_bool",
        lambda: es.integrated_gradients(model, ids, scale=True),
        ValueError,
        "scale must be a finite number, got True",
    ),
    (
        "shuf_rng",
        lambda: es.shuffle_sentences(E, 0),
        ValueError,
        "rng must be a numpy Generator (course.rng), got int",
    ),
    (
        "shufw_rng",
        lambda: es.shuffle_words(E, None),
        ValueError,
        "rng must be a numpy Generator (course.rng), got NoneType",
    ),
    (
        "keep_attr",
        lambda: es.keep_tokens(E, [1.0, np.nan, 2.0], 0.5),
        ValueError,
        "attributions must be finite; its element 1 (flat index) is nan",
    ),
    (
        "keep_attr2d",
        lambda: es.keep_tokens(E, [[1.0, 2.0, 3.0]], 0.5),
        ValueError,
        "attributions must be 1-D, got shape (1, 3)",
    ),
    (
        "keep_len",
        lambda: es.keep_tokens(E, [1.0, 2.0], 0.5),
        ValueError,
        "attributions must have one value per token: 3 tokens, got 2 values",
    ),
    (
        "keep_frac",
        lambda: es.keep_tokens(E, [1.0, 2.0, 3.0], 1.5),
        ValueError,
        "fraction must be a number in [0, 1], got 1.5",
    ),
    (
        "keep_zero",
        lambda: es.keep_tokens(E, [1.0, 2.0, 3.0], 0.1),
        ValueError,
        "fraction=0.1 keeps no token of a 3-token essay",
    ),
    (
        "keep_rng",
        lambda: es.keep_tokens(E, [1.0, 2.0, 3.0], 0.5, rng=1),
        ValueError,
        "rng must be a numpy Generator (course.rng), got int",
    ),
    (
        "add_words_str",
        lambda: es.add_words(E, "word", np.random.default_rng(0)),
        ValueError,
        "words must be a non-empty list of words (strings)",
    ),
    (
        "add_words_empty",
        lambda: es.add_words(E, [], np.random.default_rng(0)),
        ValueError,
        "words must be a non-empty list of words (strings)",
    ),
    (
        "add_words_int",
        lambda: es.add_words(E, ["a", 1], np.random.default_rng(0)),
        ValueError,
        "words must be a non-empty list of words (strings)",
    ),
    (
        "add_pos",
        lambda: es.add_words(E, ["a"], np.random.default_rng(0), position="middle"),
        ValueError,
        "position must be 'end' or 'random', got 'middle'",
    ),
    (
        "add_rng",
        lambda: es.add_words(E, ["a"], 0),
        ValueError,
        "rng must be a numpy Generator (course.rng), got int",
    ),
    (
        "trig_attr",
        lambda: es.trigger_words(ids, np.zeros((2, 2)), V),
        ValueError,
        "attributions must match ids: shape (2, 3), got (2, 2)",
    ),
    (
        "trig_attr_nan",
        lambda: es.trigger_words(ids, np.full((2, 3), np.nan), V),
        ValueError,
        "attributions must be finite; its element 0 (flat index) is nan",
    ),
    (
        "trig_attr_1d",
        lambda: es.trigger_words(ids, np.zeros(3), V),
        ValueError,
        "attributions must be 2-D, got shape (3,)",
    ),
    (
        "trig_k",
        lambda: es.trigger_words(ids, np.zeros((2, 3)), V, k=0),
        ValueError,
        "k must be a positive integer, got 0",
    ),
    (
        "trig_min",
        lambda: es.trigger_words(ids, np.zeros((2, 3)), V, min_count=0),
        ValueError,
        "min_count must be a positive integer, got 0",
    ),
    (
        "trig_few",
        lambda: es.trigger_words(ids, np.zeros((2, 3)), V, k=2, min_count=2),
        ValueError,
        "only 0 words occur at least min_count=2 times; cannot pick k=2",
    ),
    (
        "feat_attr",
        lambda: es.attribution_features(np.full((1, 2), np.nan), np.ones((1, 2))),
        ValueError,
        "attributions must be finite; its element 0 (flat index) is nan",
    ),
    (
        "feat_attr1d",
        lambda: es.attribution_features(np.zeros(2), np.ones((1, 2))),
        ValueError,
        "attributions must be 2-D, got shape (2,)",
    ),
    (
        "feat_mask",
        lambda: es.attribution_features(np.zeros((1, 2)), np.full((1, 2), np.nan)),
        ValueError,
        "mask must be finite; its element 0 (flat index) is nan",
    ),
    (
        "feat_mask1d",
        lambda: es.attribution_features(np.zeros((1, 2)), np.ones(2)),
        ValueError,
        "mask must be 2-D, got shape (2,)",
    ),
    (
        "feat_shape",
        lambda: es.attribution_features(np.zeros((1, 2)), np.ones((1, 3))),
        ValueError,
        "attributions and mask must have the same shape, got (1, 2) and (1, 3)",
    ),
    (
        "feat_mask01",
        lambda: es.attribution_features(np.zeros((1, 2)), np.full((1, 2), 0.5)),
        ValueError,
        "mask must hold 0s and 1s",
    ),
    (
        "feat_notoken",
        lambda: es.attribution_features(
            np.zeros((2, 2)), np.array([[1.0, 1.0], [0.0, 0.0]])
        ),
        ValueError,
        "mask row 1 has no token",
    ),
    (
        "det_feat",
        lambda: es.detection_accuracy(np.full((4, 1), np.nan), [0, 1, 0, 1], seed=0),
        ValueError,
        "features must be finite; its element 0 (flat index) is nan",
    ),
    (
        "det_feat1d",
        lambda: es.detection_accuracy(np.zeros(4), [0, 1, 0, 1], seed=0),
        ValueError,
        "features must be 2-D, got shape (4,)",
    ),
    (
        "det_labels",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [0, 1, 0, np.nan], seed=0),
        ValueError,
        "labels must be finite; its element 3 (flat index) is nan",
    ),
    (
        "det_labels2d",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [[0, 1, 0, 1]], seed=0),
        ValueError,
        "labels must be 1-D, got shape (1, 4)",
    ),
    (
        "det_len",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [0, 1, 0], seed=0),
        ValueError,
        "features and labels must have the same length, got 4 and 3",
    ),
    (
        "det_01",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [0, 1, 0, 2], seed=0),
        ValueError,
        "labels must hold 0 (clean) and 1 (attacked)",
    ),
    (
        "det_folds",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [0, 1, 0, 1], seed=0, folds=0),
        ValueError,
        "folds must be a positive integer, got 0",
    ),
    (
        "det_folds1",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [0, 1, 0, 1], seed=0, folds=1),
        ValueError,
        "folds must be >= 2 and at most the size of the smaller class, got 1",
    ),
    (
        "det_folds3",
        lambda: es.detection_accuracy(np.zeros((4, 1)), [0, 1, 0, 1], seed=0, folds=3),
        ValueError,
        "folds must be >= 2 and at most the size of the smaller class, got 3",
    ),
    (
        "slope_m",
        lambda: es.change_slope([np.nan, 1.0], [1.0, 2.0]),
        ValueError,
        "model_change must be finite; its element 0 (flat index) is nan",
    ),
    (
        "slope_m2d",
        lambda: es.change_slope([[0.0, 1.0]], [1.0, 2.0]),
        ValueError,
        "model_change must be 1-D, got shape (1, 2)",
    ),
    (
        "slope_r",
        lambda: es.change_slope([0.0, 1.0], [1.0, np.inf]),
        ValueError,
        "rubric_change must be finite; its element 1 (flat index) is inf",
    ),
    (
        "slope_r2d",
        lambda: es.change_slope([0.0, 1.0], [[1.0, 2.0]]),
        ValueError,
        "rubric_change must be 1-D, got shape (1, 2)",
    ),
    (
        "slope_len",
        lambda: es.change_slope([0.0, 1.0, 2.0], [1.0, 2.0]),
        ValueError,
        "model_change and rubric_change must have the same length, got 3 and 2",
    ),
    (
        "slope_const",
        lambda: es.change_slope([0.0, 1.0], [1.0, 1.0]),
        ValueError,
        "rubric_change must vary across at least two essays",
    ),
    (
        "slope_one",
        lambda: es.change_slope([0.0], [1.0]),
        ValueError,
        "rubric_change must vary across at least two essays",
    ),
    (
        "frac_b",
        lambda: es.fraction_changed([np.nan, 1.0], [1.0, 2.0]),
        ValueError,
        "before must be finite; its element 0 (flat index) is nan",
    ),
    (
        "frac_b2d",
        lambda: es.fraction_changed([[0.0, 1.0]], [1.0, 2.0]),
        ValueError,
        "before must be 1-D, got shape (1, 2)",
    ),
    (
        "frac_a",
        lambda: es.fraction_changed([0.0, 1.0], [1.0, np.inf]),
        ValueError,
        "after must be finite; its element 1 (flat index) is inf",
    ),
    (
        "frac_a2d",
        lambda: es.fraction_changed([0.0, 1.0], [[1.0, 2.0]]),
        ValueError,
        "after must be 1-D, got shape (1, 2)",
    ),
    (
        "frac_len",
        lambda: es.fraction_changed([0.0, 1.0, 2.0], [1.0, 2.0]),
        ValueError,
        "before and after must have the same length, got 3 and 2",
    ),
    (
        "frac_low",
        lambda: es.fraction_changed([0.0], [1.0], low=0.5),
        ValueError,
        "low must be an integer, got 0.5",
    ),
    (
        "frac_high",
        lambda: es.fraction_changed([0.0], [1.0], high=True),
        ValueError,
        "high must be an integer, got True",
    ),
    (
        "frac_order",
        lambda: es.fraction_changed([0.0], [1.0], low=3, high=3),
        ValueError,
        "high must exceed low, got low=3, high=3",
    ),
    (
        "vocab_id",
        lambda: V.id_of("zzz"),
        KeyError,
        "word 'zzz' is not in the vocabulary",
    ),
]


@pytest.mark.parametrize(
    "name, call, error, message", ERRORS, ids=[e[0] for e in ERRORS]
)
def test_error_message_names_the_argument(name, call, error, message):
    with pytest.raises(error) as info:
        call()
    text = info.value.args[0] if error is KeyError else str(info.value)
    assert text == message


# --------------------------------------------------------------- the essay generator
def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("ability", [-2.0, 0.0, 0.3, 1.7])
def test_word_kind_probabilities_by_hand(ability):
    p = es._word_kind_probabilities(ability)
    advanced = 0.30 * _logistic(1.5 * (ability - 0.3))
    topic = 0.25 * _logistic(1.2 * ability) + 0.05
    np.testing.assert_allclose(
        p, [advanced, topic, 0.3, 0.7 - advanced - topic], rtol=1e-12
    )
    assert es._word_kind_probabilities(0.3)[0] == pytest.approx(0.15)  # the midpoint
    assert es._word_kind_probabilities(0.0)[1] == pytest.approx(0.175)


def test_written_words_follow_the_word_kind_probabilities():
    rng = np.random.default_rng(3)
    words = [w for _ in range(3000) for w in es._write_sentence(1.0, rng)]
    kinds = (es.ADVANCED_WORDS, es.TOPIC_WORDS, es.BASIC_WORDS, es.FUNCTION_WORDS)
    shares = [np.mean([w in kind for w in words]) for kind in kinds]
    # about 15,000 words: a share's standard error is below 0.004
    np.testing.assert_allclose(shares, es._word_kind_probabilities(1.0), atol=0.015)


class _FixedNormal:
    """Stands in for a numpy Generator whose normal draw is ``z`` standard deviations."""

    def __init__(self, z):
        self.z = z

    def normal(self, scale):
        return scale * self.z


@pytest.mark.parametrize(
    "ability, z, count",
    [
        (0.0, 0.0, 6),  # round(5.5) = 6 (round half to even)
        (0.0, 1.0, 6),  # 5.5 + 0.8 = 6.3
        (0.0, -1.0, 5),  # 4.7
        (1.0, 0.0, 7),  # 6.8
        (-1.9, 0.0, 3),  # 3.03
        (-1.5, 0.0, 4),  # 3.55
        (-4.0, 0.0, 3),  # clipped from -(-)
        (2.0, 1.0, 8),  # 9.1 clipped to 8
    ],
)
def test_sentence_count_by_hand(ability, z, count):
    assert es._sentence_count(ability, _FixedNormal(z)) == count


def test_generate_essays_default_disorder_rate_is_0_12():
    default = es.generate_essays(40, np.random.default_rng(5))
    explicit = es.generate_essays(40, np.random.default_rng(5), disorder_rate=0.12)
    assert default[0] == explicit[0]
    shuffled = es.generate_essays(40, np.random.default_rng(5), disorder_rate=0.5)
    assert default[0] != shuffled[0]


# ------------------------------------------------------------------ kappa and encoding
@pytest.mark.parametrize("low, high", [(0, 1), (1, 6), (2, 12), (-3, 3)])
def test_quadratic_weighted_kappa_matches_scikit_learn(low, high):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(high)
    y_true = rng.integers(low, high + 1, size=30)
    y_pred = np.clip(y_true + rng.integers(-1, 2, size=30), low, high)
    expected = cohen_kappa_score(
        y_true, y_pred, weights="quadratic", labels=np.arange(low, high + 1)
    )
    got = es.quadratic_weighted_kappa(y_true, y_pred, low, high)
    assert got == pytest.approx(expected, abs=1e-12)


def test_quadratic_weighted_kappa_refuses_a_column_of_ratings():
    with pytest.raises(ValueError, match=r"^y_true must be 1-D, got shape \(3, 1\)$"):
        es.quadratic_weighted_kappa(np.array([[1], [2], [3]]), [1, 2, 3], 1, 3)


def test_encode_default_length_and_boundary():
    essay = [["first"] + ["." for _ in range(71)]]  # 72 tokens: exactly the default
    assert es.encode([essay], V).shape == (1, 72)
    too_long = [essay[0] + ["."]]
    with pytest.raises(ValueError, match="has 73 tokens, more than max_len=72"):
        es.encode([too_long], V)
    assert es.encode([essay], V, max_len=72).shape == (1, 72)


def test_encode_names_the_first_three_unknown_words():
    with pytest.raises(ValueError) as info:
        es.encode([[["first", "qa", "qb", "qc", "qd"]]], V)
    assert str(info.value) == (
        "essays[0] holds words outside the vocabulary: ['qa', 'qb', 'qc']"
    )


def test_ids_equal_to_the_vocabulary_size_are_refused():
    bad = torch.tensor([[1, V.size]])
    with pytest.raises(ValueError, match=rf"^ids must lie in \[0, {V.size}\)"):
        model(bad)
    model(torch.tensor([[1, V.size - 1]]))  # the largest id is fine


@pytest.mark.parametrize(
    "rows, width",
    [
        ([[1, 2, 0, 0], [3, 0, 0, 0]], 2),
        ([[1, 0, 0, 0], [3, 0, 0, 0]], 1),
        ([[0, 0, 0, 0]], 1),  # all padding: one column kept
        ([[1, 2, 3, 4]], 4),
        ([[1, 2, 0, 0], [1, 2, 0, 0], [1, 2, 0, 0]], 2),  # not the total count
    ],
)
def test_trim_padding_keeps_the_longest_row(rows, width):
    ids_ = torch.tensor(rows)
    trimmed = es._trim_padding(ids_)
    assert tuple(trimmed.shape) == (len(rows), width)
    assert torch.equal(trimmed, ids_[:, :width])


# --------------------------------------------------------------------------- the scorer
def test_essay_scorer_defaults_padding_row_and_initial_bound():
    g = torch.Generator().manual_seed(0)
    net = es.EssayScorer(V.size, generator=g)
    assert net.embed.weight.shape == (V.size, 24)
    assert net.gru.hidden_size == 32 and net.head.in_features == 64
    assert net.embed.padding_idx == 0
    assert torch.all(net.embed.weight[0] == 0)
    bound = 1.0 / np.sqrt(32)
    conv = net.conv.weight
    assert conv.abs().max() <= bound and conv.abs().max() > 0.95 * bound
    # padding gets no gradient
    net(torch.tensor([[1, 2, 0]])).sum().backward()
    assert torch.all(net.embed.weight.grad[0] == 0)
    assert net.embed.weight.grad[1].abs().sum() > 0


def test_forward_from_embeddings_by_hand():
    g = torch.Generator().manual_seed(2)
    net = es.EssayScorer(V.size, dim=3, hidden=2, generator=g)
    emb = torch.randn(2, 4, 3, generator=g)
    mask = torch.tensor([[1.0, 1, 1, 0], [1, 1, 0, 0]])
    local = torch.relu(net.conv(emb.transpose(1, 2))) * mask[:, None, :]
    states = net.gru(emb)[0] * mask[:, :, None]
    pooled = torch.cat([local.sum(2), states.sum(1)], dim=1) / 10.0
    expected = pooled @ net.head.weight[0] + net.head.bias[0]
    out = net.forward_from_embeddings(emb, mask)
    assert out.shape == (2,)
    torch.testing.assert_close(out, expected)


def _tiny_data(n=8):
    rng = np.random.default_rng(0)
    tiny = torch.from_numpy(rng.integers(1, V.size, size=(n, 5)))
    tiny[:, 3:] = 0
    scores = rng.integers(2, 9, size=n).astype(float)
    return tiny, scores


def _first_loss_by_hand(tiny, scores, seed, batch, dim, hidden):
    """MSE of the initial model on the first batch, drawn as train_scorer draws it."""
    g = torch.Generator().manual_seed(seed)
    start = es.EssayScorer(V.size, dim=dim, hidden=hidden, generator=g)
    rows = torch.randperm(len(tiny), generator=g)[:batch]
    target = torch.tensor((scores - scores.mean()) / scores.std(), dtype=torch.float32)
    with torch.no_grad():
        return torch.mean((start(tiny[rows]) - target[rows]) ** 2).item()


def test_train_scorer_default_batch_is_128_essays():
    tiny, scores = _tiny_data(130)
    g = torch.Generator().manual_seed(4)
    _, _, log = es.train_scorer(
        tiny, scores, vocab_size=V.size, generator=g, epochs=1, dim=3, hidden=2
    )
    assert len(log.losses) == 1  # 130 // 128 = 1 step per epoch
    first = _first_loss_by_hand(tiny, scores, 4, batch=128, dim=3, hidden=2)
    assert log.losses[0] == pytest.approx(first, rel=1e-6)


def test_train_scorer_first_loss_is_the_mse_of_the_initial_model():
    tiny, scores = _tiny_data()
    g = torch.Generator().manual_seed(7)
    model_, (mean, sd), log = es.train_scorer(
        tiny,
        scores,
        vocab_size=V.size,
        generator=g,
        epochs=1,
        batch_size=4,
        dim=5,
        hidden=3,
    )
    assert (mean, sd) == (scores.mean(), scores.std())
    assert len(log.losses) == 2  # 8 essays in batches of 4
    first = _first_loss_by_hand(tiny, scores, 7, batch=4, dim=5, hidden=3)
    assert log.losses[0] == pytest.approx(first, rel=1e-5)
    assert model_.embed.weight.shape == (V.size, 5)


def test_train_scorer_draws_one_permutation_per_epoch():
    tiny, scores = _tiny_data()
    g = torch.Generator().manual_seed(3)
    _, _, log = es.train_scorer(
        tiny, scores, vocab_size=V.size, generator=g, epochs=3, batch_size=4
    )
    assert len(log.losses) == 6 and np.isfinite(log.losses).all()
    ref = torch.Generator().manual_seed(3)
    es.EssayScorer(V.size, generator=ref)
    for _ in range(3):
        torch.randperm(8, generator=ref)
    assert torch.equal(g.get_state(), ref.get_state())


def test_train_scorer_defaults_and_first_step_size():
    tiny, scores = _tiny_data()
    model_, _, log = es.train_scorer(
        tiny, scores, vocab_size=V.size, generator=torch.Generator().manual_seed(1)
    )
    assert len(log.losses) == 20  # 20 epochs of one batch (8 essays < 128)
    assert model_.embed.weight.shape == (V.size, 24) and model_.gru.hidden_size == 32
    # Adam's first step moves each weight by about lr = 5e-3
    g = torch.Generator().manual_seed(1)
    stepped, _, _ = es.train_scorer(
        tiny, scores, vocab_size=V.size, generator=g, epochs=1
    )
    start = es.EssayScorer(V.size, generator=torch.Generator().manual_seed(1))
    moved = (stepped.head.weight - start.head.weight).abs().max().item()
    assert moved == pytest.approx(5e-3, rel=1e-3)


def test_train_scorer_with_constant_scores_keeps_sd_one():
    tiny, _ = _tiny_data()
    _, (mean, sd), _ = es.train_scorer(
        tiny,
        np.full(8, 4.0),
        vocab_size=V.size,
        generator=torch.Generator().manual_seed(0),
        epochs=1,
    )
    assert (mean, sd) == (4.0, 1.0)


def test_train_scorer_checks_ids_before_drawing_from_the_generator():
    tiny, scores = _tiny_data()
    tiny[0, 0] = V.size
    g = torch.Generator().manual_seed(0)
    before = g.get_state()
    with pytest.raises(ValueError, match="ids must lie in"):
        es.train_scorer(tiny, scores, vocab_size=V.size, generator=g, epochs=1)
    assert torch.equal(g.get_state(), before)


def test_predict_scores_are_float64_in_score_points():
    tiny, _ = _tiny_data()
    got = es.predict_scores(model, tiny, (5.0, 2.0))
    assert got.dtype == np.float64
    with torch.no_grad():
        expected = 5.0 + 2.0 * model(tiny).double().numpy()
    np.testing.assert_allclose(got, expected)


# ---------------------------------------------------------------- integrated gradients
def test_integrated_gradients_default_steps_and_vocabulary_check():
    tiny, _ = _tiny_data(4)
    default = es.integrated_gradients(model, tiny)
    explicit = es.integrated_gradients(model, tiny, steps=32)
    other = es.integrated_gradients(model, tiny, steps=33)
    np.testing.assert_array_equal(default[0], explicit[0])
    assert not np.array_equal(default[0], other[0])
    assert default[1].dtype == np.float64 and default[1].shape == (4,)
    chunked = es.integrated_gradients(model, tiny, chunk=3)
    np.testing.assert_allclose(chunked[0], default[0], atol=1e-6)
    tiny[1, 0] = V.size
    with pytest.raises(ValueError, match=rf"^ids must lie in \[0, {V.size}\)"):
        es.integrated_gradients(model, tiny)


# ---------------------------------------------------------------------------- the probes
def test_keep_tokens_breaks_ties_by_position_and_random_keeps_distinct_tokens():
    essay = [["first"] + ["a" + str(i) for i in range(39)]]
    tokens = es.essay_tokens(essay)
    attributions = np.where(np.arange(40) % 3 == 0, 1.0, 0.5)  # many ties
    kept = es.keep_tokens(essay, attributions, 0.5)[0]
    top = [t for i, t in enumerate(tokens) if i % 3 == 0]  # 14 tokens
    rest = [t for i, t in enumerate(tokens) if i % 3 != 0][:6]  # earliest ties first
    assert kept == [t for t in tokens if t in set(top + rest)]
    for seed in range(5):
        kept = es.keep_tokens(essay, attributions, 0.9, rng=np.random.default_rng(seed))
        assert len(kept[0]) == 36 and len(set(kept[0])) == 36


def test_add_words_random_positions_cover_every_slot_after_the_connective():
    essay = [["first", "x", "y", "."]]
    seen = set()
    for seed in range(60):
        out = es.add_words(
            essay, ["NEW"], np.random.default_rng(seed), position="random"
        )
        assert out[0][0] == "first" and out[0][-1] == "."
        seen.add(out[0].index("NEW"))
    assert seen == {1, 2, 3}  # after the connective, up to just before the full stop
    no_stop = [["first", "x"]]
    seen = {
        es.add_words(no_stop, ["NEW"], np.random.default_rng(s), position="random")[
            0
        ].index("NEW")
        for s in range(40)
    }
    assert seen == {1, 2}  # a sentence without a full stop can grow at its end


def test_trigger_words_rank_by_mean_attribution_per_occurrence():
    words = V.words
    ids_ = torch.tensor([[1, 1, 2, 3, 0, 0], [2, 3, 3, 4, 4, 0]])
    attributions = np.array(
        [[1.0, 1.0, 3.0, 0.5, 9.0, 9.0], [1.0, 0.5, 0.5, 2.0, 0.0, 9.0]]
    )
    # means: id1 1.0 (2x), id2 2.0 (2x), id3 0.5 (3x), id4 1.0 (2x); padding 9.0 ignored
    assert es.trigger_words(ids_, attributions, V, k=4, min_count=1) == [
        words[2],
        words[1],
        words[4],
        words[3],
    ]
    assert es.trigger_words(ids_, attributions, V, k=1, min_count=3) == [words[3]]
    # one occurrence of a big value: min_count=1 keeps it at its own mean
    single = torch.tensor([[5, 1, 1]])
    assert es.trigger_words(
        single, np.array([[1.5, 1.0, 1.2]]), V, k=2, min_count=1
    ) == [
        words[5],
        words[1],
    ]
    with pytest.raises(ValueError, match=rf"^ids must lie in \[0, {V.size}\)"):
        es.trigger_words(torch.tensor([[V.size, 1]]), np.ones((1, 2)), V, min_count=1)


def test_trigger_words_defaults_are_five_words_seen_five_times():
    ids_ = torch.tensor(
        [[w] * 6 for w in range(1, 7)] + [[7] * 5 + [0], [8] * 4 + [0, 0]]
    )
    attributions = np.arange(8, dtype=float)[:, None] * np.ones((8, 6))
    # id 8 (mean 7, seen 4 times) is too rare; id 7 (seen 5 times) counts
    assert es.trigger_words(ids_, attributions, V) == [
        V.words[i] for i in (7, 6, 5, 4, 3)
    ]


# -------------------------------------------------------------------------- the detector
def test_attribution_features_of_a_one_token_essay_and_the_threshold():
    attributions = np.array([[0.3, 0.0, 0.0], [0.31, -0.2, 0.0]])
    mask = np.array([[1.0, 0, 0], [1, 1, 0]])
    f = es.attribution_features(attributions, mask)
    np.testing.assert_allclose(
        f[0], [0.3, 0.0, 1.0, 1.0, 0.3, 0, 0, 0, 0, 0.0, 1.0], atol=1e-12
    )  # IG exactly 0.3 is not above 0.3
    np.testing.assert_allclose(
        f[1],
        [0.055, 0.255, 1.0, 1.0, 0.31, 0.2, 0, 0, 0, 1.0, 2.0],
        atol=1e-12,
    )


def test_attribution_features_of_long_essays_keep_the_five_largest():
    a = np.array([[0.1, -0.7, 0.2, 0.6, 0.05, 0.4, -0.3]])
    f = es.attribution_features(a, np.ones_like(a))
    np.testing.assert_allclose(f[0, 4:9], [0.7, 0.6, 0.4, 0.3, 0.2])
    total = np.abs(a).sum()
    assert f[0, 2] == pytest.approx((0.7 + 0.6 + 0.4) / total)
    assert f[0, 3] == pytest.approx(1.0)


def _detection_data(n0=20, n1=20):
    rng = np.random.default_rng(4)
    labels = np.r_[np.zeros(n0), np.ones(n1)]
    features = rng.normal(size=(n0 + n1, 3)) * [1.0, 100.0, 0.01]
    features[:, 0] += 0.8 * labels
    features[:, 2] += 0.01 * labels
    return features, labels


def test_detection_accuracy_is_scaled_logistic_regression_over_seeded_folds():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = _detection_data()
    expected = {}
    for folds in (5, 6):
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=11)
        expected[folds] = cross_val_score(pipeline, features, labels, cv=cv).mean()
    assert es.detection_accuracy(features, labels, seed=11) == pytest.approx(
        expected[5], abs=1e-12
    )
    assert es.detection_accuracy(features, labels, seed=11, folds=6) == pytest.approx(
        expected[6], abs=1e-12
    )
    unscaled = cross_val_score(
        LogisticRegression(max_iter=1000),
        features,
        labels,
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=11),
    ).mean()
    assert expected[5] != unscaled  # the check above would see a missing scaler
    assert expected[5] != expected[6]


@pytest.mark.parametrize(
    "n0, n1, ok", [(5, 20, True), (20, 5, True), (4, 20, False), (20, 4, False)]
)
def test_detection_accuracy_needs_folds_members_in_each_class(n0, n1, ok):
    features, labels = _detection_data(n0, n1)
    if ok:
        assert 0.0 <= es.detection_accuracy(features, labels, seed=0) <= 1.0
        return
    with pytest.raises(ValueError, match="^folds must be >= 2 and at most the size"):
        es.detection_accuracy(features, labels, seed=0)


# ------------------------------------------------------------------------- summaries
def test_change_slope_of_two_essays_and_with_an_offset():
    assert es.change_slope([3.0, 5.0], [1.0, 2.0]) == pytest.approx(2.0)
    rubric = np.array([0.0, 1.0, 3.0])
    assert es.change_slope(10.0 + 0.5 * rubric, rubric) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "before, after, kwargs, expected",
    [
        ([0.2], [0.9], {}, 1.0),  # 0 -> 1 counts with the default low = 0
        ([0.2], [0.9], {"low": 1}, 0.0),
        ([12.0], [10.4], {}, 0.0),  # both clip to high = 10
        ([3.0], [-2.0], {"low": 0, "high": 10}, 1.0),
        ([-3.0], [-0.4], {}, 0.0),  # both clip to low = 0
        ([0.0], [-2.0], {}, 0.0),  # -2 clips to low = 0
        ([2.0, 5.0], [2.4, 5.6], {}, 0.5),
    ],
)
def test_fraction_changed_rounds_then_clips(before, after, kwargs, expected):
    assert es.fraction_changed(before, after, **kwargs) == expected


def test_trigger_words_break_ties_by_word_id():
    ids_ = torch.arange(1, 31)[None, :]  # words 1..30 once each
    attributions = np.ones((1, 30))
    attributions[0, 9] = 2.0  # word 10 stands out; the rest tie
    top = es.trigger_words(ids_, attributions, V, k=8, min_count=1)
    assert top == [V.words[i] for i in (10, 1, 2, 3, 4, 5, 6, 7)]
