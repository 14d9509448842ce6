"""Influence scores for pruning language data: VoG, EL2N, forgetting, the pruning rules.

Chapter 09 of the course. Paper: N. Anand, J. Tan, M. Minakova, "Influence Scores at
Scale for Efficient Language Data Sampling", EMNLP 2023, arXiv:2311.16298v1. No official
code was published; this module is written from the paper's description and from the
papers that introduced the scores:

* **VoG**, variance of gradients (Agarwal, D'souza & Hooker, CVPR 2022), adapted to text
  as the paper does: gradients of the labelled logit with respect to the *outputs of the
  embedding layer*, one number per token position and embedding coordinate, taken at K
  checkpoints;
* **EL2N**, the error L2 norm (Paul, Ganguli & Dziugaite, NeurIPS 2021);
* **forgetting events** (Toneva et al., ICLR 2019);
* the **pruning protocol**: rank the training set by a score, keep a fraction (hardest,
  easiest, random, or "drop the top, then keep the next hardest"), retrain from scratch,
  test.

The miniature replaces SNLI and BERT-small by a templated premise/hypothesis task with a
frequent easy pattern and two rarer phenomena (:func:`make_nli`) and a bag-of-embeddings
classifier (:class:`BagNLI`). All templates of a hypothesis have the same number of
tokens, and filler words in the premise are drawn independently of the label and the
phenomenon, so sentence length cannot stand in for difficulty; :func:`token_count` is
the length-only control score.

Shapes: ``n`` examples, ``L`` token positions per sentence (``MAX_LEN``), ``d``
embedding width, ``C`` classes, ``K`` checkpoints, ``E`` epochs. Token ids are
``[n, L]`` with 0 for padding.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from utils.validation import (
    check_array,
    check_positive,
    check_positive_int,
    check_same_length,
)

__all__ = [
    "VOCAB",
    "LABELS",
    "PHENOMENA",
    "MAX_LEN",
    "NLIData",
    "make_nli",
    "decode",
    "BagNLI",
    "make_model",
    "batch_schedule",
    "train_classifier",
    "input_gradients",
    "Checkpoints",
    "scoring_run",
    "predict_proba",
    "accuracy",
    "vog_scores",
    "normalize_scores",
    "el2n_scores",
    "forgetting_counts",
    "token_count",
    "select_subset",
    "noise_auroc",
    "top_fraction_enrichment",
    "retrain_on_subset",
]

# ----------------------------------------------------------------------- the vocabulary
SUBJECT_HYPERNYM = {
    "man": "person",
    "woman": "person",
    "boy": "child",
    "girl": "child",
    "dog": "animal",
    "cat": "animal",
    "chef": "worker",
    "pilot": "worker",
}
VERB_PAIRS = [
    ("sits", "stands"),
    ("sleeps", "wakes"),
    ("laughs", "cries"),
    ("runs", "walks"),
    ("sings", "listens"),
]
LOCATION_HYPERNYM = {
    "park": "outdoors",
    "beach": "outdoors",
    "street": "outdoors",
    "garden": "outdoors",
    "kitchen": "indoors",
    "office": "indoors",
    "library": "indoors",
    "hall": "indoors",
}
ADJECTIVES = ["tall", "old", "young", "happy", "tired", "angry"]
PLAIN = ["this", "that"]  # slot-1 words that add nothing (non-neutral hypotheses)
ADVERBS = ["now", "still"]  # slot-2 words of hypotheses without negation
FILLERS = ["today", "again", "quietly", "slowly", "here"]
LABELS = ("entailment", "neutral", "contradiction")
PHENOMENA = ("base", "negation", "location")
MAX_LEN = 10  # token positions per sentence (premise 6-10, hypothesis 7)

VOCAB = [
    "<pad>",
    "the",
    "a",
    "in",
    "not",
    *PLAIN,
    *ADVERBS,
    *FILLERS,
    *ADJECTIVES,
    *SUBJECT_HYPERNYM,
    *sorted(set(SUBJECT_HYPERNYM.values())),
    *[v for pair in VERB_PAIRS for v in pair],
    *LOCATION_HYPERNYM,
    *sorted(set(LOCATION_HYPERNYM.values())),
]
_INDEX = {w: i for i, w in enumerate(VOCAB)}
_ANTONYM = {a: b for pair in VERB_PAIRS for a, b in (pair, pair[::-1])}


# --------------------------------------------------------------------- small validators
def _check_fraction(
    value, name: str, *, allow_zero: bool = False, high: float = 1.0
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not (value >= 0 if allow_zero else value > 0)
        or value > high
    ):
        bound = "[0, " if allow_zero else "(0, "
        raise ValueError(f"{name} must be a number in {bound}{high:g}], got {value!r}")
    return float(value)


def _check_labels(
    labels, name: str = "labels", n_classes: int | None = None
) -> np.ndarray:
    arr = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of class ids, got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
    if arr.min() < 0 or (n_classes is not None and arr.max() >= n_classes):
        bad = int(np.flatnonzero((arr < 0) | (arr >= (n_classes or np.inf)))[0])
        raise ValueError(
            f"{name} must hold class ids in [0, {n_classes}), got "
            f"{name}[{bad}] = {int(arr[bad])}"
        )
    return arr.astype(np.int64)


def _check_token_ids(ids, name: str) -> torch.Tensor:
    ids = torch.as_tensor(ids)
    if ids.dim() != 2 or ids.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty [n, L] array of token ids, "
            f"got shape {tuple(ids.shape)}"
        )
    if ids.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if ids.min() < 0 or ids.max() >= len(VOCAB):
        raise ValueError(
            f"{name} must hold token ids in [0, {len(VOCAB)}), got values "
            f"in [{int(ids.min())}, {int(ids.max())}]"
        )
    if (ids != 0).sum(1).min() == 0:
        raise ValueError(f"{name} has an empty sentence (all padding)")
    return ids.long()


def _check_indices(indices) -> np.ndarray:
    indices = np.asarray(indices)
    if indices.ndim != 1 or indices.size == 0:
        raise ValueError(
            f"indices must be a non-empty 1-D array, got shape {indices.shape}"
        )
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must hold integers, got dtype {indices.dtype}")
    return indices


# ----------------------------------------------------------------------------- the data
@dataclass
class NLIData:
    """A premise/hypothesis data set with its ground truth.

    Paper: course addition — the data with what SNLI cannot tell us: flips and
    phenomena.

    ``premise``, ``hypothesis``: ``[n, L]`` token ids (0 = padding); ``label``: the
    observed (possibly flipped) class id ``[n]``; ``label_true``: the class the
    templates imply; ``flipped``: ``label != label_true``; ``phenomenon``: 0 base, 1
    negation, 2 location.
    """

    premise: torch.Tensor
    hypothesis: torch.Tensor
    label: np.ndarray
    label_true: np.ndarray
    flipped: np.ndarray
    phenomenon: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, indices) -> NLIData:
        """The examples at ``indices`` (an index array), as a new :class:`NLIData`."""
        idx = np.asarray(indices)
        t = torch.as_tensor(idx, dtype=torch.long)
        return NLIData(
            self.premise[t],
            self.hypothesis[t],
            self.label[idx],
            self.label_true[idx],
            self.flipped[idx],
            self.phenomenon[idx],
        )


def _pick(rng, words):
    return words[int(rng.integers(len(words)))]


def _one_pair(rng, phenomenon: str, label: str, p_filler: float):
    subject = _pick(rng, list(SUBJECT_HYPERNYM))
    verb = _pick(rng, list(_ANTONYM))
    place = _pick(rng, list(LOCATION_HYPERNYM))
    fillers = []
    if rng.random() < p_filler:
        fillers = [_pick(rng, FILLERS) for _ in range(int(rng.integers(1, 5)))]
    premise = ["the", subject, verb, "in", "the", place, *fillers]

    h_subject = subject if rng.random() < 0.5 else SUBJECT_HYPERNYM[subject]
    slot1 = _pick(rng, ADJECTIVES) if label == "neutral" else _pick(rng, PLAIN)
    slot2, h_verb, h_place = _pick(rng, ADVERBS), verb, place
    if phenomenon == "base":
        if label == "contradiction":
            h_verb = _ANTONYM[verb]
    elif phenomenon == "negation":  # "not" flips the verb cue
        slot2 = "not"
        h_verb = verb if label == "contradiction" else _ANTONYM[verb]
    else:  # location: the place word decides
        if label == "contradiction":
            others = [p for p in LOCATION_HYPERNYM if p != place]
            outdoors = LOCATION_HYPERNYM[place] == "outdoors"
            wrong_kind = "indoors" if outdoors else "outdoors"
            h_place = _pick(rng, others) if rng.random() < 0.5 else wrong_kind
        else:
            h_place = LOCATION_HYPERNYM[place]
    article = _pick(rng, ["a", "the"])
    hypothesis = [article, slot1, h_subject, slot2, h_verb, "in", h_place]
    return premise, hypothesis


def _encode(words) -> list[int]:
    return [_INDEX[w] for w in words] + [0] * (MAX_LEN - len(words))


def make_nli(
    n: int,
    rng: np.random.Generator,
    *,
    noise: float = 0.0,
    p_negation: float = 0.12,
    p_location: float = 0.10,
    p_filler: float = 0.3,
) -> NLIData:
    """A synthetic NLI data set: a frequent easy pattern, two rarer phenomena, flips.

    Paper: course addition — a stand-in for SNLI (the paper's benchmark) with known
    ground truth: which examples are rare phenomena, which labels were flipped.

    Base pairs (the rest): same verb -> entailment (the subject may become its hypernym,
    "man" -> "person"), an added adjective -> neutral, the antonym verb ->
    contradiction. ``p_negation`` of the pairs carry "not", which reverses the verb cue;
    ``p_location`` change the place: its hypernym ("park" -> "outdoors") entails,
    another place contradicts. Labels are drawn uniformly. ``p_filler`` of the premises
    get 1-4 filler words, independently of everything else. ``noise`` of the labels are
    replaced by one of the two other classes, uniformly.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy Generator (course.rng), got {type(rng).__name__}"
        )
    noise = _check_fraction(noise, "noise", allow_zero=True)
    p_negation = _check_fraction(p_negation, "p_negation", allow_zero=True)
    p_location = _check_fraction(p_location, "p_location", allow_zero=True)
    p_filler = _check_fraction(p_filler, "p_filler", allow_zero=True)
    if p_negation + p_location > 1:
        raise ValueError(
            f"p_negation + p_location must be at most 1, got "
            f"{p_negation + p_location:g}"
        )
    u = rng.random(n)
    phenomenon = np.where(
        u < p_negation, 1, np.where(u < p_negation + p_location, 2, 0)
    )
    label_true = rng.integers(0, 3, size=n)
    premises, hypotheses = [], []
    for k in range(n):
        p, h = _one_pair(rng, PHENOMENA[phenomenon[k]], LABELS[label_true[k]], p_filler)
        premises.append(_encode(p))
        hypotheses.append(_encode(h))
    flipped = rng.random(n) < noise
    label = label_true.copy()
    shift = rng.integers(1, 3, size=int(flipped.sum()))  # 1 or 2: another class
    label[flipped] = (label_true[flipped] + shift) % 3
    return NLIData(
        torch.tensor(premises),
        torch.tensor(hypotheses),
        label,
        label_true,
        flipped,
        phenomenon,
    )


