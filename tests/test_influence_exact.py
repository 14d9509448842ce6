"""Exact tests of utils.influence (chapter 09) that pin what the first test file leaves
open: the boundaries of every check and the exact error messages that name the
argument."""

import numpy as np
import pytest
import torch

from utils import influence as inf


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def data():
    return inf.make_nli(12, np.random.default_rng(1), noise=0.2)


# ------------------------------------------------------------------------- decode
def test_decode_accepts_lists_arrays_tensors_and_nothing():
    ids = [inf.VOCAB.index(w) for w in ("the", "dog", "sits")] + [0, 0]
    assert inf.decode(ids) == "the dog sits"
    assert inf.decode(np.array(ids)) == "the dog sits"
    assert inf.decode(torch.tensor(ids)) == "the dog sits"
    assert inf.decode([]) == "" and inf.decode(np.array([], dtype=int)) == ""
    assert inf.decode([len(inf.VOCAB) - 1]) == inf.VOCAB[-1]


@pytest.mark.parametrize(
    "ids, message",
    [
        (
            [1, -1],
            rf"ids must hold token ids in \[0, {len(inf.VOCAB)}\), got values in \[-1, 1\]",
        ),
        ([len(inf.VOCAB)], rf"ids must hold token ids in \[0, {len(inf.VOCAB)}\)"),
        (
            [1.0, 2.0],
            r"ids must be a 1-D array of integer token ids, got shape \(2,\) and dtype float64",
        ),
        ([[1, 2]], r"ids must be a 1-D array of integer token ids, got shape \(1, 2\)"),
    ],
)
def test_decode_messages(ids, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        inf.decode(ids)


# --------------------------------------------------------------- fractions and counts
@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(noise=-0.01), r"noise must be a number in \[0, 1\], got -0.01"),
        (dict(noise=1.01), r"noise must be a number in \[0, 1\], got 1.01"),
        (dict(noise=np.inf), r"noise must be a number in \[0, 1\], got inf"),
        (dict(noise="0.1"), r"noise must be a number in \[0, 1\], got '0.1'"),
        (dict(p_filler=True), r"p_filler must be a number in \[0, 1\], got True"),
    ],
)
def test_make_nli_fraction_messages(kw, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        inf.make_nli(3, np.random.default_rng(0), **kw)


def test_fractions_accept_their_end_points():
    d = inf.make_nli(6, np.random.default_rng(0), noise=1.0, p_filler=0.0)
    assert d.flipped.all()
    d = inf.make_nli(6, np.random.default_rng(0), noise=0, p_negation=1, p_location=0)
    assert (d.phenomenon == 1).all() and not d.flipped.any()
    scores = np.arange(5.0)
    np.testing.assert_array_equal(inf.select_subset(scores, 1.0), np.arange(5))
    np.testing.assert_array_equal(
        inf.select_subset(scores, 0.6, "drop_top_then_hardest", drop=0.0), [2, 3, 4]
    )
    with pytest.raises(
        ValueError, match=r"^keep must be a number in \(0, 1\], got 0.0$"
    ):
        inf.select_subset(scores, 0.0)


@pytest.mark.parametrize("name", ["dim", "hidden"])
@pytest.mark.parametrize("bad", [0, 2.0, True])
def test_make_model_sizes(name, bad):
    with pytest.raises(ValueError, match=f"^{name} must be a positive integer, got "):
        inf.make_model(gen(), **{name: bad})
    model = inf.make_model(gen(), **{name: 1})
    assert (
        model.embedding.embedding_dim if name == "dim" else model.mlp[0].out_features
    ) == 1


def test_indices_must_be_integers(data):
    with pytest.raises(
        ValueError, match=r"^indices must hold integers, got dtype float64$"
    ):
        inf.batch_schedule(np.array([0.0, 1.0]), 2, 1, gen())
    with pytest.raises(
        ValueError, match=r"^indices must hold integers, got dtype bool$"
    ):
        inf.retrain_on_subset(data, np.array([True, False]), gen(), steps=1)
    with pytest.raises(ValueError, match=r"^indices must be a non-empty 1-D array"):
        inf.batch_schedule(np.array([], dtype=int), 2, 1, gen())


def test_train_classifier_learning_rate(data):
    model = inf.make_model(gen(), dim=4, hidden=4)
    for bad in (0.0, -1e-3, np.nan, "0.01"):
        with pytest.raises(ValueError, match="^lr must be a positive finite number"):
            inf.train_classifier(model, data, [np.arange(4)], lr=bad)


def test_scoring_run_checks_batch_size_first(data):
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="^batch_size must be a positive integer"):
            inf.scoring_run(data, gen(), epochs=2, batch_size=bad)


