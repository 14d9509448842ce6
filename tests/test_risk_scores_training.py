"""Exact values of utils.risk_scores' corpus, read-outs and tuning stand-ins (ch. 02).

It pins exact values to kill the mutants (``python3 course.py mutate risk_scores``)
that the other risk_scores tests (test_risk_scores.py, test_risk_scores_exact.py) let
survive: the pretraining corpus of a five-person population written out word by word
for a fixed rng (key orders, answer keys, stochastic rounding, the clip onto the digit
grid, the draws made); the multiple-choice and verbalized read-outs against a
hand-computed softmax and a hand-written greedy decoder, with the answer-mass warning at
its boundary; the tuning stand-ins against a hand-written AdamW loop (same seed, same
batches), the examples, defaults and generator they hand to the shared loop, and their
replay checks with every error message anchored at both ends. Every model is a
one-layer TinyLM.
"""

import copy
import os
import re
import warnings

import numpy as np
import pytest
import torch
from scipy.special import expit, logit

from utils import risk_scores as rs
from utils.risk_scores import (
    Feature,
    Population,
    RiskTask,
    SideQuestion,
    build_tokenizer,
    instruction_tune,
    pretraining_corpus,
    prompt_tokens,
    risk_multiple_choice,
    risk_verbalized,
    tune_on_answers,
)
from utils.tiny_lm import TinyLM, TinyLMConfig, next_token_loss

TINY = RiskTask(
    name="Tiny",
    target="score",
    threshold=10.0,
    question="Is the score above 10?",
    features=(
        Feature("a", ("a0", "a1"), ("has a0", "has a1"), (0.5, 0.5), (-1.0, 1.0)),
        Feature(
            "b",
            ("b0", "b1", "b2"),
            ("has b0", "has b1", "has b2"),
            (0.2, 0.3, 0.5),
            (0.0, 0.5, 2.0),
        ),
    ),
    intercept=0.25,
    interaction=("a", "b", 0.5),
)
SIDE = (
    SideQuestion("a1", "a", ("a1",), "Is a a1?"),
    SideQuestion("b12", "b", ("b1", "b2"), "Is b b1 or b2?"),
)
# six people; the answers to SIDE, worked out by hand from the fields
X6 = np.array([[0, 0], [1, 2], [0, 1], [1, 0], [1, 1], [0, 2]])
ANSWERS6 = {"a1": [0, 1, 0, 1, 1, 0], "b12": [0, 1, 1, 0, 1, 1]}
MC_YES, MC_NO = "<ask:A=yes,B=no>", "<ask:A=no,B=yes>"
REPLAY_ERROR = "replay must be (tokens [N, T], weight [N, T - 1]), got shapes {} and {}"


def tokenizer():
    """25 tokens: <pad>, the five categories, three questions, A (9), B (10), the digits
    (11-20), then the two side questions in both key orders."""
    return build_tokenizer(TINY, SIDE)


def tiny_model(seed=0, max_len=6, head_scale=30.0):
    """A one-layer, eight-wide TinyLM with a scaled-up head so answers differ."""
    torch.manual_seed(seed)
    config = TinyLMConfig(
        vocab_size=25, d_model=8, n_heads=1, n_layers=1, d_ff=8, max_len=max_len
    )
    model = TinyLM(config)
    with torch.no_grad():
        model.head.weight.mul_(head_scale)
    return model.eval()


def ids(tok, rows):
    """Token ids of rows of words."""
    return torch.tensor([[tok.id(w) for w in row] for row in rows])


def people(X, y=None, p_true=None):
    X = np.asarray(X)
    n = len(X)
    y = np.zeros(n, dtype=int) if y is None else np.asarray(y)
    p_true = np.full(n, 0.5) if p_true is None else np.asarray(p_true, dtype=float)
    return Population(X, np.full(n, 10.0), y, p_true)


