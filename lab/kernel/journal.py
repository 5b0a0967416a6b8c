"""The record of what a lab created, written as it is created.

Each lab has a directory under /run/cce-lab/<name>/ (tmpfs: it vanishes on
reboot, as the namespaces do) holding the plan and an append-only journal.
`down` undoes the journal in reverse, so an interrupted `up` is undone as
exactly as a finished one, and nothing the journal does not name is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from lab.errors import LabError

STATE_ROOT = Path(os.environ.get("CCE_LAB_STATE", "/run/cce-lab"))
PART_FILE = "part.json"  # beside plan.json on each host of a lab spread over several: the part this host holds
NON_LAB_PREFIX = "ccebench-"  # journalled runs that are not labs (lab names cannot hold a hyphen)


def lab_dir(name: str) -> Path:
    """Where lab `name` keeps its plan, journal and daemon run directories."""
    return STATE_ROOT / name


def _start_time(pid: int) -> str | None:
    """A process's start time (clock ticks since boot): with the PID, it names one process for good."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def list_journals() -> list[str]:
    """Every journal on this machine: labs, and other journalled runs (a benchmark's baseline pair)."""
    if not STATE_ROOT.is_dir():
        return []
    return sorted(p.name for p in STATE_ROOT.iterdir() if (p / "journal.jsonl").exists())


def list_labs() -> list[str]:
    """The labs: every journal but those of runs that are not labs (a half-built lab is one: down removes it)."""
    return [name for name in list_journals() if not name.startswith(NON_LAB_PREFIX)]


class Journal:
    """Append-only list of created objects: {"netns": ...}, {"pidfile": ...}, {"done": true}."""

    def __init__(self, name: str) -> None:
        self.dir = lab_dir(name)
        self.file = self.dir / "journal.jsonl"
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.file.exists()

    def start(self, plan: dict[str, Any] | None) -> None:
        """Claim the name: exactly one run can create the journal; a lab's plan is saved beside it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        # written whole, then linked into place: a second run never sees a claim without its owner
        claim = self.dir / f"claim.{os.getpid()}.tmp"
        claim.write_text(json.dumps({"owner": os.getpid(), "started": _start_time(os.getpid())}) + "\n")
        try:
            os.link(claim, self.file)
        except FileExistsError:
            raise LabError(f"lab {self.dir.name} is being built or was left by another run") from None
        finally:
            claim.unlink(missing_ok=True)
        if plan is not None:
            self.save_plan(plan)

    def save_plan(self, plan: dict[str, Any]) -> None:
        """The lab's plan (at `up`, and again when `move` changes its pods)."""
        self.save("plan.json", plan)

    def save(self, filename: str, data: dict[str, Any]) -> None:
        """A document beside the journal, replaced whole: a reader sees none or all of it."""
        tmp = self.dir / f"{filename}.tmp"
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.dir / filename)

    def document(self, filename: str) -> dict[str, Any] | None:
        """A document saved beside the journal; None if there is none."""
        try:
            return json.loads((self.dir / filename).read_text())
        except FileNotFoundError:
            return None

    def add(self, **entry: Any) -> None:
        self.add_all([entry])

    def add_all(self, entries: list[dict[str, Any]]) -> None:
        """Several entries in one write and one fsync (a lab's thousands of namespaces, before any is made)."""
        with self._lock, self.file.open("a") as f:
            f.write("".join(json.dumps(entry) + "\n" for entry in entries))
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[dict[str, Any]]:
        if not self.file.exists():
            return []
        return [json.loads(line) for line in self.file.read_text().splitlines() if line.strip()]

    def owner(self) -> int | None:
        """The PID of the run that claimed the journal, if that very process is still alive."""
        first = next(iter(self.entries()), {})
        pid = first.get("owner")
        if pid is None or _start_time(pid) != first.get("started"):
            return None
        return pid

    def complete(self) -> bool:
        return any(e.get("done") for e in self.entries())

    def plan(self) -> dict[str, Any] | None:
        """The saved plan (JSON form); None when the run was killed before it was written."""
        return self.document("plan.json")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):  # another lab may still be there
            STATE_ROOT.rmdir()