def test_forgetting_never_learned_values():
    correct = np.array([[0, 1], [0, 0]], dtype=bool)
    np.testing.assert_array_equal(inf.forgetting_counts(correct), [2.0, 1.0])
    np.testing.assert_array_equal(
        inf.forgetting_counts(correct, never_learned=np.inf), [np.inf, 1.0]
    )
    np.testing.assert_array_equal(
        inf.forgetting_counts(correct, never_learned=-1), [-1.0, 1.0]
    )
    for bad in (np.nan, "3", True):
        with pytest.raises(
            ValueError,
            match=r"^never_learned must be a number \(inf allowed\) or None, got ",
        ):
            inf.forgetting_counts(correct, never_learned=bad)


def test_top_fraction_enrichment_checks_is_noisy():
    scores = np.array([0.3, 0.9, 0.1, 0.5, 0.7])
    assert inf.top_fraction_enrichment(
        scores, np.array([0, 1, 0, 0, 1]), top=0.4
    ) == pytest.approx(2.5)
    with pytest.raises(ValueError, match=r"^is_noisy must hold booleans \(0/1\)$"):
        inf.top_fraction_enrichment(scores, np.array([0, 2, 0, 0, 1]), top=0.4)
    with pytest.raises(ValueError, match=r"^is_noisy must be numeric"):
        inf.top_fraction_enrichment(scores, np.array(["a"] * 5), top=0.4)


# ------------------------------------------------- every argument named in its error
def _ids(n=2):
    d = inf.make_nli(n, np.random.default_rng(3))
    return d.premise, d.hypothesis