# ------------------------------------------------------------------- pretraining corpus
def test_pretraining_corpus_rows_word_by_word():
    """Seed 3 draws 0.086 0.237 0.801 0.582 0.094 for the records (key orders A=yes,
    A=yes, A=no, A=no, A=yes) and 0.433 0.479 0.160 0.735 0.114 for the reports."""
    tok = tokenizer()
    draws = np.random.default_rng(3).random(10)
    assert list(draws[:5] < 0.5) == [True, True, False, False, True]
    assert draws[7] < 0.4 and draws[9] > 0.1  # 37.4 rounds up, 7.1 rounds down
    records = people(X6[:5], y=[1, 0, 1, 0, 1])
    reports = people(
        [[0, 0], [1, 1], [1, 2], [0, 2], [0, 1]], p_true=[0.0, 1.0, 0.374, 0.5, 0.071]
    )
    rng = np.random.default_rng(3)
    tokens, weight = pretraining_corpus(TINY, tok, records, reports, rng)
    expected = [
        ["a:a0", "b:b0", MC_YES, "A", "<pad>"],  # y = 1
        ["a:a1", "b:b2", MC_YES, "B", "<pad>"],  # y = 0
        ["a:a0", "b:b1", MC_NO, "B", "<pad>"],  # y = 1, "yes" is B
        ["a:a1", "b:b0", MC_NO, "A", "<pad>"],  # y = 0, "no" is A
        ["a:a1", "b:b1", MC_YES, "A", "<pad>"],
        ["a:a0", "b:b0", "<ask:probability>", "0", "0"],  # 0.0
        ["a:a1", "b:b1", "<ask:probability>", "9", "9"],  # 1.0, clipped to 0.99
        ["a:a1", "b:b2", "<ask:probability>", "3", "8"],  # 0.374 up
        ["a:a0", "b:b2", "<ask:probability>", "5", "0"],  # 0.5 exactly
        ["a:a0", "b:b1", "<ask:probability>", "0", "7"],  # 0.071 down
    ]
    # records are [features, question, key] and one pad (the reports have 2 digits)
    assert tokens.dtype == torch.long and tokens.shape == (10, 5)
    assert torch.equal(tokens, ids(tok, expected))
    assert weight.dtype == torch.float32
    assert torch.equal(weight[:5], torch.tensor([[1.0, 1.0, 1.0, 0.0]] * 5))
    assert torch.equal(weight[5:], torch.ones(5, 4))
    # one draw per record, then one per report
    assert rng.bit_generator.state == _after(np.random.default_rng(3), 10)


def _after(rng, n):
    rng.random(n)
    return rng.bit_generator.state


@pytest.mark.parametrize(
    "seed, question, key",
    [(0, MC_NO, "B"), (2, MC_YES, "A")],  # first draw 0.637 (A=no) and 0.262 (A=yes)
)
def test_pretraining_corpus_one_digit_and_a_lone_record(seed, question, key):
    """One record (so one key order has no rows, the other one row), one-digit reports:
    0.25 -> 3 (draws 0.270 and 0.298), 0.96 -> 9 or 10, clipped to 9."""
    tok = tokenizer()
    draws = np.random.default_rng(seed).random(3)
    assert draws[1] < 0.5
    records = people([[1, 2]], y=[1])
    reports = people([[0, 1], [1, 0]], p_true=[0.25, 0.96])
    rng = np.random.default_rng(seed)
    tokens, weight = pretraining_corpus(TINY, tok, records, reports, rng, n_digits=1)
    expected = [
        ["a:a1", "b:b2", question, key],
        ["a:a0", "b:b1", "<ask:probability>", "3"],
        ["a:a1", "b:b0", "<ask:probability>", "9"],
    ]
    assert torch.equal(tokens, ids(tok, expected))
    assert torch.equal(weight, torch.ones(3, 3))
    assert rng.bit_generator.state == _after(np.random.default_rng(seed), 3)


def test_pretraining_corpus_clips_every_report_onto_the_digit_grid():
    """Stated risks are 0.00 .. 0.99 even for a (bad) risk outside [0, 1]."""
    tok = tokenizer()
    reports = people([[0, 0], [1, 1], [0, 2]], p_true=[-0.2, 1.5, 0.999])
    tokens, _ = pretraining_corpus(
        TINY, tok, people([[0, 0]]), reports, np.random.default_rng(0), n_digits=2
    )
    digits = [["0", "0"], ["9", "9"], ["9", "9"]]
    assert torch.equal(tokens[1:, 3:], ids(tok, digits))


