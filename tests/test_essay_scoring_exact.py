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