P, H = _ids()
LAB = np.array([0, 2])
NAMED = [
    (
        inf.make_nli,
        dict(n=0, rng=np.random.default_rng()),
        "n must be a positive integer, got 0",
    ),
    (
        inf.make_nli,
        dict(n=2, rng=0),
        "rng must be a numpy Generator (course.rng), got int",
    ),
    (
        inf.make_nli,
        dict(n=2, rng=np.random.default_rng(), p_negation=0.6, p_location=0.5),
        "p_negation + p_location must be at most 1, got 1.1",
    ),
    (inf.make_model, dict(generator=0), "generator must be a torch.Generator, got int"),
    (
        inf.batch_schedule,
        dict(indices=np.arange(3), steps=0, batch_size=1, generator=gen()),
        "steps must be a positive integer, got 0",
    ),
    (
        inf.batch_schedule,
        dict(indices=np.arange(3), steps=1, batch_size=True, generator=gen()),
        "batch_size must be a positive integer, got True",
    ),
    (
        inf.batch_schedule,
        dict(indices=np.zeros((1, 3), int), steps=1, batch_size=1, generator=gen()),
        "indices must be a non-empty 1-D array, got shape (1, 3)",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P[0], hypothesis=H, labels=LAB),
        "premise must be a non-empty [n, L] array of token ids, got shape (10,)",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P[:0], hypothesis=H, labels=LAB),
        "premise must be a non-empty [n, L] array of token ids, got shape (0, 10)",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P.float(), hypothesis=H, labels=LAB),
        "premise must hold integer token ids, got dtype torch.float32",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H + len(inf.VOCAB), labels=LAB),
        f"hypothesis must hold token ids in [0, {len(inf.VOCAB)}), got values in [",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H - 1, labels=LAB),
        f"hypothesis must hold token ids in [0, {len(inf.VOCAB)}), got values in [-1, ",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P * 0, hypothesis=H, labels=LAB),
        "premise has an empty sentence (all padding)",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H, labels=np.array([0, 3])),
        "labels must hold class ids in [0, 3), got labels[1] = 3",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H, labels=np.array([-1, 0])),
        "labels must hold class ids in [0, 3), got labels[0] = -1",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H, labels=np.array([0.0, 1.0])),
        "labels must hold integer class ids, got dtype float64",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H, labels=np.array([[0, 1]])),
        "labels must be a non-empty 1-D array of class ids, got shape (1, 2)",
    ),
    (
        inf.input_gradients,
        dict(model=None, premise=P, hypothesis=H, labels=np.array([0, 1, 2])),
        "premise and hypothesis and labels must have the same length, got 2 and 2 and 3",
    ),
    (inf.token_count, dict(premise=P[0], hypothesis=H), "premise must be a non-empty"),
    (
        inf.token_count,
        dict(premise=P, hypothesis=H[0]),
        "hypothesis must be a non-empty",
    ),
    (
        inf.token_count,
        dict(premise=P, hypothesis=H[:1]),
        "premise and hypothesis must have the same length, got 2 and 1",
    ),
    (inf.vog_scores, dict(grads=np.full((2, 3), np.nan)), "grads must be finite"),
    (
        inf.vog_scores,
        dict(grads=np.zeros(3)),
        "grads must be [K, n, ...] (checkpoints first), got shape (3,)",
    ),
    (
        inf.vog_scores,
        dict(grads=np.zeros((1, 5))),
        "grads must hold at least 2 checkpoints (K >= 2), got K = 1",
    ),
    (
        inf.vog_scores,
        dict(grads=np.zeros((2, 5)), spread="mad"),
        "spread must be 'std' or 'var', got 'mad'",
    ),
    (
        inf.vog_scores,
        dict(grads=np.zeros((2, 5)), normalize="z"),
        "normalize must be 'class', 'dataset' or None, got 'z'",
    ),
    (
        inf.normalize_scores,
        dict(scores=[np.nan, 1.0], by="dataset"),
        "scores must be finite",
    ),
    (
        inf.normalize_scores,
        dict(scores=[[0.0, 1.0]], by="dataset"),
        "scores must be 1-D",
    ),
    (
        inf.normalize_scores,
        dict(scores=[1.0, 1.0], by="dataset"),
        "cannot z-score the data set: all its scores are equal",
    ),
    (
        inf.normalize_scores,
        dict(scores=[1.0], by="dataset"),
        "cannot z-score the data set: it has 1 example(s), need 2",
    ),
    (
        inf.normalize_scores,
        dict(scores=[1.0, 2.0]),
        "labels are needed to normalize by class",
    ),
    (
        inf.normalize_scores,
        dict(scores=[1.0, 2.0], labels=[0, -1]),
        "labels must hold class ids in [0, None), got labels[1] = -1",
    ),
    (inf.el2n_scores, dict(probs=[[np.nan, 1.0]], labels=[0]), "probs must be finite"),
    (
        inf.el2n_scores,
        dict(probs=np.full((1, 1, 1, 2), 0.5), labels=[0]),
        "probs must be [K, n, C] or [n, C], got shape (1, 1, 1, 2)",
    ),
    (
        inf.el2n_scores,
        dict(probs=[[1.5, 0.0]], labels=[0]),
        "probs must hold probabilities in [0, 1]",
    ),
    (
        inf.el2n_scores,
        dict(probs=[[-0.5, 1.5]], labels=[0]),
        "probs must hold probabilities in [0, 1]",
    ),
    (
        inf.el2n_scores,
        dict(probs=[[0.5, 0.4]], labels=[0]),
        "probs must sum to 1 over classes (the last axis)",
    ),
    (
        inf.el2n_scores,
        dict(probs=[[0.5, 0.5]], labels=[2]),
        "labels must hold class ids in [0, 2), got labels[0] = 2",
    ),
    (
        inf.el2n_scores,
        dict(probs=[[0.5, 0.5]], labels=[0, 1]),
        "probs_examples and labels must have the same length, got 1 and 2",
    ),
    (
        inf.forgetting_counts,
        dict(correct=np.full((2, 2), np.nan)),
        "correct must be finite",
    ),
    (inf.forgetting_counts, dict(correct=np.ones(3)), "correct must be 2-D"),
    (
        inf.forgetting_counts,
        dict(correct=np.full((2, 2), 0.5)),
        "correct must hold booleans (0/1)",
    ),
    (
        inf.forgetting_counts,
        dict(correct=np.ones((1, 3))),
        "correct needs at least 2 epochs (rows), got 1",
    ),
    (inf.select_subset, dict(scores=[np.inf, 0.0], keep=0.5), "scores must be finite"),
    (inf.select_subset, dict(scores=[[1.0, 0.0]], keep=0.5), "scores must be 1-D"),
    (
        inf.select_subset,
        dict(scores=[1.0, 0.0], keep=1.5),
        "keep must be a number in (0, 1], got 1.5",
    ),
    (
        inf.select_subset,
        dict(scores=[1.0, 0.0], keep=0.5, mode="top"),
        "mode must be one of ('hardest', 'easiest', 'random', 'drop_top_then_hardest'), got 'top'",
    ),
    (
        inf.select_subset,
        dict(scores=[1.0, 0.0], keep=0.2),
        "keep=0.2 of 2 examples keeps none",
    ),
    (
        inf.select_subset,
        dict(scores=[1.0, 0.0], keep=0.5, mode="random"),
        "rng (a numpy Generator) is required for mode='random'",
    ),
    (
        inf.select_subset,
        dict(scores=[1.0, 0.0], keep=0.5, mode="drop_top_then_hardest", drop=-0.1),
        "drop must be a number in [0, 1], got -0.1",
    ),
    (
        inf.select_subset,
        dict(scores=[1.0, 0.0], keep=0.5, mode="drop_top_then_hardest", drop=0.8),
        "drop + keep must be at most 1: dropping 2 and keeping 1 of 2",
    ),
    (
        inf.noise_auroc,
        dict(scores=[np.nan, 1.0], is_noisy=[True, False]),
        "scores must be finite",
    ),
    (
        inf.noise_auroc,
        dict(scores=[[0.0, 1.0]], is_noisy=[True, False]),
        "scores must be 1-D",
    ),
    (
        inf.noise_auroc,
        dict(scores=[0.0, 1.0], is_noisy=[[1.0, 0.0]]),
        "is_noisy must be 1-D",
    ),
    (
        inf.noise_auroc,
        dict(scores=[0.0, 1.0], is_noisy=[0.5, 0.0]),
        "is_noisy must hold booleans (0/1)",
    ),
    (
        inf.noise_auroc,
        dict(scores=[0.0, 1.0], is_noisy=[True, True]),
        "is_noisy needs both noisy and clean examples",
    ),
    (
        inf.top_fraction_enrichment,
        dict(scores=[np.nan, 1.0], is_noisy=[1, 0]),
        "scores must be finite",
    ),
    (
        inf.top_fraction_enrichment,
        dict(scores=[[0.0, 1.0]], is_noisy=[1, 0]),
        "scores must be 1-D",
    ),
    (
        inf.top_fraction_enrichment,
        dict(scores=[0.0, 1.0], is_noisy=[[1, 0]]),
        "is_noisy must be 1-D",
    ),
    (
        inf.top_fraction_enrichment,
        dict(scores=[0.0, 1.0], is_noisy=[1, 0], top=0.0),
        "top must be a number in (0, 1], got 0.0",
    ),
    (
        inf.top_fraction_enrichment,
        dict(scores=[0.0, 1.0], is_noisy=[0, 0]),
        "is_noisy has no noisy example: the base rate is 0",
    ),
    (
        inf.top_fraction_enrichment,
        dict(scores=[0.0, 1.0], is_noisy=[0, 1, 0]),
        "scores and is_noisy must have the same length, got 2 and 3",
    ),
]


