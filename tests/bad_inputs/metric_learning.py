"""Bad-input rows for utils.metric_learning (chapter 10), run by tests/test_bad_inputs.py."""

import numpy as np
import torch

from bad_inputs import ARRAY, Row
from utils import metric_learning as ml

LABEL = (
    "nan",
    "empty",
    "shape",
    "dtype",
)  # integer class ids: NaN and floats are refused


def _rng(seed=0):
    return np.random.default_rng(seed)


def _margin():
    g = torch.Generator().manual_seed(0)
    return {
        "emb": torch.randn(6, 4, generator=g),
        "labels": torch.tensor([0, 0, 1, 1, 2, 2]),
        "beta": torch.tensor(1.2),
    }


def _retrieval():
    return {
        "emb": _rng(1).normal(size=(8, 3)),
        "labels": np.array([0, 0, 1, 1, 2, 2, 3, 3]),
    }


def _recall():
    return {**_retrieval(), "ks": (1, 2)}


def _nmi():
    return {
        "labels_true": np.array([0, 0, 1, 1, 2, 2]),
        "labels_pred": np.array([1, 1, 0, 0, 0, 2]),
    }


def _match():
    return {"previous": np.array([0, 0, 1, 1, 2]), "current": np.array([2, 2, 0, 1, 1])}


def _centroid():
    rng = _rng(2)
    return {
        "emb": rng.normal(size=(4, 3)),
        "reference": rng.normal(size=(6, 3)),
        "groups": np.array([0, 0, 1, 1, 2, 2]),
    }


def _gap():
    return {
        **_retrieval(),
        "groups": np.array([0, 1, 0, 1, 0, 1, 0, 1]),
        "slices": ml.split_subspaces(3, 2),
    }


ROWS = [
    Row(
        ml.split_seen_unseen,
        lambda: {"labels": np.arange(6) % 3, "rng": _rng(), "n_seen": 2},
        "labels",
        LABEL,
    ),
    Row(ml.margin_loss, _margin, "emb", ARRAY + ("shape",)),
    Row(ml.margin_loss, _margin, "labels", LABEL),
    Row(ml.margin_loss, _margin, "beta", ("nan", "inf", "shape")),
    Row(
        ml.assign_clusters,
        lambda: {"emb": _rng(3).normal(size=(6, 3)), "K": 2},
        "emb",
        ARRAY + ("shape",),
    ),
    Row(ml.match_clusters, _match, "previous", LABEL + ("negative",)),
    Row(ml.match_clusters, _match, "current", LABEL + ("negative",)),
    Row(ml.recall_at_k, _recall, "emb", ARRAY + ("shape",)),
    Row(ml.recall_at_k, _recall, "labels", LABEL),
    Row(ml.nmi, _nmi, "labels_true", LABEL),
    Row(ml.nmi, _nmi, "labels_pred", LABEL),
    Row(ml.nmi_kmeans, _retrieval, "emb", ARRAY + ("shape",)),
    Row(ml.nmi_kmeans, _retrieval, "labels", LABEL),
    Row(ml.nearest_centroid, _centroid, "emb", ARRAY + ("shape",)),
    Row(ml.nearest_centroid, _centroid, "reference", ARRAY + ("shape",)),
    Row(ml.nearest_centroid, _centroid, "groups", LABEL),
    Row(ml.specialisation_gap, _gap, "emb", ARRAY + ("shape",)),
    Row(ml.specialisation_gap, _gap, "labels", LABEL),
    Row(ml.specialisation_gap, _gap, "groups", LABEL + ("id",), vocab=2),
    Row(
        ml.should_add_learner,
        lambda: {"history": np.array([0.1, 0.3, 0.2, 0.25, 0.3, 0.1])},
        "history",
        ("nan", "inf", "shape", "dtype"),
    ),
]

NO_ARRAY_INPUT = {
    "metric_learning.render_fine_grained_digits": "a generator and a count",
    "metric_learning.split_subspaces": "two sizes (tested in tests/test_metric_learning.py)",
    "metric_learning.random_clusters": "two sizes and a generator",
    "metric_learning.embed": "a model and images",
    "metric_learning.train_subspace_learners": "images, labels and training settings",
    "metric_learning.train_classifier": "images, labels and training settings",
}
