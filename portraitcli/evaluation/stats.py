"""Statistics shared by the evaluations: paired differences with bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np


def paired_difference(ours: np.ndarray, other: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Mean of ``ours - other`` over paired per-image scores, with a bootstrap 95% interval.

    The images are resampled with replacement ``n_boot`` times (seeded); the interval is the
    2.5 and 97.5 percentiles of the resampled means (Efron and Tibshirani 1993, percentile
    method). An interval that contains 0 means the two methods are not told apart on this
    test set.

    Args:
        ours: (N,) per-image scores of our model.
        other: (N,) the other method's scores on the same images, same order.

    Returns:
        ``{"mean": float, "ci95": [lo, hi]}``.
    """
    d = np.asarray(ours, np.float64) - np.asarray(other, np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(axis=1)
    return {"mean": float(d.mean()), "ci95": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]}
