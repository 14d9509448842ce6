"""Implicit multimodal alignment inside a frozen language model, from scratch.

Chapter 11 of the course. Paper: Mustafa Shukor, Matthieu Cord (2024). *Implicit Multimodal
Alignment: On the Generalization of Frozen LLMs to Multimodal Inputs*. NeurIPS 2024,
arXiv:2405.16700. Companion: Shukor & Cord (2024), *Skipping Computations in Multimodal LLMs*,
arXiv:2410.09454. Official code: https://github.com/mshukor/ima-lmms.

The miniature: a tiny language model (:mod:`utils.tiny_lm`) is trained on a synthetic caption
corpus about digits and then frozen; a frozen image encoder (raw pixels, PCA or a random
projection of scikit-learn's 8x8 ``load_digits`` images) feeds a small trainable connector that
writes ``n_p`` *perceptual tokens* in front of the text prompt ``this is the digit``; only the
connector is trained, to make the frozen model say the right digit word. The rest of the module
measures what the paper measures inside the model: token norms and cosine similarities per
layer, the implicit-alignment score, the change of a token between consecutive layers, and the
effect of skipping the feed-forward network (FFN) for chosen tokens.

Every public function names its place in the paper in a ``Paper:`` docstring line (section
numbers of arXiv:2405.16700v1). Shapes: ``B`` batch, ``T`` sequence length, ``d`` model width,
``L`` number of blocks, ``k`` (``n_p``) perceptual tokens, ``F`` encoder features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from utils.tiny_lm import (
    TinyLM,
    TinyLMConfig,
    WordTokenizer,
    frozen_copy,
    train_next_token,
)
from utils.validation import check_array, check_positive_int

__all__ = [
    "DIGIT_WORDS",
    "PROMPT",
    "caption",
    "make_caption_corpus",
    "answer_repeats_context",
    "make_tokenizer",
    "train_frozen_lm",
    "load_digit_split",
    "FrozenEncoder",
    "Connector",
    "prompt_embeds",
    "perceptual_positions",
    "run_multimodal",
    "digit_logits",
    "accuracy",
    "train_connectors",
    "cosine_matrix",
    "paired_cosine",
    "token_average",
    "class_word_states",
    "alignment_per_layer",
    "ima_score",
    "spearman",
    "consecutive_cosine",
    "norm_matched_noise",
    "nearest_words",
    "ffn_skip_mask",
    "ffn_fraction_skipped",
    "separability",
]

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
PROMPT = "this is the digit"

# Caption kinds: none repeats an earlier word as the answer, none has the form
# "<digit word> ... this is the digit <same word>" (the copy template of the first draft).
_KINDS = ("label", "picture", "after", "before", "parity", "pair", "drawing", "count")
_EXTRA_WORDS = (
    "<bos> this is the digit . a picture of number after before comes even odd"
)
_EXTRA_WORDS += " and drawing shows here we count to"


# ----------------------------------------------------------------------- the text corpus
def caption(digit: int, kind: str, rng: np.random.Generator) -> str:
    """One caption of kind ``kind`` about ``digit`` (0-9); ``rng`` draws any second digit.

    Paper: course addition — the synthetic stand-in for the LLM's text pre-training data.
    """
    if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)):
        raise TypeError(f"digit must be an int, got {type(digit).__name__}")
    if not 0 <= digit <= 9:
        raise ValueError(f"digit must be in [0, 9], got {digit}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    w = DIGIT_WORDS[digit]
    other = DIGIT_WORDS[int(rng.integers(10))]
    if kind == "label":
        return f"{PROMPT} {w} ."
    if kind == "picture":
        return f"a picture of the number {w} ."
    if kind == "after":
        return f"after {DIGIT_WORDS[(digit - 1) % 10]} comes {w} ."
    if kind == "before":
        return f"before {DIGIT_WORDS[(digit + 1) % 10]} comes {w} ."
    if kind == "parity":
        return f"{w} is {'even' if digit % 2 == 0 else 'odd'} ."
    if kind == "pair":
        return f"the digit {w} and the digit {other} ."
    if kind == "drawing":
        return f"here is a drawing of {w} ."
    return f"we count to {w} ."


def make_caption_corpus(n_docs: int, rng: np.random.Generator) -> list[str]:
    """``n_docs`` documents ``"<bos> caption caption"``, each caption about an independent
    uniformly drawn digit and kind (two captions, so text is seen at many positions).

    Paper: course addition — text-only pre-training data with digit words in several contexts
    and **no copy template**: no caption repeats a digit word that came earlier.
    """
    check_positive_int(n_docs, "n_docs")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator (course.rng)")
    docs = []
    for _ in range(int(n_docs)):
        parts = ["<bos>"]
        for _ in range(2):
            digit = int(rng.integers(10))
            parts.append(caption(digit, _KINDS[int(rng.integers(len(_KINDS)))], rng))
        docs.append(" ".join(parts))
    return docs


def answer_repeats_context(doc: str) -> bool | None:
    """For a document containing ``"this is the digit X"``: whether X appeared earlier in it.

    ``None`` when the document has no such prompt. Over a copy-free corpus this is True about
    as often as chance (a digit word drawn independently matching an earlier one).

    Paper: course addition — the test that the corpus does not teach the task's answer.
    """
    if not isinstance(doc, str):
        raise TypeError(f"doc must be a string, got {type(doc).__name__}")
    words = doc.split()
    p = PROMPT.split()
    for i in range(len(words) - len(p)):
        if words[i : i + len(p)] == p and words[i + len(p)] in DIGIT_WORDS:
            return words[i + len(p)] in words[:i]
    return None


def make_tokenizer() -> WordTokenizer:
    """The fixed word vocabulary of the corpus (``<pad>`` first, then the digit words).

    Paper: course addition — one vocabulary for every seed.
    """
    words = DIGIT_WORDS + [w for w in _EXTRA_WORDS.split() if w not in DIGIT_WORDS]
    return WordTokenizer.fit([" ".join(words)])


def train_frozen_lm(
    docs,
    tokenizer: WordTokenizer,
    generator: torch.Generator,
    *,
    steps: int = 400,
    batch_size: int = 64,
    lr: float = 3e-3,
    n_layers: int = 4,
    d_model: int = 64,
) -> tuple[TinyLM, list[float]]:
    """Train a :class:`~utils.tiny_lm.TinyLM` on ``docs`` and return ``(frozen copy, losses)``.

    Paper: the frozen LLM of the framework (OPT, Vicuna there) (arXiv:2405.16700v1).
    """
    if isinstance(docs, str) or len(docs) == 0:
        raise ValueError("docs must be a non-empty list of strings")
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator (course.torch_generator(k))"
        )
    check_positive_int(steps, "steps")
    tokens = tokenizer.encode_batch(list(docs))  # [N, T]
    weight = (tokens[:, 1:] != tokenizer.pad_id).float()  # [N, T-1]
    seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        config = TinyLMConfig(
            len(tokenizer),
            d_model=d_model,
            n_heads=4,
            n_layers=n_layers,
            d_ff=4 * d_model,
            max_len=max(tokens.shape[1], 16),
        )
        model = TinyLM(config)
    log = train_next_token(
        model,
        tokens,
        steps=int(steps),
        batch_size=batch_size,
        lr=lr,
        weight=weight,
        seed=seed,
        desc="language model",  # pragma: no mutate (a progress-bar label)
    )
    return frozen_copy(model), log.losses


# --------------------------------------------------------------------- the perceptual side
def load_digit_split(seed: int, test_frac: float = 0.3):
    """``(X_train, X_test, y_train, y_test)``: scikit-learn's 8x8 digits (pixels 0-16), split
    stratified by class, reproducible from ``seed``.

    Paper: course addition — the images (COCO, VQAv2 ... in the paper).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(
        X, y, test_size=test_frac, stratify=y, random_state=int(seed)
    )