@pytest.mark.parametrize(
    "func, kwargs, message", NAMED, ids=lambda v: getattr(v, "__name__", None)
)
def test_errors_name_the_argument(func, kwargs, message):
    import re

    with pytest.raises(ValueError, match="^" + re.escape(message)):
        func(**kwargs)


def test_boundaries_the_code_treats_specially():
    # a 2-D grads array is K checkpoints of one number per example
    g = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 4.0]])
    np.testing.assert_allclose(inf.vog_scores(g, normalize=None), [1.0, 0.0, 1.0])
    # probabilities of exactly 0 and 1 are probabilities; sums within 1e-4 of 1 are 1
    np.testing.assert_allclose(inf.el2n_scores([[1.0, 0.0]], [0]), [0.0])
    np.testing.assert_allclose(
        inf.el2n_scores([[0.50005, 0.50004]], [0]), [np.hypot(0.49995, 0.50004)]
    )
    # two epochs are enough; a forgetting event needs a correct epoch just before
    np.testing.assert_array_equal(
        inf.forgetting_counts(np.array([[1, 1], [0, 1]])), [1.0, 0.0]
    )
    correct = np.array([[0, 1], [1, 1], [0, 1]], dtype=bool)  # E = 3, n = 2
    np.testing.assert_array_equal(inf.forgetting_counts(correct), [1.0, 0.0])
    assert inf.forgetting_counts(correct).dtype == np.float64
    never = np.zeros((3, 2), dtype=bool)  # E = 3, n = 2: never learned -> E
    np.testing.assert_array_equal(inf.forgetting_counts(never), [3.0, 3.0])
    # keeping one example is allowed; the default drop is 10%
    np.testing.assert_array_equal(inf.select_subset(np.arange(10.0), 0.1), [9])
    np.testing.assert_array_equal(
        inf.select_subset(np.arange(20.0), 0.25, "drop_top_then_hardest"),
        [13, 14, 15, 16, 17],
    )
    # ties: the easiest and the hardest are taken in index order
    tied = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(inf.select_subset(tied, 0.5, "easiest"), [1, 3, 5])
    np.testing.assert_array_equal(inf.select_subset(tied, 1 / 3, "hardest"), [0, 2])
    tc = inf.token_count(P, H)
    assert tc.dtype == np.float64
    np.testing.assert_array_equal(tc, ((P != 0).sum(1) + (H != 0).sum(1)).numpy())


