"""Unit tests of utils.restructured (chapter 08): the renderings carry the same facts,
the exam's
answer key is right, the losses and the multiple-choice scoring match reference
computations."""

import re

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from torch import nn

from utils.restructured import (
    ARMS,
    RELATIONS,
    World,
    build_corpus,
    cloze_items,
    encode_for_lm,
    exam_items,
    make_model,
    make_tokenizer,
    make_world,
    multiple_choice_accuracy,
    option_scores,
    plain_statements,
    pretrain,
    raw_document,
    restructure,
    tune_on_exam,
)
from utils.tiny_lm import next_token_loss


@pytest.fixture
def world():
    return World(city=np.array([3, 0, 7]), job=np.array([1, 9, 1]), n_values=10)


def rng(seed=0):
    return np.random.default_rng(seed)


def facts_in(text):
    """Every (person, relation, value) a sentence of any rendering states."""
    pats = [
        (r"p(\d+) lives in city(\d+)", "city", 1, 2),
        (r"city(\d+) is home to p(\d+)", "city", 2, 1),
        (r"p(\d+) works as a job(\d+)", "job", 1, 2),
        (r"job(\d+) is the job of p(\d+)", "job", 2, 1),
        (r"query (city|job) of p(\d+) answer (?:city|job)(\d+)", None, 2, 3),
    ]
    out = set()
    for pat, rel, ip, iv in pats:
        for m in re.finditer(pat, text):
            out.add((int(m.group(ip)), rel or m.group(1), int(m.group(iv))))
    return out


def test_make_world_shapes_and_ranges():
    w = make_world(50, 4, rng())
    assert w.n_people == 50 and w.city.shape == (50,) and w.job.shape == (50,)
    assert w.city.min() >= 0 and w.city.max() <= 3 and set(w.job) <= set(range(4))
    assert w.value(0, "city") == f"city{w.city[0]}"
    np.testing.assert_array_equal(
        make_world(50, 4, rng(1)).city, make_world(50, 4, rng(1)).city
    )


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n_people=0, n_values=3), "n_people"),
        (dict(n_people=5, n_values=1), "n_values"),
        (dict(n_people=2.5, n_values=3), "n_people"),
    ],
)
def test_make_world_rejects_bad_sizes(kw, match):
    with pytest.raises(ValueError, match=match):
        make_world(rng=rng(), **kw)


def test_make_world_needs_a_generator():
    with pytest.raises(TypeError, match="rng"):
        make_world(3, 3, 0)


def test_world_by_hand():
    w = World(city=np.array([2, 5]), job=np.array([0, 4]), n_values=6)
    assert w.n_people == 2
    assert [w.value(1, "city"), w.value(1, "job"), w.value(0, "job")] == [
        "city5",
        "job4",
        "job0",
    ]


def test_value_rejects_unknown_relation_and_person(world):
    with pytest.raises(ValueError, match="relation"):
        world.value(0, "age")
    with pytest.raises(ValueError, match="person"):
        world.value(3, "city")
    with pytest.raises(ValueError, match="person"):
        world.value(-1, "city")


def test_raw_document_forward_and_reversed(world):
    fwd = raw_document(world, 0, rng(), reversed_frac=0.0)
    assert "p0 lives in city3 ." in fwd and "p0 works as a job1 ." in fwd
    rev = raw_document(world, 0, rng(), reversed_frac=1.0)
    assert "city3 is home to p0 ." in rev and "job1 is the job of p0 ." in rev
    assert "lives in" not in rev and "works as" not in rev
    assert fwd.count(".") == 3  # two facts, one filler
    assert raw_document(world, 0, rng(), n_fillers=0).count(".") == 2
    assert raw_document(world, 0, rng(), n_fillers=3).count(".") == 5


def test_raw_document_reverses_about_the_requested_fraction(world):
    g = rng(3)
    docs = [raw_document(world, 1, g, reversed_frac=0.25) for _ in range(800)]
    frac = np.mean([("home to" in d) for d in docs])
    assert 0.2 < frac < 0.3