@dataclass
class FrozenEncoder:
    """A frozen image encoder fitted once on the training images: ``"pixels"`` (the 64 pixel
    values), ``"pca"`` (the first ``dim`` principal components) or ``"random"`` (a fixed
    Gaussian projection to ``dim`` features); outputs are standardised per feature.

    Paper: the frozen perceptual encoder E_M of the framework (arXiv:2405.16700v1).
    """

    kind: str
    dim: int | None = None
    seed: int = 0

    def fit(self, images) -> FrozenEncoder:
        """Fit the encoder on ``images [N, 64]``; returns ``self``."""
        from sklearn.decomposition import PCA

        images = check_array(images, "images", ndim=2)
        if self.kind not in ("pixels", "pca", "random"):
            raise ValueError(f"kind must be pixels, pca or random, got {self.kind!r}")
        if self.kind != "pixels":
            check_positive_int(self.dim, "dim")
        self._n_in = images.shape[1]
        if self.kind == "pca":
            self._pca = PCA(self.dim, random_state=self.seed).fit(images)
        elif self.kind == "random":
            g = np.random.default_rng(self.seed)
            self._proj = g.normal(size=(images.shape[1], self.dim)) / np.sqrt(
                images.shape[1]
            )
        raw = self._raw(images)
        self._mean, self._std = raw.mean(0), raw.std(0) + 1e-6
        return self

    def _raw(self, images):
        if self.kind == "pca":
            return self._pca.transform(images)
        if self.kind == "random":
            return images @ self._proj
        return images

    def __call__(self, images) -> torch.Tensor:
        """Features ``FloatTensor[N, F]`` of ``images [N, 64]``."""
        if not hasattr(self, "_mean"):
            raise RuntimeError("call fit(train_images) before encoding")
        images = check_array(images, "images", ndim=2)
        if images.shape[1] != self._n_in:
            raise ValueError(
                f"images must have {self._n_in} columns, got {images.shape[1]}"
            )
        feats = (self._raw(images) - self._mean) / self._std
        return torch.tensor(feats, dtype=torch.float32)

    @property
    def name(self) -> str:
        """A short label, e.g. ``pca-8``."""
        return self.kind if self.kind == "pixels" else f"{self.kind}-{self.dim}"