def test_pretraining_corpus_needs_a_digit():
    tok = tokenizer()
    with pytest.raises(ValueError, match=r"^n_digits must be at least 1, got 0$"):
        pretraining_corpus(
            TINY, tok, people([[0, 0]]), people([[0, 0]]), np.random.default_rng(0), 0
        )


# --------------------------------------------------------------- multiple-choice risk
def test_risk_multiple_choice_by_hand():
    """P(yes key) / (P(A) + P(B)) after the A=yes prompt; its mean with the A=no one."""
    tok = tokenizer()
    model = tiny_model()
    with torch.no_grad():  # the keys get most of the mass
        model.head.bias[[tok.id("A"), tok.id("B")]] = 4.0
        first = model(prompt_tokens(TINY, tok, X6, "mc", True))[:, -1]
        second = model(prompt_tokens(TINY, tok, X6, "mc", False))[:, -1]
    a, b = tok.id("A"), tok.id("B")
    p_first = expit((first[:, a] - first[:, b]).double().numpy())
    p_second = expit((second[:, b] - second[:, a]).double().numpy())
    assert np.ptp(p_first) > 0.1 and np.abs(p_first - p_second).max() > 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = risk_multiple_choice(model, tok, TINY, X6)
        r_both = risk_multiple_choice(model, tok, TINY, X6, average_orderings=True)
    np.testing.assert_allclose(r, p_first, rtol=1e-6)
    np.testing.assert_allclose(r_both, (p_first + p_second) / 2, rtol=1e-6)


def constant_model(key_logit):
    """Logits equal to the head's bias always: ``key_logit`` on A, B, else 0."""
    tok = tokenizer()
    model = tiny_model()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[[tok.id("A"), tok.id("B")]] = key_logit
    return model


def test_risk_multiple_choice_warns_below_the_answer_mass():
    """Keys at logit log(23 * 0.3 / 1.4), 23 zeros: 2e / (2e + 23) = 0.3 of the mass."""
    tok = tokenizer()
    model = constant_model(float(np.log(23 * 0.3 / 1.4)))
    X = X6[:4]
    logits = model.head.bias.detach().expand(4, 25)
    probs = torch.softmax(logits, -1)
    mass = (probs[:, tok.id("A")] + probs[:, tok.id("B")]).mean().item()
    assert mass == pytest.approx(0.3, abs=1e-6)
    message = "answer keys get only 0.300 of the next-token probability on average"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        risk_multiple_choice(model, tok, TINY, X)  # the default asks for 0.1
        risk_multiple_choice(model, tok, TINY, X, min_answer_mass=mass)
    with pytest.warns(RuntimeWarning, match=f"^{re.escape(message)}$") as record:
        r = risk_multiple_choice(
            model, tok, TINY, X, min_answer_mass=float(np.nextafter(mass, 1.0))
        )
    # it points at a caller, not at the library (a caller is this file, or mutmut's
    # trampoline when the tests run under mutmut)
    assert len(record) == 1
    assert not record[0].filename.endswith(os.path.join("utils", "risk_scores.py"))
    np.testing.assert_array_equal(r, np.full(4, 0.5))
    # 2e/(2e + 23) = 0.05 is below the default
    low = constant_model(float(np.log(23 * 0.05 / 1.9)))
    with pytest.warns(RuntimeWarning, match=r"^answer keys get only 0\.050 of the"):
        risk_multiple_choice(low, tok, TINY, X)


# ------------------------------------------------------------------- verbalized risk
def greedy_digits(model, tok, X, n_digits):
    """The risk 0.d_1 d_2 ... written by arg-max decoding over the digits, by hand."""
    digit_ids = torch.tensor([tok.id(str(d)) for d in range(10)])
    seq = prompt_tokens(TINY, tok, X, "num")
    risk = np.zeros(len(X))
    with torch.no_grad():
        for k in range(n_digits):
            d = model(seq)[:, -1][:, digit_ids].argmax(-1)
            risk += d.numpy() / 10 ** (k + 1)
            seq = torch.cat([seq, digit_ids[d][:, None]], dim=1)
    return risk


