"""Exact-value tests of utils.metric_learning (chapter 10).

They pin exact values to kill mutants that tests/test_metric_learning.py lets survive:
every error message is matched whole (the argument's name and the reported values),
defaults are compared with the explicit value and a neighbouring one, the scores are
checked against scikit-learn, SciPy or loops written out by hand on inputs where the
detail under test changes the answer, and short training runs are reproduced step by
step from generators with the same seed.
"""

import re

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from utils.metric_learning import (
    TINTS,
    AttentionEmbedder,
    _batches,
    assign_clusters,
    embed,
    margin_loss,
    match_clusters,
    nearest_centroid,
    nmi,
    nmi_kmeans,
    random_clusters,
    recall_at_k,
    render_fine_grained_digits,
    should_add_learner,
    specialisation_gap,
    split_seen_unseen,
    split_subspaces,
    train_classifier,
    train_subspace_learners,
)


def _raises(message, func, *args, **kwargs):
    """``func`` raises ValueError with exactly ``message`` (the whole text)."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        func(*args, **kwargs)


# ------------------------------------------------------------------ labels, data


def test_labels_must_be_a_non_empty_1d_integer_array():
    _raises("labels_true must be a non-empty 1-D array, got shape (0,)", nmi, [], [])
    _raises(
        "labels_true must be a non-empty 1-D array, got shape (1, 2)",
        nmi,
        [[0, 1]],
        [0, 1],
    )
    _raises(
        "labels_pred must hold integer class ids, got dtype float64",
        nmi,
        [0, 1],
        [0.5, 1.0],
    )
    _raises(
        "labels_true and labels_pred must have the same length, got 2 and 3",
        nmi,
        [0, 1],
        [0, 1, 1],
    )
    assert nmi([3], [4]) == 1.0  # a single item is a valid labelling


def test_render_fine_grained_digits_pixel_exact_with_default_copies():
    X, labels, att = render_fine_grained_digits(np.random.default_rng(5))
    digits = load_digits()
    n = 2 * len(digits.images)  # copies=2 by default
    rng = np.random.default_rng(5)
    tint = rng.integers(0, 3, size=n)
    thick = rng.random(n) < 0.5
    base = np.tile(digits.images, (2, 1, 1)) / 16.0
    # a 3x3 dilation: the max over the 9 shifts of the image framed by zeros
    framed = np.pad(base, ((0, 0), (1, 1), (1, 1)))
    shifts = [framed[:, i : i + 8, j : j + 8] for i in range(3) for j in range(3)]
    dilated = np.max(shifts, axis=0)
    gray = np.where(thick[:, None, None], dilated, base)
    expected = gray[:, None] * TINTS[tint][:, :, None, None]
    assert X.dtype == np.float32 and X.shape == (n, 3, 8, 8)
    np.testing.assert_array_equal(X, expected.astype(np.float32))
    assert X.max() == 1.0  # ink 16 / 16 in the tinted channel
    assert set(tint) == {0, 1, 2}
    digit = np.tile(digits.target, 2)
    np.testing.assert_array_equal(labels, digit * 6 + tint * 2 + thick)
    assert labels.dtype == np.int64 and att["thick"].dtype == np.int64
    np.testing.assert_array_equal(att["thick"], thick)
    np.testing.assert_array_equal(att["tint"], tint)
    np.testing.assert_array_equal(att["digit"], digit)
    _raises(
        "copies must be a positive integer, got 0",
        render_fine_grained_digits,
        rng,
        copies=0,
    )


def test_split_seen_unseen_draws_distinct_classes_exactly():
    labels = np.repeat(np.arange(10), 2)[::-1]
    for n_seen in (1, 5, 9):
        mask = split_seen_unseen(labels, np.random.default_rng(3), n_seen)
        seen = np.random.default_rng(3).choice(np.arange(10), n_seen, replace=False)
        np.testing.assert_array_equal(mask, np.isin(labels, seen))
        assert len(np.unique(labels[mask])) == n_seen
    rng = np.random.default_rng(0)
    _raises(
        "labels must hold integer class ids, got dtype float64",
        split_seen_unseen,
        labels * 1.0,
        rng,
        2,
    )
    _raises(
        "n_seen must be a positive integer, got 0", split_seen_unseen, labels, rng, 0
    )
    _raises(
        "n_seen must be smaller than the number of classes (10), got 10",
        split_seen_unseen,
        labels,
        rng,
        10,
    )


# ------------------------------------------------------------------ margin loss


def test_margin_loss_default_alpha_is_0_2():
    e = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    beta = torch.tensor(1.0)
    default = margin_loss(e, y, beta)
    assert torch.equal(default, margin_loss(e, y, beta, 0.2))
    assert not torch.equal(default, margin_loss(e, y, beta, 1.2))


def test_margin_loss_skips_the_diagonal_and_returns_zero_without_active_pairs():
    # orthogonal rows of two classes, beta 0.05 < alpha: the one (negative) pair is
    # inactive, while an item paired with itself (distance 1e-4) would be active
    e = torch.tensor([[2.0, 0.0], [0.0, 0.5]], requires_grad=True)
    beta = torch.tensor(0.05, requires_grad=True)
    loss = margin_loss(e, torch.tensor([0, 1]), beta, 0.2)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(e.grad, torch.zeros(2, 2)) and beta.grad.item() == 0.0
    # same class: the pair is active with loss alpha + d - beta
    same = margin_loss(e, torch.tensor([0, 0]), beta, 0.2)
    assert same.item() == pytest.approx(0.2 + np.sqrt(2 + 1e-8) - 0.05, rel=1e-6)


def test_margin_loss_error_messages():
    y = torch.tensor([0, 0, 1])
    beta = torch.tensor(1.0)
    _raises(
        "emb must be a 2-D tensor [B, D], got torch.Size([3])",
        margin_loss,
        torch.ones(3),
        y,
        beta,
    )
    _raises(
        "emb must be a 2-D tensor [B, D], got [[1.0, 2.0]]",
        margin_loss,
        [[1.0, 2.0]],
        y,
        beta,
    )
    _raises(
        "emb must be a floating-point tensor, got torch.int64",
        margin_loss,
        torch.ones(3, 2, dtype=torch.long),
        y,
        beta,
    )
    _raises(
        "emb needs at least 2 rows to form a pair, got 1",
        margin_loss,
        torch.ones(1, 3),
        y[:1],
        beta,
    )
    _raises(
        "emb must be finite (no NaN or infinity)",
        margin_loss,
        torch.tensor([[1.0, float("nan")], [0, 1], [1, 1]]),
        y,
        beta,
    )
    _raises(
        "labels must have shape [3], got (2,)",
        margin_loss,
        torch.ones(3, 5),
        y[:2],
        beta,
    )
    _raises(
        "labels must hold integer class ids, got torch.float32",
        margin_loss,
        torch.ones(3, 5),
        y.float(),
        beta,
    )
    _raises(
        "beta must be a finite scalar, got tensor([1.0000, 1.2000])",
        margin_loss,
        torch.ones(3, 5),
        y,
        torch.tensor([1.0, 1.2]),
    )
    _raises(
        "alpha must be >= 0, got -0.1", margin_loss, torch.ones(3, 5), y, beta, -0.1
    )


# ------------------------------------------------------------------ subspaces, clusters


def test_split_subspaces_error_messages():
    _raises("D must be a positive integer, got 0", split_subspaces, 0, 1)
    _raises("K must be a positive integer, got 0", split_subspaces, 4, 0)
    _raises("K must be at most D=4, got 5", split_subspaces, 4, 5)


def _small_norm_points():
    """40 points in 3-D whose norms vary and stay below 1 (so normalising matters)."""
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 3)) * rng.uniform(0.01, 0.5, size=(40, 1)) * 0.5
    assert np.linalg.norm(emb, axis=1).max() < 1
    return emb


def test_assign_clusters_is_kmeans_on_unit_rows():
    emb = _small_norm_points()
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)

    def kmeans(data, seed, n_init=3):
        return KMeans(4, n_init=n_init, random_state=seed).fit_predict(data)

    ours = assign_clusters(emb, 4)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours, kmeans(unit, 0))  # seed 0 by default
    np.testing.assert_array_equal(assign_clusters(emb, 4, seed=1), kmeans(unit, 1))
    # the case tells these apart: another seed, a fourth start, the raw rows
    for other in (kmeans(unit, 1), kmeans(unit, 0, n_init=4), kmeans(emb, 0)):
        assert not np.array_equal(ours, other)


def test_assign_clusters_k_equal_to_n_and_error_messages():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.1]])
    assert sorted(assign_clusters(emb, 3)) == [0, 1, 2]
    _raises("emb must be 2-D, got shape (3,)", assign_clusters, np.ones(3), 1)
    _raises("K must be a positive integer, got 0", assign_clusters, emb, 0)
    _raises("K must be at most the number of items (3), got 4", assign_clusters, emb, 4)


def test_random_clusters_exact_and_error_messages():
    out = random_clusters(10, 3, np.random.default_rng(4))
    np.testing.assert_array_equal(
        out, np.random.default_rng(4).permutation(np.arange(10) % 3)
    )
    assert sorted(random_clusters(3, 3, np.random.default_rng(0))) == [0, 1, 2]
    rng = np.random.default_rng(0)
    _raises("n must be a positive integer, got 0", random_clusters, 0, 1, rng)
    _raises("K must be a positive integer, got 0", random_clusters, 3, 0, rng)
    _raises("K must be at most n=2, got 3", random_clusters, 2, 3, rng)


def test_match_clusters_error_messages():
    ok = np.array([0, 1])
    _raises(
        "previous must hold integer class ids, got dtype float64",
        match_clusters,
        ok * 1.0,
        ok,
    )
    _raises(
        "current must hold integer class ids, got dtype float64",
        match_clusters,
        ok,
        ok * 1.0,
    )
    _raises(
        "previous and current must hold ids >= 0", match_clusters, ok, np.array([0, -1])
    )
    _raises(
        "previous and current must have the same length, got 2 and 3",
        match_clusters,
        ok,
        np.array([0, 1, 1]),
    )


# ------------------------------------------------------------------ scores


def test_recall_at_k_ties_go_to_the_lower_index_beyond_sixteen_items():
    # all 20 rows identical: every similarity ties, so the k nearest of query i are
    # the k lowest indices other than i
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, size=20)
    ks = (1, 2, 3, 5, 8, 13, 19)
    expected = {}
    for k in ks:
        hits = [
            (labels[[j for j in range(20) if j != i][:k]] == labels[i]).any()
            for i in range(20)
        ]
        expected[k] = float(np.mean(hits))
    assert recall_at_k(np.ones((20, 3)), labels, ks=ks) == expected


def test_recall_at_k_two_items_and_error_messages():
    two = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert recall_at_k(two, np.array([0, 0]), ks=(1,)) == {1: 1.0}
    assert recall_at_k(two, np.array([0, 1]), ks=(1,)) == {1: 0.0}
    emb, labels = np.eye(4), np.array([0, 1, 0, 1])
    _raises("emb needs at least 2 items", recall_at_k, emb[:1], labels[:1], ks=(1,))
    _raises(
        "labels must hold integer class ids, got dtype float64",
        recall_at_k,
        emb,
        labels * 1.0,
    )
    _raises("ks must be a positive integer, got 0", recall_at_k, emb, labels, ks=(0,))
    _raises(
        "ks must be below the number of items (4), got 4",
        recall_at_k,
        emb,
        labels,
        ks=(1, 4),
    )
    emb[2] = 0.0
    _raises(
        "emb has an all-zero row; cosine similarity is undefined",
        recall_at_k,
        emb,
        labels,
        ks=(1,),
    )


def _blobs():
    """60 random points in 5-D and 6 class labels; K-means depends on its seed here."""
    rng = np.random.default_rng(1)
    return rng.normal(size=(60, 5)), rng.integers(0, 6, size=60)


def test_nmi_kmeans_is_nmi_of_kmeans_with_default_seed_0():
    emb, labels = _blobs()
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)

    def reference(seed):
        pred = KMeans(6, n_init=3, random_state=seed).fit_predict(unit)
        return nmi(labels, pred)

    assert reference(0) != reference(1)  # the seed matters on these points
    assert nmi_kmeans(emb, labels) == reference(0)
    assert nmi_kmeans(emb, labels, seed=1) == reference(1)
    # a single class against a single cluster: nothing to explain
    assert nmi_kmeans(emb, np.full(60, 4)) == 1.0


def test_nmi_kmeans_error_messages():
    emb, labels = _blobs()
    _raises(
        "labels must hold integer class ids, got dtype float64",
        nmi_kmeans,
        emb,
        labels * 1.0,
    )
    _raises("emb must be 2-D, got shape (4,)", nmi_kmeans, np.ones(4), np.zeros(4, int))
    # the shape is checked before the lengths
    _raises("emb must be 2-D, got shape (5,)", nmi_kmeans, np.ones(5), np.zeros(4, int))
    _raises(
        "emb and labels must have the same length, got 60 and 59",
        nmi_kmeans,
        emb,
        labels[:-1],
    )
    emb[0, 1] = np.nan
    _raises(
        "emb must be finite; its element 1 (flat index) is nan", nmi_kmeans, emb, labels
    )


def test_nearest_centroid_is_the_cosine_argmax_over_group_means():
    rng = np.random.default_rng(6)
    groups = np.repeat([3, 8, 9], [5, 4, 6])
    # every group at its own scale, all below norm 1: the centroids' norms differ
    scale = np.array([0.01, 0.5, 0.1])[np.searchsorted([3, 8, 9], groups)]
    reference = (rng.normal(size=(15, 3)) + [0.5, 0.0, 0.0]) * scale[:, None]
    emb = rng.normal(size=(200, 3))
    ids = [3, 8, 9]
    means = np.array([reference[groups == g].mean(axis=0) for g in ids])
    cosine = np.array(
        [[e @ c / np.linalg.norm(e) / np.linalg.norm(c) for c in means] for e in emb]
    )
    ours = nearest_centroid(emb, reference, groups)
    np.testing.assert_array_equal(ours, np.array(ids)[cosine.argmax(axis=1)])
    # the plain dot product with the centroids would send some rows elsewhere
    assert not np.array_equal(ours, np.array(ids)[(emb @ means.T).argmax(axis=1)])


def test_nearest_centroid_error_messages():
    reference, groups = np.eye(4, 2), np.array([0, 0, 1, 1])
    emb = np.ones((2, 2))
    _raises(
        "emb must be 2-D, got shape (3,)",
        nearest_centroid,
        np.ones(3),
        reference,
        groups,
    )
    _raises(
        "reference must be 2-D, got shape (4,)",
        nearest_centroid,
        emb,
        np.ones(4),
        groups,
    )
    _raises(
        "groups must hold integer class ids, got dtype float64",
        nearest_centroid,
        emb,
        reference,
        groups * 1.0,
    )
    _raises(
        "reference and groups must have the same length, got 4 and 3",
        nearest_centroid,
        emb,
        reference,
        groups[:3],
    )
    _raises(
        "emb and reference must have the same width, got 3 and 2",
        nearest_centroid,
        np.ones((2, 3)),
        reference,
        groups,
    )


def _gap_by_loops(emb, labels, groups, slices):
    hit = np.zeros((len(slices), len(emb)))
    for k, part in enumerate(slices):
        e = emb[:, part]
        for i in range(len(emb)):
            cos = [
                -np.inf
                if j == i
                else e[i] @ e[j] / np.linalg.norm(e[i]) / np.linalg.norm(e[j])
                for j in range(len(emb))
            ]
            hit[k, i] = labels[int(np.argmax(cos))] == labels[i]
    gaps = []
    for g in sorted(set(groups)):
        rows = hit[:, groups == g].mean(axis=1)
        others = [rows[k] for k in range(len(slices)) if k != g]
        gaps.append(rows[g] - np.mean(others))
    return np.mean(gaps)


def test_specialisation_gap_matches_loops_on_rows_of_unequal_norm():
    rng = np.random.default_rng(8)
    emb = rng.normal(size=(30, 6)) * rng.uniform(0.001, 0.3, size=(30, 1))
    labels = rng.integers(0, 3, size=30)
    groups = rng.integers(0, 3, size=30)
    slices = [slice(0, 2), slice(2, 4), slice(4, 6)]
    ours = specialisation_gap(emb, labels, groups, slices)
    assert ours == pytest.approx(_gap_by_loops(emb, labels, groups, slices), abs=1e-12)
    assert ours != 0.0


def test_specialisation_gap_error_messages():
    emb, labels, groups = (
        np.ones((4, 2)),
        np.array([0, 0, 1, 1]),
        np.array([0, 1, 0, 1]),
    )
    slices = [slice(0, 1), slice(1, 2)]
    _raises(
        "emb must be 2-D, got shape (4,)",
        specialisation_gap,
        np.ones(4),
        labels,
        groups,
        slices,
    )
    _raises(
        "labels must hold integer class ids, got dtype float64",
        specialisation_gap,
        emb,
        labels * 1.0,
        groups,
        slices,
    )
    _raises(
        "groups must hold integer class ids, got dtype float64",
        specialisation_gap,
        emb,
        labels,
        groups * 1.0,
        slices,
    )
    _raises(
        "emb and labels and groups must have the same length, got 5 and 4 and 4",
        specialisation_gap,
        np.ones((5, 2)),
        labels,
        groups,
        slices,
    )
    _raises(
        "groups must be learner ids in [0, 1]",
        specialisation_gap,
        emb,
        labels,
        np.array([0, 1, 2, 1]),
        slices,
    )
    _raises(
        "slices must hold at least 2 learners, got 1",
        specialisation_gap,
        emb,
        labels,
        groups,
        slices[:1],
    )


# ------------------------------------------------------------------ the dynamic rule


def test_should_add_learner_default_patience_is_3():
    h = [0.5, 0.4, 0.4, 0.4]
    assert should_add_learner(h) and should_add_learner(h, patience=3)
    assert not should_add_learner(h, patience=4)


def test_should_add_learner_looks_at_the_last_patience_scores():
    # best before the last 2 is 0.5; 0.9 among the last 2 is progress
    assert not should_add_learner([0.5, 0.9, 0.4], patience=2)
    assert should_add_learner([0.9, 0.5, 0.4], patience=2)


def test_should_add_learner_error_messages():
    _raises("patience must be a positive integer, got 0", should_add_learner, [0.1], 0)
    _raises("tol must be >= 0, got -1.0", should_add_learner, [0.1], 1, -1.0)
    _raises("history must be 1-D, got shape (1, 1)", should_add_learner, [[0.1]], 1)


# ------------------------------------------------------------------ the network


def _by_hand(model, x, attention):
    """Forward pass of AttentionEmbedder written out with torch.nn.functional."""
    F = torch.nn.functional
    c1, c2 = model.features[0], model.features[2]
    H = F.relu(
        F.conv2d(
            F.relu(F.conv2d(x, c1.weight, c1.bias, padding=1)),
            c2.weight,
            c2.bias,
            padding=1,
        )
    )
    if attention:
        a = torch.sigmoid(F.conv2d(H, model.attend.weight, model.attend.bias))
    else:
        a = torch.ones_like(H[:, :1])
    z = (a * H).sum((2, 3)) / a.sum((2, 3))
    return z, z @ model.head.weight.T + model.head.bias, a[:, 0]


@pytest.mark.parametrize("attention", [True, False])
def test_attention_embedder_forward_by_hand(attention):
    torch.manual_seed(1)
    model = AttentionEmbedder(D=5, in_ch=2, attention=attention)
    # negative inputs, so that dropping a ReLU would show
    x = torch.randn(3, 2, 4, 5, generator=torch.Generator().manual_seed(2))
    z, e, a = _by_hand(model, x, attention)
    out, att = model(x, return_attention=True)
    torch.testing.assert_close(out, e, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(att, a, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.pooled(x), z, rtol=1e-5, atol=1e-6)
    assert out.shape == (3, 5) and att.shape == (3, 4, 5)


def test_attention_embedder_defaults_and_error_messages():
    model = AttentionEmbedder()
    assert model.head.out_features == 128 and model.D == 128
    assert model.features[0].in_channels == 3 and model.attention is True
    _raises("D must be a positive integer, got 0", AttentionEmbedder, D=0)
    _raises("in_ch must be a positive integer, got 0", AttentionEmbedder, in_ch=0)
    _raises("x must be [B, C, H, W], got shape (3, 8, 8)", model, torch.ones(3, 8, 8))
    _raises(
        "x must be [B, C, H, W], got shape (3, 8, 8)", model.pooled, torch.ones(3, 8, 8)
    )


def test_embed_error_messages():
    model = AttentionEmbedder(D=4)
    _raises("X must be 4-D, got shape (2, 3, 8)", embed, model, np.ones((2, 3, 8)))
    _raises(
        "batch must be a positive integer, got 0",
        embed,
        model,
        np.ones((2, 3, 8, 8)),
        batch=0,
    )


# ------------------------------------------------------------------ training


def test_batches_keep_every_batch_of_two_or_more():
    idx = np.arange(10, 18)  # 8 items in batches of 3: 3, 3 and a last one of 2
    perm = np.random.default_rng(4).permutation(idx)
    out = _batches(idx, 3, np.random.default_rng(4))
    assert [b.tolist() for b in out] == [
        perm[:3].tolist(),
        perm[3:6].tolist(),
        perm[6:].tolist(),
    ]
    # 7 items: the last batch holds a single item and is dropped
    perm = np.random.default_rng(4).permutation(7)
    out = _batches(np.arange(7), 3, np.random.default_rng(4))
    assert [b.tolist() for b in out] == [perm[:3].tolist(), perm[3:6].tolist()]
    assert [
        b.tolist() for b in _batches(np.arange(2), 5, np.random.default_rng(0))
    ] == [np.random.default_rng(0).permutation(2).tolist()]


def _tiny(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 3, 3)).astype(np.float32)
    return X, np.arange(n) % 4


def _same_model(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _reference_random_partition(
    X,
    y,
    X_val,
    y_val,
    *,
    K,
    D,
    epochs,
    finetune_epochs,
    recluster_every,
    batch_size,
    lr,
    alpha,
    seed,
):
    """train_subspace_learners(partition="random") written out step by step."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = AttentionEmbedder(D=D, in_ch=X.shape[1])
    betas = torch.nn.Parameter(torch.full((K,), 1.2))
    opt = torch.optim.Adam([*model.parameters(), betas], lr=lr)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    slices = split_subspaces(D, K)

    def step(b, emb, beta):
        loss = margin_loss(emb, yt[b], beta, alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()

    r1 = []
    for epoch in range(epochs):
        if epoch % recluster_every == 0:
            clusters = random_clusters(len(X), K, rng)
        jobs = [
            (b, k)
            for k in range(K)
            for b in _batches(np.flatnonzero(clusters == k), batch_size, rng)
        ]
        for j in rng.permutation(len(jobs)):
            b, k = jobs[j]
            step(b, model(Xt[b])[:, slices[k]], betas[k])
        r1.append(recall_at_k(embed(model, X_val), y_val, ks=(1,))[1])
    for _ in range(finetune_epochs):
        for b in _batches(np.arange(len(X)), batch_size, rng):
            step(b, model(Xt[b]), betas.mean())
    return model, r1, clusters, betas


def test_train_subspace_learners_reproduced_step_by_step():
    X, y = _tiny(12)
    X_val, y_val = _tiny(5, seed=1)
    kwargs = dict(
        K=2,
        D=4,
        epochs=3,
        finetune_epochs=1,
        recluster_every=2,
        batch_size=4,
        lr=0.05,
        alpha=1.0,  # far from 0.2: another set of active pairs
        seed=2,
    )
    model, h = train_subspace_learners(
        X, y, X_val, y_val, partition="random", K_max=2, **kwargs
    )
    ref, r1, clusters, betas = _reference_random_partition(X, y, X_val, y_val, **kwargs)
    assert _same_model(model, ref)
    assert h["epoch"] == [0, 1, 2] and h["K"] == [2, 2, 2]
    assert h["val_r1"] == r1 and h["added_at"] == [] and h["K_final"] == 2
    np.testing.assert_array_equal(h["clusters"], clusters)
    # every learner's boundary moved away from its start at 1.2
    assert (betas.detach() != 1.2).all()


def test_train_subspace_learners_k_max_matters_only_when_dynamic():
    X, y = _tiny(12)
    # a fixed-K run keeps K boundaries beta_k, whatever K_max; fine-tuning uses their
    # mean (lr 0.2 for 3 epochs moves them far from their start)
    kwargs = dict(K=2, D=6, epochs=3, finetune_epochs=1, batch_size=4, lr=0.2, seed=1)
    a, _ = train_subspace_learners(X, y, X, y, partition="random", K_max=2, **kwargs)
    b, _ = train_subspace_learners(X, y, X, y, partition="random", K_max=6, **kwargs)
    assert _same_model(a, b)


def test_train_subspace_learners_default_k_max_6_and_patience_3():
    X, y = _tiny(12)
    kwargs = dict(dynamic=True, D=8, finetune_epochs=0, batch_size=6, lr=0.0)
    # lr 0: validation recall never improves; with patience 1 a learner joins every
    # other epoch until K_max = 6
    _, h = train_subspace_learners(X, y, X, y, patience=1, epochs=12, **kwargs)
    assert h["added_at"] == [1, 3, 5, 7, 9] and h["K_final"] == 6
    assert h["K"] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    # default patience 3: every fourth epoch
    _, h = train_subspace_learners(X, y, X, y, K_max=6, epochs=8, **kwargs)
    assert h["added_at"] == [3, 7] and h["K"] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert len(set(h["val_r1"])) == 1


def test_train_subspace_learners_defaults_are_the_documented_values():
    # 66 images: more than one default batch of 64
    X, y = _tiny(66)
    X_val, y_val = X[:6], y[:6]
    default_model, default_h = train_subspace_learners(X, y, X_val, y_val)
    model, h = train_subspace_learners(
        X,
        y,
        X_val,
        y_val,
        K=1,
        dynamic=False,
        partition="cluster",
        D=128,
        K_max=6,
        patience=3,
        epochs=22,
        finetune_epochs=6,
        recluster_every=2,
        cluster_on="features",
        match=True,
        warmup_epochs=0,
        batch_size=64,
        lr=2e-3,
        alpha=0.2,
        attention=True,
        seed=0,
    )
    assert _same_model(default_model, model)
    assert default_h["val_r1"] == h["val_r1"] and len(h["val_r1"]) == 22
    assert default_h["K"] == h["K"] == [1] * 22
    assert default_model.head.out_features == 128 and default_model.attention is True


def test_train_subspace_learners_initial_k_and_warmup():
    X, y = _tiny(12)
    kwargs = dict(D=6, finetune_epochs=0, batch_size=6, lr=0.0)
    # no epoch at all: a fixed-K run starts with K learners
    _, h = train_subspace_learners(X, y, X, y, K=3, epochs=0, **kwargs)
    assert h["K_final"] == 3 and h["K"] == []
    # one warm-up epoch with a single learner, then K
    _, h = train_subspace_learners(X, y, X, y, K=2, warmup_epochs=1, epochs=2, **kwargs)
    assert h["K"] == [1, 2] and h["K_final"] == 2
    # K = D and K_max = D are allowed
    _, h = train_subspace_learners(X, y, X, y, K=6, K_max=6, epochs=0, **kwargs)
    assert h["K_final"] == 6
    _, h = train_subspace_learners(
        X, y, X, y, dynamic=True, K=6, K_max=6, epochs=0, **kwargs
    )
    assert h["K_final"] == 1


def test_train_subspace_learners_builds_the_network_it_is_asked_for():
    X, y = _tiny(12)
    kwargs = dict(D=6, K_max=2, epochs=0, finetune_epochs=0)
    model, _ = train_subspace_learners(X, y, X, y, attention=False, **kwargs)
    assert model.attention is False and model.features[0].in_channels == 1
    model, _ = train_subspace_learners(X, y, X, y, attention=True, **kwargs)
    assert model.attention is True and model.head.out_features == 6


def test_train_subspace_learners_match_relabels_only_when_asked():
    X, y = _tiny(12)
    kwargs = dict(K=2, D=6, epochs=1, finetune_epochs=0, lr=0.0, seed=0)
    torch.manual_seed(0)
    feats = embed(AttentionEmbedder(D=6, in_ch=1), X, pooled=True)
    raw = assign_clusters(
        feats, 2, seed=int(np.random.default_rng(0).integers(1 << 30))
    )
    matched = match_clusters(np.zeros(12, dtype=int), raw)
    assert not np.array_equal(raw, matched)  # here K-means calls the larger group 1
    _, h = train_subspace_learners(X, y, X, y, match=True, **kwargs)
    np.testing.assert_array_equal(h["clusters"], matched)
    _, h = train_subspace_learners(X, y, X, y, match=False, **kwargs)
    np.testing.assert_array_equal(h["clusters"], raw)


def test_train_subspace_learners_error_messages():
    X, y = _tiny(6)
    bad_X, bad_y = np.ones((6, 1, 3)), y * 1.0
    for message, kwargs in [
        ("X must be 4-D, got shape (6, 1, 3)", dict(X=bad_X)),
        ("X_val must be 4-D, got shape (6, 1, 3)", dict(X_val=bad_X)),
        ("y must hold integer class ids, got dtype float64", dict(y=bad_y)),
        ("y_val must hold integer class ids, got dtype float64", dict(y_val=bad_y)),
        ("X and y must have the same length, got 6 and 5", dict(y=y[:5])),
        ("X_val and y_val must have the same length, got 6 and 5", dict(y_val=y[:5])),
        ("K must be a positive integer, got 0", dict(K=0)),
        ("K_max must be a positive integer, got 0", dict(K_max=0)),
        ("K and K_max must be at most D=8", dict(K=9, D=8)),
        ("K and K_max must be at most D=8", dict(K_max=9, D=8)),
        (
            "partition must be 'cluster' or 'random', got 'kmeans'",
            dict(partition="kmeans"),
        ),
        (
            "cluster_on must be 'features' or 'embedding', got 'pixels'",
            dict(cluster_on="pixels"),
        ),
    ]:
        args = dict(X=X, y=y, X_val=X, y_val=y, epochs=0, finetune_epochs=0)
        args.update(kwargs)
        _raises(message, train_subspace_learners, **args)


def test_train_classifier_defaults_are_the_documented_values():
    X, y = _tiny(66)
    default = train_classifier(X, y)
    model = train_classifier(X, y, D=128, epochs=28, batch_size=64, lr=2e-3, seed=0)
    assert _same_model(default, model)
    assert model.head.out_features == 128
    assert not _same_model(model, train_classifier(X, y, epochs=27))


def test_train_classifier_lr_0_keeps_the_seeded_network():
    X, y = _tiny(12)
    model = train_classifier(X, y, D=4, epochs=1, batch_size=5, lr=0.0, seed=5)
    torch.manual_seed(5)
    assert _same_model(model, AttentionEmbedder(D=4, in_ch=1))
    moved = train_classifier(X, y, D=4, epochs=1, batch_size=5, lr=1e-3, seed=5)
    assert not _same_model(model, moved)


def test_train_classifier_error_messages():
    X, y = _tiny(6)
    _raises("X must be 4-D, got shape (6, 1, 3)", train_classifier, X[..., 0], y)
    _raises(
        "y must hold integer class ids, got dtype float64", train_classifier, X, y * 1.0
    )
    _raises(
        "X and y must have the same length, got 6 and 5", train_classifier, X, y[:5]
    )
