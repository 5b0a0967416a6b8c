"""CPU time per GB moved (lab.bench.cpu): /proc/stat's busy ticks, the idle window taken off, per gigabyte."""

from __future__ import annotations

import pytest

from lab.bench import cpu
from lab.bench.cpu import Window, busy_jiffies, cpu_seconds, per_gigabyte

# user nice system idle iowait irq softirq steal guest guest_nice
PROC_STAT = """cpu  61005 39 23493 992005 3736 7 4399 6588 100 0
cpu0 19846 15 10385 509230 635 0 2133 3383 0 0
cpu1 41159 23 13107 482774 3101 7 2266 3205 100 0
intr 123 4 5
"""


def test_busy_is_user_nice_system_irq_softirq_of_all_cores() -> None:
    # steal (6588) is someone else's, guest (100) is inside user already, idle and iowait are idle
    assert busy_jiffies(PROC_STAT) == 61005 + 39 + 23493 + 7 + 4399


def test_an_old_kernels_short_cpu_line_and_no_cpu_line() -> None:
    assert busy_jiffies("cpu  10 1 5 100\n") == 16
    with pytest.raises(ValueError):
        busy_jiffies("intr 1 2\n")


@pytest.mark.parametrize(
    ("test", "idle", "expected"),
    [
        (Window(300, 3.0), Window(20, 2.0), (300 - 30) / 100),  # idle rate 10/s over 3 s
        (Window(300, 3.0), Window(0, 3.0), 3.0),
        (Window(10, 3.0), Window(100, 3.0), 0.0),  # a busier idle window: never below zero
        (Window(50, 1.0), Window(0, 0.0), 0.5),
    ],
)
def test_cpu_seconds_take_the_idle_rate_off(test: Window, idle: Window, expected: float) -> None:
    assert cpu_seconds(test, idle, 100) == pytest.approx(expected)


def test_per_gigabyte() -> None:
    assert per_gigabyte(2.0, 4e9) == pytest.approx(0.5)
    assert per_gigabyte(2.0, 0) is None


def test_measured_reads_proc_stat_around_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = iter([(0.0, 100), (2.0, 120), (5.0, 420)])  # before idle, after idle, after the run
    monkeypatch.setattr(cpu, "_sample", lambda: next(samples))
    monkeypatch.setattr(cpu.time, "sleep", lambda s: None)
    result, busy, idle = cpu.measured(lambda: "ran", 2.0)
    assert (result, busy, idle) == ("ran", Window(300, 3.0), Window(20, 2.0))