def test_risk_verbalized_by_hand():
    """Digits only, even where the model would rather say "A"; two digits by default."""
    tok = tokenizer()
    model = tiny_model()
    with torch.no_grad():
        model.head.bias[tok.id("A")] = 100.0
        prompts = prompt_tokens(TINY, tok, X6, "num")
        assert (model(prompts)[:, -1].argmax(-1) == tok.id("A")).all()
    hand = {k: greedy_digits(model, tok, X6, k) for k in (1, 2, 3)}
    assert len(set(hand[1])) > 1 and not np.allclose(hand[3], hand[2])
    for k in (1, 2, 3):
        r = risk_verbalized(model, tok, TINY, X6, n_digits=k)
        np.testing.assert_allclose(r, hand[k], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        risk_verbalized(model, tok, TINY, X6), risk_verbalized(model, tok, TINY, X6, 2)
    )


def test_risk_verbalized_answers_every_row_beyond_one_batch():
    """4097 prompts are decoded in batches of 4096: every row once, in order."""
    tok = tokenizer()
    model = tiny_model(max_len=4)
    X = np.random.default_rng(0).integers(0, [2, 3], size=(4097, 2))
    r = risk_verbalized(model, tok, TINY, X, n_digits=1)
    assert r.shape == (4097,)
    in_parts = np.concatenate(
        [
            risk_verbalized(model, tok, TINY, X[:4096], n_digits=1),
            risk_verbalized(model, tok, TINY, X[4096:], n_digits=1),
        ]
    )
    np.testing.assert_array_equal(r, in_parts)
    np.testing.assert_allclose(r[-1:], greedy_digits(model, tok, X[-1:], 1), atol=1e-12)


def test_risk_verbalized_needs_a_digit():
    tok = tokenizer()
    with pytest.raises(ValueError, match=r"^n_digits must be at least 1, got 0$"):
        risk_verbalized(tiny_model(), tok, TINY, X6, n_digits=0)


# ------------------------------------------------------------------ the tuning loop
def tunable_model():
    """:func:`tiny_model` with the attention's input bias frozen: its key part gets
    gradients of rounding noise only (a softmax ignores a shift), which AdamW would blow
    up to steps of size lr."""
    model = tiny_model()
    model.blocks[0].self_attn.in_proj_bias.requires_grad_(False)
    return model


