"""Down: undo a lab's journal in reverse, touching nothing it does not name."""

from __future__ import annotations

from lab import netns, procs
from lab.journal import Journal


def undo(journal: Journal) -> dict[str, int]:
    """Stop recorded processes, delete recorded namespaces, drop the state dir."""
    removed = {"processes": 0, "namespaces": 0}
    for entry in reversed(journal.entries()):
        if "pidfile" in entry and procs.stop(entry["pidfile"], entry.get("marker"), entry.get("title")):
            removed["processes"] += 1
        elif "netns" in entry and netns.exists(entry["netns"]):
            netns.delete(entry["netns"])
            removed["namespaces"] += 1
    journal.remove()
    return removed
