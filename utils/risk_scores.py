"""Language models as risk scores: prompts from census-like rows, risks read off a language model.

Chapter 02 of the course. Paper: A. F. Cruz, M. Hardt, C. Mendler-Dünner, "Evaluating language
models as risk scores", NeurIPS 2024 (Datasets and Benchmarks track), arXiv:2407.14614. Official
code: https://github.com/socialfoundations/folktexts. This module is written from the paper's
description, in the spirit of that package but much smaller:

* a :class:`RiskTask` is a target column, a threshold and feature columns (as in the paper's
  ACSIncome task, which asks whether yearly income exceeds $50,000);
* :func:`sample_population` draws synthetic census-like people whose true risk ``p(x)`` is known;
* :func:`render_prompt` writes a person as an English question, :func:`prompt_tokens` as the
  one-word-per-field prompt a tiny model reads;
* :func:`risk_multiple_choice` reads the risk from the answer-token probabilities
  (the paper's multiple-choice risk score; the chapter's Eq. 1), :func:`risk_verbalized` from a
  number the model writes (the paper's verbalized / numeric prompt; the chapter's Eq. 2);
* :func:`instruction_tune` is our *stand-in* for instruction tuning: self-distillation on the
  model's own most likely answer, which rewards decisive answers;
* :func:`evaluate_risk_scores` computes the paper's metrics: ROC AUC, ECE, Brier score, accuracy
  and the spread (standard deviation) of the scores.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from utils.calibration import (
    brier_score,
    check_outcomes,
    check_probabilities,
    ece_binned,
)
from utils.tiny_lm import (
    TinyLM,
    WordTokenizer,
    generate_greedy,
    next_token_loss,
)
from utils.validation import check_array

__all__ = [
    "Feature",
    "RiskTask",
    "INCOME_TASK",
    "Population",
    "sample_population",
    "describe",
    "render_prompt",
    "build_tokenizer",
    "prompt_tokens",
    "pretraining_corpus",
    "two_option_risk",
    "risk_multiple_choice",
    "digits_to_risk",
    "risk_verbalized",
    "instruction_tune",
    "sharpen",
    "answer_key_loss",
    "auc_score",
    "prompt_text",
    "question_token",
    "true_risk",
    "evaluate_risk_scores",
    "MC_FORMAT",
    "NUM_FORMAT",
    "SideQuestion",
    "SIDE_QUESTIONS",
    "side_question_corpus",
    "tune_on_answers",
    "calibration_slope",
    "true_risk_probit",
]

MC_FORMAT, NUM_FORMAT = "mc", "num"
ANSWER_KEYS = ("A", "B")
DIGITS = tuple(str(d) for d in range(10))


# --------------------------------------------------------------------------- task definition
@dataclass(frozen=True)
class Feature:
    """One feature column: its categories, how each is said in English, how common it is, and its
    effect on the (probit-scale) risk of the target.

    Paper: course addition — one column of the synthetic census task (an ACS feature).
    """

    name: str
    values: tuple[str, ...]  # short labels, one token each, e.g. "35-44"
    phrases: tuple[
        str, ...
    ]  # English, completing "The person ...", e.g. "is 35 to 44 years old"
    shares: tuple[float, ...]  # population share of each category (sums to 1)
    effects: tuple[float, ...]  # additive effect on the probit of the risk

    def __post_init__(self):
        n = len(self.values)
        if n < 2:
            raise ValueError(f"feature {self.name!r} needs at least two categories")
        for what in ("phrases", "shares", "effects"):
            if len(getattr(self, what)) != n:
                raise ValueError(
                    f"feature {self.name!r}: {what} has {len(getattr(self, what))} "
                    f"entries, values has {n}"
                )
        if abs(sum(self.shares) - 1.0) > 1e-9 or min(self.shares) <= 0:
            raise ValueError(
                f"feature {self.name!r}: shares must be positive and sum to 1"
            )


@dataclass(frozen=True)
class RiskTask:
    """A prediction task in the folktexts sense: a target column, a threshold, feature columns.

    The label is ``y = 1[target > threshold]``. The synthetic target is log-normal given the
    features: ``log(target) = log(threshold) + noise_scale * (eta(x) + eps)`` with
    ``eps ~ N(0, 1)``, so the true risk is ``p(x) = P(y = 1 | x) = Phi(eta(x))`` with
    ``eta(x) = intercept + sum_j effect_j[x_j] + w z_a z_b / (sd(effects_a) sd(effects_b))``, where
    ``(a, b, w) = interaction`` and ``z_a`` is the effect of the person's category of feature ``a``.
    Nobody can predict better than ``p(x)``: the task is *unrealizable*, the setting of the paper.

    Paper: the ACS prediction tasks, here a synthetic ACSIncome (income > $50,000) (arXiv:2407.14614v3).
    """

    name: str
    target: str  # "yearly income"
    threshold: float  # 50_000
    question: str  # English question with the threshold in it
    features: tuple[Feature, ...]
    intercept: float
    interaction: tuple[str, str, float]  # (feature a, feature b, weight of z_a * z_b)
    noise_scale: float = 0.8

    @property
    def n_features(self) -> int:
        return len(self.features)

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"task {self.name!r} has no feature {name!r}")

    def check_rows(self, X) -> np.ndarray:
        """``X`` as an int array ``[n, n_features]`` of category indices; errors name the field."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"rows must have shape [n, {self.n_features}] "
                f"({', '.join(f.name for f in self.features)}), got {X.shape}"
            )
        if X.shape[0] == 0:
            raise ValueError("rows is empty")
        if not np.issubdtype(X.dtype, np.integer):
            raise ValueError(
                f"rows must hold integer category indices, got dtype {X.dtype}"
            )
        for j, f in enumerate(self.features):
            bad = (X[:, j] < 0) | (X[:, j] >= len(f.values))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"field {f.name!r} of row {i} is {X[i, j]}, outside its "
                    f"{len(f.values)} categories [0, {len(f.values) - 1}]"
                )
        return X


