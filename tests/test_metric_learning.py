"""Unit tests of utils.metric_learning (chapter 10).

Exact values come from cases solved by hand or from scikit-learn on random inputs; every
parameter is moved away from its neutral value and bad input must raise an error that
names the argument.
"""

import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors

from utils.metric_learning import (
    AttentionEmbedder,
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

# ------------------------------------------------------------------ margin loss


def _loops(e, y, beta, alpha):
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    losses = []
    for i in range(len(e)):
        for j in range(i + 1, len(e)):
            d = np.sqrt(((e[i] - e[j]) ** 2).sum() + 1e-8)
            s = 1.0 if y[i] == y[j] else -1.0
            losses.append(max(0.0, alpha + s * (d - beta)))
    losses = np.array(losses)
    return losses.sum() / max((losses > 0).sum(), 1)


@pytest.mark.parametrize("beta, alpha", [(1.2, 0.2), (0.9, 0.5), (1.0, 0.0)])
def test_margin_loss_matches_two_loops(beta, alpha):
    rng = np.random.default_rng(1)
    e = rng.normal(size=(6, 4))
    y = np.array([0, 0, 1, 1, 2, 0])
    ours = margin_loss(torch.tensor(e), torch.tensor(y), torch.tensor(beta), alpha)
    assert float(ours) == pytest.approx(_loops(e, y, beta, alpha), rel=1e-6)


def test_margin_loss_by_hand():
    # two orthogonal unit vectors: distance sqrt(2); same class, beta 1, alpha 0.2
    e = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    same = margin_loss(e, torch.tensor([0, 0]), torch.tensor(1.0), 0.2)
    assert float(same) == pytest.approx(0.2 + np.sqrt(2) - 1.0, abs=1e-5)
    diff = margin_loss(e, torch.tensor([0, 1]), torch.tensor(1.5), 0.2)
    assert float(diff) == pytest.approx(0.2 - (np.sqrt(2) - 1.5), abs=1e-5)
    # a negative pair beyond beta + alpha is inactive: loss 0, gradient defined
    far = margin_loss(e, torch.tensor([0, 1]), torch.tensor(1.0), 0.2)
    assert float(far) == 0.0


def test_margin_loss_averages_over_active_pairs_only():
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1])
    # pairs: (0,1) same d=1.414 -> 0.2+0.414-1=-0.386+... beta=1.2 -> 0.414
    # (0,2) diff d=2 -> 0.2-(2-1.2)<0 ; (1,2) diff d=1.414 -> 0.2-0.214<0
    loss = margin_loss(e, y, torch.tensor(1.2), 0.2)
    assert float(loss) == pytest.approx(0.2 + np.sqrt(2) - 1.2, abs=1e-5)


