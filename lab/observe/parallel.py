"""Probes at once: many namespaces are checked concurrently, each thread entering namespaces on its own."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

WORKERS = 16  # sockets in threads, and a few `ping` or `iptables-save` processes at a time
T = TypeVar("T")
R = TypeVar("R")


def parallel(items: list[T], probe_one: Callable[[T], R], workers: int = WORKERS) -> list[R]:
    """`probe_one` over `items`, in order, on a pool of threads."""
    if len(items) <= 1:
        return [probe_one(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(probe_one, items))
