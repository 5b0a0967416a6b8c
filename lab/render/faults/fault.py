"""What a fault is, and the pieces the catalogue's faults share. Pure.

A fault is what a trainee (or a careless operator) could do with plain tools:
`ip`, `iptables`, `nft`, `sysctl`, `ovs-vsctl`, `ovs-ofctl`, `bridge`. Each
renders, from the plan, the commands that break the lab and the commands
that put it back, and names the `check` rows it must make fail (`fails`) and
those it may take down with it (`collateral`, e.g. a dead pod also breaks a
random share of Service requests): each a part of the row's scenario, `$` at
its end anchoring it to the scenario's end (`matches`).

A break that NATs connections wrongly (or not at all) while they still leave
the namespace leaves them in its connection tracking, unreplied (SYN_SENT,
120 s): a later connection that draws the same source port matches that entry,
keeps its stale decision and is lost, and its own SYNs keep the entry alive.
Such a fault's `forget` deletes those entries after the undo (`conntrack -D`,
as an operator would after putting the rules back).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from lab.plan.cluster import POD_GATEWAY
from lab.plan.model import Node, Plan, Pod, ServicePlan

Command = tuple[str, list[str], str | None]  # (netns, argv, stdin)


@dataclass(frozen=True)
class Fault:
    name: str
    summary: str
    inject: list[Command]
    undo: list[Command]
    fails: tuple[str, ...]  # check rows (substrings of the scenario) that must fail
    collateral: tuple[str, ...] = ()  # rows that may fail with it
    notes: list[str] = field(default_factory=list)
    forget: list[Command] = field(default_factory=list)  # after the undo; exit 1 (nothing left to delete) is fine


SERVICE_ROWS = (
    "ClusterIP Service",
    "load spreading",
    "ClientIP affinity",
    "ELB",
    "DNAT",
    "Ingress",
    "NodePort",
    "(UDP)",
    "EIP of",
    "source IP seen by the pod",
)  # rows that reach a Service's endpoints: a fault on an endpoint's path may fail any of them

# A node cut off from the others: everything that crosses to it may fail with it.
CUT_OFF_ROWS = (
    *SERVICE_ROWS,
    "ELB health check of",
    "pod MTU",
    "pod -> pod",
    "node -> pod",
    "node -> node",
    "ECS -> ",
    "peer VPC",
)


def matches(scenario: str, patterns: tuple[str, ...]) -> bool:
    """Whether a check row's scenario is one the patterns name."""
    return any(scenario.endswith(p[:-1]) if p.endswith("$") else p in scenario for p in patterns)


def link_down(pod: Pod) -> tuple[list[Command], list[Command]]:
    """A pod's eth0 down, and back up with the routes the kernel dropped with it (the /32 gateway, the default)."""
    up = [
        (pod.netns, ["ip", "link", "set", "eth0", "up"], None),
        (pod.netns, ["ip", "route", "replace", f"{POD_GATEWAY}/32", "dev", "eth0", "scope", "link"], None),
        (pod.netns, ["ip", "route", "replace", "default", "via", POD_GATEWAY, "dev", "eth0"], None),
    ]
    return [(pod.netns, ["ip", "link", "set", "eth0", "down"], None)], up


def middle(plan: Plan) -> Node:
    return plan.nodes[len(plan.nodes) // 2]


def plain_pods(plan: Plan, node: Node) -> list[Pod]:
    return [p for p in plan.pods_on(node.name) if not p.workload]


def service(plan: Plan, name: str) -> ServicePlan:
    svc = plan.service(name)
    if svc is None or not svc.endpoints:
        raise ValueError(f"the fault needs a Service {name!r} with endpoints (the shipped topologies have it)")
    return svc


def ipt(plan: Plan, ns: str, *args: str) -> Command:
    return (ns, [plan.iptables_tool(), "-w", *args], None)


def forget_connections(ns: str, *filters: str) -> Command:
    """Delete the TCP connections `filters` match from `ns`'s connection tracking (`conntrack -D`)."""
    return (ns, ["conntrack", "-D", "-p", "tcp", *filters], None)


def rule_args(line: str) -> list[str]:
    """An `iptables-restore` line ("-A CHAIN ...") as arguments after the verb: ["CHAIN", ...]."""
    return shlex.split(line)[1:]


def rendered_rule(text: str, *needles: str) -> str:
    """The one line of rendered iptables-restore input containing every needle."""
    found = [ln for ln in text.splitlines() if ln.startswith("-A ") and all(n in ln for n in needles)]
    if len(found) != 1:
        raise ValueError(f"the fault needs exactly one rendered rule with {needles}, found {len(found)}")
    return found[0]
