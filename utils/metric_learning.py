"""Attention-based dynamic subspace learners (DSL): the paper's method, from scratch.

Chapter 10 of the course. The paper: Sukesh Adiga Vasudeva, Jose Dolz, Herve Lombaert
(2022). Attention-based Dynamic Subspace Learners for Medical Image Analysis. IEEE
Journal of Biomedical and Health Informatics 26(9), arXiv:2206.09068. No official code
is used here; the method builds on divide-and-conquer metric learning (Sanakoyeu et al.,
CVPR 2019) and the margin loss (Wu et al., ICCV 2017). Every public function names the
part of the paper it implements in a ``Paper:`` line of its docstring.

The pieces: a tiny CNN whose feature map is pooled with a spatial attention map
(:class:`AttentionEmbedder`), an embedding of width D cut into K subspaces
(:func:`split_subspaces`), one learner per K-means cluster of the data
(:func:`assign_clusters`), the margin loss (:func:`margin_loss`), the rule that adds a
learner when validation retrieval stops improving (:func:`should_add_learner`), and the
two scores of the paper's tables, Recall@K (:func:`recall_at_k`) and clustering NMI
(:func:`nmi`, :func:`nmi_kmeans`).

Shapes: N items, B batch, C channels, H x W image, D embedding width, K learners.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from utils.validation import check_array, check_positive_int, check_same_length

__all__ = [
    "render_fine_grained_digits",
    "split_seen_unseen",
    "margin_loss",
    "split_subspaces",
    "assign_clusters",
    "random_clusters",
    "match_clusters",
    "recall_at_k",
    "nmi",
    "nmi_kmeans",
    "should_add_learner",
    "nearest_centroid",
    "specialisation_gap",
    "AttentionEmbedder",
    "embed",
    "train_subspace_learners",
    "train_classifier",
]

TINTS = np.array([[1.0, 0.25, 0.25], [0.25, 1.0, 0.25], [0.25, 0.25, 1.0]])


# ------------------------------------------------------------ data (course addition)


def _check_labels(labels, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
    return arr


def render_fine_grained_digits(rng: np.random.Generator, copies: int = 2):
    """Fine-grained classes from the digits: class = (digit, tint, thickness).

    Each 8x8 digit is drawn ``copies`` times; every copy gets one of three RGB tints and
    thin or thick strokes (a 3x3 dilation with probability 0.5). Returns ``X`` [N, 3, 8,
    8] in [0, 1], ``labels`` [N] (60 classes: digit * 6 + tint * 2 + thick) and a dict
    of the attributes ``digit``, ``tint``, ``thick`` (each [N]).

    Paper: course addition — fine-grained images standing in for the medical data sets.
    """
    from scipy.ndimage import grey_dilation
    from sklearn.datasets import load_digits

    copies = check_positive_int(copies, "copies")
    digits = load_digits()
    base = np.tile(digits.images / 16.0, (copies, 1, 1))  # [N, 8, 8]
    digit = np.tile(digits.target, copies)
    n = len(base)
    tint = rng.integers(3, size=n)  # 0, 1 or 2
    thick = rng.random(n) < 0.5  # pragma: no mutate (<=: a tie has probability 0)
    dilated = grey_dilation(base, size=(1, 3, 3))  # max over each pixel's 3x3 block
    gray = np.where(thick[:, None, None], dilated, base)
    X = gray[:, None] * TINTS[tint][:, :, None, None]  # [N, 3, 8, 8]
    labels = digit * 6 + tint * 2 + thick.astype(int)
    attributes = {"digit": digit, "tint": tint, "thick": thick.astype(int)}
    return X.astype(np.float32), labels, attributes


def split_seen_unseen(labels, rng: np.random.Generator, n_seen: int):
    """Mask [N] of items whose class is among ``n_seen`` classes drawn at random.

    Training uses the seen classes; retrieval and clustering are scored on the others,
    the usual deep-metric-learning protocol.

    Paper: course addition — held-out-class evaluation protocol.
    """
    labels = _check_labels(labels, "labels")
    classes = np.unique(labels)
    n_seen = check_positive_int(n_seen, "n_seen")
    if n_seen >= len(classes):
        raise ValueError(
            f"n_seen must be smaller than the number of classes "
            f"({len(classes)}), got {n_seen}"
        )
    seen = rng.choice(classes, size=n_seen, replace=False)
    return np.isin(labels, seen)


# ---------------------------------------------------------------- the loss


def margin_loss(emb, labels, beta, alpha: float = 0.2):
    """Margin loss over all pairs of a batch, averaged over the active pairs.

    For L2-normalised embeddings, distance ``d_ij`` and ``y_ij = +1`` (same class) or
    ``-1``: ``l_ij = max(0, alpha + y_ij (d_ij - beta))``. ``emb`` [B, D] (normalised
    here), ``labels`` [B], ``beta`` a scalar tensor (learnable boundary). Returns a
    scalar tensor (0 when no pair is active).

    Paper: margin loss of each subspace learner, Method (arXiv:2206.09068v1).
    """
    if not torch.is_tensor(emb) or emb.ndim != 2:
        shape = getattr(emb, "shape", emb)
        raise ValueError(f"emb must be a 2-D tensor [B, D], got {shape}")
    if not emb.dtype.is_floating_point:
        raise ValueError(f"emb must be a floating-point tensor, got {emb.dtype}")
    if emb.shape[0] < 2:
        raise ValueError(
            f"emb needs at least 2 rows to form a pair, got {emb.shape[0]}"
        )
    if not torch.isfinite(emb).all():
        raise ValueError("emb must be finite (no NaN or infinity)")
    labels = torch.as_tensor(labels)
    if labels.shape != (emb.shape[0],):
        raise ValueError(
            f"labels must have shape [{emb.shape[0]}], got {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype.is_complex:
        raise ValueError(f"labels must hold integer class ids, got {labels.dtype}")
    beta = torch.as_tensor(beta)
    if beta.ndim != 0 or not torch.isfinite(beta).all():
        raise ValueError(f"beta must be a finite scalar, got {beta.detach()}")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    e = torch.nn.functional.normalize(emb)  # each row to unit length
    sq = (e[:, None, :] - e[None, :, :]).pow(2).sum(-1)
    dist = torch.sqrt(sq + 1e-8)  # [B, B]
    same = labels[:, None] == labels[None, :]
    sign = same.float() * 2.0 - 1.0
    iu = torch.triu_indices(len(e), len(e), offset=1)
    pair = torch.relu(alpha + sign * (dist - beta))[iu[0], iu[1]]  # [B(B-1)/2]
    active = (pair > 0).sum()
    return pair.sum() / active.clamp(min=1)  # 0 when no pair is active


# ---------------------------------------------------------------- subspaces, clusters


def split_subspaces(D: int, K: int) -> list:
    """Cut an embedding of width ``D`` into ``K`` contiguous slices of near-equal width.

    The first ``D % K`` slices are one wider. Learner k owns ``emb[:, slices[k]]``.

    Paper: K learners share one embedding cut into K parts, Method (arXiv:2206.09068v1).
    """
    D = check_positive_int(D, "D")
    K = check_positive_int(K, "K")
    if K > D:
        raise ValueError(f"K must be at most D={D}, got {K}")
    widths = [D // K + (1 if k < D % K else 0) for k in range(K)]
    starts = np.cumsum([0] + widths)
    return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]


def assign_clusters(emb, K: int, seed: int = 0) -> np.ndarray:
    """K-means on the L2-normalised embeddings [N, D]; the cluster id of each item [N].

    K = 1 gives all zeros. Each learner is then trained only on its cluster.

    Paper: data split among learners by K-means, Method (arXiv:2206.09068v1).
    """
    from sklearn.cluster import KMeans

    emb = check_array(emb, "emb", ndim=2)
    K = check_positive_int(K, "K")
    if K > len(emb):
        raise ValueError(f"K must be at most the number of items ({len(emb)}), got {K}")
    if K == 1:
        return np.zeros(len(emb), dtype=int)
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return KMeans(K, n_init=3, random_state=seed).fit_predict(e).astype(int)


def random_clusters(n: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """A random split of ``n`` items into ``K`` near-equal groups [n]: the control.

    Paper: course addition — control that keeps K learners but drops the clustering.
    """
    n = check_positive_int(n, "n")
    K = check_positive_int(K, "K")
    if K > n:
        raise ValueError(f"K must be at most n={n}, got {K}")
    return rng.permutation(np.arange(n) % K)


def match_clusters(previous, current) -> np.ndarray:
    """Relabel a new clustering [N] so that each learner keeps the items it had.

    K-means numbers its clusters arbitrarily, so after re-clustering, learner k would be
    handed a different group. The ids of ``current`` (``0..K-1``) are permuted to
    maximise the number of items whose id is unchanged from ``previous`` (Hungarian
    matching on the overlap counts); previous ids ``>= K`` count as no overlap.

    Paper: clusters reassigned to their learners, Method (arXiv:2206.09068v1).
    """
    from scipy.optimize import linear_sum_assignment

    previous = _check_labels(previous, "previous")
    current = _check_labels(current, "current")
    check_same_length(previous=previous, current=current)
    if current.min() < 0 or previous.min() < 0:
        raise ValueError("previous and current must hold ids >= 0")
    K = int(current.max()) + 1
    keep = previous < K
    overlap = np.zeros((K, K))  # [current id, previous id]
    # pragma: no mutate start (counting each item twice gives the same matching)
    np.add.at(overlap, (current[keep], previous[keep]), 1.0)
    # pragma: no mutate end
    rows, cols = linear_sum_assignment(-overlap)
    relabel = np.empty(K, dtype=int)
    relabel[rows] = cols
    return relabel[current]


# ---------------------------------------------------------------- scores


def recall_at_k(emb, labels, ks=(1, 2, 4, 8)) -> dict:
    """Recall@k: share of queries whose k nearest neighbours (cosine) hold a same-class
    item.

    The query itself is excluded; ties in similarity go to the lower index. ``emb`` [N,
    D], ``labels`` [N]. Returns ``{k: recall}``.

    Paper: Recall@K of the retrieval tables, Experiments (arXiv:2206.09068v1).
    """
    emb = check_array(emb, "emb", ndim=2)
    labels = _check_labels(labels, "labels")
    check_same_length(emb=emb, labels=labels)
    if len(emb) < 2:
        raise ValueError("emb needs at least 2 items")
    ks = [check_positive_int(k, "ks") for k in ks]
    if max(ks) >= len(emb):
        raise ValueError(
            f"ks must be below the number of items ({len(emb)}), got {max(ks)}"
        )
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("emb has an all-zero row; cosine similarity is undefined")
    e = emb / norms
    sim = e @ e.T  # [N, N]
    np.fill_diagonal(sim, -np.inf)  # pragma: no mutate (NaN would also sort last)
    order = np.argsort(-sim, stable=True)[:, : max(ks)]  # each row; [N, kmax]
    hit = labels[order] == labels[:, None]
    return {k: float(hit[:, :k].any(axis=1).mean()) for k in ks}


def nmi(labels_true, labels_pred) -> float:
    """Normalised mutual information ``2 I(Y; C) / (H(Y) + H(C))`` of labellings [N].

    Returns 1.0 when both labellings have a single group (nothing to explain).

    Paper: NMI of the clustering tables, Experiments (arXiv:2206.09068v1).
    """
    y = _check_labels(labels_true, "labels_true")
    c = _check_labels(labels_pred, "labels_pred")
    n = check_same_length(labels_true=y, labels_pred=c)
    _, yi = np.unique(y, return_inverse=True)
    _, ci = np.unique(c, return_inverse=True)
    joint = np.zeros((yi.max() + 1, ci.max() + 1))
    np.add.at(joint, (yi, ci), 1.0)
    p = joint / n
    py, pc = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(py, pc)[nz])).sum())
    hy = float(-(py * np.log(py)).sum())
    hc = float(-(pc * np.log(pc)).sum())
    if hy + hc == 0:
        return 1.0
    return 2.0 * mi / (hy + hc)


def nmi_kmeans(emb, labels, seed: int = 0) -> float:
    """K-means on ``emb`` [N, D] with one cluster per class, then :func:`nmi`.

    Paper: clustering evaluation, Experiments (arXiv:2206.09068v1).
    """
    labels = _check_labels(labels, "labels")
    emb = check_array(emb, "emb", ndim=2)
    check_same_length(emb=emb, labels=labels)
    n_classes = len(np.unique(labels))
    return nmi(labels, assign_clusters(emb, n_classes, seed=seed))


def nearest_centroid(emb, reference, groups) -> np.ndarray:
    """Group of the nearest group centroid (cosine) for each row of ``emb`` [N, D].

    ``reference`` [M, D] with ``groups`` [M] define the centroids: how a test image is
    sent to the learner whose training cluster it resembles most.

    Paper: course addition — routes unseen images to a learner's cluster.
    """
    emb = check_array(emb, "emb", ndim=2)
    reference = check_array(reference, "reference", ndim=2)
    groups = _check_labels(groups, "groups")
    check_same_length(reference=reference, groups=groups)
    if emb.shape[1] != reference.shape[1]:
        raise ValueError(
            f"emb and reference must have the same width, got "
            f"{emb.shape[1]} and {reference.shape[1]}"
        )
    ids = np.unique(groups)
    centres = np.stack([reference[groups == g].mean(0) for g in ids])  # [G, D]
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    # pragma: no mutate start (a positive scale of a row leaves its argmax unchanged)
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    # pragma: no mutate end
    return ids[np.argmax(e @ centres.T, axis=1)]


def specialisation_gap(emb, labels, groups, slices) -> float:
    """How much better each learner's slice retrieves its own group than other slices.

    For the queries of group g (an id in ``range(len(slices))``), Recall@1 among all
    items using slice g, minus the mean Recall@1 of the same queries using every other
    slice; averaged over the groups that have queries. ``emb`` [N, D], ``labels`` [N],
    ``groups`` [N]. Near 0 when the learners are interchangeable (a random split of the
    data).

    Paper: premise that each learner specialises, Method (arXiv:2206.09068v1).
    """
    emb = check_array(emb, "emb", ndim=2)
    labels = _check_labels(labels, "labels")
    groups = _check_labels(groups, "groups")
    check_same_length(emb=emb, labels=labels, groups=groups)
    if len(slices) < 2:
        raise ValueError(f"slices must hold at least 2 learners, got {len(slices)}")
    if groups.min() < 0 or groups.max() >= len(slices):
        raise ValueError(f"groups must be learner ids in [0, {len(slices) - 1}]")
    hits = []  # [K] of [N]
    for part in slices:
        e = emb[:, part]
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        sim = e @ e.T
        np.fill_diagonal(sim, -np.inf)
        hits.append(labels[np.argmax(sim, axis=1)] == labels)
    hits = np.array(hits)  # [K, N], True where the nearest item shares the label
    gaps = []
    for g in np.unique(groups):
        rows = hits[:, groups == g].mean(axis=1)  # [K]
        gaps.append(rows[g] - np.delete(rows, g).mean())
    return float(np.mean(gaps))


# ---------------------------------------------------------------- the dynamic rule


def should_add_learner(history, patience: int = 3, tol: float = 0.0) -> bool:
    """True when the last ``patience`` validation scores all failed to beat the best
    before.

    ``history`` [T] holds the monitored score since the last learner was added. A score
    counts as progress only if it exceeds the earlier best by more than ``tol``. An empty
    or short history (at most ``patience`` scores) gives False.

    Paper: dynamic learners, add one when progress stalls, Method (arXiv:2206.09068v1).
    """
    patience = check_positive_int(patience, "patience")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    h = check_array(history, "history", ndim=1, nonempty=False)
    if len(h) <= patience:
        return False
    best_before = h[:-patience].max()
    return bool((h[-patience:] <= best_before + tol).all())


# ---------------------------------------------------------------- the network


class AttentionEmbedder(nn.Module):
    """Tiny CNN: two 3x3 convolutions, spatial attention, weighted pooling, a head.

    ``forward(x)`` maps ``x`` [B, C, H, W] to embeddings [B, D]; with
    ``return_attention=True`` it also returns the map [B, H, W] in [0, 1].
    ``attention=False`` pools uniformly (the control).

    Paper: embedding network with its attention module, Method (arXiv:2206.09068v1).
    """

    def __init__(self, D: int = 128, in_ch: int = 3, attention: bool = True):
        super().__init__()
        check_positive_int(D, "D")
        check_positive_int(in_ch, "in_ch")
        self.D, self.attention = D, attention
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
        )
        self.attend = nn.Conv2d(32, 1, 1)
        self.head = nn.Linear(32, D)

    def forward(self, x, return_attention: bool = False):
        if x.ndim != 4:
            raise ValueError(f"x must be [B, C, H, W], got shape {tuple(x.shape)}")
        z, a = self._pool(x)  # [B, 32], [B, 1, H, W]
        e = self.head(z)  # [B, D]
        return (e, a[:, 0]) if return_attention else e

    def _pool(self, x):
        H = self.features(x)  # [B, 32, H, W]
        if self.attention:
            a = torch.sigmoid(self.attend(H))  # [B, 1, H, W]
        else:
            a = torch.ones_like(H[:, :1])
        return (a * H).sum((2, 3)) / a.sum((2, 3)), a

    def pooled(self, x):
        """The pooled feature z [B, 32] before the head (what the data is clustered
        on).

        Paper: clustering on the backbone's pooled features, Method (arXiv:2206.09068v1).
        """
        if x.ndim != 4:
            raise ValueError(f"x must be [B, C, H, W], got shape {tuple(x.shape)}")
        return self._pool(x)[0]


def embed(
    model,
    X,
    batch: int = 512,  # pragma: no mutate (how many images go through at once)
    pooled: bool = False,
) -> np.ndarray:
    """L2-normalised embeddings [N, D] of images ``X`` [N, C, H, W], without gradients.

    With ``pooled=True`` it returns the normalised pooled features [N, 32] before the
    head instead (the paper clusters the data on these).

    Paper: retrieval on the full normalised embedding, Method (arXiv:2206.09068v1).
    """
    X = check_array(X, "X", ndim=4)
    batch = check_positive_int(batch, "batch")
    net = model.pooled if pooled else model
    model.eval()
    with torch.no_grad():
        out = torch.cat(
            [
                net(torch.as_tensor(X[i : i + batch], dtype=torch.float32))
                for i in range(0, len(X), batch)
            ]
        )
    model.train()
    return torch.nn.functional.normalize(out).numpy()  # each row to unit length


# ---------------------------------------------------------------- training


def _batches(idx: np.ndarray, size: int, rng: np.random.Generator):
    idx = rng.permutation(idx)
    return [
        idx[i : i + size]
        for i in range(0, len(idx), size)
        if len(idx[i : i + size]) >= 2
    ]


def train_subspace_learners(
    X,
    y,
    X_val,
    y_val,
    *,
    K: int = 1,
    dynamic: bool = False,
    partition: str = "cluster",
    D: int = 128,
    K_max: int = 6,
    patience: int = 3,
    epochs: int = 22,
    finetune_epochs: int = 6,
    recluster_every: int = 2,
    cluster_on: str = "features",
    match: bool = True,
    warmup_epochs: int = 0,
    batch_size: int = 64,
    lr: float = 2e-3,
    alpha: float = 0.2,
    attention: bool = True,
    seed: int = 0,
):
    """Train K subspace learners on one embedding (divide and conquer), or grow K (DSL).

    Every ``recluster_every`` epochs the training set is split into K groups (K-means
    when ``partition="cluster"``, at random when ``"random"``: the control); learner k
    sees only group k and its loss uses only its slice of the embedding, with its own
    boundary beta_k. As in the authors' code, K-means runs on the pooled features
    (``cluster_on="features"``; ``"embedding"`` uses the full embedding) and, with
    ``match=True``, each new clustering is relabelled by :func:`match_clusters` so that
    learner k keeps (mostly) the same group. With ``dynamic=True`` training starts at K
    = 1 and adds a learner when :func:`should_add_learner` fires on validation Recall@1
    (at most ``K_max``). With ``warmup_epochs`` > 0 a fixed-K run trains one learner
    first, so that its first clustering sees a trained embedding (the paper starts from
    a pretrained backbone). Finally all data fine-tune the whole embedding. Returns
    ``(model, history)``; history holds per epoch ``K`` and ``val_r1`` and the final
    ``clusters`` [N].

    Paper: training with (dynamic) subspace learners, Method (arXiv:2206.09068v1).
    """
    X = check_array(X, "X", ndim=4)
    X_val = check_array(X_val, "X_val", ndim=4)
    y = _check_labels(y, "y")
    y_val = _check_labels(y_val, "y_val")
    check_same_length(X=X, y=y)
    check_same_length(X_val=X_val, y_val=y_val)
    if partition not in ("cluster", "random"):
        raise ValueError(f"partition must be 'cluster' or 'random', got {partition!r}")
    if cluster_on not in ("features", "embedding"):
        raise ValueError(
            f"cluster_on must be 'features' or 'embedding', got {cluster_on!r}"
        )
    K = check_positive_int(K, "K")
    K_max = check_positive_int(K_max, "K_max")
    if K > D or K_max > D:
        raise ValueError(f"K and K_max must be at most D={D}")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = AttentionEmbedder(D=D, in_ch=X.shape[1], attention=attention)
    betas = torch.nn.Parameter(torch.full((max(K, K_max) if dynamic else K,), 1.2))
    opt = torch.optim.Adam([*model.parameters(), betas], lr=lr)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    K_now = 1 if dynamic or warmup_epochs > 0 else K
    history = {"epoch": [], "K": [], "val_r1": [], "added_at": []}
    since_added: list[float] = []
    clusters = np.zeros(len(X), dtype=int)

    def regroup(k):
        if partition == "random":
            return random_clusters(len(X), k, rng)
        source = embed(model, X, pooled=cluster_on == "features")
        groups = assign_clusters(source, k, seed=int(rng.integers(1 << 30)))
        return match_clusters(clusters, groups) if match else groups

    def step(idx, part):
        emb = model(Xt[idx])
        loss = margin_loss(emb[:, part[0]], yt[idx], betas[part[1]], alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for epoch in range(epochs):
        if not dynamic and epoch == warmup_epochs:
            K_now = K  # warm-up over: split into K groups now
        if epoch % recluster_every == 0 or (not dynamic and epoch == warmup_epochs):
            clusters = regroup(K_now)
        slices = split_subspaces(D, K_now)
        jobs = [
            (b, k)
            for k in range(K_now)
            for b in _batches(np.flatnonzero(clusters == k), batch_size, rng)
        ]
        for j in rng.permutation(len(jobs)):
            b, k = jobs[j]
            step(b, (slices[k], k))
        r1 = recall_at_k(embed(model, X_val), y_val, ks=(1,))[1]
        history["epoch"].append(epoch)
        history["K"].append(K_now)
        history["val_r1"].append(r1)
        since_added.append(r1)
        if dynamic and K_now < K_max and should_add_learner(since_added, patience):
            K_now += 1
            history["added_at"].append(epoch)
            clusters = regroup(K_now)
            since_added = []
    for _ in range(finetune_epochs):  # every learner's data on the whole embedding
        for b in _batches(np.arange(len(X)), batch_size, rng):
            loss = margin_loss(model(Xt[b]), yt[b], betas.mean(), alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
    history["clusters"] = clusters
    history["K_final"] = K_now
    return model, history


def train_classifier(
    X,
    y,
    *,
    D: int = 128,
    epochs: int = 28,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
):
    """The baseline: the same network trained with cross-entropy on ``y``.

    Its D-wide features (before the classification layer) serve as the embedding.
    Returns the embedder (the classification layer is dropped).

    Paper: classification-network baseline, Experiments (arXiv:2206.09068v1).
    """
    X = check_array(X, "X", ndim=4)
    y = _check_labels(y, "y")
    check_same_length(X=X, y=y)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    classes, yi = np.unique(y, return_inverse=True)
    model = AttentionEmbedder(D=D, in_ch=X.shape[1])
    clf = torch.nn.Linear(D, len(classes))
    opt = torch.optim.Adam([*model.parameters(), *clf.parameters()], lr=lr)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(yi)
    for _ in range(epochs):
        for b in _batches(np.arange(len(X)), batch_size, rng):
            loss = torch.nn.functional.cross_entropy(
                clf(torch.relu(model(Xt[b]))), yt[b]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model