def test_raw_document_rejects_bad_fraction(world):
    with pytest.raises(ValueError, match="reversed_frac"):
        raw_document(world, 0, rng(), reversed_frac=1.5)
    with pytest.raises(ValueError, match="reversed_frac"):
        raw_document(world, 0, rng(), reversed_frac=-0.1)
    with pytest.raises(ValueError, match="n_fillers"):
        raw_document(world, 0, rng(), n_fillers=5)


def test_restructure_and_plain_statements_by_hand(world):
    assert restructure(world, 2) == [
        "query city of p2 answer city7",
        "query job of p2 answer job1",
    ]
    assert plain_statements(world, 1) == ["p1 lives in city0 .", "p1 works as a job9 ."]
    with pytest.raises(ValueError, match="person"):
        restructure(world, 5)


@pytest.mark.parametrize("frac", [0.0, 0.5, 1.0])
def test_all_renderings_state_exactly_the_worlds_facts(frac):
    w = make_world(20, 5, rng(2))
    g = rng(4)
    truth = {(p, r, int(getattr(w, r)[p])) for p in range(20) for r in RELATIONS}
    raw = set().union(*(facts_in(raw_document(w, p, g, frac)) for p in range(20)))
    rst = set().union(*(facts_in(s) for p in range(20) for s in restructure(w, p)))
    plain = set().union(
        *(facts_in(s) for p in range(20) for s in plain_statements(w, p))
    )
    assert raw == truth and rst == truth and plain == truth


def test_exam_answer_key_is_right():
    w = make_world(30, 6, rng(5))
    items = exam_items(w, range(30), rng(6), k=4)
    assert len(items) == 60
    for i, it in enumerate(items):
        p, rel = i // 2, RELATIONS[i % 2]
        assert it["prompt"] == f"exam p{p} {rel} ?"
        assert it["options"][it["answer"]] == w.value(p, rel)
        assert len(set(it["options"])) == 4
        assert all(o.startswith(rel) for o in it["options"])
    # the true option's position is spread over all slots (not always first)
    assert set(it["answer"] for it in items) == {0, 1, 2, 3}


def test_cloze_items_use_raw_wording_and_right_key(world):
    items = cloze_items(world, [0, 2], rng(), k=3)
    assert [it["prompt"] for it in items] == [
        "p0 lives in",
        "p0 works as a",
        "p2 lives in",
        "p2 works as a",
    ]
    assert [it["options"][it["answer"]] for it in items] == [
        "city3",
        "job1",
        "city7",
        "job1",
    ]
    assert all(len(it["options"]) == 3 for it in items)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(people=[]), "people is empty"),
        (dict(people=[0, 3]), "person"),
        (dict(people=[0], k=1), "k must"),
        (dict(people=[0], k=11), "k must"),
    ],
)
def test_items_reject_bad_input(world, kw, match):
    for fn in (exam_items, cloze_items):
        with pytest.raises(ValueError, match=match):
            fn(world, rng=rng(), **kw)


@pytest.mark.parametrize(
    "arm, per_person", [("raw", 2), ("raw3", 3), ("rst", 3), ("plain", 3)]
)
def test_build_corpus_sizes_and_no_exam_leak(arm, per_person):
    w = make_world(10, 4, rng(7))
    corpus = build_corpus(w, arm, 2, rng(8))
    assert len(corpus) == 2 * 10 * per_person
    assert not any("exam" in s or "?" in s for s in corpus)
    first_epoch = corpus[: 10 * per_person]
    n_query = sum(s.startswith("query") for s in first_epoch)
    assert n_query == (20 if arm == "rst" else 0)
    if arm == "rst":
        assert sorted(s for s in first_epoch if s.startswith("query")) == sorted(
            s for p in range(10) for s in restructure(w, p)
        )
    n_plain = sum(
        s in plain_statements(w, int(s.split()[0][1:]))
        for s in first_epoch
        if s.split()[0].startswith("p") and s.count(".") == 1
    )
    assert n_plain == (20 if arm == "plain" else 0)


