"""Unit tests of utils.metric_learning (chapter 10).

The pattern every paper module follows: pin exact values (a case solved by hand, a closed form,
or a well-kept library on random inputs), test each parameter away from its neutral value and
each boundary the code treats specially, and check that bad input gets an error that names the
argument. A new module is done when its mutation score is at least 90% (CONTRIBUTING.md).
"""
import numpy as np
import pytest

from utils.metric_learning import example_score


def test_example_score_by_hand():
    assert example_score([1.0, 2.0, 6.0]) == pytest.approx(3.0)


def test_example_score_matches_numpy_on_random_input():
    x = np.random.default_rng(0).normal(size=50)
    assert example_score(x) == pytest.approx(np.mean(x), rel=1e-12)


@pytest.mark.parametrize("bad, message", [([], "values is empty"),
                                           ([[1.0]], "values must be 1-D"),
                                           ([1.0, np.nan], "values must be finite")])
def test_example_score_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        example_score(bad)