def hand_tune(model, examples, replay, generator, steps, lr, batch_size):
    """AdamW on -mean(q log P(yes key) + (1 - q) log P(no key)), plus the next-token
    loss of a replay batch drawn right after the tuning batch, step by step."""
    tuned = copy.deepcopy(model).train()
    trainable = [p for p in tuned.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.0)
    prompts, yes, no, q = examples
    for _ in range(steps):
        idx = torch.randint(
            len(prompts), (min(batch_size, len(prompts)),), generator=generator
        )
        logp = torch.log_softmax(tuned(prompts[idx])[:, -1], dim=-1)
        rows = torch.arange(len(idx))
        loss = -(q[idx] * logp[rows, yes[idx]] + (1 - q[idx]) * logp[rows, no[idx]])
        loss = loss.mean()
        if replay is not None:
            tokens, weight = replay
            ridx = torch.randint(
                len(tokens), (min(batch_size, len(tokens)),), generator=generator
            )
            loss = loss + next_token_loss(tuned, (tokens[ridx], weight[ridx]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return tuned.eval()


def assert_same_weights(tuned, reference, base):
    """Equal to the hand-tuned weights; the frozen bias as it was, the rest moved."""
    for (name, p), r, b in zip(
        tuned.named_parameters(), reference.parameters(), base.parameters()
    ):
        torch.testing.assert_close(p, r, rtol=1e-5, atol=1e-7, msg=name)
        assert p.requires_grad == b.requires_grad, name
        if p.requires_grad:
            assert not torch.allclose(p, b, atol=1e-3), name
        else:
            assert torch.equal(p, b), name


def replay_corpus(tok, n=7):
    """``n`` rows of pretraining text ([n, 5] tokens, [n, 4] weight)."""
    rng = np.random.default_rng(5)
    X = rng.integers(0, [2, 3], size=(n, 2))
    half = n // 2
    return pretraining_corpus(
        TINY, tok, people(X[:half], y=X[:half, 0]), people(X[half:]), rng
    )


@pytest.fixture
def progress_labels(monkeypatch):
    """The label and length of every progress bar that utils.training.train opens."""
    import utils.training

    labels = []

    def progress(iterable, desc=None, **kwargs):
        labels.append((desc, len(iterable)))
        return iterable

    monkeypatch.setattr(utils.training, "progress", progress)
    return labels


@pytest.mark.parametrize("with_replay", [False, True])
def test_tune_answer_keys_equals_a_hand_written_loop(with_replay, progress_labels):
    """Three AdamW steps at lr 0.02, batches of 4 of 12 examples (and 7 replay rows)."""
    tok = tokenizer()
    model = tunable_model()
    before = copy.deepcopy(model.state_dict())
    X = np.concatenate([X6, X6[::-1]])
    examples = (
        prompt_tokens(TINY, tok, X, "mc"),
        torch.full((12,), tok.id("A")),
        torch.full((12,), tok.id("B")),
        torch.linspace(0.0, 1.0, 12),
    )
    replay = replay_corpus(tok) if with_replay else None
    global_rng = torch.get_rng_state()
    generator = torch.Generator().manual_seed(11)
    tuned = rs._tune_answer_keys(
        model,
        examples,
        replay=replay,
        generator=generator,
        steps=3,
        lr=0.02,
        batch_size=4,
        desc="my label",
    )
    reference_generator = torch.Generator().manual_seed(11)
    reference = hand_tune(model, examples, replay, reference_generator, 3, 0.02, 4)
    assert_same_weights(tuned, reference, model)
    assert torch.equal(generator.get_state(), reference_generator.get_state())
    assert torch.equal(torch.get_rng_state(), global_rng)  # only the generator drew
    assert progress_labels == [("my label", 3)]
    for name, value in model.state_dict().items():  # a copy was tuned
        assert torch.equal(value, before[name])
    assert not tuned.training


# ------------------------------------------------------------------ instruction tuning
class Recorder:
    """Stands in for the shared loop: keeps what it is handed, returns ``result``."""

    def __init__(self, result):
        self.result = result
        self.calls = []

    def __call__(self, model, examples, **kwargs):
        self.calls.append((model, examples, kwargs))
        return self.result


def own_answers(model, tok, X, temperature):
    """Both key orders: prompts, yes/no keys and the sharpened own risk, by hand."""
    a, b = tok.id("A"), tok.id("B")
    with torch.no_grad():
        first = model(prompt_tokens(TINY, tok, X, "mc", True))[:, -1]
        second = model(prompt_tokens(TINY, tok, X, "mc", False))[:, -1]
    r = np.concatenate(
        [
            expit((first[:, a] - first[:, b]).double().numpy()),
            expit((second[:, b] - second[:, a]).double().numpy()),
        ]
    )
    n = len(X)
    return (
        torch.cat(
            [
                prompt_tokens(TINY, tok, X, "mc", True),
                prompt_tokens(TINY, tok, X, "mc", False),
            ]
        ),
        torch.tensor([a] * n + [b] * n),
        torch.tensor([b] * n + [a] * n),
        torch.tensor(expit(logit(r) / temperature), dtype=torch.float32),
    )


def assert_examples(examples, expected):
    prompts, yes, no, q = examples
    assert torch.equal(prompts, expected[0])
    assert torch.equal(yes, expected[1]) and torch.equal(no, expected[2])
    assert q.dtype == torch.float32
    torch.testing.assert_close(q, expected[3], rtol=1e-5, atol=1e-6)


def generator_state(seed, draws=0):
    generator = torch.Generator().manual_seed(seed)
    torch.rand(draws, generator=generator)
    return generator.get_state()


def test_instruction_tune_hands_the_loop_its_sharpened_answers(monkeypatch):
    tok = tokenizer()
    model = tiny_model()
    replay = replay_corpus(tok)
    loop = Recorder(result=object())
    monkeypatch.setattr(rs, "_tune_answer_keys", loop)
    out = instruction_tune(
        model,
        tok,
        TINY,
        X6,
        steps=3,
        temperature=0.5,
        lr=0.02,
        batch_size=7,
        replay=replay,
        seed=4,
    )
    assert out is loop.result
    (handed, examples, kwargs), *rest = loop.calls
    assert handed is model and rest == []
    expected = own_answers(model, tok, X6, 0.5)
    assert_examples(examples, expected)
    assert expected[3].min() < 0.2 and expected[3].max() > 0.8  # sharpened
    assert torch.equal(kwargs.pop("generator").get_state(), generator_state(4))
    assert kwargs.pop("replay") is replay
    assert kwargs == {
        "steps": 3,
        "lr": 0.02,
        "batch_size": 7,
        "desc": "instruction tuning (stand-in)",
    }


def test_instruction_tune_defaults(monkeypatch):
    """temperature 0.25, lr 1e-3, batches of 256, seed 0, no replay."""
    tok = tokenizer()
    model = tiny_model()
    loop = Recorder(result=object())
    monkeypatch.setattr(rs, "_tune_answer_keys", loop)
    instruction_tune(model, tok, TINY, X6, steps=1)
    (_, examples, kwargs), *_ = loop.calls
    assert_examples(examples, own_answers(model, tok, X6, 0.25))
    assert torch.equal(kwargs.pop("generator").get_state(), generator_state(0))
    assert kwargs == {
        "replay": None,
        "steps": 1,
        "lr": 1e-3,
        "batch_size": 256,
        "desc": "instruction tuning (stand-in)",
    }


def test_instruction_tune_equals_a_hand_written_loop(progress_labels):
    tok = tokenizer()
    model = tunable_model()
    replay = replay_corpus(tok)
    global_rng = torch.get_rng_state()
    tuned = instruction_tune(
        model,
        tok,
        TINY,
        X6,
        steps=2,
        temperature=0.5,
        lr=0.02,
        batch_size=5,
        replay=replay,
        seed=2,
    )
    examples = own_answers(model, tok, X6, 0.5)
    reference = hand_tune(
        model, examples, replay, torch.Generator().manual_seed(2), 2, 0.02, 5
    )
    assert_same_weights(tuned, reference, model)
    assert torch.equal(torch.get_rng_state(), global_rng)
    assert progress_labels == [("instruction tuning (stand-in)", 2)]


# ---------------------------------------------------------------- tuning on answers
def side_examples(tok, X, answers):
    """Every question in both key orders: prompts, yes/no keys and the 0/1 answers."""
    a, b = tok.id("A"), tok.id("B")
    n = len(X)
    prompts, yes, no, q = [], [], [], []
    for question in SIDE:
        for positive_first in (True, False):
            prompts.append(prompt_tokens(TINY, tok, X, "mc", positive_first, question))
            yes += [a if positive_first else b] * n
            no += [b if positive_first else a] * n
            q += answers[question.name]
    return (
        torch.cat(prompts),
        torch.tensor(yes),
        torch.tensor(no),
        torch.tensor(q, dtype=torch.float32),
    )


def test_tune_on_answers_hands_the_loop_the_side_answers(monkeypatch):
    """The targets whose draw (seed 3) is below the label noise 0.5 are flipped; after
    24 draws the generator goes to the loop; the tuned copy comes back in eval mode."""
    tok = tokenizer()
    model = tiny_model()
    replay = replay_corpus(tok)
    loop = Recorder(result=tiny_model().train())
    monkeypatch.setattr(rs, "_tune_answer_keys", loop)
    out = tune_on_answers(
        model,
        tok,
        TINY,
        X6,
        SIDE,
        steps=3,
        label_noise=0.5,
        lr=0.02,
        batch_size=7,
        replay=replay,
        seed=3,
    )
    assert out is loop.result and not out.training
    (handed, examples, kwargs), *rest = loop.calls
    assert handed is model and rest == []
    expected = side_examples(tok, X6, ANSWERS6)
    flip = torch.rand(24, generator=torch.Generator().manual_seed(3)) < 0.5
    assert 0 < flip.sum() < 24
    noisy = torch.where(flip, 1.0 - expected[3], expected[3])
    assert_examples(examples, (*expected[:3], noisy))
    assert torch.equal(kwargs.pop("generator").get_state(), generator_state(3, 24))
    assert kwargs.pop("replay") is replay
    assert kwargs == {
        "steps": 3,
        "lr": 0.02,
        "batch_size": 7,
        "desc": "tuning on side answers",
    }


def test_tune_on_answers_defaults_and_full_noise(monkeypatch):
    """No noise, lr 1e-3, batches of 256, seed 0, no replay; label_noise=1 flips all."""
    tok = tokenizer()
    model = tiny_model()
    loop = Recorder(result=tiny_model())
    monkeypatch.setattr(rs, "_tune_answer_keys", loop)
    tune_on_answers(model, tok, TINY, X6, SIDE, steps=1)
    tune_on_answers(model, tok, TINY, X6, SIDE, steps=1, label_noise=1.0)
    (_, clean, kwargs), (_, flipped, _) = loop.calls
    expected = side_examples(tok, X6, ANSWERS6)
    assert_examples(clean, expected)
    assert_examples(flipped, (*expected[:3], 1.0 - expected[3]))
    assert torch.equal(kwargs.pop("generator").get_state(), generator_state(0, 24))
    assert kwargs == {
        "replay": None,
        "steps": 1,
        "lr": 1e-3,
        "batch_size": 256,
        "desc": "tuning on side answers",
    }


def test_tune_on_answers_equals_a_hand_written_loop(progress_labels):
    """The label-noise draws come first from the seeded generator, then the batches."""
    tok = tokenizer()
    model = tunable_model()
    replay = replay_corpus(tok)
    global_rng = torch.get_rng_state()
    tuned = tune_on_answers(
        model,
        tok,
        TINY,
        X6,
        SIDE,
        steps=2,
        label_noise=0.25,
        lr=0.02,
        batch_size=5,
        replay=replay,
        seed=1,
    )
    generator = torch.Generator().manual_seed(1)
    prompts, yes, no, q = side_examples(tok, X6, ANSWERS6)
    flip = torch.rand(24, generator=generator) < 0.25
    assert 0 < flip.sum() < 24
    examples = (prompts, yes, no, torch.where(flip, 1.0 - q, q))
    reference = hand_tune(model, examples, replay, generator, 2, 0.02, 5)
    assert_same_weights(tuned, reference, model)
    assert torch.equal(torch.get_rng_state(), global_rng)
    assert progress_labels == [("tuning on side answers", 2)]
    assert not tuned.training


def test_tune_on_answers_rejects_bad_arguments():
    tok = tokenizer()
    model = tiny_model()
    with pytest.raises(
        ValueError, match=r"^give at least one side question to tune on$"
    ):
        tune_on_answers(model, tok, TINY, X6, (), steps=1)
    for noise in (-0.1, 1.5):
        message = f"label_noise must be in [0, 1], got {noise!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            tune_on_answers(model, tok, TINY, X6, SIDE, steps=1, label_noise=noise)


# ------------------------------------------------------------------ replay checks
TUNERS = {
    "instruction_tune": lambda model, tok, replay: instruction_tune(
        model, tok, TINY, X6, steps=1, replay=replay
    ),
    "tune_on_answers": lambda model, tok, replay: tune_on_answers(
        model, tok, TINY, X6, SIDE, steps=1, replay=replay
    ),
}


@pytest.mark.parametrize("tuner", TUNERS)
@pytest.mark.parametrize(
    "tokens, weight",
    [
        (torch.zeros(5, dtype=torch.long), torch.ones(5, 4)),  # one row, not a batch
        (torch.zeros(0, 5, dtype=torch.long), torch.ones(0, 4)),  # no rows
        (torch.zeros(3, 5, dtype=torch.long), torch.ones(3, 5)),  # weight too long
        (torch.zeros(3, 5, dtype=torch.long), torch.ones(5, 4)),  # rows differ
    ],
)
def test_replay_must_be_tokens_and_their_weight(tuner, tokens, weight, monkeypatch):
    monkeypatch.setattr(rs, "_tune_answer_keys", Recorder(result=tiny_model()))
    message = REPLAY_ERROR.format(tuple(tokens.shape), tuple(weight.shape))
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TUNERS[tuner](tiny_model(), tokenizer(), (tokens, weight))


@pytest.mark.parametrize("tuner", TUNERS)
def test_replay_of_one_row_is_enough(tuner, monkeypatch):
    """A single [1, 5] row with its [1, 4] weight is passed on as it is."""
    loop = Recorder(result=tiny_model())
    monkeypatch.setattr(rs, "_tune_answer_keys", loop)
    replay = replay_corpus(tokenizer(), n=1)
    assert replay[0].shape == (1, 5)
    TUNERS[tuner](tiny_model(), tokenizer(), replay)
    assert loop.calls[0][2]["replay"] is replay
