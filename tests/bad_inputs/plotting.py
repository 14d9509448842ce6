"""Bad-input rows for utils.plotting, run by tests/test_bad_inputs.py."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bad_inputs import OUTCOME, PROB, Row  # noqa: E402
from utils import plotting  # noqa: E402


def _diagram():
    plt.close("all")  # one figure at a time, however many examples run
    _, ax = plt.subplots()
    return {
        "ax": ax,
        "p_hat": np.array([0.1, 0.4, 0.5, 0.8, 0.95]),
        "y": np.array([0, 1, 1, 0, 1]),
    }


ROWS = [
    Row(plotting.reliability_diagram, _diagram, "p_hat", PROB),
    Row(plotting.reliability_diagram, _diagram, "y", OUTCOME),
]

NO_ARRAY_INPUT = {
    "plotting.use_course_style": "no input",
    "plotting.label": "an axis and three strings",
}
