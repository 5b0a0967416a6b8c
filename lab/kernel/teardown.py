"""Down: undo a lab's journal in reverse, touching nothing it does not name."""

from __future__ import annotations

from dataclasses import dataclass

from lab.kernel import netns, procs
from lab.kernel.journal import Journal


@dataclass
class Removed:
    namespaces: int = 0
    processes: int = 0

    def __str__(self) -> str:
        return f"removed {self.namespaces} namespaces, stopped {self.processes} processes"


def undo(journal: Journal) -> Removed:
    """Stop recorded processes, delete recorded namespaces, drop the state dir."""
    removed = Removed()
    for entry in reversed(journal.entries()):
        if "pidfile" in entry and procs.stop(entry["pidfile"], entry.get("marker"), entry.get("title")):
            removed.processes += 1
        elif "netns" in entry and netns.exists(entry["netns"]):
            netns.delete(entry["netns"])
            removed.namespaces += 1
    journal.remove()
    return removed
