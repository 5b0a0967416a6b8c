"""The one summary of repeated figures: percentiles of samples, min/median/max of repetitions."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (a whole number 0..100), interpolated linearly between ranks.

    `statistics.quantiles(method="inclusive")` puts cut k of n at rank (len - 1) * k / n:
    numpy's default ("linear") percentile.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    if p != int(p):
        raise ValueError(f"percentile {p} is not a whole number")
    if p == 0:
        return float(min(values))
    if p == 100:
        return float(max(values))
    if len(values) == 1:
        return float(values[0])
    if p == 50:
        return float(statistics.median(values))
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def summarize(values: Sequence[float]) -> dict[str, float]:
    """min/median/max of the repetitions."""
    if not values:
        raise ValueError("summary of no values")
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}