def test_build_corpus_rejects_bad_input(world):
    with pytest.raises(ValueError, match="arm"):
        build_corpus(world, "wiki", 1, rng())
    with pytest.raises(ValueError, match="epochs"):
        build_corpus(world, "raw", 0, rng())
    assert set(ARMS) == {"raw", "raw3", "rst", "plain"}


def test_tokenizer_covers_everything(world):
    tok = make_tokenizer(world)
    g = rng()
    texts = build_corpus(world, "rst", 1, g) + build_corpus(world, "plain", 1, g)
    texts += [
        it["prompt"] + " " + " ".join(it["options"])
        for it in exam_items(world, range(3), g) + cloze_items(world, range(3), g)
    ]
    for t in texts:
        tok.encode(t)  # raises on an unknown word
    assert len(tok) == 1 + 3 + 20 + len(set(tok.tokens)) - 24


def test_encode_for_lm_weights_by_hand(world):
    tok = make_tokenizer(world)
    tokens, weight = encode_for_lm(tok, ["a is", "p0 lives in city3"])
    assert tokens.shape == (2, 4) and weight.shape == (2, 3)
    assert weight.tolist() == [[1, 0, 0], [1, 1, 1]]
    _, w_ans = encode_for_lm(tok, ["a is", "p0 lives in city3"], answer_only=True)
    assert w_ans.tolist() == [[1, 0, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="texts"):
        encode_for_lm(tok, [])
    with pytest.raises(ValueError, match="two tokens"):
        encode_for_lm(tok, ["a"])


def test_weighted_loss_equals_cross_entropy_ignoring_padding(world):
    tok = make_tokenizer(world)
    model = make_model(len(tok), torch.Generator().manual_seed(0))
    tokens, weight = encode_for_lm(
        tok, ["p0 lives in city3 .", "a is", "query job of p1"]
    )
    ours = next_token_loss(model, (tokens, weight))
    targets = tokens[:, 1:].clone()
    targets[weight == 0] = tok.pad_id
    logits = model(tokens[:, :-1])
    ref = nn.functional.cross_entropy(
        logits.reshape(-1, len(tok)), targets.reshape(-1), ignore_index=tok.pad_id
    )
    assert ours.item() == pytest.approx(ref.item(), rel=1e-6)


def test_make_model_is_deterministic_and_checks_generator():
    a = make_model(30, torch.Generator().manual_seed(3))
    b = make_model(30, torch.Generator().manual_seed(3))
    c = make_model(30, torch.Generator().manual_seed(4))
    assert torch.equal(a.tok_emb.weight, b.tok_emb.weight)
    assert not torch.equal(a.tok_emb.weight, c.tok_emb.weight)
    assert (
        a.config.max_len == 32
        and make_model(30, torch.Generator(), max_len=8).config.max_len == 8
    )
    with pytest.raises(TypeError, match="generator"):
        make_model(30, 3)


class HandSetModel(nn.Module):
    """Returns fixed logits [B, T, V] at every position."""

    def __init__(self, row):
        super().__init__()
        self.row = torch.as_tensor(row, dtype=torch.float)

    def forward(self, tokens):
        return self.row.expand(tokens.shape[0], tokens.shape[1], -1).clone()


def test_option_scores_choose_among_options_only(world):
    tok = make_tokenizer(world)
    row = torch.zeros(len(tok))
    row[tok.id("p0")] = 50.0  # a non-option: never chosen
    row[tok.id("city3")], row[tok.id("city5")] = 2.0, 1.0
    items = [
        {
            "prompt": "exam p0 city ?",
            "options": ["city1", "city5", "city3"],
            "answer": 2,
        },
        {"prompt": "exam p1 city", "options": ["city5", "city3", "city0"], "answer": 0},
    ]
    s = option_scores(HandSetModel(row), tok, items)
    assert s.shape == (2, 3)
    np.testing.assert_allclose(np.exp(s).sum(1), 1.0, rtol=1e-6)
    ref = torch.log_softmax(torch.tensor([0.0, 1.0, 2.0]), 0).numpy()
    np.testing.assert_allclose(s[0], ref, rtol=1e-6)
    assert s.argmax(1).tolist() == [2, 1]
    assert multiple_choice_accuracy(HandSetModel(row), tok, items) == pytest.approx(0.5)


def test_option_scores_read_the_last_prompt_position(world):
    """With padding, each item must be scored after its own last token."""
    tok = make_tokenizer(world)

    class LastTokenEcho(nn.Module):
        def forward(self, tokens):
            return nn.functional.one_hot(tokens, len(tok)).float() * 9.0

    items = [
        {"prompt": "a city1", "options": ["city2", "city1"], "answer": 1},
        {"prompt": "a is to city2", "options": ["city1", "city2"], "answer": 1},
    ]
    assert multiple_choice_accuracy(LastTokenEcho(), tok, items) == 1.0


def test_accuracy_matches_sklearn_on_random_logits():
    big = make_world(40, 10, rng(9))
    tok = make_tokenizer(big)
    items = exam_items(big, range(40), rng(10))
    row = torch.as_tensor(rng(11).normal(size=len(tok)))
    chosen = option_scores(HandSetModel(row), tok, items).argmax(1)
    ref = accuracy_score([it["answer"] for it in items], chosen)
    assert multiple_choice_accuracy(HandSetModel(row), tok, items) == pytest.approx(ref)


def test_scoring_rejects_bad_items(world):
    tok = make_tokenizer(world)
    m = HandSetModel(torch.zeros(len(tok)))
    with pytest.raises(ValueError, match="items is empty"):
        option_scores(m, tok, [])
    with pytest.raises(ValueError, match="same number of options"):
        option_scores(
            m,
            tok,
            [
                {"prompt": "a", "options": ["city1"], "answer": 0},
                {"prompt": "a", "options": ["city1", "city2"], "answer": 0},
            ],
        )
    with pytest.raises(ValueError, match="answer index"):
        multiple_choice_accuracy(
            m, tok, [{"prompt": "a", "options": ["city1"], "answer": 1}]
        )
    with pytest.raises(KeyError, match="city99"):
        option_scores(m, tok, [{"prompt": "a", "options": ["city99"], "answer": 0}])


def test_pretrain_lowers_loss_and_snapshots():
    w = make_world(6, 3, rng(12))
    tok = make_tokenizer(w)
    model = make_model(len(tok), torch.Generator().manual_seed(1))
    before = next_token_loss(
        model, encode_for_lm(tok, build_corpus(w, "rst", 1, rng(1)))
    )
    losses, snaps = pretrain(
        model,
        tok,
        build_corpus(w, "rst", 4, rng(13)),
        steps=30,
        batch_size=8,
        lr=1e-2,
        snapshot_at=[10, 30],
    )
    after = next_token_loss(
        model, encode_for_lm(tok, build_corpus(w, "rst", 1, rng(1)))
    )
    assert len(losses) == 30 and set(snaps) == {10, 30}
    assert torch.equal(
        snaps[30].head.weight, model.head.weight
    )  # a copy after the step
    assert after.item() < 0.6 * before.item()
    assert not torch.equal(snaps[10].head.weight, model.head.weight)
    with pytest.raises(ValueError, match="steps"):
        pretrain(model, tok, ["a is"], steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        pretrain(model, tok, ["a is"], steps=1, batch_size=0)
    with pytest.raises(ValueError, match="snapshot_at"):
        pretrain(model, tok, ["a is"], steps=2, snapshot_at=[3])


def test_tune_on_exam_learns_the_format_on_a_copy():
    w = make_world(8, 4, rng(14))
    tok = make_tokenizer(w)
    model = make_model(len(tok), torch.Generator().manual_seed(2))
    items = exam_items(w, range(8), rng(15))
    weights_before = model.head.weight.clone()
    tuned = tune_on_exam(model, tok, items, steps=80, lr=1e-2)
    assert torch.equal(model.head.weight, weights_before)
    assert multiple_choice_accuracy(tuned, tok, items) == 1.0  # memorises its own items
    with pytest.raises(ValueError, match="items is empty"):
        tune_on_exam(model, tok, [])
    with pytest.raises(ValueError, match="steps"):
        tune_on_exam(model, tok, items, steps=0)