def test_enrichment_is_the_hardest_tops_noise_rate_over_the_base_rate():
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 6.0, 7.0, 8.0, 9.0])
    noisy = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    # the hardest 20% are indices 8 and 9: no noise there
    assert inf.top_fraction_enrichment(scores, noisy, top=0.2) == 0.0
    assert inf.top_fraction_enrichment(-scores, noisy, top=0.2) == 0.0
    assert inf.top_fraction_enrichment(scores, noisy[::-1], top=0.2) == pytest.approx(
        5.0
    )


def test_subset_keeps_every_field_aligned(data):
    idx = np.array([3, 0, 7])
    sub = data.subset(idx)
    assert torch.equal(sub.premise, data.premise[idx])
    assert torch.equal(sub.hypothesis, data.hypothesis[idx])
    for field in ("label", "label_true", "flipped", "phenomenon"):
        np.testing.assert_array_equal(getattr(sub, field), getattr(data, field)[idx])
    assert len(data.subset([5])) == 1


def test_make_nli_smallest_size_and_named_fractions():
    assert len(inf.make_nli(1, np.random.default_rng(0))) == 1
    for n in (True, 1.0):
        with pytest.raises(ValueError, match="^n must be a positive integer, got "):
            inf.make_nli(n, np.random.default_rng(0))
    for name in ("p_negation", "p_location"):
        with pytest.raises(
            ValueError, match=rf"^{name} must be a number in \[0, 1\], got 2"
        ):
            inf.make_nli(3, np.random.default_rng(0), **{name: 2})


def test_long_runs_of_ties_keep_index_order():
    scores = np.tile([2.0, 1.0, 0.0], 20)  # 60 examples, 20 per value
    hardest = inf.select_subset(scores, 1 / 6, "hardest")  # 10 of the twenty 2.0s
    np.testing.assert_array_equal(hardest, np.arange(0, 30, 3))
    dropped = inf.select_subset(scores, 1 / 6, "drop_top_then_hardest", drop=1 / 6)
    np.testing.assert_array_equal(dropped, np.arange(30, 60, 3))
