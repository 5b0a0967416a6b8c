"""What is running: the labs on this machine, read from their records (`status`, and which lab a command means)."""

from __future__ import annotations

from dataclasses import field

from pydantic.dataclasses import dataclass

from lab import documents
from lab.apply import changes
from lab.errors import LabError
from lab.kernel import netns, procs
from lab.kernel.journal import PART_FILE, Journal, list_labs
from lab.plan.model import IngressSummary, Plan, PlanSlice, ServiceSummary

STATUS_SCHEMA_VERSION = 1


@dataclass
class NodeStatus:
    name: str
    netns: str
    ip: str
    underlay_if: str
    pod_cidrs: list[str]


@dataclass
class PodStatus:
    name: str
    netns: str
    node: str
    ip: str


@dataclass
class HostStatus:
    name: str
    netns: str
    ip: str
    role: str
    eip: str


@dataclass
class NodeEip:
    node: str
    eip: str


@dataclass
class RouteStatus:
    dst: str
    via: str


@dataclass
class LabStatus:
    """The documented `status --json` object of one lab.

    state: up | degraded (a namespace or daemon is gone) | altered (a declared
    change was not undone) | incomplete (its `up` did not finish: `down` it).
    """

    name: str
    state: str
    model: str = ""
    datapath: str = ""
    mtu: int = 0  # the pods'
    underlay_mtu: int = 0
    vpc_cidr: str = ""
    node_subnet: str = ""
    container_cidr: str = ""
    service_cidr: str = ""
    nodes: list[NodeStatus] = field(default_factory=list)
    pods: list[PodStatus] = field(default_factory=list)
    hosts: list[HostStatus] = field(default_factory=list)
    eips: list[NodeEip] = field(default_factory=list)
    services: list[ServiceSummary] = field(default_factory=list)
    ingresses: list[IngressSummary] = field(default_factory=list)
    vpc_routes: list[RouteStatus] = field(default_factory=list)
    processes: int = 0
    missing_netns: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)  # declared changes still in force
    host: str = ""  # spread over several hosts: the inventory host whose part this is ("" on one host)
    placement: dict[str, str] = field(default_factory=dict)  # spread: every node -> the host that holds it
    schema_version: int = STATUS_SCHEMA_VERSION


def load_plan(name: str) -> Plan:
    journal = Journal(name)
    if not journal.exists():
        raise LabError(f"no lab named {name!r} is up (labs up: {', '.join(list_labs()) or 'none'})")
    data = journal.plan()
    if data is None:
        raise LabError(f"lab {name} was interrupted before its plan was saved: run 'cce-lab down {name}'")
    return documents.load(Plan, data, f"lab {name}'s plan.json")


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


def lab_status(name: str) -> LabStatus:
    """What the records say of lab `name`, checked against the kernel (namespaces, daemons)."""
    journal = Journal(name)
    if journal.exists() and journal.plan() is None:
        return LabStatus(name=name, state="incomplete")
    plan = load_plan(name)
    entries = journal.entries()
    found = journal.document(PART_FILE)
    part = documents.load(PlanSlice, found, f"lab {name}'s {PART_FILE}") if found else None
    missing = [ns for ns in (part.netns if part else plan.netns_names()) if not netns.exists(ns)]
    daemons = [e for e in entries if "pidfile" in e]
    dead = [e for e in daemons if procs.pid_of(e["pidfile"], e.get("marker"), e.get("title")) is None]
    altered = changes.pending(journal)
    if not journal.complete():
        state = "incomplete"
    elif missing or dead:
        state = "degraded"
    elif altered:
        state = "altered"
    else:
        state = "up"
    return LabStatus(
        name=plan.name,
        state=state,
        model=plan.model,
        datapath=plan.datapath,
        mtu=plan.pod_mtu,
        underlay_mtu=plan.mtu,
        vpc_cidr=plan.vpc_cidr,
        node_subnet=plan.node_subnet,
        container_cidr=plan.container_cidr,
        service_cidr=plan.service_cidr,
        nodes=[NodeStatus(n.name, n.netns, n.ip, plan.underlay_if, n.pod_cidrs) for n in plan.nodes],
        pods=[PodStatus(p.name, p.netns, p.node, p.ip) for p in plan.pods],
        hosts=[HostStatus(h.name, h.netns, h.ip, h.role, h.eip) for h in plan.hosts],
        eips=[NodeEip(node, eip) for node, eip in plan.node_eips.items()],
        services=[ServiceSummary.of(s) for s in plan.services],
        ingresses=[IngressSummary.of(i) for i in plan.ingresses],
        vpc_routes=[RouteStatus(r.dst, r.via) for r in plan.vpc_routes],
        processes=len(daemons) - len(dead),
        missing_netns=missing,
        altered=altered,
        host=part.host if part else "",
        placement=part.placement if part else {},
    )


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
