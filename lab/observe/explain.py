"""`cce-lab explain SERVICE`: one real request, and every rule it hit, in order.

The trainer's whiteboard drawing, taken from the kernel: iptables packet
counters (and OVS flow counters in the tunnel model) are read before and
after a single request from a pod to the Service's ClusterIP; the rules whose
counters moved are the path the request took. Counters are shared: other
traffic in the same instant (ARP, a check running) shows up too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.datapaths.ovs import rundir
from lab.errors import LabError
from lab.kernel import procs
from lab.observe import counters, probe
from lab.observe.counters import iptables_counts
from lab.plan.model import Node, Plan, Pod, ServicePlan

_JUMP = re.compile(r" -j (\S+)")
_FLOW_STATS = re.compile(r"(cookie|duration|n_packets|n_bytes|idle_age|hard_age)=[^ ,]+,? ?")


@dataclass
class Step:
    title: str
    lines: list[str] = field(default_factory=list)


START_CHAINS = ("nat: PREROUTING", "filter: FORWARD", "nat: OUTPUT", "filter: OUTPUT", "nat: POSTROUTING")


def hit_in_order(before: dict[str, int], after: dict[str, int], starts: tuple[str, ...] = START_CHAINS) -> list[str]:
    """Rules whose counters moved, walked from PREROUTING/OUTPUT (or `starts`) along their jumps."""
    hit = [rule for rule, n in after.items() if n > before.get(rule, 0)]
    by_chain: dict[str, list[str]] = {}
    for rule in hit:
        table, _, text = rule.partition(": ")
        by_chain.setdefault(f"{table}: {text.split()[1]}", []).append(rule)
    ordered: list[str] = []

    def walk(chain: str) -> None:
        for rule in by_chain.pop(chain, []):
            ordered.append(rule)
            jump = _JUMP.search(rule)
            if jump:
                walk(f"{chain.split(':')[0]}: {jump.group(1)}")

    for start in starts:
        walk(start)
    return ordered


def _ovs_counts(plan: Plan, node: str) -> dict[str, int]:
    mgmt = f"unix:{rundir(plan.name, plan.node(node))}/br-int.mgmt"
    out = procs.run(None, ["ovs-ofctl", "dump-flows", mgmt]).stdout
    counts = {}
    for line in out.splitlines():
        m = re.search(r"n_packets=(\d+)", line)
        if m:
            counts[_FLOW_STATS.sub("", line).strip()] = int(m.group(1))
    return counts


def _moved(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return [flow for flow, n in after.items() if n > before.get(flow, 0)]


def _ipvs_step(number: int, plan: Plan, node: Node, pod: Pod, svc: ServicePlan) -> Step:
    """Which real server IPVS gave the request: its own connection table, the entry from this pod to the VIP."""
    vip = f"{svc.cluster_ip}:{svc.port}"
    conns = [c for c in counters.ipvs_conns(node.netns) if c[1].startswith(f"{pod.ip}:") and c[2] == vip]
    lines = [f"{vip} is an address of kube-ipvs0 on {node.name}: IPVS takes the connection in (rr, NAT)"]
    lines += [f"connection table: {c[0]} {c[1]} -> {c[2]} -> real server {c[3]} ({c[4]})" for c in conns[-3:]]
    return Step(f"{number}. IPVS on {node.name}: virtual server {vip} chose a real server", lines)


def explain(plan: Plan, service: str, source: Pod | None = None) -> list[Step]:
    svc = plan.service(service)
    if svc is None:
        raise LabError(f"no Service {service!r} in lab {plan.name} ({', '.join(s.name for s in plan.services)})")
    if svc.protocol != "TCP":
        raise LabError(f"explain follows TCP requests; {service} is {svc.protocol}")
    pod = source or plan.first_plain_pod()
    if pod is None:
        raise LabError(f"lab {plan.name} has no pod to send the request from")
    node = plan.node(pod.node)
    ovs = plan.datapath.startswith("ovs")
    nodes_seen = [n.name for n in plan.nodes]
    ipt_before = iptables_counts(node.netns, plan.iptables_tool("save"))
    ovs_before = {n: _ovs_counts(plan, n) for n in nodes_seen} if ovs else {}
    res = probe.http(pod.netns, svc.cluster_ip, svc.port)
    ipt_after = iptables_counts(node.netns, plan.iptables_tool("save"))
    ovs_after = {n: _ovs_counts(plan, n) for n in nodes_seen} if ovs else {}

    steps = [
        Step(
            f"1. {pod.name} ({pod.ip}) on {node.name} connects to {svc.name} at {svc.cluster_ip}:{svc.port}",
            [f"the pod's only route: default via 169.254.1.1 dev eth0 -> its node, {node.name} ({plan.datapath})"],
        )
    ]
    if ovs:
        steps.append(
            Step(
                f"2. br-int on {node.name} (OpenFlow counters moved): to the node kernel by gw0, back after DNAT",
                _moved(ovs_before[node.name], ovs_after[node.name]),
            )
        )
    rules = hit_in_order(ipt_before, ipt_after)
    steps.append(
        Step(
            f"{len(steps) + 1}. netfilter rules in {node.name} whose counters this request moved (nat, filter)",
            rules or ["(no nat rule counted: the connection may have matched an existing conntrack entry)"],
        )
    )
    ep = next((e for e in svc.endpoints if e.pod == res.answered_by), None)
    if plan.kube_proxy_mode == "ipvs":
        steps.append(_ipvs_step(len(steps) + 1, plan, node, pod, svc))
    if not res.ok or ep is None:
        steps.append(Step(f"{len(steps) + 1}. no answer", [res.detail]))
        return steps
    where = "the same node" if ep.node == node.name else ep.node
    path = [f"DNAT to {ep.ip}:{ep.port} ({ep.pod} on {where})"]
    if ep.node != node.name:
        target = plan.node(ep.node)
        if plan.model == "vpc":
            route = next((r for r in plan.vpc_routes if r.via == target.ip), None)
            path.append(f"{node.name}: default via the VPC router {plan.router.ip}")
            if route:
                path.append(f"VPC route table: {route.dst} -> {route.via} ({ep.node}); no encapsulation")
        elif ovs:
            path.append(f"{node.name}: route {plan.container_cidr} dev gw0 -> br-int -> its VXLAN port (step 2)")
            path.append(f"VXLAN (UDP 4789) from {node.ip} to {target.ip}; br-int on {ep.node}:")
            path += [f"  {f}" for f in _moved(ovs_before[ep.node], ovs_after[ep.node])]
        else:
            path.append(f"{node.name}: {ep.ip} via vxlan0 (kernel VXLAN, UDP 4789) to {target.ip}")
    steps.append(Step(f"{len(steps) + 1}. to the endpoint", path))
    steps.append(
        Step(
            f"{len(steps) + 1}. {ep.pod} answers {res.detail}; it saw the client {res.source}",
            [f"{node.name}'s conntrack turns the reply's source back into {svc.cluster_ip}:{svc.port}"],
        )
    )
    return steps
