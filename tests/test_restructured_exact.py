"""Exact tests of utils.restructured (chapter 08) that pin what the first test file
leaves open: the boundaries of every check, the exact error messages, the batches that
pre-training and tuning read (with the course's training loop replaced by a recorder),
and the documented model recipe."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from utils import restructured as rs
from utils.tiny_lm import TinyLM, TinyLMConfig


@pytest.fixture
def world():
    return rs.World(city=np.array([3, 0, 7]), job=np.array([1, 9, 1]), n_values=10)


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ the world and ids
def test_make_world_replays_its_generator_and_accepts_the_smallest_sizes():
    w = rs.make_world(40, 3, rng(5))
    g = rng(5)
    np.testing.assert_array_equal(w.city, g.integers(0, 3, 40))
    np.testing.assert_array_equal(w.job, g.integers(0, 3, 40))
    assert w.n_values == 3 and type(w.n_values) is int
    one = rs.make_world(1, 2, rng())  # n_people = 1 and n_values = 2 are allowed
    assert one.n_people == 1 and one.n_values == 2


@pytest.mark.parametrize(
    "n_people, n_values, message",
    [
        (0, 3, "n_people must be an integer >= 1, got 0"),
        (True, 3, "n_people must be an integer >= 1, got True"),
        (2, 1, "n_values must be an integer >= 2, got 1"),
        (2, 2.0, "n_values must be an integer >= 2, got 2.0"),
    ],
)
def test_make_world_messages(n_people, n_values, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        rs.make_world(n_people, n_values, rng())


def test_make_world_rng_message():
    with pytest.raises(
        TypeError, match=r"^rng must be a numpy Generator \(course.rng\)$"
    ):
        rs.make_world(2, 2, np.random.RandomState(0))


@pytest.mark.parametrize("person", [True, 1.0, -1, 3, np.int64(3)])
def test_person_must_be_an_integer_id(world, person):
    for fn in (rs.restructure, rs.plain_statements):
        with pytest.raises(
            ValueError, match=r"^person must be an integer in \[0, 3\), got "
        ):
            fn(world, person)


def test_numpy_integer_ids_are_people_too(world):
    assert rs.restructure(world, np.int64(2)) == rs.restructure(world, 2)
    items = rs.exam_items(world, np.array([2, 0]), rng(1), k=2)
    assert [it["prompt"] for it in items] == [
        "exam p2 city ?",
        "exam p2 job ?",
        "exam p0 city ?",
        "exam p0 job ?",
    ]


@pytest.mark.parametrize(
    "people, message",
    [
        ([1.0], r"people must hold person ids, integers in \[0, 3\); got 1.0"),
        ([True], r"people must hold person ids, integers in \[0, 3\); got True"),
        ([0, -1], r"people must hold person ids, integers in \[0, 3\); got -1"),
        ([[0, 1]], r"people must be a 1-D list of person ids"),
        (2, r"people must be a 1-D list of person ids, got 2"),
        ("01", r"people must be a 1-D list of person ids, got '01'"),
        ([], r"people is empty"),
    ],
)
def test_people_messages(world, people, message):
    for fn in (rs.exam_items, rs.cloze_items):
        with pytest.raises(ValueError, match=f"^{message}"):
            fn(world, people, rng())


# ----------------------------------------------------------------------- renderings
class FixedUniform:
    """A generator whose ``random()`` is always ``u``; the rest is numpy's."""

    def __init__(self, u, seed=0):
        self.u, self.g = u, np.random.default_rng(seed)

    def random(self):
        return self.u

    def choice(self, *args, **kwargs):
        return self.g.choice(*args, **kwargs)

    def permutation(self, *args):
        return self.g.permutation(*args)


def test_a_draw_equal_to_reversed_frac_keeps_the_forward_wording(world):
    # reversed when u < reversed_frac: a draw of exactly 0.25 is not below 0.25
    doc = rs.raw_document(world, 0, FixedUniform(0.25), reversed_frac=0.25)
    assert "p0 lives in city3 ." in doc and "p0 works as a job1 ." in doc
    doc = rs.raw_document(world, 0, FixedUniform(0.2499), reversed_frac=0.25)
    assert "city3 is home to p0 ." in doc and "job1 is the job of p0 ." in doc


