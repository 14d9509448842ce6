"""Bad-input rows of ``utils.restructured`` (chapter 08); format in ``__init__.py``.

Most inputs here are a world, a tokenizer, a model or text; the rows corrupt the numbers
(sizes, person ids, fractions, step counts, learning rates) and the list of people.
"""

from __future__ import annotations

import numpy as np
import torch

from bad_inputs import Row
from utils import restructured as rs

INT = ("nan", "negative", "dtype")  # a count: NaN, a negative float, a string
FRACTION = ("nan", "inf", "prob", "dtype")
POSITIVE = ("nan", "inf", "negative", "dtype")


def _world():
    return rs.World(city=np.array([3, 0, 7]), job=np.array([1, 9, 1]), n_values=10)


def _rng():
    return np.random.default_rng(0)


def _document():
    return {
        "world": _world(),
        "person": 1,
        "rng": _rng(),
        "reversed_frac": 0.5,
        "n_fillers": 2,
    }


def _person():
    return {"world": _world(), "person": 2}


def _items():
    return {"world": _world(), "people": np.array([0, 2]), "rng": _rng(), "k": 3}


def _tiny():
    world = _world()
    tok = rs.make_tokenizer(world)
    model = rs.make_model(len(tok), torch.Generator().manual_seed(0), max_len=8)
    return world, tok, model


def _pretrain():
    world, tok, model = _tiny()
    return {
        "model": model,
        "tokenizer": tok,
        "corpus": rs.restructure(world, 0) + rs.plain_statements(world, 1),
        "steps": 1,
        "batch_size": 2,
        "lr": 1e-3,
    }


def _tune():
    world, tok, model = _tiny()
    items = rs.exam_items(world, [0, 1], _rng(), k=2)
    return {"model": model, "tokenizer": tok, "items": items, "steps": 1, "lr": 1e-3}


def _encode():
    world, tok, _ = _tiny()
    return {"tokenizer": tok, "texts": rs.restructure(world, 0)}


ROWS = [
    *[
        Row(
            rs.make_world,
            lambda: {"n_people": 3, "n_values": 4, "rng": _rng()},
            arg,
            INT,
        )
        for arg in ("n_people", "n_values")
    ],
    Row(rs.raw_document, _document, "person", (*INT, "id"), vocab=3),
    Row(rs.raw_document, _document, "reversed_frac", FRACTION),
    Row(rs.raw_document, _document, "n_fillers", (*INT, "id"), vocab=5),
    *[
        Row(f, _person, "person", (*INT, "id"), vocab=3)
        for f in (rs.restructure, rs.plain_statements)
    ],
    *[
        Row(f, _items, "people", ("nan", "empty", "shape", "dtype", "id"), vocab=3)
        for f in (rs.exam_items, rs.cloze_items)
    ],
    *[
        Row(f, _items, "k", (*INT, "id"), vocab=11)
        for f in (rs.exam_items, rs.cloze_items)
    ],
    Row(
        rs.build_corpus,
        lambda: {"world": _world(), "arm": "rst", "epochs": 1, "rng": _rng()},
        "epochs",
        INT,
    ),
    *[
        Row(
            rs.make_model,
            lambda: {
                "vocab_size": 5,
                "generator": torch.Generator().manual_seed(0),
                "max_len": 4,
            },
            arg,
            INT,
        )
        for arg in ("vocab_size", "max_len")
    ],
    Row(rs.encode_for_lm, _encode, "texts", ("empty",)),
    *[Row(rs.pretrain, _pretrain, arg, INT) for arg in ("steps", "batch_size")],
    Row(rs.pretrain, _pretrain, "lr", POSITIVE),
    Row(rs.tune_on_exam, _tune, "steps", INT),
    Row(rs.tune_on_exam, _tune, "lr", POSITIVE),
]

NO_ARRAY_INPUT = {
    "restructured.make_tokenizer": "its only input is a World (a dataclass)",
    "restructured.option_scores": "model, tokenizer and items (dicts of text)",
    "restructured.multiple_choice_accuracy": "model, tokenizer and items (dicts of text)",
}
