"""The CPU time the whole machine spends on a test, from /proc/stat, less what it spends idle.

On a 2-core machine both network models saturate the CPU, so throughput alone
hides what a datapath costs; CPU seconds per gigabyte moved shows it. /proc/stat
counts every core and every context (softirq, where most forwarding happens, too),
and is the same file in every network namespace. What the machine spends anyway
(other processes, timers) is measured just before the test over the same length
of time and taken off.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

PROC_STAT = "/proc/stat"
# Columns of the "cpu" line counted as busy: user (guest is inside it), nice, system, irq, softirq.
# idle and iowait are idle; steal is time the hypervisor gave to someone else.
_BUSY_COLUMNS = (0, 1, 2, 5, 6)
T = TypeVar("T")


def busy_jiffies(proc_stat: str) -> int:
    """Busy clock ticks of all cores together, from the text of /proc/stat (its first `cpu` line)."""
    for line in proc_stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            counters = [int(v) for v in fields[1:]]
            return sum(counters[i] for i in _BUSY_COLUMNS if i < len(counters))
    raise ValueError("no 'cpu' line in /proc/stat")


@dataclass(frozen=True)
class Window:
    """Busy ticks over a stretch of wall-clock seconds."""

    ticks: int
    seconds: float


def cpu_seconds(test: Window, idle: Window, hz: int) -> float:
    """CPU seconds the test added: its busy ticks less the idle rate over the test's length (never below 0)."""
    expected_idle = idle.ticks * (test.seconds / idle.seconds) if idle.seconds > 0 else 0.0
    return max(0.0, (test.ticks - expected_idle) / hz)


def per_gigabyte(seconds: float, moved_bytes: float) -> float | None:
    """CPU seconds per GB (10^9 bytes); None when nothing was moved."""
    return seconds / (moved_bytes / 1e9) if moved_bytes > 0 else None


def _sample() -> tuple[float, int]:
    with open(PROC_STAT) as f:
        return time.monotonic(), busy_jiffies(f.read())


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def measured(run: Callable[[], T], idle_seconds: float) -> tuple[T, Window, Window]:
    """`run()`'s result, the busy window around it, and an idle window of `idle_seconds` just before."""
    t0, b0 = _sample()
    time.sleep(idle_seconds)
    t1, b1 = _sample()
    result = run()
    t2, b2 = _sample()
    return result, Window(b2 - b1, t2 - t1), Window(b1 - b0, t1 - t0)