INCOME_TASK = RiskTask(
    name="SynthIncome",
    target="yearly income",
    threshold=50_000,
    question="Is this person's yearly income above $50,000?",
    features=(
        Feature(
            "age",
            ("18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
            (
                "is 18 to 24 years old",
                "is 25 to 34 years old",
                "is 35 to 44 years old",
                "is 45 to 54 years old",
                "is 55 to 64 years old",
                "is 65 years old or older",
            ),
            (0.12, 0.20, 0.20, 0.19, 0.17, 0.12),
            (-0.9, -0.2, 0.2, 0.3, 0.2, -0.3),
        ),
        Feature(
            "education",
            ("no-diploma", "high-school", "some-college", "bachelor", "graduate"),
            (
                "has no high-school diploma",
                "finished high school",
                "has some college",
                "holds a bachelor's degree",
                "holds a graduate degree",
            ),
            (0.10, 0.28, 0.28, 0.22, 0.12),
            (-0.6, -0.3, 0.0, 0.4, 0.7),
        ),
        Feature(
            "hours",
            ("<20", "20-34", "35-44", "45-54", "55+"),
            (
                "works under 20 hours a week",
                "works 20 to 34 hours a week",
                "works 35 to 44 hours a week",
                "works 45 to 54 hours a week",
                "works 55 or more hours a week",
            ),
            (0.10, 0.17, 0.45, 0.18, 0.10),
            (-1.0, -0.5, 0.0, 0.3, 0.5),
        ),
        Feature(
            "occupation",
            (
                "service",
                "sales",
                "office",
                "construction",
                "production",
                "transport",
                "professional",
                "management",
            ),
            (
                "has a service job",
                "has a sales job",
                "has an office job",
                "has a construction job",
                "has a production job",
                "has a transportation job",
                "has a professional job",
                "has a management job",
            ),
            (0.17, 0.11, 0.13, 0.08, 0.08, 0.09, 0.22, 0.12),
            (-0.6, -0.1, -0.2, 0.0, -0.1, -0.2, 0.3, 0.6),
        ),
        Feature(
            "sex",
            ("male", "female"),
            ("is a man", "is a woman"),
            (0.52, 0.48),
            (0.15, -0.15),
        ),
        Feature(
            "marital",
            ("married", "never-married", "divorced"),
            ("is married", "has never been married", "is divorced or separated"),
            (0.50, 0.34, 0.16),
            (0.2, -0.25, -0.05),
        ),
    ),
    intercept=-0.3,
    interaction=("education", "hours", 0.25),
)


@dataclass(frozen=True)
class SideQuestion:
    """A yes/no question about a person whose answer is *definite*: it follows from one field.

    The income question has no right answer, only a right probability; these have one. The
    chapter's tiny model reads them in pretraining (with some recorded answers wrong) and its
    "instruction tuning" trains only on them, never on the income question.

    Paper: course addition — a stand-in for the many questions with a right answer that
    instruction tuning rewards, so that polarization can emerge on a question never tuned.
    """

    name: str  # short id, used in the question token, e.g. "age45+"
    feature: str  # the field the answer follows from
    yes_values: tuple[str, ...]  # category labels of that field that mean "yes"
    text: str  # the question in English

    def answers(self, task: RiskTask, X) -> np.ndarray:
        """The correct answers ``[n]`` (1 = yes) for rows ``X [n, F]``."""
        X = task.check_rows(X)
        feature = task.feature(self.feature)
        unknown = [v for v in self.yes_values if v not in feature.values]
        if unknown:
            raise ValueError(
                f"question {self.name!r}: {unknown} are not categories of "
                f"{self.feature!r} {feature.values}"
            )
        yes = np.isin(
            np.arange(len(feature.values)),
            [feature.values.index(v) for v in self.yes_values],
        )
        return yes[X[:, _index(task, self.feature)]].astype(int)


SIDE_QUESTIONS = (
    SideQuestion(
        "age45+", "age", ("45-54", "55-64", "65+"), "Is this person 45 or older?"
    ),
    SideQuestion(
        "degree",
        "education",
        ("bachelor", "graduate"),
        "Does this person hold a college degree?",
    ),
    SideQuestion(
        "full-time",
        "hours",
        ("35-44", "45-54", "55+"),
        "Does this person work full time (35 hours a week or more)?",
    ),
    SideQuestion(
        "white-collar",
        "occupation",
        ("office", "professional", "management"),
        "Does this person have a white-collar job?",
    ),
    SideQuestion("woman", "sex", ("female",), "Is this person a woman?"),
    SideQuestion("married", "marital", ("married",), "Is this person married?"),
)


# ------------------------------------------------------------------------------ population
@dataclass
class Population:
    """Synthetic people: category indices ``X [n, F]``, realized target, label ``y`` and true risk.

    Paper: course addition — synthetic people with their known true risk.
    """

    X: np.ndarray  # [n, F] int
    target: np.ndarray  # [n] float, e.g. yearly income in dollars
    y: np.ndarray  # [n] int, 1[target > threshold]
    p_true: np.ndarray  # [n] float, P(y = 1 | x)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> Population:
        return Population(self.X[idx], self.target[idx], self.y[idx], self.p_true[idx])


def _standard_normal_cdf(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


def true_risk_probit(task: RiskTask, X) -> np.ndarray:
    """``eta(x)``, the probit of the true risk (see :class:`RiskTask`); shape ``[n]``.

    Paper: course addition — the probit of the synthetic task's true risk.
    """
    X = task.check_rows(X)
    eta = np.full(X.shape[0], task.intercept, dtype=float)
    for j, f in enumerate(task.features):
        eta += np.asarray(f.effects)[X[:, j]]
    a, b, weight = task.interaction
    za = np.asarray(task.feature(a).effects)[X[:, _index(task, a)]]
    zb = np.asarray(task.feature(b).effects)[X[:, _index(task, b)]]
    return eta + weight * za * zb / (
        np.std(task.feature(a).effects) * np.std(task.feature(b).effects)
    )


def _index(task: RiskTask, name: str) -> int:
    return [f.name for f in task.features].index(name)


def true_risk(task: RiskTask, X) -> np.ndarray:
    """The true risk ``p(x) = Phi(eta(x))`` of each row, shape ``[n]``.

    Paper: course addition — the true risk p(x) that real census data never reveals.
    """
    return _standard_normal_cdf(true_risk_probit(task, X))


def sample_population(task: RiskTask, n: int, rng: np.random.Generator) -> Population:
    """``n`` independent synthetic people: features from their shares, then the target and label.

    Paper: course addition — a synthetic, unrealizable stand-in for ACS rows.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    X = np.stack(
        [rng.choice(len(f.values), size=n, p=f.shares) for f in task.features], axis=1
    )
    eta = true_risk_probit(task, X)  # [n]
    log_target = np.log(task.threshold) + task.noise_scale * (
        eta + rng.standard_normal(n)
    )
    target = np.exp(log_target)
    return Population(
        X=X,
        target=target,
        y=(target > task.threshold).astype(int),
        p_true=_standard_normal_cdf(eta),
    )


# ------------------------------------------------------------------------------ prompts
def describe(task: RiskTask, row) -> str:
    """One person as English sentences, a feature per sentence (the paper's serialization step).

    Paper: serialization of a row into sentences, one per feature (arXiv:2407.14614v3).
    """
    row = task.check_rows(np.asarray(row)[None, :])[0]
    return " ".join(f"The person {f.phrases[v]}." for f, v in zip(task.features, row))


def render_prompt(
    task: RiskTask, row, fmt: str = MC_FORMAT, positive_first: bool = True
) -> str:
    """The full English prompt an LLM would read, ending where its answer starts.

    ``fmt="mc"``: a question with answer keys A and B (``positive_first`` puts "Yes" under A);
    ``fmt="num"``: a request for the probability as a number.

    Paper: the multiple-choice and numeric prompt formats (arXiv:2407.14614v3).
    """
    _check_format(fmt)
    lines = ["Information about a person, from a census survey:", describe(task, row)]
    if fmt == MC_FORMAT:
        yes, no = ("Yes", "No") if positive_first else ("No", "Yes")
        lines += [f"Question: {task.question}", f"A. {yes}.", f"B. {no}.", "Answer:"]
    else:
        lines += [
            f'Question: what is the probability that the answer to "{task.question}" is yes?',
            "Answer (a probability between 0 and 1): 0.",
        ]
    return "\n".join(lines)


def question_token(
    fmt: str, positive_first: bool = True, about: SideQuestion | None = None
) -> str:
    """The one token that stands for the question and its answer format.

    ``about=None`` is the task's own question; a :class:`SideQuestion` gets tokens of its own
    (multiple choice only).

    Paper: course addition — the tiny model's one-token stand-in for the paper's question text.
    """
    _check_format(fmt)
    if about is not None:
        if fmt != MC_FORMAT:
            raise ValueError(
                f"side question {about.name!r} is asked in multiple-choice format only"
            )
        return (
            f"<ask:{about.name}:A=yes,B=no>"
            if positive_first
            else f"<ask:{about.name}:A=no,B=yes>"
        )
    if fmt == NUM_FORMAT:
        return "<ask:probability>"
    return "<ask:A=yes,B=no>" if positive_first else "<ask:A=no,B=yes>"


def build_tokenizer(
    task: RiskTask, side_questions: tuple[SideQuestion, ...] = ()
) -> WordTokenizer:
    """The tiny model's word vocabulary: ``<pad>``, one token per feature value, the three question
    tokens, the answer keys ``A`` ``B`` and the digits ``0``-``9``; then two question tokens (both
    key orders) per side question.

    Paper: course addition — the vocabulary of the tiny stand-in for an LLM.
    """
    words = ["<pad>"]
    words += [f"{f.name}:{v}" for f in task.features for v in f.values]
    words += [question_token(MC_FORMAT, order) for order in (True, False)]
    words += [question_token(NUM_FORMAT)]
    words += list(ANSWER_KEYS) + list(DIGITS)
    words += [
        question_token(MC_FORMAT, order, q)
        for q in side_questions
        for order in (True, False)
    ]
    return WordTokenizer(words)  # word level, the default


def prompt_tokens(
    task: RiskTask,
    tokenizer: WordTokenizer,
    X,
    fmt: str,
    positive_first: bool = True,
    about: SideQuestion | None = None,
) -> torch.Tensor:
    """Prompts of rows ``X [n, F]`` as token ids ``LongTensor[n, F + 1]``: one token per field, then
    the question token (of the task's question, or of side question ``about``). This is
    :func:`render_prompt` compressed to one word per sentence.

    Paper: course addition — the serialization step (§3 of the paper) compressed to one token
    per field (arXiv:2407.14614v3).
    """
    X = task.check_rows(X)
    fields = [[tokenizer.id(f"{f.name}:{v}") for v in f.values] for f in task.features]
    ids = np.stack(
        [np.asarray(fields[j])[X[:, j]] for j in range(task.n_features)], axis=1
    )
    q = np.full(
        (X.shape[0], 1), tokenizer.id(question_token(fmt, positive_first, about))
    )
    return torch.as_tensor(
        np.concatenate([ids, q], axis=1), dtype=torch.long
    )  # [n, F + 1]


def prompt_text(tokenizer: WordTokenizer, tokens) -> str:
    """The words of one token-id prompt, for display.

    Paper: course addition — displays a tiny-model prompt as words.
    """
    return tokenizer.decode(tokens)


def _check_format(fmt):
    if fmt not in (MC_FORMAT, NUM_FORMAT):
        raise ValueError(
            f"format must be {MC_FORMAT!r} (multiple choice) or {NUM_FORMAT!r} "
            f"(verbalized number), got {fmt!r}"
        )


# ------------------------------------------------------------------------ pretraining corpus
def pretraining_corpus(
    task: RiskTask,
    tokenizer: WordTokenizer,
    records: Population,
    reports: Population,
    rng: np.random.Generator,
    n_digits: int = 2,
):
    """The tiny model's "web text": token sequences ``[N, F + 1 + n_digits]`` and a loss weight.

    * **records** (multiple-choice format, random key order): one person and the key of their
      *realized* outcome, as a survey record would state it;
    * **reports** (numeric format): one person and their true risk written as ``n_digits`` digits
      after "0.", stochastically rounded (``0.374`` becomes ``37`` w.p. 0.6, ``38`` w.p. 0.4), the
      stand-in for calibrated statistics written down in text.

    Returns ``(tokens, weight)``; ``weight [N, T - 1]`` is 1 on every real next token and 0 on
    padding (records are one token shorter than reports).

    Paper: course addition — the tiny model's pretraining text.
    """
    if n_digits < 1:
        raise ValueError(f"n_digits must be at least 1, got {n_digits}")
    pad = tokenizer.pad_id
    T = task.n_features + 1 + n_digits
    # records: features, question, answer key, padding
    u = rng.random(len(records))  # [n_rec]
    positive_first = u < 0.5  # pragma: no mutate (u is continuous: P(u = 0.5) = 0)
    rec = torch.full((len(records), T), pad)  # int64, as pad is an int
    for order in (True, False):
        rows = np.flatnonzero(positive_first == order)
        if rows.size == 0:
            continue
        rec[rows, : task.n_features + 1] = prompt_tokens(
            task, tokenizer, records.X[rows], MC_FORMAT, order
        )
        says_yes = records.y[rows] == 1
        key_yes, key_no = ("A", "B") if order else ("B", "A")
        rec[rows, task.n_features + 1] = torch.as_tensor(
            np.where(says_yes, tokenizer.id(key_yes), tokenizer.id(key_no))
        )
    # reports: features, question, digits of a stochastically rounded true risk
    scale = 10**n_digits
    scaled = reports.p_true * scale
    u = rng.random(len(reports))  # [n_rep]
    round_up = u < scaled - np.floor(scaled)  # pragma: no mutate (u is continuous)
    value = np.floor(scaled) + round_up
    value = np.clip(value, 0, scale - 1).astype(int)  # [n_rep], 0 .. 10^k - 1
    rep = torch.empty((len(reports), T), dtype=torch.long)
    rep[:, : task.n_features + 1] = prompt_tokens(
        task, tokenizer, reports.X, NUM_FORMAT
    )
    digit_ids = np.asarray([tokenizer.id(d) for d in DIGITS])
    for k in range(n_digits):
        place = scale // 10 ** (k + 1)
        rep[:, task.n_features + 1 + k] = torch.as_tensor(
            digit_ids[(value // place) % 10]
        )
    tokens = torch.cat([rec, rep])  # [N, T]
    weight = (tokens[:, 1:] != pad).float()  # [N, T - 1]
    return tokens, weight


def side_question_corpus(
    task: RiskTask,
    tokenizer: WordTokenizer,
    X,
    questions: tuple[SideQuestion, ...],
    rng: np.random.Generator,
    error_rate: float = 0.2,
    length: int | None = None,
):
    """Recorded answers to side questions, as pretraining text: ``(tokens [n, length], weight)``.

    Row ``i`` is person ``X[i]``, one of ``questions`` at random, in a random key order, and the
    key of the answer, which is *wrong* with probability ``error_rate`` (noisy web text). Rows
    are padded to ``length`` (default ``F + 3``, the length of :func:`pretraining_corpus` rows), so
    the two corpora can be concatenated; ``weight [n, length - 1]`` is 0 on padding.

    Paper: course addition — questions with a definite answer, for the tuning stand-in.
    """
    X = task.check_rows(X)
    if not questions:
        raise ValueError("give at least one side question")
    if not 0.0 <= error_rate < 0.5:
        raise ValueError(f"error_rate must be in [0, 0.5), got {error_rate!r}")
    n, F = X.shape[0], task.n_features
    length = F + 3 if length is None else int(length)
    if length < F + 2:
        raise ValueError(f"length must be at least F + 2 = {F + 2}, got {length}")
    which = rng.integers(len(questions), size=n)  # [n] question index
    positive_first = rng.random(n) < 0.5  # pragma: no mutate (continuous: < is <=)
    wrong = rng.random(n) < error_rate  # pragma: no mutate (continuous: < is <=)
    tokens = torch.full((n, length), tokenizer.pad_id)  # int64, as pad_id is an int
    for k, question in enumerate(questions):
        for order in (True, False):
            rows = np.flatnonzero((which == k) & (positive_first == order))
            if rows.size == 0:
                continue
            tokens[rows, : F + 1] = prompt_tokens(
                task, tokenizer, X[rows], MC_FORMAT, order, question
            )
            says_yes = (
                question.answers(task, X[rows]) != wrong[rows]
            )  # flip the wrong ones
            key_yes, key_no = ("A", "B") if order else ("B", "A")
            tokens[rows, F + 1] = torch.as_tensor(
                np.where(says_yes, tokenizer.id(key_yes), tokenizer.id(key_no))
            )
    weight = (tokens[:, 1:] != tokenizer.pad_id).float()  # [n, length - 1]
    return tokens, weight


# ------------------------------------------------------------------------------ risk scores
def two_option_risk(logits: torch.Tensor, yes_id: int, no_id: int) -> np.ndarray:
    """The multiple-choice risk score, ``R = P(yes-key | x) / (P(yes-key | x) + P(no-key | x))``.

    The paper's multiple-choice risk score (the chapter's Eq. 1): the next-token probabilities of
    the two answer keys, renormalized over the two. ``logits [n, V]`` are the next-token logits at
    the answer position.
    Equals ``softmax(logits[:, [yes, no]])[:, 0]``, computed as ``sigmoid(l_yes - l_no)``.

    Paper: multiple-choice risk score, P(A) / (P(A) + P(B)) (chapter Eq. 1) (arXiv:2407.14614v3).
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(
            f"logits must be a torch.Tensor of shape [n, V], got {type(logits).__name__}"
        )
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape [n, V], got {tuple(logits.shape)}")
    V = logits.shape[1]
    for name, i in (("yes_id", yes_id), ("no_id", no_id)):
        if not 0 <= int(i) < V:
            raise ValueError(f"{name}={i} is outside the vocabulary [0, {V})")
    if yes_id == no_id:
        raise ValueError("yes_id and no_id must be different tokens")
    pair = logits[:, [yes_id, no_id]]
    if not bool(torch.isfinite(pair).all()):
        row = int(torch.nonzero(~torch.isfinite(pair).all(1))[0, 0])
        raise ValueError(
            f"logits must be finite at yes_id and no_id; row {row} holds "
            f"{pair[row].tolist()}"
        )
    return torch.sigmoid(logits[:, yes_id] - logits[:, no_id]).double().cpu().numpy()


@torch.no_grad()
def _last_logits(
    model: TinyLM, prompts: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """Next-token logits ``[n, V]`` after each prompt ``[n, T]``, in batches."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [
        model(prompts[i : i + batch_size].to(device))[:, -1].float().cpu()
        for i in range(0, prompts.shape[0], batch_size)
    ]
    model.train(was_training)
    return torch.cat(out)


def risk_multiple_choice(
    model: TinyLM,
    tokenizer: WordTokenizer,
    task: RiskTask,
    X,
    average_orderings: bool = False,
    min_answer_mass: float = 0.1,
) -> np.ndarray:
    """Multiple-choice risk scores ``[n]`` of rows ``X`` from one forward pass per prompt.

    With ``positive_first`` ordering ("A. Yes  B. No") the risk is ``P(A) / (P(A) + P(B))``
    (:func:`two_option_risk`); ``average_orderings=True`` also asks with the keys swapped and
    averages the two risks, removing a bias towards one letter (the paper's remedy for key bias).
    Warns when the two keys get less than ``min_answer_mass`` of the next-token probability on
    average: the model is then not answering the question.

    Paper: multiple-choice risk score, optionally over both key orders (arXiv:2407.14614v3).
    """
    orders = (True, False) if average_orderings else (True,)
    a, b = tokenizer.id("A"), tokenizer.id("B")
    risks = []
    for positive_first in orders:
        logits = _last_logits(
            model, prompt_tokens(task, tokenizer, X, MC_FORMAT, positive_first)
        )
        probs = torch.softmax(logits, -1)  # pragma: no mutate (2-D: dim 1 is dim -1)
        mass = (probs[:, a] + probs[:, b]).mean().item()
        if mass < min_answer_mass:
            warnings.warn(
                f"answer keys get only {mass:.3f} of the next-token probability on average",
                RuntimeWarning,
                stacklevel=2,  # pragma: no mutate (where the warning points, no result)
            )
        yes, no = (a, b) if positive_first else (b, a)
        risks.append(two_option_risk(logits, yes, no))
    risk = np.mean(risks, axis=0)
    # a mean of sigmoids lies in [0, 1]: this check never fails, its name never shows
    return check_probabilities(  # pragma: no mutate (see above)
        risk,
        "multiple-choice risk",  # pragma: no mutate (see above)
    )


def digits_to_risk(digits) -> np.ndarray:
    """Read decoded digits ``[n, k]`` (ints 0-9) as the number ``0.d_1 d_2 ... d_k``; shape ``[n]``.

    Paper: reading a verbalized answer '0.XY' as a number (chapter Eq. 2) (arXiv:2407.14614v3).
    """
    digits = np.asarray(digits)
    if digits.ndim != 2 or digits.shape[1] < 1 or digits.shape[0] == 0:
        raise ValueError(
            f"digits must have shape [n, k] with n, k >= 1, got {digits.shape}"
        )
    if (
        not np.issubdtype(digits.dtype, np.integer)
        or digits.min() < 0
        or digits.max() > 9
    ):
        raise ValueError("digits must be integers between 0 and 9")
    places = 10.0 ** -np.arange(1, digits.shape[1] + 1)  # [k]
    return digits @ places


def risk_verbalized(
    model: TinyLM, tokenizer: WordTokenizer, task: RiskTask, X, n_digits: int = 2
) -> np.ndarray:
    """Verbalized (numeric) risk scores ``[n]``: the number the model *writes* after "0.".

    Greedy decoding of ``n_digits`` tokens restricted to the digits, one forward pass per digit,
    read as ``0.d_1 d_2`` (the chapter's Eq. 2; the paper's numeric prompt is decoded this way). The
    result is a stated number on a grid of ``10^n_digits`` values, not a probability the model
    assigns to an outcome.

    Paper: verbalized (numeric) risk score, greedy digits (chapter Eq. 2) (arXiv:2407.14614v3).
    """
    if n_digits < 1:
        raise ValueError(f"n_digits must be at least 1, got {n_digits}")
    prompts = prompt_tokens(task, tokenizer, X, NUM_FORMAT)  # [n, F + 1]
    digit_ids = [tokenizer.id(d) for d in DIGITS]
    device = next(model.parameters()).device
    out = torch.cat(
        [
            generate_greedy(
                model, prompts[i : i + 4096].to(device), n_digits, allowed=digit_ids
            )[:, -n_digits:].cpu()
            for i in range(0, prompts.shape[0], 4096)
        ]
    )  # [n, n_digits] token ids
    lookup = {tid: d for d, tid in enumerate(digit_ids)}
    digits = np.vectorize(lookup.__getitem__)(out.numpy())
    # 0.d_1 d_2 ... lies in [0, 1): this check never fails, its name never shows
    return check_probabilities(  # pragma: no mutate (see above)
        digits_to_risk(digits),
        "verbalized risk",  # pragma: no mutate (see above)
    )


# ---------------------------------------------------------------- instruction-tuning stand-in
def sharpen(risk, temperature: float) -> np.ndarray:
    """Sharpened risks ``sigmoid(logit(r) / temperature)``: ``temperature < 1`` pushes them towards
    0 and 1 without changing their order (so AUC is unchanged), ``temperature = 1`` is the identity.

    Paper: course addition — temperature sharpening, for the exercises.
    """
    from utils.calibration import distort_probs

    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    risk = check_probabilities(risk, "risk")
    return distort_probs(risk, tau=1.0 / temperature)


def answer_key_loss(model: TinyLM, batch) -> torch.Tensor:
    """Cross-entropy of the next token after each prompt against a *soft* answer target.

    ``batch = (prompts [B, T], yes_ids [B], no_ids [B], q [B])``: the target puts probability ``q``
    on the key meaning "yes" and ``1 - q`` on the key meaning "no",
    ``loss = -mean(q log P(yes-key) + (1 - q) log P(no-key))``.

    Paper: course addition — the cross-entropy used by both tuning stand-ins.
    """
    prompts, yes_ids, no_ids, q = batch
    last = model(prompts)[:, -1]  # [B, V]
    logp = torch.log_softmax(last, dim=-1)  # pragma: no mutate (2-D: dim 1 is dim -1)
    rows = torch.arange(prompts.shape[0], device=prompts.device)
    return -(q * logp[rows, yes_ids] + (1 - q) * logp[rows, no_ids]).mean()


def _tune_answer_keys(
    model, examples, *, replay, generator, steps, lr, batch_size, desc
):
    """Train a copy of ``model`` with :func:`answer_key_loss` on ``examples`` = (prompts [N, L],
    yes ids [N], no ids [N], targets [N]), plus next-token loss on ``replay`` = (tokens, weights)
    batches when given; the shared loop of :func:`instruction_tune` and
    :func:`tune_on_answers`."""
    from utils.training import train

    n = len(examples[0])  # pragma: no mutate (the four tensors share their N rows)
    device = next(model.parameters()).device
    tuned = copy.deepcopy(model)

    def next_batch(step):
        idx = torch.randint(n, (min(batch_size, n),), generator=generator)
        batch = tuple(t[idx].to(device) for t in examples)
        if replay is None:
            return batch
        r_tokens, r_weight = replay
        ridx = torch.randint(
            len(r_tokens), (min(batch_size, len(r_tokens)),), generator=generator
        )
        return batch, (r_tokens[ridx].to(device), r_weight[ridx].to(device))

    def loss_fn(m, batch):
        if replay is None:
            return answer_key_loss(m, batch)
        tune_batch, replay_batch = batch
        return answer_key_loss(m, tune_batch) + next_token_loss(m, replay_batch)

    train(tuned, loss_fn, next_batch, steps=steps, lr=lr, desc=desc)
    return tuned


def instruction_tune(
    model: TinyLM,
    tokenizer: WordTokenizer,
    task: RiskTask,
    X,
    *,
    steps: int,
    temperature: float = 0.25,
    lr: float = 1e-3,
    batch_size: int = 256,
    replay: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
) -> TinyLM:
    """Our stand-in for instruction tuning: fine-tune a copy towards its own *sharpened* answers.

    For every row of ``X``, in both key orders, the base model's multiple-choice risk ``r`` is
    sharpened to ``q = sigmoid(logit(r) / temperature)`` (:func:`sharpen`), and a copy of the whole
    model is fine-tuned with :func:`answer_key_loss` to answer ``q``. This rewards decisive answers
    (the copy learns to be more certain than its own evidence) while keeping their order: the
    polarization the paper finds after instruction tuning (its score-distribution figures). It is
    a mechanism that produces the effect, not how real chat models are trained.

    ``replay = (tokens, weight)``, e.g. the pretraining corpus, adds its next-token loss on a batch
    of the same size at every step, as InstructGPT's "PPO-ptx" mixes pretraining gradients into
    fine-tuning (Ouyang et al. 2022) so that the model keeps its other skills. Returns the tuned
    copy; ``model`` is unchanged.

    Paper: course addition — self-distillation stand-in for instruction tuning (exercises).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if replay is not None:
        r_tokens, r_weight = replay
        if (
            r_tokens.dim() != 2
            or r_tokens.shape[0] == 0
            or r_weight.shape != (r_tokens.shape[0], r_tokens.shape[1] - 1)
        ):
            raise ValueError(
                f"replay must be (tokens [N, T], weight [N, T - 1]), got shapes "
                f"{tuple(r_tokens.shape)} and {tuple(r_weight.shape)}"
            )
    a, b = tokenizer.id("A"), tokenizer.id("B")
    prompts, yes_ids, no_ids, targets = [], [], [], []
    for positive_first in (True, False):
        p = prompt_tokens(task, tokenizer, X, MC_FORMAT, positive_first)  # [n, F + 1]
        yes, no = (a, b) if positive_first else (b, a)
        r = two_option_risk(_last_logits(model, p), yes, no)  # [n]
        prompts.append(p)
        yes_ids.append(torch.full((len(p),), yes))
        no_ids.append(torch.full((len(p),), no))
        targets.append(torch.as_tensor(sharpen(r, temperature), dtype=torch.float32))
    prompts, yes_ids, no_ids, targets = map(
        torch.cat, (prompts, yes_ids, no_ids, targets)
    )
    generator = torch.Generator().manual_seed(int(seed))
    return _tune_answer_keys(
        model,
        (prompts, yes_ids, no_ids, targets),
        replay=replay,
        generator=generator,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        desc="instruction tuning (stand-in)",
    )


def tune_on_answers(
    model: TinyLM,
    tokenizer: WordTokenizer,
    task: RiskTask,
    X,
    questions: tuple[SideQuestion, ...],
    *,
    steps: int,
    label_noise: float = 0.0,
    lr: float = 1e-3,
    batch_size: int = 256,
    replay: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
) -> TinyLM:
    """Our stand-in for instruction tuning: fine-tune a copy on hard 0/1 answers to side questions.

    Every row of ``X`` is asked every question of ``questions`` in both key orders; the target
    is the key of the correct answer (cross-entropy, :func:`answer_key_loss` with ``q`` in
    {0, 1}). ``label_noise`` flips that fraction of the targets once, at random (the control
    arm: tuning towards answers as noisy as the pretraining text). The task's own question is
    never tuned, so whatever happens to its risk scores is a side effect. ``replay = (tokens,
    weight)`` adds the next-token loss of a batch of the pretraining corpus at every step (as
    InstructGPT's "PPO-ptx"). Returns the tuned copy; ``model`` is unchanged.

    Paper: course addition — a mechanism for the polarization of §4 (arXiv:2407.14614v3) that
    does not target the income scores.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {label_noise!r}")
    if not questions:
        raise ValueError("give at least one side question to tune on")
    if replay is not None:
        r_tokens, r_weight = replay
        if (
            r_tokens.dim() != 2
            or r_tokens.shape[0] == 0
            or r_weight.shape != (r_tokens.shape[0], r_tokens.shape[1] - 1)
        ):
            raise ValueError(
                f"replay must be (tokens [N, T], weight [N, T - 1]), got shapes "
                f"{tuple(r_tokens.shape)} and {tuple(r_weight.shape)}"
            )
    X = task.check_rows(X)
    a, b = tokenizer.id("A"), tokenizer.id("B")
    generator = torch.Generator().manual_seed(int(seed))
    prompts, yes_ids, no_ids, targets = [], [], [], []
    for question in questions:
        answer = torch.as_tensor(question.answers(task, X), dtype=torch.float32)  # [n]
        for positive_first in (True, False):
            prompts.append(
                prompt_tokens(task, tokenizer, X, MC_FORMAT, positive_first, question)
            )
            yes, no = (a, b) if positive_first else (b, a)
            yes_ids.append(torch.full((len(X),), yes))
            no_ids.append(torch.full((len(X),), no))
            targets.append(answer)
    prompts, yes_ids, no_ids, targets = map(
        torch.cat, (prompts, yes_ids, no_ids, targets)
    )
    u = torch.rand(len(targets), generator=generator)  # [N]
    flip = u < label_noise  # pragma: no mutate (u is continuous: P(tie) = 0)
    targets = torch.where(flip, 1 - targets, targets)
    tuned = _tune_answer_keys(
        model,
        (prompts, yes_ids, no_ids, targets),
        replay=replay,
        generator=generator,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        desc="tuning on side answers",
    )
    return tuned.eval()


# ------------------------------------------------------------------------------ evaluation
def auc_score(y, scores) -> float:
    """ROC AUC (the chapter's Eq. 3): P(a random positive scores above a random negative), ties 1/2.

    Computed from ranks (the Mann-Whitney U statistic): ``(sum of positives' ranks - n1 (n1 + 1) / 2)
    / (n1 n0)``, with tied scores sharing their mean rank, which matters for verbalized scores
    that take few distinct values. Same value as ``sklearn.metrics.roc_auc_score``.

    Paper: ROC AUC, the paper's measure of ranking (chapter Eq. 3) (arXiv:2407.14614v3).
    """
    y = check_outcomes(y)  # errors name it "y", the default
    scores = check_array(scores, "scores", finite=False)
    if scores.shape != y.shape:
        raise ValueError(
            f"y and scores must have the same length, got {y.size} and {scores.size}"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs at least one positive and one negative outcome")
    order = np.argsort(scores)  # tied scores share their mean rank: any order will do
    sorted_scores = scores[order]
    ranks = np.empty(y.size)
    # mean rank (1-based) of each run of tied scores
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], y.size]
    run_rank = (starts + 1 + ends) / 2.0  # mean of ranks start+1 .. end
    ranks[order] = np.repeat(run_rank, ends - starts)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def evaluate_risk_scores(y, risk, n_bins: int = 10) -> dict:
    """The paper's evaluation of a risk score (chapter Eqs. 3-4): AUC, ECE, Brier, accuracy, spread.

    ``ece`` is the binned expected calibration error with ``n_bins`` equal-width bins
    (:func:`utils.calibration.ece_binned`), ``brier`` the mean squared error
    (:func:`utils.calibration.brier_score`), ``accuracy`` at threshold 0.5, ``sd`` and ``mean`` the
    standard deviation and mean of the scores (the paper's measure of how polarized they are).

    Paper: the evaluation: AUC, ECE, Brier, accuracy, score spread (Eqs. 3-4) (arXiv:2407.14614v3).
    """
    risk = check_probabilities(risk, "risk")
    y = check_outcomes(y)  # errors name it "y", the default
    return {
        "auc": auc_score(y, risk),
        "ece": ece_binned(risk, y, n_bins=n_bins),
        "brier": brier_score(risk, y),
        "accuracy": float(np.mean((risk >= 0.5) == (y == 1))),
        "sd": float(np.std(risk)),
        "mean": float(np.mean(risk)),
    }


def calibration_slope(y, risk, clip: float = 1e-6) -> float:
    """Calibration slope: the slope ``b`` of the logistic regression ``P(y=1) = sigmoid(a + b
    logit(r))`` of the outcomes on the logit of the scores (maximum likelihood, Newton's method).

    ``b = 1`` for a calibrated score, ``b < 1`` for an over-confident one (its logits are too
    large: ``1 / b`` is the temperature that would undo it), ``b > 1`` for an under-confident one.
    Scores are clipped to ``[clip, 1 - clip]`` before the logit. Same value as scikit-learn's
    ``LogisticRegression(C=np.inf)`` on ``logit(r)``.

    Paper: course addition — a one-number summary of over-confidence that, unlike the score sd,
    does not confuse a shift of the scores with their spread.
    """
    risk = check_probabilities(risk, "risk")
    y = check_outcomes(y)  # errors name it "y", the default
    if risk.shape != y.shape:
        raise ValueError(
            f"y and risk must have the same length, got {y.size} and {risk.size}"
        )
    if y.min() == y.max():
        raise ValueError("the calibration slope needs both outcomes")
    r = np.clip(risk, clip, 1 - clip)
    z = np.log(r) - np.log1p(-r)
    if np.ptp(z) == 0:
        raise ValueError("the calibration slope needs scores that are not all equal")
    design = np.stack([np.ones_like(z), z], axis=1)  # [n, 2]
    coef = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ coef)))
        grad = design.T @ (y - p)
        hess = (design * (p * (1 - p))[:, None]).T @ design
        step = np.linalg.solve(hess + 1e-12 * np.eye(2), grad)
        coef += step
        if np.abs(step).max() < 1e-10:  # pragma: no mutate (continuous: < is <=)
            break
    return float(coef[1])
