"""The interval around a tunnel/VPC ratio (lab.bench.stats.ratio_interval): bounds, scaling, reproducibility.

Properties are checked with hypothesis over the repetition counts a run has (1 to 10 values a side).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.bench.stats import ratio_interval

figures = st.lists(st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=1, max_size=10)


def _median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


@given(figures, figures)
def test_the_interval_holds_the_ratio_and_stays_inside_the_whole_range(num: list[float], den: list[float]) -> None:
    found = ratio_interval(num, den)
    assert found is not None
    low, high, method = found
    point = _median(num) / _median(den)
    assert low <= point * (1 + 1e-12) and point <= high * (1 + 1e-12)
    # no resampled median leaves [min, max]: nor does any ratio of two of them
    assert min(num) / max(den) <= low * (1 + 1e-12) and high <= max(num) / min(den) * (1 + 1e-12)
    assert method == ("min-max" if min(len(num), len(den)) < 3 else "bootstrap")


@given(figures, figures, st.floats(min_value=0.001, max_value=1000))
def test_scaling_the_tunnel_figures_scales_the_interval(num: list[float], den: list[float], c: float) -> None:
    base, scaled = ratio_interval(num, den), ratio_interval([v * c for v in num], den)
    assert base is not None and scaled is not None
    assert scaled[0] == pytest.approx(base[0] * c, rel=1e-9) and scaled[1] == pytest.approx(base[1] * c, rel=1e-9)


@given(figures, figures)
def test_figures_that_do_not_overlap_are_a_measurable_difference(num: list[float], den: list[float]) -> None:
    shifted = [v + max(den) * 1.01 for v in num]  # every tunnel figure above every VPC figure
    low, _, _ = ratio_interval(shifted, den) or (math.nan, 0, "")
    assert low > 1


def test_the_same_figures_give_the_same_interval_every_time() -> None:
    num, den = [4.1, 3.7, 4.4, 3.9, 4.0], [4.3, 4.6, 4.0, 4.4, 4.2]
    first = ratio_interval(num, den)
    assert first == ratio_interval(list(num), list(den))
    assert first is not None and first[0] < 1 < first[1]  # these overlap: no measurable difference


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        ([2.0], [4.0], (0.5, 0.5, "min-max")),
        ([1.0, 3.0], [2.0, 4.0], (0.25, 1.5, "min-max")),  # 1 / 4 .. 3 / 2
        ([1.0], [0.0, 2.0], None),  # a resampled VPC median may be 0: no interval
        ([-1.0], [2.0], None),
        ([], [2.0], None),
    ],
)
def test_small_and_degenerate_inputs(num: list[float], den: list[float], expected: tuple | None) -> None:
    assert ratio_interval(num, den) == expected
