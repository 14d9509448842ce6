"""Essay scorers under the microscope: attributions, overstability, oversensitivity.

Chapter 05 of the course. Paper: Y. Kumar Singla, S. Parekh, S. Singh, J. J. Li,
R. R. Shah, C. Chen (2021). "AES Systems Are Both Overstable And Oversensitive:
Explaining Why And Proposing Defenses", arXiv:2109.11728v3; journal version in
Dialogue & Discourse 14(1), 2023. Official code:
https://github.com/midas-research/aes-overstable-oversensitive (TensorFlow notebooks on
ASAP-AES); this module is written from the paper's description, not from that code.

The paper opens trained essay scorers with integrated gradients, finds that a few words
carry the score, and tests two failures: *overstability* (large edits such as shuffles
barely move the score) and *oversensitivity* (a few added score-associated words move it
a lot). It then detects such adversarial essays from their attribution patterns.

This module is a miniature of that study:

* a synthetic essay world whose human rubric is known exactly
  (:func:`generate_essays`, :func:`rubric_score`);
* a small scorer (a convolution and a GRU, summed over tokens) that *can* read word
  order (:class:`EssayScorer`, :func:`train_scorer`);
* quadratic weighted kappa, the agreement measure of essay scoring
  (:func:`quadratic_weighted_kappa`);
* integrated gradients with its completeness gap (:func:`integrated_gradients`);
* the probes (:func:`shuffle_sentences`, :func:`shuffle_words`, :func:`keep_tokens`,
  :func:`add_words`, :func:`trigger_words`) and the detector
  (:func:`attribution_features`, :func:`detection_accuracy`).

Shapes: ``B`` essays, ``L`` token positions (padded with id 0 at the end), ``d`` the
embedding size.
"""

from __future__ import annotations

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
    "FUNCTION_WORDS",
    "BASIC_WORDS",
    "ADVANCED_WORDS",
    "TOPIC_WORDS",
    "CONNECTIVES",
    "Vocabulary",
    "make_vocabulary",
    "generate_essays",
    "essay_tokens",
    "coherence",
    "rubric_raw",
    "rubric_points",
    "rubric_score",
    "quadratic_weighted_kappa",
    "encode",
    "EssayScorer",
    "train_scorer",
    "predict_scores",
    "integrated_gradients",
    "shuffle_sentences",
    "shuffle_words",
    "keep_tokens",
    "add_words",
    "trigger_words",
    "attribution_features",
    "detection_accuracy",
    "change_slope",
    "fraction_changed",
]

# --------------------------------------------------------------------- the vocabulary
FUNCTION_WORDS = (
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "that",
    "for",
    "was",
    "on",
    "with",
    "as",
    "be",
    "at",
    "by",
    "this",
    "we",
    "they",
)
BASIC_WORDS = (
    "good",
    "bad",
    "thing",
    "people",
    "make",
    "go",
    "get",
    "see",
    "know",
    "think",
    "time",
    "day",
    "way",
    "place",
    "school",
    "friend",
    "home",
    "work",
    "nice",
    "big",
    "small",
    "help",
    "like",
    "want",
    "use",
    "find",
    "give",
    "tell",
    "feel",
    "try",
    "many",
    "more",
    "very",
    "really",
    "lot",
    "new",
    "old",
    "long",
    "kind",
    "part",
)
ADVANCED_WORDS = (
    "consequently",
    "meticulous",
    "ubiquitous",
    "paradigm",
    "profound",
    "substantial",
    "notwithstanding",
    "elucidate",
    "pragmatic",
    "nuanced",
    "empirical",
    "coherent",
    "advocate",
    "inevitable",
    "scrutiny",
    "intrinsic",
    "ambiguous",
    "deteriorate",
    "facilitate",
    "comprehensive",
    "perspective",
    "significant",
    "diverse",
    "resilient",
    "articulate",
    "contemplate",
    "innovative",
    "prevalent",
    "sustainable",
    "hypothesis",
)
TOPIC_WORDS = (
    "library",
    "books",
    "reading",
    "censorship",
    "shelves",
    "readers",
    "author",
    "novel",
    "librarian",
    "offensive",
    "magazines",
    "music",
    "movies",
    "parents",
    "children",
    "remove",
    "freedom",
    "opinion",
    "society",
    "choice",
)
# Connectives in their canonical order: a coherent essay uses them in this order.
CONNECTIVES = (
    "first",
    "second",
    "next",
    "then",
    "also",
    "moreover",
    "later",
    "finally",
)
SENTENCE_WORDS = (4, 7)  # content words per sentence: 4 to 6
END = "."
PAD = "<pad>"