class Connector(nn.Module):
    """The trainable connector C: features ``[B, F]`` -> ``n_tokens`` perceptual tokens
    ``[B, n_tokens, d]``; linear, or a small MLP when ``hidden`` is given.

    Paper: the mapping module C, P = C(E_M(x_M)), of the framework (arXiv:2405.16700v1).
    """

    def __init__(
        self,
        in_dim: int,
        n_tokens: int,
        d_model: int,
        hidden: int | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("n_tokens", n_tokens)):
            check_positive_int(value, name)
        check_positive_int(d_model, "d_model")
        self.n_tokens, self.d_model = int(n_tokens), int(d_model)
        out = self.n_tokens * self.d_model
        with torch.random.fork_rng():
            if generator is not None:
                torch.manual_seed(
                    int(torch.randint(2**31 - 1, (1,), generator=generator))
                )
            if hidden is None:
                self.net = nn.Linear(in_dim, out)
            else:
                check_positive_int(hidden, "hidden")
                self.net = nn.Sequential(
                    nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out)
                )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats [B, F] -> [B, n_tokens, d]``."""
        if feats.dim() != 2:
            raise ValueError(f"feats must have shape [B, F], got {tuple(feats.shape)}")
        return self.net(feats).view(-1, self.n_tokens, self.d_model)


# ------------------------------------------------------------------ the multimodal sequence
def prompt_embeds(
    lm: TinyLM, tokenizer: WordTokenizer, P: torch.Tensor
) -> torch.Tensor:
    """The input sequence ``[<bos>; P; this is the digit]`` as embeddings ``[B, 1 + k + 4, d]``.

    Paper: the LLM input [P; T] of the framework (arXiv:2405.16700v1).
    """
    if P.dim() != 3 or P.shape[-1] != lm.config.d_model:
        raise ValueError(
            f"P must have shape [B, k, {lm.config.d_model}], got {tuple(P.shape)}"
        )
    B = P.shape[0]
    bos = torch.tensor([tokenizer.id("<bos>")])
    text = torch.tensor(tokenizer.encode(PROMPT))
    return torch.cat(
        [lm.embed(bos.expand(B, 1)), P, lm.embed(text.expand(B, -1))], dim=1
    )  # [B, 1 + k + 4, d]


def perceptual_positions(n_tokens: int) -> list[int]:
    """Positions of the perceptual tokens in :func:`prompt_embeds`'s sequence: 1 .. k.

    Paper: course addition — bookkeeping of the [P; T] layout.
    """
    check_positive_int(n_tokens, "n_tokens")
    return list(range(1, int(n_tokens) + 1))


def run_multimodal(lm, tokenizer, P, ffn_keep=None):
    """``(logits [B, T, V], hidden states: L + 1 tensors [B, T, d])`` of the frozen model on
    ``[<bos>; P; this is the digit]``.

    Paper: a frozen-LLM forward pass on [P; T] (arXiv:2405.16700v1).
    """
    return lm.forward_embeds(prompt_embeds(lm, tokenizer, P), ffn_keep=ffn_keep)


def digit_logits(logits: torch.Tensor, tokenizer: WordTokenizer) -> torch.Tensor:
    """The last position's logits restricted to the ten digit words: ``[B, 10]``.

    Paper: course addition — the task read-out (next word after "this is the digit").
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must have shape [B, T, V], got {tuple(logits.shape)}")
    ids = torch.tensor([tokenizer.id(w) for w in DIGIT_WORDS])
    return logits[:, -1][:, ids]  # [B, 10]