def test_margin_loss_gradient_reaches_beta():
    beta = torch.tensor(1.2, requires_grad=True)
    e = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    margin_loss(e, torch.tensor([0, 0, 1, 1, 2]), beta).backward()
    assert beta.grad is not None and torch.isfinite(beta.grad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(emb=torch.ones(3)), "emb"),
        (dict(emb=torch.ones(1, 2), labels=torch.tensor([0])), "at least 2"),
        (dict(labels=torch.tensor([0, 1])), "labels"),
        (dict(alpha=-0.1), "alpha"),
    ],
)
def test_margin_loss_rejects_bad_input(kwargs, message):
    args = dict(
        emb=torch.ones(3, 2),
        labels=torch.tensor([0, 1, 1]),
        beta=torch.tensor(1.0),
        alpha=0.2,
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        margin_loss(**args)


# ------------------------------------------------------------------ subspaces, clusters


def test_split_subspaces_by_hand():
    assert split_subspaces(10, 3) == [slice(0, 4), slice(4, 7), slice(7, 10)]
    assert split_subspaces(8, 1) == [slice(0, 8)]
    assert split_subspaces(4, 4) == [slice(i, i + 1) for i in range(4)]


@pytest.mark.parametrize(
    "D, K, message", [(4, 5, "K must be at most"), (0, 1, "D"), (4, 0, "K")]
)
def test_split_subspaces_rejects_bad_input(D, K, message):
    with pytest.raises(ValueError, match=message):
        split_subspaces(D, K)


def test_assign_clusters_finds_separated_groups():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 5
    emb = np.repeat(centres, 20, axis=0) + rng.normal(scale=0.1, size=(60, 3))
    c = assign_clusters(emb, 3, seed=0)
    assert nmi(np.repeat([0, 1, 2], 20), c) == pytest.approx(1.0)
    np.testing.assert_array_equal(assign_clusters(emb, 1), np.zeros(60, dtype=int))


def test_assign_clusters_rejects_bad_input():
    with pytest.raises(ValueError, match="K must be at most"):
        assign_clusters(np.ones((3, 2)), 4)
    with pytest.raises(ValueError, match="emb"):
        assign_clusters(np.ones(3), 1)


def test_match_clusters_undoes_a_relabelling():
    previous = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    current = np.array([2, 2, 1, 0, 0, 1, 1, 1])  # same groups but one item moved
    out = match_clusters(previous, current)
    # 2 -> 0 (2 items overlap), 0 -> 1 (2 items), 1 -> 2 (3 items, 1 from group 0)
    np.testing.assert_array_equal(out, [0, 0, 2, 1, 1, 2, 2, 2])
    # an identical clustering is left unchanged
    np.testing.assert_array_equal(match_clusters(previous, previous), previous)


def test_match_clusters_when_a_learner_is_added():
    previous = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    current = np.array([2, 2, 0, 0, 1, 1, 1, 1])  # group 0 split in two
    out = match_clusters(previous, current)
    # 1 keeps id 1; of 0 and 2 (2 items each overlap group 0) one keeps 0, other is 2
    assert list(out[4:]) == [1, 1, 1, 1]
    assert set(out[:4]) == {0, 2} and out[0] == out[1] and out[2] == out[3]
    # previous ids beyond the new K count as no overlap
    np.testing.assert_array_equal(
        match_clusters(np.array([2, 2, 1, 1]), np.array([0, 0, 1, 1])), [0, 0, 1, 1]
    )
    np.testing.assert_array_equal(
        match_clusters(np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])), [1, 1, 0, 0]
    )


@pytest.mark.parametrize(
    "previous, current, message",
    [
        ([0, 1], [0, 1, 1], "same length"),
        ([0, -1], [0, 1], "ids >= 0"),
        ([0, 1], [-1, 1], "ids >= 0"),
        ([0.0, 1.0], [0, 1], "previous"),
        ([0, 1], [0.5, 1.0], "current"),
    ],
)
def test_match_clusters_rejects_bad_input(previous, current, message):
    with pytest.raises(ValueError, match=message):
        match_clusters(np.array(previous), np.array(current))


def test_random_clusters_balanced_and_seeded():
    c = random_clusters(10, 3, np.random.default_rng(0))
    assert sorted(np.bincount(c)) == [3, 3, 4]
    np.testing.assert_array_equal(c, random_clusters(10, 3, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="K must be at most"):
        random_clusters(2, 3, np.random.default_rng(0))


# ------------------------------------------------------------------ scores


def test_recall_at_k_by_hand():
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.7, 0.7]])
    labels = np.array([0, 1, 1, 0, 0])
    # nearest first: 0 -> 1, 4 | 1 -> 0, 4, 3, 2 | 2 -> 3, 4, 1 | 3 -> 2, 4 |
    # 4 -> 1 and 3 tie (index 1 wins), then 3
    r = recall_at_k(emb, labels, ks=(1, 2, 4))
    assert r[1] == pytest.approx(0.0)
    assert r[2] == pytest.approx(3 / 5)
    assert r[4] == pytest.approx(1.0)