# The human rubric (known exactly): raw = 1.0 * distinct advanced + 0.5 * distinct topic
# + 4 * coherence, cut into the integer scores 0..10 at 3, 5, ..., 21.
RUBRIC_WEIGHTS = {"advanced": 1.0, "topic": 0.5, "coherence": 4.0}
RUBRIC_STEP = 2.0
RUBRIC_CUTS = 3.0 + RUBRIC_STEP * np.arange(10)


@dataclass(frozen=True)
class Vocabulary:
    """Token ids and word classes of the synthetic essays (id 0 is padding).

    Paper: course addition — the vocabulary of the synthetic essays.
    """

    words: tuple[str, ...]
    word_class: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of ids, padding included."""
        return len(self.words)

    def id_of(self, word: str) -> int:
        """The id of ``word``; ``KeyError`` naming the word when it is unknown."""
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary") from None

    @property
    def _index(self) -> dict:
        return {w: i for i, w in enumerate(self.words)}


def make_vocabulary() -> Vocabulary:
    """The fixed vocabulary: padding, five word classes, the full stop.

    Paper: course addition — a synthetic stand-in for the ASAP-AES vocabulary.
    """
    words, classes = [PAD], ["pad"]
    for cls, group in (
        ("function", FUNCTION_WORDS),
        ("basic", BASIC_WORDS),
        ("advanced", ADVANCED_WORDS),
        ("topic", TOPIC_WORDS),
        ("connective", CONNECTIVES),
        ("end", (END,)),
    ):
        words += list(group)
        classes += [cls] * len(group)
    return Vocabulary(tuple(words), tuple(classes))


# ------------------------------------------------------------------------- the essays
def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy Generator (course.rng), got {type(rng).__name__}"
        )
    return rng


def _check_fraction(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0 <= value <= 1)
    ):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _word_kind_probabilities(ability: float) -> tuple[float, float, float, float]:
    """Chances that a word is advanced, topic, basic or a function word.

    Advanced words rise from 0 to 0.30 and topic words from 0.05 to 0.30 with ability
    (logistic curves); basic words take 0.30; function words the rest.
    """
    p_advanced = 0.30 / (1.0 + np.exp(-1.5 * (ability - 0.3)))
    p_topic = 0.25 / (1.0 + np.exp(-1.2 * ability)) + 0.05
    p_basic = 0.3
    return p_advanced, p_topic, p_basic, 1.0 - p_advanced - p_topic - p_basic


def _write_sentence(ability: float, rng: np.random.Generator) -> list[str]:
    """Content words of one sentence; abler writers use more advanced words."""
    p_advanced, p_topic, p_basic, _ = _word_kind_probabilities(ability)
    words = []
    for _ in range(int(rng.integers(*SENTENCE_WORDS))):
        u = rng.random()
        if u < p_advanced:  # pragma: no mutate (u is continuous)
            words.append(ADVANCED_WORDS[rng.integers(len(ADVANCED_WORDS))])
        elif u < p_advanced + p_topic:  # pragma: no mutate (u is continuous)
            words.append(TOPIC_WORDS[rng.integers(len(TOPIC_WORDS))])
        elif u < p_advanced + p_topic + p_basic:  # pragma: no mutate (u is continuous)
            words.append(BASIC_WORDS[rng.integers(len(BASIC_WORDS))])
        else:
            words.append(FUNCTION_WORDS[rng.integers(len(FUNCTION_WORDS))])
    return words


def _sentence_count(ability: float, rng: np.random.Generator) -> int:
    """Sentences in an essay: ``round(5.5 + 1.3 a + N(0, 0.8^2))`` clipped to 3..8."""
    return int(np.clip(np.round(5.5 + 1.3 * ability + rng.normal(scale=0.8)), 3, 8))


def generate_essays(n: int, rng, *, disorder_rate: float = 0.12):
    """``n`` synthetic essays and their writers' abilities.

    Each writer has an ability ``a ~ N(0, 1)``; abler writers write more sentences (3 to
    8) and use more advanced and topic words. Sentence ``k`` starts with the ``k``-th
    connective and the last one with *finally*, so in an ordered essay the connectives
    follow their canonical order. With probability ``disorder_rate`` an essay's
    sentences are shuffled, and the rubric's coherence term drops. Returns
    ``(essays, ability)``: a list of essays (lists of sentences, each a list of words)
    and an array ``[n]``.

    Paper: course addition — a synthetic stand-in for ASAP-AES with a known rubric.
    """
    n = check_positive_int(n, "n")
    rng = _check_rng(rng)
    disorder_rate = _check_fraction(disorder_rate, "disorder_rate")
    ability = rng.normal(size=n)
    essays = []
    for a in ability:
        n_sent = _sentence_count(a, rng)
        links = list(range(n_sent - 1)) + [len(CONNECTIVES) - 1]  # ..., finally
        essay = [[CONNECTIVES[c]] + _write_sentence(a, rng) + [END] for c in links]
        if rng.random() < disorder_rate:  # pragma: no mutate (continuous: "<" is "<=")
            essay = [essay[i] for i in rng.permutation(n_sent)]
        essays.append(essay)
    return essays, ability


def _check_essay(essay, name: str = "essay") -> list[list[str]]:
    if not isinstance(essay, (list, tuple)) or len(essay) == 0:
        raise ValueError(
            f"{name} must be a non-empty list of sentences (lists of words)"
        )
    for i, sentence in enumerate(essay):
        if not isinstance(sentence, (list, tuple)) or not all(
            isinstance(w, str) for w in sentence
        ):
            raise ValueError(f"{name}[{i}] must be a list of words (strings)")
    return [list(s) for s in essay]


def essay_tokens(essay) -> list[str]:
    """The essay as one flat list of words, sentence after sentence.

    Paper: course addition — the token sequence the scorer reads.
    """
    return [w for sentence in _check_essay(essay) for w in sentence]


def coherence(essay) -> float:
    """Fraction of neighbouring connectives in canonical order (1 with fewer than two).

    Paper: course addition — the coherence that the paper probes with sentence shuffles.
    """
    rank = {c: i for i, c in enumerate(CONNECTIVES)}
    links = [rank[w] for w in essay_tokens(essay) if w in rank]
    if len(links) < 2:
        return 1.0
    return float(np.mean(np.diff(links) > 0))


def rubric_raw(essay) -> float:
    """The rubric before cutting: distinct advanced + 0.5 distinct topic + 4 coherence.

    A word counts once however often it appears.

    Paper: course addition — the human rubric, known exactly in the miniature.
    """
    tokens = set(essay_tokens(essay))
    advanced = len(tokens & set(ADVANCED_WORDS))
    topic = len(tokens & set(TOPIC_WORDS))
    return (
        RUBRIC_WEIGHTS["advanced"] * advanced
        + RUBRIC_WEIGHTS["topic"] * topic
        + RUBRIC_WEIGHTS["coherence"] * coherence(essay)
    )


def rubric_points(essay) -> float:
    """The rubric on the 0..10 scale before rounding down: ``(raw - 3) / 2 + 1``.

    :func:`rubric_score` is this value rounded down and clipped to 0..10; the unrounded
    value measures how far an edit moves the rubric even when no cut point is crossed.

    Paper: course addition — the unrounded human score.
    """
    return (rubric_raw(essay) - RUBRIC_CUTS[0]) / RUBRIC_STEP + 1.0


def rubric_score(essay) -> int:
    """The human score 0..10: :func:`rubric_raw` cut at 3, 5, ..., 21.

    Paper: course addition — the integer human score, like ASAP's score ranges.
    """
    return int(np.searchsorted(RUBRIC_CUTS, rubric_raw(essay), side="right"))


# ------------------------------------------------------------------------- the metric
def quadratic_weighted_kappa(y_true, y_pred, min_rating: int, max_rating: int) -> float:
    """Quadratic weighted kappa of two integer ratings in ``[min_rating, max_rating]``.

    ``kappa = 1 - sum(W * O) / sum(W * E)``: ``O`` the observed confusion matrix
    ``[K, K]``, ``E`` the outer product of its margins divided by ``n``, and
    ``W[i, j] = (i - j)**2 / (K - 1)**2``. 1 is perfect agreement, 0 chance level. When
    both sides give one and the same rating, ``sum(W * E)`` is 0 and kappa is 0 here.

    Paper: quadratic weighted kappa, the paper's agreement metric (arXiv:2109.11728v3).
    """
    y_true = check_array(y_true, "y_true", ndim=1)
    y_pred = check_array(y_pred, "y_pred", ndim=1)
    check_same_length(y_true=y_true, y_pred=y_pred)
    for name, value in (("min_rating", min_rating), ("max_rating", max_rating)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if max_rating <= min_rating:
        raise ValueError(
            f"max_rating must exceed min_rating, got {min_rating} and {max_rating}"
        )
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if np.any(y != np.round(y)):
            raise ValueError(
                f"{name} must hold integer ratings; round predictions first"
            )
        if y.min() < min_rating or y.max() > max_rating:
            raise ValueError(
                f"{name} must lie in [{min_rating}, {max_rating}], "
                f"got values from {y.min():g} to {y.max():g}"
            )
    k = max_rating - min_rating + 1
    rows = y_true.astype(int) - min_rating
    cols = y_pred.astype(int) - min_rating
    observed = np.bincount(rows * k + cols, minlength=k * k).reshape(k, k)  # [K, K]
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / (k - 1) ** 2  # pragma: no mutate (W's scale cancels)
    denominator = np.sum(weights * expected)
    if denominator == 0:
        return 0.0
    return float(1.0 - np.sum(weights * observed) / denominator)


# ------------------------------------------------------------------------- the scorer
def encode(essays, vocab: Vocabulary, max_len: int = 72):
    """Token ids ``[B, max_len]`` (a LongTensor), padded with 0 at the end.

    Raises ``ValueError`` for an unknown word or an essay longer than ``max_len``.

    Paper: course addition — the scorer's input.
    """
    max_len = check_positive_int(max_len, "max_len")
    if not isinstance(essays, (list, tuple)) or len(essays) == 0:
        raise ValueError("essays must be a non-empty list of essays")
    index = vocab._index
    ids = np.zeros((len(essays), max_len), dtype=np.int64)
    for b, essay in enumerate(essays):
        tokens = essay_tokens(essay)
        if len(tokens) > max_len:
            raise ValueError(
                f"essays[{b}] has {len(tokens)} tokens, more than max_len={max_len}"
            )
        unknown = [w for w in tokens if w not in index]
        if unknown:
            raise ValueError(
                f"essays[{b}] holds words outside the vocabulary: {unknown[:3]}"
            )
        ids[b, : len(tokens)] = [index[w] for w in tokens]
    return torch.from_numpy(ids)


def _check_ids(ids, vocab_size: int | None = None):
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.dim() != 2:
        raise ValueError("ids must be a 2-D LongTensor of token ids [B, L]")
    if ids.numel() == 0:
        raise ValueError("ids is empty")
    if ids.min() < 0 or (vocab_size is not None and ids.max() >= vocab_size):
        raise ValueError(
            f"ids must lie in [0, {vocab_size}), got {int(ids.min())}..{int(ids.max())}"
        )
    return ids


def _trim_padding(ids):
    """Drop the padding columns that every row of ``ids`` [B, L] has at its end."""
    longest = max(1, int((ids > 0).sum(1).max()))
    return ids[:, :longest]


class EssayScorer(nn.Module):
    """A small essay scorer that can read word order, with sum pooling.

    Two readers share one word embedding (``d`` numbers per word): a width-3 convolution
    that sees each word with its two neighbours, and a GRU that reads the essay left to
    right and can carry a sentence's connective on to the next one, so the model *can*
    learn order. Both are summed over the essay's tokens (sum pooling: every good word
    adds to the score) and a linear layer maps the sum to one standardized score.

    ``forward(ids)`` takes token ids ``[B, L]``; ``forward_from_embeddings(emb, mask)``
    takes embeddings ``[B, L, d]`` and the token mask ``[B, L]`` (1 for a token, 0 for
    padding), the entry point of integrated gradients. Padding sits at the end of each
    row, so it never changes the GRU's state at a real token.

    Paper: course addition — a small stand-in for the paper's scorers (BERT and others).
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int = 24,
        hidden: int = 32,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        dim = check_positive_int(dim, "dim")
        hidden = check_positive_int(hidden, "hidden")
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, hidden, kernel_size=3, padding=1)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.head = nn.Linear(2 * hidden, 1)
        if generator is not None:  # reproducible initial weights from the course seed
            with torch.no_grad():
                bound = 1.0 / np.sqrt(hidden)
                for p in self.parameters():
                    p.uniform_(-bound, bound, generator=generator)
                self.embed.weight.normal_(0.0, 0.3, generator=generator)
                self.embed.weight[0].zero_()

    def forward_from_embeddings(self, emb, mask):
        """Standardized scores ``[B]`` from embeddings ``[B, L, d]`` and a mask."""
        local = torch.relu(self.conv(emb.transpose(1, 2)))  # [B, H, L]
        local = local * mask.unsqueeze(1)
        states, _ = self.gru(emb)  # [B, L, H]
        states = states * mask.unsqueeze(-1)
        pooled = torch.cat([local.sum(-1), states.sum(1)], dim=1) / 10.0  # [B, 2H]
        return self.head(pooled)[:, 0]  # [B]

    def forward(self, ids):
        """Standardized scores ``[B]`` from token ids ``[B, L]``."""
        _check_ids(ids, self.vocab_size)
        mask = (ids > 0).float()
        return self.forward_from_embeddings(self.embed(ids), mask)