def accuracy(scores, labels) -> float:
    """Fraction of rows of ``scores [N, C]`` whose arg-max equals ``labels [N]``.

    Paper: course addition — the task score (accuracy, as for VQA in the paper).
    """
    scores = check_array(
        scores.detach().cpu().numpy() if torch.is_tensor(scores) else scores,
        "scores",
        ndim=2,
    )
    labels = np.asarray(labels)
    if labels.shape != (scores.shape[0],):
        raise ValueError(
            f"labels must have shape ({scores.shape[0]},), got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(f"labels must lie in [0, {scores.shape[1]})")
    return float(np.mean(scores.argmax(1) == labels))


def train_connectors(
    lm: TinyLM,
    tokenizer: WordTokenizer,
    connectors,
    features,
    labels,
    *,
    steps: int,
    generator: torch.Generator,
    batch_size: int = 128,
    lr: float = 1e-2,
    checkpoints=(),
    eval_features=None,
):
    """Train several connectors at the **same budget** (same steps, batches, learning rate):
    each ``connectors[i]`` sees ``features[i][batch]``, the LM stays frozen. Loss: cross-entropy
    of the digit word after ``this is the digit``.

    Returns ``{step: [P_test of each connector]}`` for each step in ``checkpoints`` (0 = before
    training) when ``eval_features`` (one test matrix per connector) is given, else ``{}``.

    Paper: training only C with the next-token loss (ST setup) (arXiv:2405.16700v1).
    """
    if len(connectors) != len(features) or not connectors:
        raise ValueError(
            "connectors and features must be non-empty and of equal length"
        )
    check_positive_int(steps, "steps")
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    n = labels.shape[0]
    if any(f.shape[0] != n for f in features):
        raise ValueError("every features matrix needs one row per label")
    if any(p.requires_grad for p in lm.parameters()):
        raise ValueError("lm must be frozen (use utils.tiny_lm.frozen_copy)")
    bad = [c for c in checkpoints if not 0 <= c <= steps]
    if bad:
        raise ValueError(f"checkpoints must lie in [0, steps={steps}], got {bad[0]}")
    params = [p for c in connectors for p in c.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    saved = {}

    def snapshot(step):
        if step in checkpoints and eval_features is not None:
            with torch.no_grad():
                saved[step] = [c(f) for c, f in zip(connectors, eval_features)]

    groups: dict[int, list[int]] = {}
    for i, c in enumerate(connectors):
        groups.setdefault(c.n_tokens, []).append(i)
    snapshot(0)
    for step in range(1, int(steps) + 1):
        idx = torch.randint(n, (batch_size,), generator=generator)
        loss = 0.0  # pragma: no mutate (a constant does not change the gradient)
        for members in groups.values():  # one forward pass per number of tokens
            P = torch.cat([connectors[i](features[i][idx]) for i in members])
            logits, _ = run_multimodal(lm, tokenizer, P)  # [len(members) * B, T, V]
            target = labels[idx].repeat(len(members))
            loss = loss + len(members) * nn.functional.cross_entropy(
                digit_logits(logits, tokenizer), target
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
        snapshot(step)
    return saved


# ----------------------------------------------------------------- similarity measurements
def cosine_matrix(a, b) -> np.ndarray:
    """All-pairs cosine similarity ``[Na, Nb]`` between the rows of ``a [Na, d]`` and
    ``b [Nb, d]`` (a zero row has similarity 0 with everything).

    Paper: cosine similarity of the representation analysis (arXiv:2405.16700v1).
    """
    a = check_array(_np(a), "a", ndim=2)
    b = check_array(_np(b), "b", ndim=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"a and b must have the same width, got {a.shape[1]} and {b.shape[1]}"
        )
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    na[na == 0] = 1.0  # pragma: no mutate (a zero row stays 0 over any norm)
    nb[nb == 0] = 1.0  # pragma: no mutate (a zero row stays 0 over any norm)
    return (a / na) @ (b / nb).T


def paired_cosine(a, b) -> np.ndarray:
    """Row-wise cosine ``[N]`` between ``a [N, d]`` and ``b [N, d]`` (paired examples).

    Paper: cos(h_P, h_T) of paired perceptual and textual tokens (arXiv:2405.16700v1).
    """
    a = check_array(_np(a), "a", ndim=2)
    b = check_array(_np(b), "b", ndim=2)
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {a.shape} and {b.shape}"
        )
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    zero = (na == 0) | (nb == 0)  # then a * b is 0 too
    denom = np.where(zero, 1.0, na * nb)  # pragma: no mutate (0 over any value is 0)
    return np.sum(a * b, axis=1) / denom


def token_average(hidden, positions) -> np.ndarray:
    """Mean over ``positions`` of the token states: ``hidden [B, T, d]`` -> ``[B, d]``.

    Paper: token-averaged perceptual states (arXiv:2405.16700v1).
    """
    h = check_array(_np(hidden), "hidden", ndim=3)
    positions = list(positions)
    if not positions:
        raise ValueError("positions is empty")
    if min(positions) < 0 or max(positions) >= h.shape[1]:
        raise ValueError(f"positions must lie in [0, {h.shape[1]}), got {positions}")
    return h[:, positions].mean(axis=1)


@torch.no_grad()
def class_word_states(lm: TinyLM, tokenizer: WordTokenizer) -> list[np.ndarray]:
    """For each layer l = 0..L, the state ``[10, d]`` of digit word c in a text-only pass of
    ``"<bos> this is the digit c"`` (the textual tokens of the matching caption).

    Paper: textual tokens h_T of the paired caption (arXiv:2405.16700v1).
    """
    texts = [f"<bos> {PROMPT} {w}" for w in DIGIT_WORDS]
    tokens = tokenizer.encode_batch(texts)  # [10, 6]
    _, hidden = lm(tokens, return_hidden=True)
    return [h[:, -1].numpy().copy() for h in hidden]


def alignment_per_layer(p_states, text_states, labels, contrastive: bool = True):
    """Alignment of perceptual states with their class word, per layer: ``[L + 1]``.

    ``p_states``: per layer ``[B, d]`` (token-averaged perceptual states); ``text_states``: per
    layer ``[C, d]`` (:func:`class_word_states`); ``labels [B]`` in ``[0, C)``. Plain:
    ``mean_i cos(p_i, t_{y_i})``. Contrastive: minus the mean cosine with the C - 1 other class
    words, which removes the "every deep state is similar" part (anisotropy).

    Paper: IMA per layer; the contrastive variant is ours (arXiv:2405.16700v1).
    """
    if len(p_states) != len(text_states) or not p_states:
        raise ValueError("p_states and text_states need one entry per layer")
    labels = np.asarray(labels)
    out = []
    for p, t in zip(p_states, text_states):
        sims = cosine_matrix(p, t)  # [B, C]
        if labels.shape != (sims.shape[0],) or not np.issubdtype(
            labels.dtype, np.integer
        ):
            raise ValueError(f"labels must be {sims.shape[0]} integers")
        if labels.min() < 0 or labels.max() >= sims.shape[1]:
            raise ValueError(f"labels must lie in [0, {sims.shape[1]})")
        matched = sims[np.arange(len(labels)), labels]
        if contrastive:
            others = (sims.sum(1) - matched) / (sims.shape[1] - 1)
            matched = matched - others
        out.append(float(matched.mean()))
    return np.array(out)


def ima_score(per_layer, layers=None) -> float:
    """The scalar alignment score: the mean of ``per_layer`` over ``layers`` (default: every
    block output, 1..L, leaving out the input layer 0).

    Paper: the IMA score, averaged over layers (arXiv:2405.16700v1).
    """
    per_layer = check_array(per_layer, "per_layer", ndim=1)
    if per_layer.size < 2 and layers is None:
        raise ValueError("per_layer needs the input layer and at least one block")
    layers = list(range(1, per_layer.size)) if layers is None else list(layers)
    if not layers or min(layers) < 0 or max(layers) >= per_layer.size:
        raise ValueError(f"layers must lie in [0, {per_layer.size}), got {layers}")
    return float(per_layer[layers].mean())


def spearman(x, y) -> float:
    """Spearman's rank correlation of ``x [N]`` and ``y [N]`` (ties get their mean rank):
    the Pearson correlation of the ranks.

    Paper: IMA score vs task performance (correlation) (arXiv:2405.16700v1).
    """
    x = check_array(x, "x", ndim=1)
    y = check_array(y, "y", ndim=1)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same length, got {x.size} and {y.size}"
        )
    if x.size < 2:
        raise ValueError("x needs at least 2 values")
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    if denom == 0:
        raise ValueError("x or y is constant: the rank correlation is undefined")
    return float((rx * ry).sum() / denom)


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v)  # ties get their mean rank below, so any sort will do
    ranks = np.empty(v.size)
    ranks[order] = np.arange(1, v.size + 1)
    for value in np.unique(v):
        tied = v == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def consecutive_cosine(hidden, positions) -> np.ndarray:
    """``[L]``: mean over examples and ``positions`` of cos(h^l, h^{l+1}), the similarity of a
    token's state before and after block l + 1.

    Paper: consecutive-layer cosine of tokens (arXiv:2405.16700v1).
    """
    if len(hidden) < 2:
        raise ValueError("hidden needs at least two layers")
    positions = list(positions)
    out = []
    for a, b in zip(hidden[:-1], hidden[1:]):
        a = check_array(_np(a), "hidden", ndim=3)
        b = check_array(_np(b), "hidden", ndim=3)
        if not positions or min(positions) < 0 or max(positions) >= a.shape[1]:
            raise ValueError(
                f"positions must lie in [0, {a.shape[1]}), got {positions}"
            )
        d = a.shape[-1]
        rows_a = a[:, positions].reshape(-1, d)  # pragma: no mutate (-2 reads as -1)
        rows_b = b[:, positions].reshape(-1, d)  # pragma: no mutate (-2 reads as -1)
        out.append(paired_cosine(rows_a, rows_b).mean())
    return np.array(out)


