"""The one summary of repeated figures: percentiles of samples, min/median/max of repetitions, ratio intervals."""

from __future__ import annotations

import functools
import random
import statistics
from collections.abc import Sequence
from typing import Literal


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


# A ratio of two labs' medians gets an interval: a percentile bootstrap over the
# repetitions (each lab's values resampled on their own, the ratio of the two
# resampled medians), or, with fewer than BOOTSTRAP_MIN repetitions on a side,
# the whole range a ratio of one value to another can take. A fixed seed per
# interval keeps a report reproducible byte for byte (golden-tested).
BOOTSTRAP_MIN = 3
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 12
CONFIDENCE = 0.95
IntervalMethod = Literal["bootstrap", "min-max"]


@functools.lru_cache(maxsize=4096)
def _ratio_interval(num: tuple[float, ...], den: tuple[float, ...]) -> tuple[float, float, IntervalMethod] | None:
    if not num or not den or min(den) <= 0 or min(num) < 0:
        return None
    point = statistics.median(num) / statistics.median(den)
    if min(len(num), len(den)) < BOOTSTRAP_MIN:
        return min(num) / max(den), max(num) / min(den), "min-max"
    rng = random.Random(BOOTSTRAP_SEED)
    n, d = len(num), len(den)
    resampled = sorted(
        statistics.median(rng.choices(num, k=n)) / statistics.median(rng.choices(den, k=d))
        for _ in range(BOOTSTRAP_RESAMPLES)
    )
    tail = (1 - CONFIDENCE) / 2
    low = resampled[int(tail * BOOTSTRAP_RESAMPLES)]
    high = resampled[int((1 - tail) * BOOTSTRAP_RESAMPLES) - 1]
    return min(low, point), max(high, point), "bootstrap"  # the interval always holds the ratio it is for


def ratio_interval(num: Sequence[float], den: Sequence[float]) -> tuple[float, float, IntervalMethod] | None:
    """(low, high, method) around median(num) / median(den) at CONFIDENCE, or None.

    None when a denominator value is zero or below (a resampled median could be
    zero: no ratio) or a numerator value is negative.
    """
    return _ratio_interval(tuple(float(v) for v in num), tuple(float(v) for v in den))
