"""Host limits a lab can run into, read (never changed) so `up` can say so before ARP starts failing."""

from __future__ import annotations

from pathlib import Path

NEIGHBOUR_LIMIT = Path("/proc/sys/net/ipv4/neigh/default/gc_thresh3")


def neighbour_table_limit() -> int | None:
    """The kernel's neighbour (ARP) table size; one table for all namespaces (None when unreadable)."""
    try:
        return int(NEIGHBOUR_LIMIT.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
