"""Unit tests of utils.influence (chapter 09).

Each score on hand-computed cases and against NumPy / SciPy / scikit-learn / torch
autograd; the pruning rules; the data generator; the training runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import zscore
from sklearn.metrics import roc_auc_score

from utils import influence as inf


def gen(k: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(1234 + k)


@pytest.fixture(scope="module")
def small_data():
    return inf.make_nli(240, np.random.default_rng(5), noise=0.1)


# --------------------------------------------------------------------------------- VoG
def test_vog_by_hand_std_and_var():
    # K=2 checkpoints, n=2 examples, 2 coordinates each
    grads = np.array([[[0.0, 0.0], [1.0, 1.0]], [[2.0, 4.0], [1.0, 1.0]]])
    # example 0: per-coordinate std over checkpoints (ddof=0) = [1, 2] -> mean 1.5;
    # variance [1, 4] -> mean 2.5
    np.testing.assert_allclose(inf.vog_scores(grads, normalize=None), [1.5, 0.0])
    np.testing.assert_allclose(
        inf.vog_scores(grads, normalize=None, spread="var"), [2.5, 0.0]
    )


def test_vog_three_checkpoints_by_hand():
    grads = np.array([[[1.0]], [[2.0]], [[6.0]]])  # K=3, n=1, one coordinate
    # mean 3, deviations -2, -1, 3 -> var 14/3
    assert inf.vog_scores(grads, normalize=None)[0] == pytest.approx(np.sqrt(14 / 3))


def test_vog_matches_numpy_std_on_random_gradients():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(4, 7, 5, 3)) * rng.uniform(0.1, 3, size=(1, 7, 1, 1))
    expected = np.std(grads, axis=0, ddof=0).reshape(7, -1).mean(axis=1)
    np.testing.assert_allclose(
        inf.vog_scores(grads, normalize=None), expected, rtol=1e-12
    )


def test_vog_invariant_to_a_constant_added_to_one_example():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(3, 6, 4))
    shifted = grads.copy()
    shifted[:, 2] += 5.0  # same offset at every checkpoint
    np.testing.assert_allclose(
        inf.vog_scores(shifted, normalize=None),
        inf.vog_scores(grads, normalize=None),
        atol=1e-12,
    )


def test_vog_class_normalization_matches_scipy_zscore_per_class():
    rng = np.random.default_rng(2)
    grads = rng.normal(size=(3, 12, 4)) * rng.uniform(0.5, 2, size=(1, 12, 1))
    labels = np.array([0, 1, 2] * 4)
    raw = inf.vog_scores(grads, normalize=None)
    ours = inf.vog_scores(grads, labels)
    for c in range(3):
        members = labels == c
        np.testing.assert_allclose(ours[members], zscore(raw[members]), atol=1e-12)
        assert ours[members].mean() == pytest.approx(0, abs=1e-12)
        assert ours[members].std() == pytest.approx(1)


def test_vog_dataset_normalization_matches_scipy_zscore():
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(2, 9, 3)) * rng.uniform(0.5, 2, size=(1, 9, 1))
    raw = inf.vog_scores(grads, normalize=None)
    np.testing.assert_allclose(
        inf.vog_scores(grads, normalize="dataset"), zscore(raw), atol=1e-12
    )


def test_class_and_dataset_normalization_differ_when_classes_differ_in_scale():
    rng = np.random.default_rng(4)
    labels = np.array([0] * 6 + [1] * 6)
    scale = np.where(labels == 0, 1.0, 10.0)[None, :, None]
    grads = rng.normal(size=(3, 12, 2)) * scale
    by_class = inf.vog_scores(grads, labels)
    by_data = inf.vog_scores(grads, normalize="dataset")
    # dataset-normalized: class 1 fills the top; class-normalized: both centred on 0
    assert by_data[labels == 1].min() > by_data[labels == 0].max()
    assert abs(by_class[labels == 1].mean()) < 1e-12


def test_normalize_scores_by_hand_and_errors():
    scores = np.array([1.0, 3.0, 10.0, 30.0])
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(inf.normalize_scores(scores, labels), [-1, 1, -1, 1])
    np.testing.assert_allclose(
        inf.normalize_scores(scores, by="dataset"), zscore(scores)
    )
    with pytest.raises(ValueError, match="by must"):
        inf.normalize_scores(scores, labels, by="row")
    with pytest.raises(ValueError, match="labels"):
        inf.normalize_scores(scores)
    with pytest.raises(ValueError, match="same length"):
        inf.normalize_scores(scores, labels[:3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(grads=np.zeros((1, 4, 2))), "grads"),  # K = 1
        (dict(grads=np.zeros(4)), "grads"),  # no checkpoint axis
        (dict(grads=np.full((2, 4, 2), np.nan)), "grads"),
        (dict(grads=np.ones((2, 4, 2)), spread="mad"), "spread"),
        (dict(grads=np.ones((2, 4, 2)), normalize="global"), "normalize"),
        (dict(grads=np.ones((2, 4, 2))), "labels"),  # class needs labels
        (dict(grads=np.ones((2, 4, 2)), labels=[0, 1, 0]), "labels"),  # wrong length
        (dict(grads=np.ones((2, 4, 2)), labels=[0.5, 1, 0, 1]), "labels"),
    ],
)
def test_vog_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        inf.vog_scores(**kwargs)


def test_vog_rejects_a_class_that_cannot_be_z_scored():
    grads = np.random.default_rng(5).normal(size=(2, 4, 3))
    with pytest.raises(ValueError, match="class 1: it has 1 example"):
        inf.vog_scores(grads, [0, 0, 0, 1])  # class 1 has one member
    flat = np.zeros((2, 4, 3))
    with pytest.raises(ValueError, match="all its scores are equal"):
        inf.vog_scores(flat, normalize="dataset")


# ---------------------------------------------------------------------- input gradients
def test_input_gradients_match_one_example_at_a_time(small_data):
    model = inf.make_model(gen())
    d = small_data.subset(np.arange(6))
    ours = inf.input_gradients(model, d.premise, d.hypothesis, d.label)
    assert ours.shape == (6, 2 * inf.MAX_LEN, 16)
    for i in range(6):
        p, h = d.premise[i : i + 1], d.hypothesis[i : i + 1]
        emb = model.embed(p, h).detach().requires_grad_()
        logit = model.from_embeddings(emb, p, h)
        (g,) = torch.autograd.grad(logit[0, int(d.label[i])], emb)
        np.testing.assert_allclose(ours[i], g[0].numpy(), atol=1e-6)


def test_input_gradients_are_zero_on_padding_and_equal_across_one_sentence(small_data):
    model = inf.make_model(gen())
    d = small_data.subset(np.arange(10))
    grads = inf.input_gradients(model, d.premise, d.hypothesis, d.label)
    mask = torch.cat([d.premise, d.hypothesis], 1).numpy() != 0
    assert np.all(grads[~mask] == 0)
    # mean pooling: every real token of a sentence gets the same gradient
    for i in range(10):
        real = grads[i, : inf.MAX_LEN][mask[i, : inf.MAX_LEN]]
        np.testing.assert_allclose(
            real, np.broadcast_to(real[0], real.shape), atol=1e-7
        )


def test_vog_of_token_gradients_equals_pooled_formula(small_data):
    """Mean pooling: summing token-level stds over a sentence gives the pooled std, so
    VoG = (sum_d std(g_premise) + sum_d std(g_hypothesis)) / (2 L d)."""
    d = small_data.subset(np.arange(20))
    models = [inf.make_model(gen(k)) for k in range(3)]  # 3 "checkpoints"
    grads = np.stack(
        [inf.input_gradients(m, d.premise, d.hypothesis, d.label) for m in models]
    )  # [3, 20, 2L, d]
    L = inf.MAX_LEN
    # each real token gets (pooled gradient) / (sentence length), so the sum over a
    # sentence's tokens is the gradient with respect to its pooled vector, [3, 20, d]
    pooled = [grads[:, :, :L].sum(2), grads[:, :, L:].sum(2)]
    expected = sum(p.std(axis=0).sum(axis=1) for p in pooled) / (2 * L * 16)
    np.testing.assert_allclose(
        inf.vog_scores(grads, normalize=None), expected, rtol=1e-5
    )


@pytest.mark.parametrize(
    "bad, match",
    [
        # all padding
        (dict(premise=torch.zeros(3, inf.MAX_LEN, dtype=torch.long)), "premise"),
        (
            dict(hypothesis=torch.full((3, inf.MAX_LEN), 999)),
            "hypothesis",
        ),  # id too large
        (
            dict(premise=torch.full((3, inf.MAX_LEN), len(inf.VOCAB))),
            "premise",
        ),  # one past
        (dict(labels=np.array([0, 1, 3])), "labels"),
        (dict(labels=np.array([0, 1])), "labels"),
    ],
)
def test_input_gradients_reject_bad_input(small_data, bad, match):
    d = small_data.subset(np.arange(3))
    args = dict(premise=d.premise, hypothesis=d.hypothesis, labels=d.label) | bad
    with pytest.raises(ValueError, match=match):
        inf.input_gradients(inf.make_model(gen()), **args)


# --------------------------------------------------------------------------------- EL2N
def test_el2n_by_hand():
    probs = np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    labels = np.array([0, 2])
    # ||(-0.5, 0.5, 0)|| = sqrt(0.5); ||(0.2, 0.2, -0.4)|| = sqrt(0.24)
    np.testing.assert_allclose(
        inf.el2n_scores(probs, labels), [np.sqrt(0.5), np.sqrt(0.24)]
    )


def test_el2n_averages_over_checkpoints_and_matches_numpy():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(4, 10, 3))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 3, 10)
    per_checkpoint = np.linalg.norm(probs - np.eye(3)[labels], axis=-1)  # [4, 10]
    np.testing.assert_allclose(inf.el2n_scores(probs, labels), per_checkpoint.mean(0))
    np.testing.assert_allclose(inf.el2n_scores(probs[1], labels), per_checkpoint[1])


@pytest.mark.parametrize(
    "probs, labels, match",
    [
        (np.array([[0.5, 0.5, 0.0]]), [-1], "labels"),
        (np.array([[0.5, 0.6, -0.1]]), [0], "probs"),
        (np.array([[0.5, 0.4, 0.0]]), [0], "sum to 1"),
        (np.array([[0.5, 0.5, 0.0]]), [3], "labels"),
        (np.array([[0.5, 0.5, 0.0]]), [0, 1], "same length"),
        (np.zeros((2, 2, 2, 2)), [0, 1], "probs"),
    ],
)
def test_el2n_rejects_bad_input(probs, labels, match):
    with pytest.raises(ValueError, match=match):
        inf.el2n_scores(probs, labels)


# --------------------------------------------------------------------------- forgetting
def test_forgetting_by_hand():
    correct = np.array(
        [[1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1]], dtype=bool
    )  # [E=4, n=4]
    # ex0: 1->0 twice: 2 events; ex1: one 1->0; ex2 never learned -> E;
    # ex3 learned and kept: 0
    np.testing.assert_array_equal(inf.forgetting_counts(correct), [2, 1, 4, 0])
    np.testing.assert_array_equal(
        inf.forgetting_counts(correct, never_learned=99), [2, 1, 99, 0]
    )


def test_forgetting_learning_late_is_not_forgetting():
    correct = np.array([[0], [0], [1]], dtype=bool)
    np.testing.assert_array_equal(inf.forgetting_counts(correct), [0])


@pytest.mark.parametrize(
    "correct, match",
    [
        (np.ones((1, 3), dtype=bool), "2 epochs"),
        (np.array([[0, 2], [1, 1]]), "booleans"),
        (np.ones(3, dtype=bool), "correct"),
    ],
)
def test_forgetting_rejects_bad_input(correct, match):
    with pytest.raises(ValueError, match=match):
        inf.forgetting_counts(correct)


# ----------------------------------------------------------------------- length control
def test_token_count_by_hand():
    p = torch.tensor([[1, 5, 6, 0], [1, 2, 0, 0]])
    h = torch.tensor([[3, 0, 0, 0], [1, 2, 3, 4]])
    np.testing.assert_array_equal(inf.token_count(p, h), [4, 6])
    with pytest.raises(ValueError, match="same length"):
        inf.token_count(p, h[:1])


# ------------------------------------------------------------------------------ pruning
SCORES = np.array([0.3, 0.9, 0.1, 0.7, 0.5, 0.2, 0.8, 0.4, 0.6, 0.0])


def test_select_hardest_easiest_by_hand():
    np.testing.assert_array_equal(inf.select_subset(SCORES, 0.3, "hardest"), [1, 3, 6])
    np.testing.assert_array_equal(inf.select_subset(SCORES, 0.3, "easiest"), [2, 5, 9])
    # drop the top 20% (0.9, 0.8), then keep the next three hardest (0.7, 0.6, 0.5)
    np.testing.assert_array_equal(
        inf.select_subset(SCORES, 0.3, "drop_top_then_hardest", drop=0.2), [3, 4, 8]
    )
    np.testing.assert_array_equal(
        inf.select_subset(SCORES, 0.3, "drop_top_then_hardest", drop=0.0), [1, 3, 6]
    )
    np.testing.assert_array_equal(
        inf.select_subset(SCORES, 1.0, "hardest"), np.arange(10)
    )


def test_select_drop_and_keep_may_add_up_to_everything():
    # drop the top 20% (examples 1 and 6), keep all the other 80%
    np.testing.assert_array_equal(
        inf.select_subset(SCORES, 0.8, "drop_top_then_hardest", drop=0.2),
        [0, 2, 3, 4, 5, 7, 8, 9],
    )


def test_select_breaks_long_runs_of_ties_by_position():
    tied = np.zeros(60)
    tied[[5, 40]] = [1.0, -1.0]
    np.testing.assert_array_equal(
        inf.select_subset(tied, 0.2, "hardest"), np.r_[0:12]
    )  # 5 first, then the tied zeros
    np.testing.assert_array_equal(
        inf.select_subset(tied, 0.2, "easiest"), np.r_[0:5, 6:12, 40]
    )


def test_select_breaks_ties_by_position():
    tied = np.array([1.0, 2.0, 2.0, 2.0, 0.0])
    np.testing.assert_array_equal(inf.select_subset(tied, 0.4, "hardest"), [1, 2])
    np.testing.assert_array_equal(inf.select_subset(tied, 0.4, "easiest"), [0, 4])


@pytest.mark.parametrize("mode", inf.SELECTION_MODES)
@pytest.mark.parametrize("keep", [0.1, 0.25, 0.45, 0.55, 0.9])
def test_select_keeps_exactly_the_requested_fraction(mode, keep):
    rng = np.random.default_rng(7)
    scores = rng.normal(size=1001)
    idx = inf.select_subset(scores, keep, mode, drop=0.05, rng=rng)
    assert idx.size == round(keep * 1001)
    assert np.unique(idx).size == idx.size and np.all(np.diff(idx) > 0)
    assert idx.min() >= 0 and idx.max() < 1001


def test_select_random_is_reproducible_and_uses_the_rng():
    a = inf.select_subset(SCORES, 0.5, "random", rng=np.random.default_rng(3))
    b = inf.select_subset(SCORES, 0.5, "random", rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    draws = {
        tuple(inf.select_subset(SCORES, 0.5, "random", rng=np.random.default_rng(s)))
        for s in range(10)
    }
    assert len(draws) > 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(keep=0.0), "keep"),
        (dict(keep=1.2), "keep"),
        (dict(keep=0.04), "keeps none"),
        (dict(keep=0.5, mode="middle"), "mode"),
        (dict(keep=0.5, mode="random"), "rng"),
        (dict(keep=0.8, mode="drop_top_then_hardest", drop=0.3), "drop"),
        (dict(keep=0.5, mode="drop_top_then_hardest", drop=-0.1), "drop"),
    ],
)
def test_select_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        inf.select_subset(SCORES, **kwargs)


def test_select_rejects_nan_scores():
    with pytest.raises(ValueError, match="scores"):
        inf.select_subset([0.1, np.nan, 0.3], 0.5)


# -------------------------------------------------------------- noise detection metrics
def test_noise_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(8)
    noisy = rng.random(300) < 0.2
    scores = np.round(rng.normal(size=300) + noisy, 1)  # many ties
    assert inf.noise_auroc(scores, noisy) == pytest.approx(roc_auc_score(noisy, scores))
    assert inf.noise_auroc(scores, noisy.astype(int)) == pytest.approx(
        roc_auc_score(noisy, scores)
    )


def test_noise_auroc_by_hand():
    assert inf.noise_auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert inf.noise_auroc([1, 2, 3], [1, 0, 0]) == 0.0
    assert inf.noise_auroc([1, 1, 1], [1, 0, 0]) == 0.5


@pytest.mark.parametrize(
    "scores, noisy, match",
    [
        ([0.1, 0.2], [0, 0], "both"),
        ([0.1, 0.2], [1, 1], "both"),
        ([0.1, 0.2], [0, 2], "is_noisy"),
        ([0.1, 0.2, 0.3], [0, 1], "same length"),
    ],
)
def test_noise_auroc_rejects_bad_input(scores, noisy, match):
    with pytest.raises(ValueError, match=match):
        inf.noise_auroc(scores, noisy)


def test_top_fraction_enrichment_by_hand():
    scores = np.arange(20.0)  # example 19 is the top
    noisy = np.zeros(20, dtype=bool)
    noisy[[19, 18, 0, 1]] = True  # base rate 0.2
    # top 10% = examples 19, 18: both noisy -> rate 1.0 = 5x the base rate
    assert inf.top_fraction_enrichment(scores, noisy, top=0.1) == pytest.approx(5.0)
    # top 20% = 19, 18, 17, 16: rate 0.5 -> 2.5x
    assert inf.top_fraction_enrichment(scores, noisy, top=0.2) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="top"):
        inf.top_fraction_enrichment(scores, noisy, top=0)
    with pytest.raises(ValueError, match="base rate"):
        inf.top_fraction_enrichment(scores, np.zeros(20, dtype=bool))


# ----------------------------------------------------------------------------- the data
def test_make_nli_shapes_ground_truth_and_reproducibility():
    a = inf.make_nli(500, np.random.default_rng(9), noise=0.2)
    b = inf.make_nli(500, np.random.default_rng(9), noise=0.2)
    assert a.premise.shape == a.hypothesis.shape == (500, inf.MAX_LEN)
    assert torch.equal(a.premise, b.premise) and np.array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.flipped, a.label != a.label_true)
    assert 0.12 < a.flipped.mean() < 0.28
    assert set(np.unique(a.phenomenon)) == {0, 1, 2}
    # every hypothesis has 7 tokens; premises have 6 to 10
    assert set((a.hypothesis != 0).sum(1).tolist()) == {7}
    assert set((a.premise != 0).sum(1).tolist()) <= set(range(6, 11))


def test_make_nli_templates_follow_the_rules():
    d = inf.make_nli(300, np.random.default_rng(10), p_negation=0.3, p_location=0.3)
    for i in range(300):
        p, h = inf.decode(d.premise[i]).split(), inf.decode(d.hypothesis[i]).split()
        label = inf.LABELS[d.label_true[i]]
        assert (h[1] in inf.ADJECTIVES) == (label == "neutral")
        if d.phenomenon[i] == 1:
            assert h[3] == "not" and (h[4] == p[2]) == (label == "contradiction")
        elif d.phenomenon[i] == 2:
            assert h[4] == p[2] and h[6] != p[5]
            entails = h[6] == inf.LOCATION_HYPERNYM[p[5]]
            assert entails == (label != "contradiction")
        else:
            assert h[6] == p[5] and (h[4] == p[2]) == (label != "contradiction")


def test_make_nli_phenomenon_rates_and_no_noise():
    d = inf.make_nli(
        2000, np.random.default_rng(11), p_negation=0.0, p_location=1.0, p_filler=0.0
    )
    assert np.all(d.phenomenon == 2) and not d.flipped.any()
    assert set((d.premise != 0).sum(1).tolist()) == {6}
    d = inf.make_nli(2000, np.random.default_rng(11), p_filler=1.0)
    assert (d.premise != 0).sum(1).min() >= 7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=0), "n must"),
        (dict(noise=1.5), "noise"),
        (dict(p_negation=0.7, p_location=0.6), "p_negation \\+ p_location"),
        (dict(p_filler=-0.1), "p_filler"),
        (dict(rng=0), "rng"),
    ],
)
def test_make_nli_rejects_bad_input(kwargs, match):
    args = dict(n=10, rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(ValueError, match=match):
        inf.make_nli(**args)


def test_subset_and_decode(small_data):
    assert isinstance(small_data, inf.NLIData) and len(small_data) == 240
    sub = small_data.subset([3, 1])
    assert len(sub) == 2 and sub.label[0] == small_data.label[3]
    assert torch.equal(sub.premise[1], small_data.premise[1])
    assert inf.decode(torch.tensor([1, 20, 0, 0])) == f"the {inf.VOCAB[20]}"


# -------------------------------------------------------------- model and training runs
def test_make_model_is_reproducible_and_pads_with_zero():
    a, b, c = inf.make_model(gen(1)), inf.make_model(gen(1)), inf.make_model(gen(2))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.embedding.weight, c.embedding.weight)
    assert torch.all(a.embedding.weight[0] == 0)
    with pytest.raises(ValueError, match="generator"):
        inf.make_model(0)


def test_batch_schedule_covers_each_epoch_once():
    idx = np.array([5, 7, 9, 11, 13])
    batches = inf.batch_schedule(idx, steps=7, batch_size=2, generator=gen())
    assert len(batches) == 7 and [len(b) for b in batches] == [2, 2, 1, 2, 2, 1, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches[:3])), idx)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches[3:6])), idx)
    for kwargs, match in [
        (dict(steps=0), "steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(indices=[]), "indices"),
    ]:
        args = dict(indices=idx, steps=2, batch_size=2, generator=gen()) | kwargs
        with pytest.raises(ValueError, match=match):
            inf.batch_schedule(**args)


def test_retrain_on_subset_sees_only_the_subset(small_data):
    idx = np.arange(0, 240, 3)
    a = inf.retrain_on_subset(small_data, idx, gen(), steps=5, batch_size=16)
    b = inf.retrain_on_subset(
        small_data.subset(idx), np.arange(idx.size), gen(), steps=5, batch_size=16
    )
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    with pytest.raises(ValueError, match="indices"):
        inf.retrain_on_subset(small_data, [0, 240], gen(), steps=1)


def test_scoring_run_saves_one_checkpoint_per_epoch(small_data):
    ck = inf.scoring_run(small_data, gen(), epochs=3, batch_size=64, lr=3e-3)
    assert isinstance(ck, inf.Checkpoints) and isinstance(ck.model, inf.BagNLI)
    n = len(small_data)
    assert ck.probs.shape == (3, n, 3) and ck.correct.shape == (3, n)
    assert ck.grads.shape == (3, n, 2 * inf.MAX_LEN, 16)
    np.testing.assert_allclose(ck.probs.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(ck.correct, ck.probs.argmax(-1) == small_data.label)
    # the last checkpoint is the returned model
    np.testing.assert_allclose(
        inf.predict_proba(ck.model, small_data), ck.probs[-1], atol=1e-6
    )
    with pytest.raises(ValueError, match="epochs"):
        inf.scoring_run(small_data, gen(), epochs=1)


def test_training_learns_the_base_pattern_and_accuracy_uses_true_labels():
    rng = np.random.default_rng(12)
    train = inf.make_nli(1500, rng, noise=0.2, p_negation=0.0, p_location=0.0)
    test = inf.make_nli(600, rng, p_negation=0.0, p_location=0.0)
    model = inf.retrain_on_subset(train, np.arange(1500), gen(), steps=120)
    assert inf.accuracy(model, test) > 0.9
    # on training data, the observed (20% flipped) labels are matched much less often
    on_observed = inf.accuracy(model, train, true_labels=False)
    assert on_observed < inf.accuracy(model, train) - 0.1


def test_train_classifier_takes_one_step_per_batch_and_lowers_the_loss(small_data):
    model = inf.make_model(gen())
    batches = inf.batch_schedule(np.arange(len(small_data)), 60, 48, gen(1))
    seen = []
    log = inf.train_classifier(
        model,
        small_data,
        batches,
        lr=1e-2,
        on_step=lambda step, net: seen.append(step) or None,
    )
    assert len(log.losses) == 60 and seen == list(range(60))
    assert np.mean(log.losses[-10:]) < np.mean(log.losses[:10]) - 0.2