def decode(ids) -> str:
    """Token ids ``[L]`` back to words, padding dropped (no ids give ``""``).

    Paper: course addition — to print examples.
    """
    arr = np.asarray(ids.detach().cpu() if hasattr(ids, "detach") else ids)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(
            f"ids must be a 1-D array of integer token ids, got shape {arr.shape} "
            f"and dtype {arr.dtype}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= len(VOCAB)):
        raise ValueError(
            f"ids must hold token ids in [0, {len(VOCAB)}), got values in "
            f"[{int(arr.min())}, {int(arr.max())}]"
        )
    return " ".join(VOCAB[int(i)] for i in arr if int(i) != 0)


# ---------------------------------------------------------------------------- the model
class BagNLI(nn.Module):
    """Embeddings, masked mean per sentence, features ``[p, h, |p-h|, p*h]``, an MLP.

    Paper: course addition — a small stand-in for the paper's BERT-small encoder that
    keeps the one part VoG needs: an embedding layer whose outputs the gradients are
    taken against. :meth:`embed` returns those outputs ``[n, 2L, d]`` (premise positions
    first); :meth:`from_embeddings` finishes the forward pass from them.
    """

    def __init__(
        self,
        vocab_size: int = len(VOCAB),
        dim: int = 16,
        hidden: int = 64,
        n_classes: int = 3,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.mlp = nn.Sequential(
            nn.Linear(4 * dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def embed(self, premise, hypothesis) -> torch.Tensor:
        """Embedding-layer outputs of both sentences, ``[n, 2L, d]``."""
        return self.embedding(torch.cat([premise, hypothesis], dim=1))

    def from_embeddings(self, embedded, premise, hypothesis) -> torch.Tensor:
        """Logits ``[n, C]`` from embedding outputs ``[n, 2L, d]``."""
        mask = (torch.cat([premise, hypothesis], dim=1) != 0).float()  # [n, 2L]
        length = premise.shape[1]
        pooled = []
        for part in (slice(0, length), slice(length, None)):
            m = mask[:, part, None]  # [n, L, 1]
            pooled.append((embedded[:, part] * m).sum(1) / m.sum(1))  # [n, d]
        p, h = pooled
        return self.mlp(torch.cat([p, h, (p - h).abs(), p * h], dim=1))

    def forward(self, premise, hypothesis) -> torch.Tensor:
        embedded = self.embed(premise, hypothesis)
        return self.from_embeddings(embedded, premise, hypothesis)


def make_model(generator: torch.Generator, dim: int = 16, hidden: int = 64) -> BagNLI:
    """A :class:`BagNLI` with weights drawn from ``generator``.

    Paper: course addition — the same initialisation for every retraining, so that
    subsets differ only in their data. Embeddings ~ N(0, 1) (padding row 0); linear
    layers ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default ranges.
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError(
            f"generator must be a torch.Generator, got {type(generator).__name__}"
        )
    dim, hidden = check_positive_int(dim, "dim"), check_positive_int(hidden, "hidden")
    model = BagNLI(dim=dim, hidden=hidden)
    with torch.no_grad():
        model.embedding.weight.normal_(0.0, 1.0, generator=generator)
        model.embedding.weight[0].zero_()
        for layer in (model.mlp[0], model.mlp[2]):
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    return model


# ------------------------------------------------------------------------- the training
def batch_schedule(
    indices, steps: int, batch_size: int, generator: torch.Generator
) -> list[np.ndarray]:
    """``steps`` mini-batches of ``indices``: shuffled epochs, each cut into batches.

    Paper: course addition — the same number of optimizer steps for every subset (the
    paper fine-tunes every subset with the same recipe; a smaller subset simply runs
    more epochs). The last batch of an epoch may be smaller.
    """
    indices = _check_indices(indices)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batches = []
    while len(batches) < steps:
        order = indices[torch.randperm(indices.size, generator=generator).numpy()]
        starts = range(0, order.size, batch_size)
        batches.extend(order[i : i + batch_size] for i in starts)
    return batches[:steps]


def train_classifier(
    model: BagNLI, data: NLIData, batches, *, lr: float = 1e-2, on_step=None
):
    """Adam on the cross-entropy of the observed labels, one step per batch.

    Paper: course addition — the training loop (utils.training.train) with the NLI loss.
    ``on_step(step, model)`` may return a dict to keep (checkpoints). Returns the
    TrainLog.
    """
    from utils.training import make_optimizer, train

    lr = check_positive(lr, "lr")
    labels = torch.as_tensor(data.label, dtype=torch.long)

    def loss_fn(net, idx):
        t = torch.as_tensor(idx, dtype=torch.long)
        logits = net(data.premise[t], data.hypothesis[t])
        return nn.functional.cross_entropy(logits, labels[t])

    return train(
        model,
        loss_fn,
        lambda step: batches[step],
        steps=len(batches),
        optimizer=make_optimizer(model, "adam", lr),
        on_step=on_step,
        desc="training",
    )


@torch.no_grad()
def predict_proba(model: BagNLI, data: NLIData) -> np.ndarray:
    """Softmax probabilities ``[n, C]`` of ``model`` on ``data``.

    Paper: course addition — the model's confidences, the raw material of EL2N.
    """
    model.eval()
    return torch.softmax(model(data.premise, data.hypothesis), dim=1).numpy()


def accuracy(model: BagNLI, data: NLIData, *, true_labels: bool = True) -> float:
    """Share of ``data`` classified correctly (against ``label_true`` by default).

    Paper: course addition — test accuracy, the paper's metric on SNLI.
    """
    target = data.label_true if true_labels else data.label
    return float(np.mean(predict_proba(model, data).argmax(1) == target))


def input_gradients(model: BagNLI, premise, hypothesis, labels) -> np.ndarray:
    """Gradient of each labelled logit w.r.t. the embedding outputs, ``[n, 2L, d]``.

    Paper: VoG's saliency S_t on embedding outputs, appendix (arXiv:2311.16298v1).

    This is the per-checkpoint saliency of VoG with "pixels" replaced by the outputs of
    the embedding layer, the paper's adaptation of Agarwal et al. (2022) to text. The
    logit is the pre-softmax output at the example's label. One backward pass gives
    every example's gradient, because no example's logit depends on another example's
    embeddings. Padding positions get 0.
    """
    premise = _check_token_ids(premise, "premise")
    hypothesis = _check_token_ids(hypothesis, "hypothesis")
    labels = _check_labels(labels, n_classes=3)
    check_same_length(premise=premise, hypothesis=hypothesis, labels=labels)
    model.eval()
    # [n, 2L, d]
    embedded = model.embed(premise, hypothesis).detach().requires_grad_(True)
    logits = model.from_embeddings(embedded, premise, hypothesis)  # [n, C]
    picked = logits.gather(1, torch.as_tensor(labels)[:, None]).sum()
    (grad,) = torch.autograd.grad(picked, embedded)
    return grad.numpy()


@dataclass
class Checkpoints:
    """What one scoring run saves at the end of each epoch (K = E checkpoints).

    Paper: per-epoch checkpoints of the scoring run (arXiv:2311.16298v1).

    ``probs`` ``[K, n, C]``, ``correct`` ``[K, n]`` (against the observed labels),
    ``grads`` ``[K, n, 2L, d]`` (float32), and the trained ``model``.
    """

    probs: np.ndarray
    correct: np.ndarray
    grads: np.ndarray
    model: BagNLI


def scoring_run(
    data: NLIData,
    generator: torch.Generator,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-2,
    dim: int = 16,
    hidden: int = 64,
) -> Checkpoints:
    """Train once on all of ``data``; save probabilities, correctness and VoG gradients
    at the end of every epoch.

    Paper: the scoring run, 10 epochs, batch 128, SNLI setup (arXiv:2311.16298v1).

    One checkpoint per epoch, as the paper does for VoG.
    """
    if (
        isinstance(epochs, bool)
        or not isinstance(epochs, numbers.Integral)
        or epochs < 2
    ):
        raise ValueError(
            f"epochs must be an integer >= 2 (VoG needs two checkpoints), "
            f"got {epochs!r}"
        )
    batch_size = check_positive_int(batch_size, "batch_size")
    model = make_model(generator, dim=dim, hidden=hidden)
    per_epoch = math.ceil(len(data) / batch_size)
    batches = batch_schedule(
        np.arange(len(data)), epochs * per_epoch, batch_size, generator
    )
    saved = {"probs": [], "correct": [], "grads": []}

    def checkpoint(step, net):
        if (step + 1) % per_epoch == 0:
            probs = predict_proba(net, data)
            saved["probs"].append(probs)
            saved["correct"].append(probs.argmax(1) == data.label)
            saved["grads"].append(
                input_gradients(net, data.premise, data.hypothesis, data.label)
            )
            net.train()

    train_classifier(model, data, batches, lr=lr, on_step=checkpoint)
    return Checkpoints(
        np.stack(saved["probs"]),
        np.stack(saved["correct"]),
        np.stack(saved["grads"]),
        model,
    )


def retrain_on_subset(
    data: NLIData,
    indices,
    generator: torch.Generator,
    *,
    steps: int,
    batch_size: int = 128,
    lr: float = 1e-2,
    dim: int = 16,
    hidden: int = 64,
) -> BagNLI:
    """A fresh model trained on ``data`` restricted to ``indices`` for ``steps`` steps.

    Paper: retraining on the kept subset, SNLI pruning experiments (arXiv:2311.16298v1).

    A new model fine-tuned on the kept subset with the same recipe. Pass the same
    ``steps`` for every subset and a generator from the same stream so that only the
    data differ.
    """
    indices = _check_indices(indices)
    if indices.min() < 0 or indices.max() >= len(data):
        raise ValueError(
            f"indices must lie in [0, {len(data)}), got values in "
            f"[{indices.min()}, {indices.max()}]"
        )
    model = make_model(generator, dim=dim, hidden=hidden)
    batches = batch_schedule(indices, steps, batch_size, generator)
    train_classifier(model, data, batches, lr=lr)
    return model


# ------------------------------------------------------------------------------- scores
def _zscore(values: np.ndarray, what: str) -> np.ndarray:
    if values.size < 2:
        raise ValueError(
            f"cannot z-score {what}: it has {values.size} example(s), need 2"
        )
    sd = values.std()
    if sd == 0:
        raise ValueError(f"cannot z-score {what}: all its scores are equal")
    return (values - values.mean()) / sd


def vog_scores(
    grads, labels=None, *, normalize: str | None = "class", spread: str = "std"
) -> np.ndarray:
    """Variance of gradients: the spread of each saliency coordinate over checkpoints.

    Paper: VoG as the paper applies it to text, appendix (arXiv:2311.16298v1).

    The score of Agarwal et al. (2022) with embedding outputs for pixels. For each
    example, with saliencies S_1..S_K ``grads[:, i]`` (any shape per example, e.g.
    ``[2L, d]``) and their mean mu over checkpoints, ``VoG = mean_j sqrt(mean_t (S_tj -
    mu_j)^2)`` (``spread="std"``, the original VoG) or without the square root
    (``spread="var"``, the variance the paper's pseudo-code takes).
    ``normalize="class"`` z-scores within each class of ``labels`` (the class-normalized
    VoG), ``"dataset"`` over all examples, ``None`` returns the raw score. Shapes:
    ``grads`` ``[K, n, ...]`` with K >= 2 -> ``[n]``.
    """
    grads = check_array(grads, "grads")
    if grads.ndim < 2:
        raise ValueError(
            f"grads must be [K, n, ...] (checkpoints first), got shape {grads.shape}"
        )
    if grads.shape[0] < 2:
        raise ValueError(
            f"grads must hold at least 2 checkpoints (K >= 2), got K = {grads.shape[0]}"
        )
    if spread not in ("std", "var"):
        raise ValueError(f"spread must be 'std' or 'var', got {spread!r}")
    if normalize not in ("class", "dataset", None):
        raise ValueError(
            f"normalize must be 'class', 'dataset' or None, got {normalize!r}"
        )
    n = grads.shape[1]
    flat = grads.reshape(len(grads), n, -1)  # pragma: no mutate (any size < 0 is -1)
    var = flat.var(axis=0)  # [n, coordinates]
    raw = (np.sqrt(var) if spread == "std" else var).mean(axis=1)  # [n]
    return raw if normalize is None else normalize_scores(raw, labels, by=normalize)


def normalize_scores(scores, labels=None, *, by: str = "class") -> np.ndarray:
    """z-scores of ``scores`` ``[n]``, within each class of ``labels`` or over all.

    Paper: class- vs dataset-normalized VoG, SNLI experiments (arXiv:2311.16298v1).

    ``by="class"``: ``(s - mean_c) / std_c`` with the mean and (population) standard
    deviation of the example's class, so that every class contributes to the top of a
    ranking; ``by="dataset"``: one mean and standard deviation for all examples.
    """
    scores = check_array(scores, "scores", ndim=1)
    if by == "dataset":
        return _zscore(scores, "the data set")
    if by != "class":
        raise ValueError(f"by must be 'class' or 'dataset', got {by!r}")
    if labels is None:
        raise ValueError("labels are needed to normalize by class")
    labels = _check_labels(labels)
    check_same_length(scores=scores, labels=labels)
    out = np.empty(scores.size)
    for c in np.unique(labels):
        members = labels == c
        out[members] = _zscore(scores[members], f"class {int(c)}")
    return out


def el2n_scores(probs, labels) -> np.ndarray:
    """EL2N: the L2 distance between softmax output and one-hot label, averaged over
    checkpoints.

    Paper: EL2N, one of the scores benchmarked on SNLI (arXiv:2311.16298v1).

    The score of Paul et al. (2021). ``probs`` ``[K, n, C]`` (or ``[n, C]`` for one
    checkpoint), rows summing to 1; ``labels`` ``[n]`` -> ``[n]``, in [0, sqrt(2)].
    """
    probs = check_array(probs, "probs")
    if probs.ndim == 2:
        probs = probs[None]
    if probs.ndim != 3:
        raise ValueError(f"probs must be [K, n, C] or [n, C], got shape {probs.shape}")
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError("probs must hold probabilities in [0, 1]")
    if not np.allclose(probs.sum(-1), 1.0, atol=1e-4):
        raise ValueError("probs must sum to 1 over classes (the last axis)")
    labels = _check_labels(labels, n_classes=probs.shape[2])
    check_same_length(probs_examples=probs[0], labels=labels)
    onehot = np.eye(probs.shape[2])[labels]  # [n, C]
    return np.linalg.norm(probs - onehot, axis=2).mean(axis=0)


def forgetting_counts(correct, never_learned: float | None = None) -> np.ndarray:
    """Forgetting events: how often an example goes from correct to incorrect.

    Paper: forgetting events, a score benchmarked on SNLI (arXiv:2311.16298v1).

    The score of Toneva et al. (2019). ``correct`` ``[E, n]`` booleans, one row per
    epoch. Examples never classified correctly get ``never_learned`` (default E, more
    than any real count can reach, standing in for Toneva's "infinitely forgettable").
    """
    arr = check_array(correct, "correct", ndim=2)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("correct must hold booleans (0/1)")
    if arr.shape[0] < 2:
        raise ValueError(f"correct needs at least 2 epochs (rows), got {arr.shape[0]}")
    if never_learned is not None and (
        isinstance(never_learned, bool)
        or not isinstance(never_learned, numbers.Real)
        or math.isnan(never_learned)
    ):
        raise ValueError(
            f"never_learned must be a number (inf allowed) or None, got {never_learned!r}"
        )
    ok = arr.astype(bool)
    counts = (ok[:-1] & ~ok[1:]).sum(axis=0, dtype=float)  # [n]
    counts[~ok.any(axis=0)] = arr.shape[0] if never_learned is None else never_learned
    return counts


def token_count(premise, hypothesis) -> np.ndarray:
    """Number of real (non-padding) tokens of each pair, ``[n]``: a length-only score.

    Paper: course addition — a score that knows nothing about training, to check that a
    pruning result is not just "long sentences are kept".
    """
    premise = _check_token_ids(premise, "premise")
    hypothesis = _check_token_ids(hypothesis, "hypothesis")
    check_same_length(premise=premise, hypothesis=hypothesis)
    return ((premise != 0).sum(1) + (hypothesis != 0).sum(1)).double().numpy()


# ------------------------------------------------------------------------------ pruning
SELECTION_MODES = ("hardest", "easiest", "random", "drop_top_then_hardest")


def select_subset(
    scores,
    keep: float,
    mode: str = "hardest",
    *,
    drop: float = 0.1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Indices (sorted) of the ``round(keep * n)`` examples to keep.

    Paper: the pruning rules of the SNLI experiments (arXiv:2311.16298v1).

    "hardest" keeps the highest scores
    (the paper's "pruning easy" examples with a hard cut-off), "easiest" the lowest
    ("pruning hard"), "random" a uniform draw (the baseline, needs ``rng``), and
    "drop_top_then_hardest" first drops the top ``round(drop * n)`` scores (likely label
    noise) and keeps the next hardest. Ties are broken by position (stable sort).
    """
    scores = check_array(scores, "scores", ndim=1)
    keep = _check_fraction(keep, "keep")
    if mode not in SELECTION_MODES:
        raise ValueError(f"mode must be one of {SELECTION_MODES}, got {mode!r}")
    n = scores.size
    n_keep = int(round(keep * n))
    if n_keep < 1:
        raise ValueError(f"keep={keep:g} of {n} examples keeps none")
    if mode == "random":
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng (a numpy Generator) is required for mode='random'")
        return np.sort(rng.choice(n, size=n_keep, replace=False))
    hardest_first = np.argsort(-scores, stable=True)
    if mode == "hardest":
        return np.sort(hardest_first[:n_keep])
    if mode == "easiest":
        return np.sort(np.argsort(scores, stable=True)[:n_keep])
    drop = _check_fraction(drop, "drop", allow_zero=True)
    n_drop = int(round(drop * n))
    if n_drop + n_keep > n:
        raise ValueError(
            f"drop + keep must be at most 1: dropping {n_drop} and "
            f"keeping {n_keep} of {n}"
        )
    return np.sort(hardest_first[n_drop : n_drop + n_keep])


def noise_auroc(scores, is_noisy) -> float:
    """Area under the ROC curve of ``scores`` for finding the ``is_noisy`` examples.

    Paper: course addition — the paper asks whether a score finds the injected label
    flips (arXiv:2311.16298v1); AUROC measures it without choosing a cut-off. Rank form
    (Mann-Whitney U / (n_pos n_neg)), ties counted one half; 0.5 = no better than
    chance.
    """
    from scipy.stats import rankdata

    scores = check_array(scores, "scores", ndim=1)
    noisy = np.asarray(is_noisy)
    if noisy.dtype != bool:
        noisy = check_array(noisy, "is_noisy", ndim=1)
        if not np.isin(noisy, (0.0, 1.0)).all():
            raise ValueError("is_noisy must hold booleans (0/1)")
        noisy = noisy.astype(bool)
    check_same_length(scores=scores, is_noisy=noisy)
    n_pos, n_neg = int(noisy.sum()), int((~noisy).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("is_noisy needs both noisy and clean examples")
    ranks = rankdata(scores)
    return float((ranks[noisy].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def top_fraction_enrichment(scores, is_noisy, top: float = 0.1) -> float:
    """How many times the base rate of noisy examples the top of ``scores`` holds.

    Paper: course addition — the overlap the paper measures between a score's
    highest-ranked examples and the injected flips, relative to chance (1.0 = no better
    than random).
    """
    scores = check_array(scores, "scores", ndim=1)
    noisy = check_array(is_noisy, "is_noisy", ndim=1)
    if not np.isin(noisy, (0.0, 1.0)).all():
        raise ValueError("is_noisy must hold booleans (0/1)")
    check_same_length(scores=scores, is_noisy=noisy)
    top = _check_fraction(top, "top")
    if not noisy.any():
        raise ValueError("is_noisy has no noisy example: the base rate is 0")
    chosen = select_subset(scores, top)  # the hardest
    return float(noisy[chosen].mean() / noisy.mean())