def norm_matched_noise(P: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian tokens with the same shape and the same per-token norms as ``P [B, k, d]``:
    the "perceptual tokens that carry no information" control.

    Paper: the noise-token baseline (arXiv:2405.16700v1).
    """
    if not torch.is_tensor(P) or P.dim() != 3:
        raise ValueError("P must be a tensor of shape [B, k, d]")
    z = torch.randn(P.shape, generator=generator)
    z = z / z.norm(dim=-1, keepdim=True)
    return z * P.norm(dim=-1, keepdim=True)


def nearest_words(P, embedding) -> np.ndarray:
    """The id ``[B, k]`` of the word embedding (rows of ``embedding [V, d]``) closest in cosine
    to each perceptual token of ``P [B, k, d]``.

    Paper: no complete translation to text tokens (arXiv:2405.16700v1).
    """
    P = check_array(_np(P), "P", ndim=3)
    E = check_array(_np(embedding), "embedding", ndim=2)
    B, k, d = P.shape
    rows = P.reshape(-1, d)  # pragma: no mutate (numpy reads a size of -2 as -1)
    sims = cosine_matrix(rows, E)  # [B * k, V]
    return sims.argmax(1).reshape(B, k)


# --------------------------------------------------------------------------- FFN skipping
def ffn_skip_mask(n_layers: int, length: int, positions, layers) -> torch.Tensor:
    """``ffn_keep [L, 1, T]`` for :meth:`TinyLM.forward_embeds`: 0 at (``layers`` x
    ``positions``), 1 elsewhere. ``layers`` are block indices 0..L-1.

    Paper: skipping FFN computations for perceptual tokens (arXiv:2405.16700v1).
    """
    check_positive_int(n_layers, "n_layers")
    check_positive_int(length, "length")
    positions, layers = list(positions), list(layers)
    if positions and (min(positions) < 0 or max(positions) >= length):
        raise ValueError(f"positions must lie in [0, {length}), got {positions}")
    if layers and (min(layers) < 0 or max(layers) >= n_layers):
        raise ValueError(f"layers must lie in [0, {n_layers}), got {layers}")
    keep = torch.ones(int(n_layers), 1, int(length))
    for layer in layers:
        keep[layer, 0, positions] = 0.0
    return keep


def ffn_fraction_skipped(mask) -> float:
    """Fraction of the (layer, position) FFN calls that ``mask [L, 1, T]`` skips.

    Paper: compute saved by skipping (FFN calls) (arXiv:2405.16700v1).
    """
    m = check_array(_np(mask), "mask", ndim=3)
    if not np.all((m == 0) | (m == 1)):
        raise ValueError("mask must hold only 0s and 1s")
    return float(1.0 - m.mean())


def separability(h_a, h_b, seed: int = 0) -> float:
    """Held-out accuracy of a logistic-regression probe telling the rows of ``h_a [Na, d]``
    from those of ``h_b [Nb, d]`` (0.5 = indistinguishable, 1 = fully separable).

    Paper: perceptual tokens are distinguishable from text (arXiv:2405.16700v1).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    a = check_array(_np(h_a), "h_a", ndim=2)
    b = check_array(_np(h_b), "h_b", ndim=2)
    X = np.vstack([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    probe = LogisticRegression(max_iter=500).fit(Xtr, ytr)
    return float(probe.score(Xte, yte))


def _np(x):
    if torch.is_tensor(x):
        return x.detach().cpu().numpy()
    return x