def test_recall_at_k_excludes_self_and_breaks_ties_by_index():
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    # all similarities tie: query 0 -> 1 (miss), 1 -> 0 (miss), 2 -> 0 (hit), never self
    assert recall_at_k(emb, np.array([1, 0, 1]), ks=(1,))[1] == pytest.approx(1 / 3)


def test_recall_at_k_matches_sklearn_neighbours():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(80, 5))
    labels = rng.integers(0, 6, size=80)
    nn_ = NearestNeighbors(n_neighbors=5, metric="cosine").fit(emb)
    idx = nn_.kneighbors(emb, return_distance=False)[:, 1:]
    for k in (1, 2, 4):
        ref = np.mean([(labels[idx[i, :k]] == labels[i]).any() for i in range(80)])
        assert recall_at_k(emb, labels, ks=(k,))[k] == pytest.approx(ref)


@pytest.mark.parametrize(
    "emb, labels, ks, message",
    [
        (np.ones(4), [0, 1, 0, 1], (1,), "emb must be 2-D"),
        (np.ones((4, 2)), [0, 1, 0], (1,), "same length"),
        (np.ones((4, 2)), [0, 1, 0, 1], (4,), "ks must be below"),
        (np.ones((4, 2)), [0, 1, 0, 1], (0,), "ks"),
        (np.array([[1, 0], [0, 0], [1, 1], [0, 1.0]]), [0, 1, 0, 1], (1,), "all-zero"),
        (
            np.array([[1, 0], [np.nan, 0], [1, 1], [0, 1.0]]),
            [0, 1, 0, 1],
            (1,),
            "finite",
        ),
        (np.ones((4, 2)), [0.5, 1, 0, 1], (1,), "labels"),
    ],
)
def test_recall_at_k_rejects_bad_input(emb, labels, ks, message):
    with pytest.raises(ValueError, match=message):
        recall_at_k(emb, np.asarray(labels), ks=ks)


def test_nmi_matches_sklearn_on_random_labels():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.integers(0, 5, 100), rng.integers(0, 7, 100)
        assert nmi(a, b) == pytest.approx(normalized_mutual_info_score(a, b), abs=1e-12)