def test_all_four_fillers_are_distinct(world):
    fillers = {" ".join(f) for f in rs.FILLERS}
    for seed in range(10):
        doc = rs.raw_document(world, 2, rng(seed), n_fillers=len(rs.FILLERS))
        assert doc.count(".") == 2 + 4
        for f in fillers:
            assert doc.count(f) == 1, (seed, doc)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(reversed_frac=1.0001), r"reversed_frac must be in \[0, 1\], got 1.0001"),
        (dict(reversed_frac=np.nan), r"reversed_frac must be in \[0, 1\], got nan"),
        (dict(reversed_frac=True), r"reversed_frac must be in \[0, 1\], got True"),
        (dict(reversed_frac="0.5"), r"reversed_frac must be in \[0, 1\], got '0.5'"),
        (dict(n_fillers=-1), r"n_fillers must be an integer in \[0, 4\], got -1"),
        (dict(n_fillers=5), r"n_fillers must be an integer in \[0, 4\], got 5"),
        (dict(n_fillers=1.0), r"n_fillers must be an integer in \[0, 4\], got 1.0"),
        (dict(n_fillers=True), r"n_fillers must be an integer in \[0, 4\], got True"),
    ],
)
def test_raw_document_messages(world, kw, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        rs.raw_document(world, 0, rng(), **kw)


def test_raw_document_accepts_the_end_points(world):
    assert (
        rs.raw_document(world, 0, rng(), reversed_frac=0, n_fillers=0).count(".") == 2
    )
    assert rs.raw_document(world, 0, rng(), reversed_frac=1, n_fillers=np.int64(4))


def test_options_with_k_two_and_the_default_four(world):
    items = rs.cloze_items(world, [0, 1], rng(2), k=2)
    assert all(len(it["options"]) == 2 for it in items)
    assert [it["options"][it["answer"]] for it in items] == [
        "city3",
        "job1",
        "city0",
        "job9",
    ]
    assert all(len(it["options"]) == 4 for it in rs.cloze_items(world, [0], rng()))
    assert all(len(it["options"]) == 4 for it in rs.exam_items(world, [0], rng()))
    assert all(
        len(it["options"]) == 10 for it in rs.exam_items(world, [0], rng(), k=10)
    )


@pytest.mark.parametrize("k", [1, 11, 3.0, True])
def test_k_messages(world, k):
    for fn in (rs.exam_items, rs.cloze_items):
        with pytest.raises(
            ValueError, match=r"^k must be an integer in \[2, n_values=10\], got "
        ):
            fn(world, [0], rng(), k=k)


def test_build_corpus_epochs_message(world):
    for bad in (True, 1.0, 0):
        with pytest.raises(
            ValueError, match=r"^epochs must be a positive integer, got "
        ):
            rs.build_corpus(world, "raw", bad, rng())
    assert len(rs.build_corpus(world, "raw", np.int64(1), rng())) == 6


# ---------------------------------------------------------------- model and encoding
def test_make_model_is_the_documented_recipe():
    """One seed drawn from the generator, then a 2-layer, width-64 TinyLM."""
    g = torch.Generator().manual_seed(3)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    torch.manual_seed(seed)
    ref = TinyLM(
        TinyLMConfig(30, d_model=64, n_heads=4, n_layers=2, d_ff=128, max_len=32)
    )
    ours = rs.make_model(30, torch.Generator().manual_seed(3))
    assert ours.config == ref.config
    for (name, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert torch.equal(a, b), name


def test_make_model_message():
    with pytest.raises(
        TypeError,
        match=r"^generator must be a torch.Generator \(course.torch_generator\(k\)\)$",
    ):
        rs.make_model(30, np.random.default_rng(0))


def test_encode_for_lm_messages(world):
    tok = rs.make_tokenizer(world)
    for bad in ([], "p0 lives in city3"):
        with pytest.raises(
            ValueError, match=r"^texts must be a non-empty list of strings$"
        ):
            rs.encode_for_lm(tok, bad)
    with pytest.raises(ValueError, match=r"^texts must have at least two tokens each$"):
        rs.encode_for_lm(tok, ["a is", "a"])


# ------------------------------------------- the batches read by pre-training and tuning
@pytest.fixture
def recorder(monkeypatch):
    """Replace the course's training loop by one that records what it is given."""
    calls = []

    def fake_train(model, loss_fn, next_batch, *, steps, lr, on_step, desc):
        calls.append(
            {
                "steps": steps,
                "lr": lr,
                "batches": [next_batch(s) for s in range(steps)],
            }
        )
        for s in range(steps):
            with torch.no_grad():
                model.head.weight.add_(1.0)  # a visible change per step
            on_step(s, model)
        return SimpleNamespace(losses=[float(s) for s in range(steps)])

    monkeypatch.setattr(rs, "train", fake_train)
    return calls


def _tiny(world):
    tok = rs.make_tokenizer(world)
    return tok, rs.make_model(len(tok), torch.Generator().manual_seed(0), max_len=8)


def test_pretrain_reads_rows_in_order_wrapping_round(world, recorder):
    tok, model = _tiny(world)
    corpus = [f"p{p} lives in city{c}" for p, c in [(0, 1), (1, 2), (2, 3), (0, 4)]]
    corpus.append("a is")
    tokens, weight = rs.encode_for_lm(tok, corpus)
    losses, snaps = rs.pretrain(
        model, tok, corpus, steps=3, batch_size=2, lr=0.05, snapshot_at=[1, 3]
    )
    (call,) = recorder
    assert call["steps"] == 3 and call["lr"] == 0.05 and losses == [0.0, 1.0, 2.0]
    for (tb, wb), rows in zip(call["batches"], [[0, 1], [2, 3], [4, 0]]):
        assert torch.equal(tb, tokens[rows]) and torch.equal(wb, weight[rows])
    # snapshots are copies taken after steps 1 and 3 (1-based)
    assert sorted(snaps) == [1, 3]
    w0 = rs.make_model(len(tok), torch.Generator().manual_seed(0), max_len=8)
    torch.testing.assert_close(snaps[1].head.weight, w0.head.weight + 1.0)
    torch.testing.assert_close(snaps[3].head.weight, w0.head.weight + 3.0)
    assert not snaps[1].training


def test_pretrain_defaults_are_64_rows_and_lr_3e_3(world, recorder):
    tok, model = _tiny(world)
    corpus = rs.restructure(world, 0) + rs.restructure(world, 1)
    tokens, _ = rs.encode_for_lm(tok, corpus)
    rs.pretrain(model, tok, corpus, steps=2)
    (call,) = recorder
    assert call["lr"] == 3e-3
    second, _ = call["batches"][1]
    assert second.shape[0] == 64
    assert torch.equal(second, tokens[torch.arange(64, 128) % 4])


def test_pretrain_boundaries_and_messages(world, recorder):
    tok, model = _tiny(world)
    corpus = ["a is", "p0 lives in city3"]
    rs.pretrain(model, tok, corpus, steps=1, batch_size=1, snapshot_at=[1])
    assert recorder[-1]["batches"][0][0].shape[0] == 1
    for kw, message in [
        (dict(steps=True), "steps must be a positive integer, got True"),
        (dict(steps=2.0), "steps must be a positive integer, got 2.0"),
        (dict(steps=0), "steps must be a positive integer, got 0"),
        (dict(steps=1, batch_size=0), "batch_size must be a positive integer, got 0"),
        (
            dict(steps=1, batch_size=2.0),
            "batch_size must be a positive integer, got 2.0",
        ),
        (dict(steps=1, lr=0.0), "lr must be a positive finite number, got 0.0"),
        (
            dict(steps=2, snapshot_at=[0]),
            r"snapshot_at must lie in \[1, steps=2\], got 0",
        ),
        (
            dict(steps=2, snapshot_at=[3]),
            r"snapshot_at must lie in \[1, steps=2\], got 3",
        ),
    ]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            rs.pretrain(model, tok, corpus, **kw)


def test_tune_on_exam_defaults_and_answer_only_weights(world, recorder):
    tok, model = _tiny(world)
    items = rs.exam_items(world, [0, 1, 2], rng(3), k=2)
    before = model.head.weight.clone()
    tuned = rs.tune_on_exam(model, tok, items)
    (call,) = recorder
    assert call["steps"] == 60 and call["lr"] == 2e-3 and len(call["batches"]) == 60
    texts = [f"{it['prompt']} {it['options'][it['answer']]}" for it in items]
    tokens, weight = rs.encode_for_lm(tok, texts, answer_only=True)
    for tb, wb in call["batches"][:2]:  # full batch: every item, every step
        assert torch.equal(tb, tokens) and torch.equal(wb, weight)
    assert weight.sum().item() == len(items)  # one weighted target per item: the answer
    assert torch.equal(model.head.weight, before)  # the original is untouched
    torch.testing.assert_close(tuned.head.weight, before + 60.0)


def test_tune_on_exam_boundaries_and_messages(world, recorder):
    tok, model = _tiny(world)
    items = rs.exam_items(world, [0], rng(3), k=2)
    rs.tune_on_exam(model, tok, items, steps=1, lr=0.5)
    assert recorder[-1]["steps"] == 1 and recorder[-1]["lr"] == 0.5
    for kw, message in [
        (dict(steps=True), "steps must be a positive integer, got True"),
        (dict(steps=1.0), "steps must be a positive integer, got 1.0"),
        (dict(steps=0), "steps must be a positive integer, got 0"),
        (dict(lr=-1.0), "lr must be a positive finite number, got -1.0"),
    ]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            rs.tune_on_exam(model, tok, items, **kw)
    with pytest.raises(ValueError, match="^items is empty$"):
        rs.tune_on_exam(model, tok, [])


def test_answer_index_message(world):
    tok, _ = _tiny(world)

    class Flat(torch.nn.Module):
        def forward(self, tokens):
            return torch.zeros(tokens.shape[0], tokens.shape[1], len(tok))

    item = {"prompt": "exam p0 city ?", "options": ["city1", "city3"], "answer": 2}
    with pytest.raises(
        ValueError, match=r"^an item's answer index is outside its options$"
    ):
        rs.multiple_choice_accuracy(Flat(), tok, [item])
    item["answer"] = -1
    with pytest.raises(ValueError, match=r"^an item's answer index"):
        rs.multiple_choice_accuracy(Flat(), tok, [item])
