"""Bad-input rows for utils.data, run by tests/test_bad_inputs.py."""

import numpy as np

from bad_inputs import Row
from utils import data

ROWS = [
    # groups may hold any labels (strings too), so only its length is checked
    Row(
        data.seeded_split,
        lambda: {"n": 6, "groups": np.array([0, 0, 1, 1, 2, 2])},
        "groups",
        ("shape", "empty"),
    ),
]