def test_nmi_by_hand():
    assert nmi([0, 0, 1, 1], [5, 5, 3, 3]) == pytest.approx(1.0)
    assert nmi([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)
    # one group vs two: I = 0, H(C) = 0, H(Y) = log 2 -> 0
    assert nmi([0, 0, 1, 1], [0, 0, 0, 0]) == pytest.approx(0.0)
    assert nmi([2, 2], [7, 7]) == 1.0


def test_nmi_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        nmi([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="labels_true"):
        nmi([], [])
    with pytest.raises(ValueError, match="labels_pred"):
        nmi([0, 1], [0.5, 1.0])


def test_nmi_kmeans_perfect_on_separated_clusters():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2, 3], 15)
    emb = np.eye(4)[labels] + rng.normal(scale=0.05, size=(60, 4))
    assert nmi_kmeans(emb, labels, seed=1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same length"):
        nmi_kmeans(emb, labels[:-1])


# ------------------------------------------------------------------ the dynamic rule


def test_should_add_learner_fires_after_patience_flat_epochs():
    assert not should_add_learner([0.5, 0.6, 0.6, 0.6], patience=3)  # 0.6 beats 0.5
    assert should_add_learner([0.5, 0.6, 0.6, 0.6, 0.6], patience=3)
    assert not should_add_learner([0.5, 0.6, 0.6, 0.61], patience=3)
    assert not should_add_learner([0.5, 0.6, 0.6], patience=3)  # too short
    assert should_add_learner([0.7, 0.6], patience=1)


def test_should_add_learner_tolerance():
    h = [0.5, 0.6, 0.61, 0.605, 0.602]
    assert not should_add_learner(h, patience=3, tol=0.0)
    assert should_add_learner(h, patience=3, tol=0.02)
    assert should_add_learner([0.5, 0.75], patience=1, tol=0.25)  # exactly tol: no gain
    assert not should_add_learner([0.5, 0.7501], patience=1, tol=0.25)
    assert not should_add_learner([], patience=1)  # a learner was just added


def test_margin_loss_rejects_nan_integer_embeddings_and_bad_beta():
    emb = torch.randn(4, 3)
    labels = torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="^emb must be finite"):
        margin_loss(
            emb.masked_fill(torch.eye(4, 3, dtype=bool), float("nan")), labels, 1.0
        )
    with pytest.raises(ValueError, match="^emb must be a floating-point tensor"):
        margin_loss(emb.long(), labels, 1.0)
    with pytest.raises(ValueError, match="^labels must hold integer class ids"):
        margin_loss(emb, labels.float(), 1.0)
    with pytest.raises(ValueError, match="^beta must be a finite scalar"):
        margin_loss(emb, labels, torch.tensor([1.0, 1.2]))
    # the learnable boundary still gets its gradient: only the 4 cross-class pairs
    # (distance sqrt(2) < beta + alpha) are active, each with d loss / d beta = +1
    tight = torch.tensor([[1.0, 0, 0], [1, 1e-3, 0], [0, 1, 0], [0, 1, 1e-3]])
    beta = torch.tensor(1.5, requires_grad=True)
    margin_loss(tight, labels, beta).backward()
    assert beta.grad.item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(patience=0), "patience"),
        (dict(tol=-1.0), "tol"),
        (dict(history=[[0.1]]), "history"),
        (dict(history=[0.1, np.nan]), "history"),
    ],
)
def test_should_add_learner_rejects_bad_input(kwargs, message):
    args = dict(history=[0.1, 0.2], patience=1, tol=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        should_add_learner(**args)


# ------------------------------------------------------------ data, network, training


def test_render_fine_grained_digits_shapes_and_labels():
    X, y, att = render_fine_grained_digits(np.random.default_rng(0), copies=1)
    assert X.shape == (1797, 3, 8, 8) and X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(y, att["digit"] * 6 + att["tint"] * 2 + att["thick"])
    # the tinted channel is the brightest one; thick strokes cover more pixels
    assert (X.sum((2, 3)).argmax(1) == att["tint"]).mean() > 0.99
    ink = (X.max(1) > 0.2).sum((1, 2))
    assert ink[att["thick"] == 1].mean() > ink[att["thick"] == 0].mean() + 5
    X2, _, _ = render_fine_grained_digits(np.random.default_rng(0), copies=2)
    assert len(X2) == 2 * 1797


def test_split_seen_unseen():
    labels = np.repeat(np.arange(10), 3)
    mask = split_seen_unseen(labels, np.random.default_rng(0), 4)
    assert len(np.unique(labels[mask])) == 4
    assert not set(labels[mask]) & set(labels[~mask])
    with pytest.raises(ValueError, match="n_seen"):
        split_seen_unseen(labels, np.random.default_rng(0), 10)


def test_attention_embedder_shapes_and_uniform_control():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 8, 8)
    model = AttentionEmbedder(D=16)
    e, a = model(x, return_attention=True)
    assert e.shape == (4, 16) and a.shape == (4, 8, 8)
    assert (a >= 0).all() and (a <= 1).all()
    uniform = AttentionEmbedder(D=16, attention=False)
    uniform.load_state_dict(model.state_dict())
    _, a_u = uniform(x, return_attention=True)
    assert torch.all(a_u == 1)
    # uniform pooling is the plain mean over positions
    H = uniform.features(x)
    torch.testing.assert_close(uniform(x), uniform.head(H.mean((2, 3))))
    with pytest.raises(ValueError, match="x must be"):
        model(torch.rand(3, 8, 8))


def test_embed_is_normalised():
    model = AttentionEmbedder(D=8)
    e = embed(model, np.random.default_rng(0).random((5, 3, 8, 8)))
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)


