"""Health checks on the kernel: the local-endpoint counts netexec serves, and the ELB health checker process.

The counts live in one small file of the lab's state dir, rewritten atomically
(write, rename) by `up` and by every `move`, and read by netexec at each probe:
nothing restarts when endpoints move. The checker is journalled by its pidfile
before it starts, so `down` ends it (also after a killed `up`), never by name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lab.kernel.journal import Journal
from lab.netexec import launch
from lab.plan.model import Plan
from lab.render import health

CHECKER_PID = "elbcheck.pid"


def write_json(path: Path, doc: dict) -> None:
    """A reader sees the old file or the new one, never a half-written one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)


def state_path(journal: Journal) -> Path:
    return journal.dir / health.STATE_FILE


def write_state(plan: Plan, journal: Journal) -> None:
    write_json(state_path(journal), health.state(plan))


def targets(plan: Plan, journal: Journal) -> list[dict]:
    """netexec's health-check targets (the state file written first, so the first probe has an answer)."""
    write_state(plan, journal)
    return health.targets(plan, str(state_path(journal)))


def start_checker(plan: Plan, journal: Journal) -> None:
    """The ELB health checker, if the lab has an ELB and a Local LoadBalancer Service."""
    config = health.checker(plan, str(journal.dir))
    if not plan.host("elb") or not config["services"]:
        return
    path = journal.dir / health.CHECKER_FILE
    write_json(path, config)
    pidfile = journal.dir / CHECKER_PID
    journal.add(pidfile=str(pidfile))
    launch.start(path, pidfile, journal.dir / "elbcheck.log", module="lab.elbcheck")
