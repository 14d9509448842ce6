"""reStructured Pre-training: storing facts so that they are easy to access, in
miniature.

Chapter 08 of the course. Paper: Weizhe Yuan, Pengfei Liu (2022). reStructured
Pre-training. arXiv preprint, arXiv:2206.11147. Official resources (data and model
pointers, no training code): https://github.com/ExpressAI/reStructured-Pretraining. This
module is written from the paper's definitions; every public function names the part of
the paper it implements in a ``Paper:`` line of its docstring.

The paper views pre-training as *storing* data in a model and tuning/prompting as
*accessing* it (§1, §3), and proposes to *restructure* raw data into explicit signals
written in one uniform prompt format before pre-training (§4). The miniature: a world of
people with a city and a job; a raw-text corpus of short biographies; a restructured
corpus in which the same facts are also mined into ``query city of p7 answer city3``
signals; a tiny transformer (:mod:`utils.tiny_lm`) pre-trained on each with the same
number of optimisation steps; and an exam of four-option questions in a format neither
corpus contains, tuned on a few people and scored on people held out from tuning.

Shapes: ``N`` sequences, ``T`` tokens per sequence, ``V`` vocabulary size, ``K``
options.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from utils.tiny_lm import TinyLM, TinyLMConfig, WordTokenizer, next_token_loss
from utils.training import train
from utils.validation import check_positive

__all__ = [
    "World",
    "make_world",
    "raw_document",
    "restructure",
    "plain_statements",
    "exam_items",
    "cloze_items",
    "build_corpus",
    "make_tokenizer",
    "make_model",
    "encode_for_lm",
    "pretrain",
    "tune_on_exam",
    "option_scores",
    "multiple_choice_accuracy",
    "RELATIONS",
    "ARMS",
]

RELATIONS = ("city", "job")
ARMS = ("raw", "raw3", "rst", "plain")
FILLERS = (
    ("the", "weather", "was", "mild", "."),
    ("people", "like", "music", "."),
    ("a", "new", "road", "opened", "."),
    ("the", "market", "is", "busy", "."),
)


@dataclass(frozen=True)
class World:
    """Ground truth: ``city[p]`` and ``job[p]`` (integer arrays ``[n_people]``).

    Paper: course addition — a synthetic world whose facts are known exactly.
    """

    city: np.ndarray
    job: np.ndarray
    n_values: int

    @property
    def n_people(self) -> int:
        return len(self.city)

    def value(self, person: int, relation: str) -> str:
        """The fact ``relation`` of ``person`` as a token, e.g. ``"city3"``."""
        _check_relation(relation)
        _check_person(self, person)
        return f"{relation}{int(getattr(self, relation)[person])}"


def _check_relation(relation):
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _check_person(world, person):
    if not _is_int(person) or not 0 <= person < world.n_people:
        raise ValueError(
            f"person must be an integer in [0, {world.n_people}), got {person!r}"
        )


def _check_people(world, people, name="people"):
    if isinstance(people, (str, bytes)) or np.ndim(people) != 1:
        raise ValueError(f"{name} must be a 1-D list of person ids, got {people!r}")
    people = list(people)
    if not people:
        raise ValueError(f"{name} is empty")
    for p in people:
        if not _is_int(p) or not 0 <= p < world.n_people:
            raise ValueError(
                f"{name} must hold person ids, integers in [0, {world.n_people}); "
                f"got {p!r}"
            )
    return people


def make_world(n_people: int, n_values: int, rng: np.random.Generator) -> World:
    """A world of ``n_people`` people, each with a city and a job drawn uniformly from
    ``n_values`` values each.

    Stands for the "naturally occurring data" of §4, synthetic so that every
    fact is known (arXiv:2206.11147v1).

    Paper: course addition — a synthetic world with known facts.
    """
    for name, v, low in (("n_people", n_people, 1), ("n_values", n_values, 2)):
        if not _is_int(v) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator (course.rng)")
    return World(
        city=rng.integers(0, n_values, n_people),
        job=rng.integers(0, n_values, n_people),
        n_values=int(n_values),
    )


def _mention(world, person, relation, reverse=False):
    name, value = f"p{person}", world.value(person, relation)
    if relation == "city":
        return (
            [value, "is", "home", "to", name, "."]
            if reverse
            else [name, "lives", "in", value, "."]
        )
    return (
        [value, "is", "the", "job", "of", name, "."]
        if reverse
        else [name, "works", "as", "a", value, "."]
    )


def raw_document(
    world: World,
    person: int,
    rng: np.random.Generator,
    reversed_frac: float = 0.5,
    n_fillers: int = 1,
) -> str:
    """A raw "biography": the person's two facts, each written forwards (``p7 lives in
    city3 .``) or, with probability ``reversed_frac``, reversed (``city3 is home to p7
    .``), shuffled with ``n_fillers`` distinct filler sentences.

    Stands for the raw text of §4.1 ("naturally occurring data"),
    where a fact is mentioned in varied surface forms among unrelated text
    (arXiv:2206.11147v1).

    Paper: course addition — raw text with known facts in it.
    """
    _check_person(world, person)
    if (
        isinstance(reversed_frac, bool)
        or not isinstance(reversed_frac, (int, float, np.integer, np.floating))
        or not 0.0 <= reversed_frac <= 1.0
    ):
        raise ValueError(f"reversed_frac must be in [0, 1], got {reversed_frac!r}")
    if not _is_int(n_fillers) or not 0 <= n_fillers <= len(FILLERS):
        raise ValueError(
            f"n_fillers must be an integer in [0, {len(FILLERS)}], got {n_fillers!r}"
        )
    sentences = [
        _mention(world, person, rel, rng.random() < reversed_frac) for rel in RELATIONS
    ]
    picks = rng.choice(len(FILLERS), n_fillers, replace=False)
    sentences += [list(FILLERS[i]) for i in picks]
    order = rng.permutation(len(sentences))
    return " ".join(tok for i in order for tok in sentences[i])


def restructure(world: World, person: int) -> list[str]:
    """The person's facts mined into signals of one uniform schema,
    ``query <relation> of p<person> answer <value>``, one signal per relation.

    Paper: §4, signals restructured into one prompted format (arXiv:2206.11147v1).
    """
    _check_person(world, person)
    return [
        f"query {rel} of p{person} answer {world.value(person, rel)}"
        for rel in RELATIONS
    ]


def plain_statements(world: World, person: int) -> list[str]:
    """The person's facts as standalone forward sentences (``p7 lives in city3 .``): the
    control that extracts the facts but keeps plain-text wording instead of the query
    schema.

    Paper: course addition — a control for §4.3's claim that the uniform format matters.
    """
    _check_person(world, person)
    return [" ".join(_mention(world, person, rel)) for rel in RELATIONS]


def _options(world, person, relation, rng, k):
    if not _is_int(k) or not 2 <= k <= world.n_values:
        raise ValueError(
            f"k must be an integer in [2, n_values={world.n_values}], got {k!r}"
        )
    true = int(getattr(world, relation)[person])
    others = rng.permutation([v for v in range(world.n_values) if v != true])[: k - 1]
    values = rng.permutation(np.r_[true, others])
    return [f"{relation}{v}" for v in values], int(np.flatnonzero(values == true)[0])


def exam_items(
    world: World, people, rng: np.random.Generator, k: int = 4
) -> list[dict]:
    """Multiple-choice exam questions, one per person and relation: prompt
    ``exam p7 city ?``, ``k`` options (the true value and ``k - 1`` distinct wrong ones,
    in random order) and ``answer``, the index of the true option.

    Stands for the Gaokao-style exam of §6 (arXiv:2206.11147v1),
    in a format that no pre-training corpus contains.

    Paper: course addition — a miniature exam.
    """
    items = []
    for p in _check_people(world, people):
        for rel in RELATIONS:
            options, answer = _options(world, p, rel, rng, k)
            items.append(
                {"prompt": f"exam p{p} {rel} ?", "options": options, "answer": answer}
            )
    return items


def cloze_items(
    world: World, people, rng: np.random.Generator, k: int = 4
) -> list[dict]:
    """Storage probes in the raw-text wording: prompts ``p7 lives in`` and ``p7 works as
    a``, with ``k`` options as in :func:`exam_items`.

    Measures what was *stored* (§3's storage view) without any tuning.

    Paper: course addition — a storage probe without tuning.
    """
    stems = {"city": "lives in", "job": "works as a"}
    items = []
    for p in _check_people(world, people):
        for rel in RELATIONS:
            options, answer = _options(world, p, rel, rng, k)
            items.append(
                {"prompt": f"p{p} {stems[rel]}", "options": options, "answer": answer}
            )
    return items


def build_corpus(
    world: World, arm: str, epochs: int, rng: np.random.Generator
) -> list[str]:
    """The pre-training sequences of one arm, epoch after epoch (each epoch shuffled).

    Per person and epoch: ``raw`` two raw documents; ``raw3`` three (matches the RST
    arm's usable forward mentions per fact); ``rst`` one raw document plus the
    restructured signals; ``plain`` one raw document plus the facts as standalone
    sentences.

    Paper: §4, pre-training on restructured data vs raw text (arXiv:2206.11147v1).
    """
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    if not _is_int(epochs) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    n_raw = {"raw": 2, "raw3": 3, "rst": 1, "plain": 1}[arm]
    corpus = []
    for _ in range(epochs):
        epoch = []
        for p in range(world.n_people):
            epoch += [raw_document(world, p, rng) for _ in range(n_raw)]
            if arm == "rst":
                epoch += restructure(world, p)
            elif arm == "plain":
                epoch += plain_statements(world, p)
        corpus += [epoch[i] for i in rng.permutation(len(epoch))]
    return corpus


def make_tokenizer(world: World) -> WordTokenizer:
    """A word tokenizer covering every word any arm, probe or exam can produce.

    Paper: course addition — one shared vocabulary, so that all arms are comparable.
    """
    words = [f"p{p}" for p in range(world.n_people)]
    words += [f"{r}{v}" for r in RELATIONS for v in range(world.n_values)]
    words += list(RELATIONS) + "lives in works as a is home to the job of".split()
    words += "query answer exam ? .".split()
    words += [w for f in FILLERS for w in f]
    return WordTokenizer.fit([" ".join(words)])


def make_model(
    vocab_size: int, generator: torch.Generator, max_len: int = 32
) -> TinyLM:
    """A :class:`~utils.tiny_lm.TinyLM` (2 layers, width 64) initialised from
    ``generator``.

    Paper: course addition — a miniature of the 11B encoder-decoder of §5.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator (course.torch_generator(k))"
        )
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return TinyLM(
            TinyLMConfig(
                vocab_size, d_model=64, n_heads=4, n_layers=2, d_ff=128, max_len=max_len
            )
        )


def encode_for_lm(tokenizer: WordTokenizer, texts, answer_only: bool = False):
    """``(tokens [N, T], weight [N, T-1])`` for :func:`utils.tiny_lm.next_token_loss`:
    weight 1 on every real next token (0 on padding), or only on the last token when
    ``answer_only``.

    Paper: §5, maximum-likelihood pre-training as next-token loss (arXiv:2206.11147v1).
    """
    if isinstance(texts, str) or len(texts) == 0:
        raise ValueError("texts must be a non-empty list of strings")
    tokens = tokenizer.encode_batch(list(texts))  # [N, T]
    lengths = (tokens != tokenizer.pad_id).sum(1)  # [N]
    if lengths.min() < 2:
        raise ValueError("texts must have at least two tokens each")
    pos = torch.arange(1, tokens.shape[1])[None, :]  # targets at t = 1..T-1
    if answer_only:
        weight = (pos == lengths[:, None] - 1).float()  # [N, T-1]
    else:
        weight = (pos < lengths[:, None]).float()  # [N, T-1]
    return tokens, weight


def _run(model, tokens, weight, steps, batch_size, lr, snapshot_at, desc):
    """Train with the course loop, reading rows in order (wrapping round); copy the
    model
    after each step listed in ``snapshot_at`` (1-based)."""
    n = tokens.shape[0]
    snapshots = {}

    def next_batch(step):
        idx = torch.arange(step * batch_size, (step + 1) * batch_size) % n
        return tokens[idx], weight[idx]

    def on_step(step, model):
        if step + 1 in snapshot_at:
            snapshots[step + 1] = copy.deepcopy(model).eval()

    log = train(
        model,
        next_token_loss,
        next_batch,
        steps=steps,
        lr=lr,
        on_step=on_step,
        desc=desc,  # pragma: no mutate (the progress bar's label, no result)
    )
    return log.losses, snapshots


def pretrain(
    model: TinyLM,
    tokenizer: WordTokenizer,
    corpus,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    snapshot_at=(),
):
    """Pre-train ``model`` on ``corpus`` (read in order, ``batch_size`` sequences per
    step) for ``steps`` AdamW steps of next-token loss. Returns ``(losses, snapshots)``,
    where ``snapshots[s]`` is a copy of the model after step ``s`` for each ``s`` in
    ``snapshot_at``.

    Paper: §5, pre-training as storing data in the model (arXiv:2206.11147v1).
    """
    if not _is_int(steps) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    lr = check_positive(lr, "lr")
    bad = [s for s in snapshot_at if not 1 <= s <= steps]
    if bad:
        raise ValueError(f"snapshot_at must lie in [1, steps={steps}], got {bad[0]}")
    tokens, weight = encode_for_lm(tokenizer, corpus)
    return _run(
        model,
        tokens,
        weight,
        int(steps),
        int(batch_size),
        lr,
        set(snapshot_at),
        "pre-training",  # pragma: no mutate (the progress bar's label, no result)
    )


def _item_texts(items):
    return [f"{it['prompt']} {it['options'][it['answer']]}" for it in items]


def tune_on_exam(
    model: TinyLM, tokenizer: WordTokenizer, items, *, steps: int = 60, lr: float = 2e-3
) -> TinyLM:
    """A tuned *copy* of ``model``: ``steps`` full-batch AdamW steps on the exam items,
    loss only on the answer token (the original model is left unchanged).

    Paper: §3, accessing stored knowledge by tuning (arXiv:2206.11147v1).
    """
    if len(items) == 0:
        raise ValueError("items is empty")
    tuned = copy.deepcopy(model)
    tokens, weight = encode_for_lm(tokenizer, _item_texts(items), answer_only=True)
    if not _is_int(steps) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    lr = check_positive(lr, "lr")
    _run(
        tuned,
        tokens,
        weight,
        int(steps),
        len(items),
        lr,
        (),
        "tuning",  # pragma: no mutate (the progress bar's label, no result)
    )
    return tuned


@torch.no_grad()
def option_scores(model: TinyLM, tokenizer: WordTokenizer, items) -> np.ndarray:
    """``[N, K]`` log-probabilities of each item's options as the next token after its
    prompt, normalised over the options only (a token that is not an option can never be
    chosen).

    Paper: §6, multiple choice by scoring each option (arXiv:2206.11147v1).
    """
    if len(items) == 0:
        raise ValueError("items is empty")
    k = len(items[0]["options"])
    if any(len(it["options"]) != k for it in items):
        raise ValueError("items must all have the same number of options")
    prompts = [tokenizer.encode(it["prompt"]) for it in items]
    options = torch.tensor(
        [[tokenizer.id(o) for o in it["options"]] for it in items]
    )  # [N, K]
    tokens = tokenizer.encode_batch([it["prompt"] for it in items])  # [N, T]
    last = torch.tensor([len(p) - 1 for p in prompts])
    model.eval()
    logits = model(tokens)[torch.arange(len(items)), last]  # [N, V]
    chosen = logits.gather(1, options)  # [N, K]
    return torch.log_softmax(chosen, dim=1).numpy()


def multiple_choice_accuracy(model: TinyLM, tokenizer: WordTokenizer, items) -> float:
    """Fraction of items whose highest-scoring option (:func:`option_scores`) is the
    answer.

    Paper: §6, the exam score as multiple-choice accuracy (arXiv:2206.11147v1).
    """
    scores = option_scores(model, tokenizer, items)
    answers = np.array([it["answer"] for it in items])
    if answers.min() < 0 or answers.max() >= scores.shape[1]:
        raise ValueError("an item's answer index is outside its options")
    return float(np.mean(scores.argmax(1) == answers))
