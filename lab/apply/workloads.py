"""Every pod's HTTP/UDP server (and the Internet and intranet servers'), from one netexec process."""

from __future__ import annotations

import json

from lab.apply import health
from lab.kernel.journal import Journal
from lab.netexec import launch as netexec
from lab.plan import Plan
from lab.plan.spread import Here
from lab.spec import WORKLOAD_PORT

SERVER_ROLES = ("internet-server", "intranet-server")


def targets(plan: Plan) -> list[dict]:
    """Where netexec listens: each pod on its workload port, each server host on 8080."""
    found = [{"name": p.name, "netns": p.netns, "ip": p.ip, "port": p.port} for p in plan.pods]
    found += [
        {"name": h.name, "netns": h.netns, "ip": h.ip, "port": WORKLOAD_PORT}
        for h in plan.hosts
        if h.role in SERVER_ROLES
    ]
    return found


def start(plan: Plan, here: Here, journal: Journal) -> None:
    """One netexec for every server this host holds."""
    config = journal.dir / "netexec.json"
    found = [t for t in targets(plan) + health.targets(plan, journal) if here.holds(t["netns"])]
    config.write_text(json.dumps({"targets": found}))
    pidfile = journal.dir / "netexec.pid"
    journal.add(pidfile=str(pidfile))
    netexec.start(config, pidfile, journal.dir / "netexec.log")