def test_embed_pooled_features_and_batches():
    torch.manual_seed(0)
    model = AttentionEmbedder(D=8)
    X = np.random.default_rng(0).random((5, 3, 8, 8)).astype(np.float32)
    z = embed(model, X, pooled=True, batch=2)  # [5, 32], three batches
    with torch.no_grad():
        x = torch.as_tensor(X)
        H = model.features(x)
        a = torch.sigmoid(model.attend(H))
        ref = ((a * H).sum((2, 3)) / a.sum((2, 3))).numpy()
        np.testing.assert_allclose(model.pooled(x).numpy(), ref, rtol=1e-5)
        full = model(x).numpy()
    assert z.shape == (5, 32)
    np.testing.assert_allclose(
        z, ref / np.linalg.norm(ref, axis=1, keepdims=True), rtol=1e-4
    )
    np.testing.assert_allclose(
        embed(model, X, batch=2),
        full / np.linalg.norm(full, axis=1, keepdims=True),
        rtol=1e-4,
    )
    assert model.training  # embed puts the model back in training mode
    with pytest.raises(ValueError, match="batch"):
        embed(model, X, batch=0)
    with pytest.raises(ValueError, match="x must be"):
        model.pooled(torch.rand(3, 8, 8))


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    X = rng.random((60, 3, 8, 8)).astype(np.float32)
    y = np.repeat(np.arange(6), 10)
    X += y[:, None, None, None] * 0.3
    return X, y


def test_train_subspace_learners_fixed_k_runs_and_keeps_k(tiny_data):
    X, y = tiny_data
    model, h = train_subspace_learners(
        X,
        y,
        X,
        y,
        K=3,
        D=12,
        epochs=3,
        finetune_epochs=1,
        recluster_every=2,
        batch_size=20,
        seed=0,
    )
    assert h["K"] == [3, 3, 3] and h["K_final"] == 3
    assert set(h["clusters"]) == {0, 1, 2}
    assert embed(model, X).shape == (60, 12)


def test_train_subspace_learners_dynamic_adds_learners(tiny_data):
    X, y = tiny_data
    _, h = train_subspace_learners(
        X,
        y,
        X,
        y,
        dynamic=True,
        patience=1,
        K_max=3,
        D=12,
        epochs=8,
        finetune_epochs=0,
        batch_size=20,
        lr=0.0,
        seed=0,
    )
    # lr 0: the score never improves, so a learner is added every other epoch to K_max
    assert h["K"][0] == 1 and h["K_final"] == 3 and max(h["K"]) == 3
    assert h["added_at"] == [1, 3]


def test_train_subspace_learners_random_partition_and_errors(tiny_data):
    X, y = tiny_data
    _, h = train_subspace_learners(
        X,
        y,
        X,
        y,
        K=2,
        partition="random",
        D=8,
        epochs=1,
        finetune_epochs=0,
        batch_size=30,
        seed=0,
    )
    assert sorted(np.bincount(h["clusters"])) == [30, 30]
    with pytest.raises(ValueError, match="partition"):
        train_subspace_learners(X, y, X, y, partition="kmeans")
    with pytest.raises(ValueError, match="cluster_on"):
        train_subspace_learners(X, y, X, y, cluster_on="pixels")
    with pytest.raises(ValueError, match="K and K_max"):
        train_subspace_learners(X, y, X, y, K=9, D=8)
    with pytest.raises(ValueError, match="same length"):
        train_subspace_learners(X, y[:-1], X, y)


def test_train_classifier_learns_separable_classes(tiny_data):
    X, y = tiny_data
    model = train_classifier(X, y, D=8, epochs=15, batch_size=20, lr=1e-2, seed=0)
    assert recall_at_k(embed(model, X), y, ks=(1,))[1] > 0.8
    with pytest.raises(ValueError, match="same length"):
        train_classifier(X, y[:-1])


