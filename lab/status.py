"""What is running: the labs on this machine, read from their records."""

from __future__ import annotations

from typing import Any

from lab import netns, procs
from lab.errors import LabError
from lab.journal import Journal, list_labs
from lab.plan import Plan, plan_from_dict


def load_plan(name: str) -> Plan:
    journal = Journal(name)
    if not journal.exists():
        raise LabError(f"no lab named {name!r} is up (labs up: {', '.join(list_labs()) or 'none'})")
    return plan_from_dict(journal.plan())


def pick_lab(name: str | None) -> str:
    """The lab a command means: the one named, or the only one that is up."""
    if name:
        return name
    labs = list_labs()
    if len(labs) == 1:
        return labs[0]
    if not labs:
        raise LabError("no lab is up: start one with 'cce-lab up topologies/tunnel.yaml'")
    raise LabError(f"several labs are up ({', '.join(labs)}): name one")


def lab_status(name: str) -> dict[str, Any]:
    """The documented status object (README: "status --json")."""
    plan = load_plan(name)
    journal = Journal(name)
    entries = journal.entries()
    missing = [ns for ns in plan.netns_names() if not netns.exists(ns)]
    daemons = [e for e in entries if "pidfile" in e]
    dead = [e for e in daemons if procs.pid_of(e["pidfile"], e.get("marker"), e.get("title")) is None]
    if not journal.complete():
        state = "incomplete"
    elif missing or dead:
        state = "degraded"
    else:
        state = "up"
    return {
        "name": plan.name,
        "model": plan.model,
        "datapath": plan.datapath,
        "state": state,
        "mtu": plan.pod_mtu,
        "underlay_mtu": plan.mtu,
        "vpc_cidr": plan.vpc_cidr,
        "node_subnet": plan.node_subnet,
        "container_cidr": plan.container_cidr,
        "service_cidr": plan.service_cidr,
        "nodes": [
            {"name": n.name, "netns": n.netns, "ip": n.ip, "underlay_if": n.underlay_if, "pod_cidrs": n.pod_cidrs}
            for n in plan.nodes
        ],
        "pods": [{"name": p.name, "netns": p.netns, "node": p.node, "ip": p.ip} for p in plan.pods],
        "hosts": [{"name": h.name, "netns": h.netns, "ip": h.ip, "role": h.role, "eip": h.eip} for h in plan.hosts],
        "eips": [{"node": node, "eip": eip} for node, eip in plan.node_eips.items()],
        "services": [s.summary() for s in plan.services],
        "ingresses": [
            {"host": i.host, "path": i.path, "service": i.service, "address": i.address} for i in plan.ingresses
        ],
        "vpc_routes": [{"dst": r.dst, "via": r.via} for r in plan.vpc_routes],
        "processes": len(daemons) - len(dead),
        "missing_netns": missing,
    }


def resolve_netns(target: str) -> str:
    """`lab-node-1`, `lab/node-1`, or `node-1` when one lab is up."""
    lab, sep, short = target.rpartition("/")
    labs = [lab] if sep else list_labs()
    found = []
    for name in labs:
        plan = load_plan(name)
        for ns_owner in [*plan.hosts, *plan.nodes, *plan.pods]:
            if target == ns_owner.netns or short == ns_owner.name:
                found.append(ns_owner.netns)
    if len(found) == 1:
        return found[0]
    if not found:
        raise LabError(f"no node, pod or host {target!r} in labs {', '.join(labs) or '(none up)'}")
    raise LabError(f"{target!r} is in several labs ({', '.join(found)}): write LAB/{short}")