def train_scorer(
    ids,
    scores,
    *,
    vocab_size: int,
    generator,
    epochs: int = 20,
    batch_size: int = 128,
    lr: float = 5e-3,
    dim: int = 24,
    hidden: int = 32,
):
    """Train an :class:`EssayScorer` by mean squared error on standardized scores.

    ``ids`` is ``[N, L]``, ``scores`` ``[N]`` human scores; ``generator`` (a
    ``torch.Generator``, e.g. ``course.torch_generator(1)``) draws the initial weights
    and the batches (Adam, learning rate ``lr``). Returns ``(model, (mean, sd), log)``:
    predictions in score points are ``mean + sd * model(ids)`` (:func:`predict_scores`).

    Paper: course addition — end-to-end training of a scorer on human scores.
    """
    from utils.training import train

    ids = _check_ids(ids, vocab_size)
    scores = check_array(scores, "scores", ndim=1)
    check_same_length(ids=ids, scores=scores)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    mean, sd = float(scores.mean()), float(scores.std()) or 1.0
    target = torch.from_numpy((scores - mean) / sd).float()
    model = EssayScorer(vocab_size, dim=dim, hidden=hidden, generator=generator)
    n = len(ids)
    steps_per_epoch = max(1, n // batch_size)
    order = []

    def next_batch(step):
        if step % steps_per_epoch == 0:  # a new epoch: a new permutation
            order[:] = [torch.randperm(n, generator=generator)]
        k = step % steps_per_epoch
        rows = order[0][k * batch_size : (k + 1) * batch_size]
        return _trim_padding(ids[rows]), target[rows]

    def loss_fn(model, batch):
        x, y = batch
        return torch.mean((model(x) - y) ** 2)

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    log = train(
        model,
        loss_fn,
        next_batch,
        steps=epochs * steps_per_epoch,
        optimizer=optimizer,
        desc="training the scorer",  # pragma: no mutate (a progress-bar label)
    )
    return model, (mean, sd), log


def predict_scores(model, ids, standardization) -> np.ndarray:
    """Predicted scores in the rubric's points, shape ``[B]`` (not rounded).

    Paper: course addition — undoes the standardization of :func:`train_scorer`.
    """
    mean, sd = standardization
    with torch.no_grad():
        return mean + sd * model(ids).double().numpy()


# ---------------------------------------------------------------- integrated gradients
def integrated_gradients(
    model,
    ids,
    *,
    steps: int = 32,
    scale: float = 1.0,
    chunk: int = 64,  # pragma: no mutate (batching only; the result is the same)
):
    """Integrated gradients of ``scale * model`` per token, from an all-zero baseline.

    For token embeddings ``E`` ``[L, d]`` and the baseline ``E' = 0``, token ``i`` gets
    ``IG_i = sum_k E_ik * (1/m) sum_{s=1..m} dF(s/m * E)/dE_ik``, a right Riemann sum of
    the path integral with ``m = steps`` points. Padding positions get exactly 0.
    Completeness: ``sum_i IG_i`` tends to ``F(E) - F(0)`` as ``m`` grows.

    ``model`` needs an ``embed`` layer and ``forward_from_embeddings(emb, mask)``.
    Returns numpy arrays ``(attributions [B, L], gap [B])`` with
    ``gap = sum_i IG_i - (F(E) - F(0))``, in the units of ``scale * model``
    (``scale=sd`` gives score points). Essays are processed ``chunk`` at a time.

    Paper: integrated gradients, the paper's attribution method (arXiv:2109.11728v3).
    """
    ids = _check_ids(ids, getattr(model, "vocab_size", None))
    steps = check_positive_int(steps, "steps")
    chunk = check_positive_int(chunk, "chunk")
    if (
        isinstance(scale, bool)
        or not isinstance(scale, numbers.Real)
        or not (np.isfinite(scale))
    ):
        raise ValueError(f"scale must be a finite number, got {scale!r}")
    alphas = torch.arange(1, steps + 1) / steps  # [m]
    attributions, gaps = [], []
    for start in range(0, len(ids), chunk):
        x = _trim_padding(ids[start : start + chunk])  # [b, l]
        mask = (x > 0).float()
        with torch.no_grad():
            emb = model.embed(x) * mask.unsqueeze(-1)  # [b, l, d]
            full = scale * model.forward_from_embeddings(emb, mask)  # [b]
            base = scale * model.forward_from_embeddings(torch.zeros_like(emb), mask)
        b, length, d = emb.shape
        path = (alphas.view(-1, 1, 1, 1) * emb.unsqueeze(0)).reshape(-1, length, d)
        path.requires_grad_(True)  # [m*b, l, d]
        out = scale * model.forward_from_embeddings(path, mask.repeat(steps, 1))
        (grad,) = torch.autograd.grad(out.sum(), path)
        mean_grad = grad.reshape(steps, b, length, d).mean(0)  # [b, l, d]
        attr = (emb * mean_grad).sum(-1) * mask  # [b, l]
        padded = np.zeros((b, ids.shape[1]))  # [b, L]
        padded[:, :length] = attr.detach().numpy()
        attributions.append(padded)
        gaps.append((attr.sum(dim=1) - (full - base)).double().detach().numpy())
    return np.concatenate(attributions), np.concatenate(gaps)


# -------------------------------------------------------------------------- the probes
def shuffle_sentences(essay, rng) -> list[list[str]]:
    """The same sentences in a random order (content kept, coherence destroyed).

    Paper: overstability test, shuffling the sentences (arXiv:2109.11728v3).
    """
    essay, rng = _check_essay(essay), _check_rng(rng)
    return [list(essay[i]) for i in rng.permutation(len(essay))]


def shuffle_words(essay, rng) -> list[list[str]]:
    """All words of the essay in a random order, as one sentence (a bag of words).

    Paper: overstability test, shuffling all words (arXiv:2109.11728v3).
    """
    tokens = essay_tokens(essay)
    return [[tokens[i] for i in _check_rng(rng).permutation(len(tokens))]]


def keep_tokens(essay, attributions, fraction: float, *, rng=None) -> list[list[str]]:
    """Keep a ``fraction`` of the essay's tokens, in their order, as one sentence.

    With ``rng=None`` the tokens with the largest ``|attribution|`` are kept (the
    paper's removal of the least important words); with a numpy ``rng`` a random subset
    of the same size is kept (the control). ``attributions`` has one value per token.

    Paper: overstability test, removing the least-attributed words (arXiv:2109.11728v3).
    """
    tokens = essay_tokens(essay)
    attributions = check_array(attributions, "attributions", ndim=1)
    if len(attributions) != len(tokens):
        raise ValueError(
            f"attributions must have one value per token: {len(tokens)} "
            f"tokens, got {len(attributions)} values"
        )
    fraction = _check_fraction(fraction, "fraction")
    n_keep = int(round(fraction * len(tokens)))
    if n_keep == 0:
        raise ValueError(
            f"fraction={fraction} keeps no token of a {len(tokens)}-token essay"
        )
    if rng is None:
        chosen = np.argsort(-np.abs(attributions), stable=True)[:n_keep]
    else:
        chosen = _check_rng(rng).choice(len(tokens), size=n_keep, replace=False)
    return [[tokens[i] for i in np.sort(chosen)]]


def add_words(essay, words, rng, *, position: str = "end") -> list[list[str]]:
    """A new essay with ``words`` added at its end or each at a random position.

    ``position="end"`` appends them to the last sentence, before its full stop;
    ``"random"`` inserts each word at a random place of a random sentence, after its
    opening connective.

    Paper: oversensitivity test, adding a few words (arXiv:2109.11728v3).
    """
    essay, rng = _check_essay(essay), _check_rng(rng)
    if (
        isinstance(words, str)
        or len(words) == 0
        or not all(isinstance(w, str) for w in words)
    ):
        raise ValueError("words must be a non-empty list of words (strings)")
    if position not in ("end", "random"):
        raise ValueError(f"position must be 'end' or 'random', got {position!r}")
    out = [list(s) for s in essay]
    for w in words:
        if position == "end":
            out[-1].insert(len(out[-1]) - (out[-1][-1] == END), w)
        else:
            s = out[int(rng.integers(len(out)))]
            s.insert(int(rng.integers(1, len(s) + (s[-1] != END))), w)
    return out


def trigger_words(
    ids, attributions, vocab: Vocabulary, *, k: int = 5, min_count: int = 5
) -> list[str]:
    """The ``k`` words with the largest mean attribution per occurrence.

    The words the scorer rewards most each time it sees them: the candidates for an
    oversensitivity attack. Words seen fewer than ``min_count`` times are skipped (their
    mean is noise). ``ids`` is ``[B, L]``, ``attributions`` the matching ``[B, L]``.

    Paper: oversensitivity, words tied to high scores (arXiv:2109.11728v3).
    """
    ids = _check_ids(ids, vocab.size).numpy()
    attributions = check_array(attributions, "attributions", ndim=2)
    if attributions.shape != ids.shape:
        raise ValueError(
            f"attributions must match ids: shape {ids.shape}, got {attributions.shape}"
        )
    k = check_positive_int(k, "k")
    min_count = check_positive_int(min_count, "min_count")
    total = np.bincount(ids.ravel(), weights=attributions.ravel(), minlength=vocab.size)
    count = np.bincount(ids.ravel(), minlength=vocab.size)
    eligible = count >= min_count
    eligible[0] = False  # padding
    mean = total / np.maximum(count, 1)  # [V]
    ranked = [int(i) for i in np.argsort(-mean, stable=True) if eligible[i]]
    if len(ranked) < k:
        raise ValueError(
            f"only {len(ranked)} words occur at least min_count="
            f"{min_count} times; cannot pick k={k}"
        )
    return [vocab.words[i] for i in ranked[:k]]


# ------------------------------------------------------------------------ the detector
FEATURE_NAMES = (
    "mean IG",
    "sd IG",
    "top-3 share",
    "top-10 share",
    "|IG| 1st",
    "|IG| 2nd",
    "|IG| 3rd",
    "|IG| 4th",
    "|IG| 5th",
    "tokens with IG > 0.3",
    "length",
)


def attribution_features(attributions, mask) -> np.ndarray:
    """Position-free summaries of each essay's attributions, shape ``[B, 11]``.

    Per essay (the tokens where ``mask`` is 1): the mean and standard deviation of IG;
    the shares of ``sum |IG|`` held by the 3 and by the 10 largest ``|IG|``; the five
    largest ``|IG|`` (0 where the essay is shorter); the number of tokens with
    ``IG > 0.3``; the number of tokens (:data:`FEATURE_NAMES`). None depends on where a
    token sits, so a detector cannot simply look where an attack writes.

    Paper: input of the detection-based protection model (arXiv:2109.11728v3).
    """
    attributions = check_array(attributions, "attributions", ndim=2)
    mask = check_array(mask, "mask", ndim=2)
    if attributions.shape != mask.shape:
        raise ValueError(
            f"attributions and mask must have the same shape, got "
            f"{attributions.shape} and {mask.shape}"
        )
    if not np.isin(mask, (0.0, 1.0)).all():
        raise ValueError("mask must hold 0s and 1s")
    lengths = mask.sum(1)
    if (lengths < 1).any():
        raise ValueError(f"mask row {int(np.argmin(lengths))} has no token")
    rows = []
    for a, m, n in zip(attributions, mask.astype(bool), lengths):
        ig = a[m]
        magnitude = np.sort(np.abs(ig))[::-1]
        total = magnitude.sum() or 1.0  # pragma: no mutate (all zero: the shares are 0)
        largest = magnitude[:5]
        top5 = np.zeros(5)
        top5[: len(largest)] = largest
        rows.append(
            [
                ig.mean(),
                ig.std(),
                magnitude[:3].sum() / total,
                magnitude[:10].sum() / total,
                *top5,
                float((ig > 0.3).sum()),
                float(n),
            ]
        )
    return np.array(rows)


def detection_accuracy(features, labels, *, seed: int, folds: int = 5) -> float:
    """Mean accuracy of a standardized logistic regression over stratified CV folds.

    ``features`` is ``[N, F]``, ``labels`` ``[N]`` with 0 (clean) and 1 (attacked);
    ``seed`` fixes the folds.

    Paper: the detection-based protection model (arXiv:2109.11728v3).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = check_array(features, "features", ndim=2)
    labels = check_array(labels, "labels", ndim=1)
    check_same_length(features=features, labels=labels)
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must hold 0 (clean) and 1 (attacked)")
    folds = check_positive_int(folds, "folds")
    if folds < 2 or min((labels == 0).sum(), (labels == 1).sum()) < folds:
        raise ValueError(
            f"folds must be >= 2 and at most the size of the smaller class, got {folds}"
        )
    logistic = LogisticRegression(max_iter=1000)  # pragma: no mutate (converges sooner)
    classifier = make_pipeline(StandardScaler(), logistic)
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seed))
    return float(cross_val_score(classifier, features, labels, cv=splits).mean())


# ------------------------------------------------------------------------- summaries
def change_slope(model_change, rubric_change) -> float:
    """Least-squares slope of the model's score change on the rubric's, essay by essay.

    1 means the model follows the rubric's change exactly; 0 means it ignores it.

    Paper: course addition — one number that summarizes an overstability test.
    """
    model_change = check_array(model_change, "model_change", ndim=1)
    rubric_change = check_array(rubric_change, "rubric_change", ndim=1)
    check_same_length(model_change=model_change, rubric_change=rubric_change)
    if len(rubric_change) < 2 or np.ptp(rubric_change) == 0:
        raise ValueError("rubric_change must vary across at least two essays")
    x = rubric_change - rubric_change.mean()
    return float(np.sum(x * model_change) / np.sum(x * x))  # x sums to 0


def fraction_changed(before, after, *, low: int = 0, high: int = 10) -> float:
    """Fraction of essays whose score, rounded and clipped to ``[low, high]``, changes.

    Paper: oversensitivity, "score changes in ~95% of samples" (arXiv:2109.11728v3).
    """
    before = check_array(before, "before", ndim=1)
    after = check_array(after, "after", ndim=1)
    check_same_length(before=before, after=after)
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if high <= low:
        raise ValueError(f"high must exceed low, got low={low}, high={high}")
    rounded_before = np.clip(np.round(before), low, high)
    rounded_after = np.clip(np.round(after), low, high)
    return float(np.mean(rounded_before != rounded_after))
