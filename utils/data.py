"""Seeded data splits shared by the chapters."""

from __future__ import annotations

import numpy as np


def seeded_split(
    n: int, test_frac: float = 0.25, seed: int = 0, groups=None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of a random split of ``n`` items, reproducible from ``seed``.

    With ``groups`` (one label per item) whole groups go to one side, so correlated items (all
    snapshots of one game, all answers of one student) never straddle the split.
    """
    if n < 2:
        raise ValueError(f"need at least 2 items to split, got {n}")
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        n_test = max(1, int(round(test_frac * n)))
        return np.sort(order[n_test:]), np.sort(order[:n_test])
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(
            f"groups must have one label per item: shape {(n,)}, got {groups.shape}"
        )
    unique = rng.permutation(np.unique(groups))
    if len(unique) < 2:
        raise ValueError("need at least 2 distinct groups to split by group")
    n_test = min(len(unique) - 1, max(1, int(round(test_frac * len(unique)))))
    is_test = np.isin(groups, unique[:n_test])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