def test_train_subspace_learners_warmup_keeps_one_learner_first(tiny_data):
    X, y = tiny_data
    _, h = train_subspace_learners(
        X,
        y,
        X,
        y,
        K=2,
        warmup_epochs=2,
        D=8,
        epochs=4,
        finetune_epochs=0,
        recluster_every=10,
        batch_size=30,
        seed=0,
    )
    assert h["K"] == [1, 1, 2, 2]
    assert set(h["clusters"]) == {0, 1}


# ------------------------------------------------------------ specialisation


def test_nearest_centroid_by_hand():
    reference = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    groups = np.array([5, 5, 7, 7])
    emb = np.array([[3.0, 1.0], [1.0, 3.0], [-1.0, 0.2]])
    np.testing.assert_array_equal(nearest_centroid(emb, reference, groups), [5, 7, 7])
    with pytest.raises(ValueError, match="same width"):
        nearest_centroid(np.ones((2, 3)), reference, groups)
    with pytest.raises(ValueError, match="same length"):
        nearest_centroid(emb, reference, groups[:3])


def test_specialisation_gap_by_hand():
    # slice 0 (dim 0) separates the classes of group 0, slice 1 (dim 1) those of group 1
    emb = np.array(
        [[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [1.0, 1.0]]
    )
    labels = np.array([0, 0, 1, 1, 2, 3])
    groups = np.array([0, 0, 0, 0, 1, 1])
    slices = [slice(0, 1), slice(1, 2)]
    # group 0 with slice 0: all four hit (R@1 = 1); with slice 1: item 0 -> 2 (index tie
    # order: 2, 4, 5), item 1 -> 3, item 2 -> 0, item 3 -> 1: all miss (R@1 = 0)
    # group 1 (items 4, 5; labels 2, 3) misses with both slices: gap 0
    assert specialisation_gap(emb, labels, groups, slices) == pytest.approx((1 + 0) / 2)
    swapped = specialisation_gap(emb, labels, 1 - groups, slices)
    assert swapped == pytest.approx((0 - 1) / 2)


def test_specialisation_gap_rejects_bad_input():
    emb, labels = np.ones((4, 2)), np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="groups must be learner ids"):
        specialisation_gap(
            emb, labels, np.array([0, 2, 0, 1]), [slice(0, 1), slice(1, 2)]
        )
    with pytest.raises(ValueError, match="slices"):
        specialisation_gap(emb, labels, np.zeros(4, dtype=int), [slice(0, 2)])


def test_train_subspace_learners_matched_clusters_keep_their_learner(tiny_data):
    X, y = tiny_data
    kwargs = dict(K=3, D=12, epochs=5, finetune_epochs=0, batch_size=20, lr=0.0)
    # lr 0: the features never change, so every re-clustering finds the same groups;
    # matching must then hand each learner the group of the first clustering
    torch.manual_seed(7)
    feats = embed(AttentionEmbedder(D=12), X, pooled=True)
    first_seed = int(np.random.default_rng(7).integers(1 << 30))
    # (the first clustering is itself matched to "everyone in group 0")
    first = match_clusters(
        np.zeros(60, int), assign_clusters(feats, 3, seed=first_seed)
    )
    _, h = train_subspace_learners(X, y, X, y, seed=7, recluster_every=1, **kwargs)
    np.testing.assert_array_equal(h["clusters"], first)
    # on the embedding instead of the pooled features, the groups differ here
    _, h_emb = train_subspace_learners(
        X, y, X, y, seed=7, recluster_every=1, cluster_on="embedding", **kwargs
    )
    torch.manual_seed(7)
    emb = embed(AttentionEmbedder(D=12), X)
    expected = match_clusters(np.zeros(60, int), assign_clusters(emb, 3, first_seed))
    np.testing.assert_array_equal(h_emb["clusters"], expected)
    assert not np.array_equal(h_emb["clusters"], first)
