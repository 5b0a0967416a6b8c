"""Pods moved or a workload scaled on a running lab, planned: the new pods, and the Services' endpoints after. Pure.

As a Deployment does when a pod is evicted: the old pod goes, a new pod of the same
workload starts on the target node under a new name (`web-4`), with an address of
the target node's pod block(s), its own veth (`veth-pK`) and OVS port. A node whose
blocks are full is refused (the lab does not hand out a new block at runtime).
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network, ip_address

from lab.errors import UsageError
from lab.plan.cluster import POD_OFPORT_BASE, _mac
from lab.plan.model import Endpoint, Plan, Pod
from lab.plan.services import _sorted_endpoints


def _free_ip(plan: Plan, node: str) -> str | None:
    """The first address of the node's blocks no pod uses (as `up` allocates: VPC blocks skip network and gateway)."""
    used = {p.ip for p in plan.pods}
    cidr = IPv4Network(plan.container_cidr)
    for block in plan.node(node).pod_cidrs:
        net = IPv4Network(block)
        addrs = list(net)[2:-1] if plan.model == "vpc" else list(net)
        for addr in addrs:
            if addr not in (cidr.network_address, cidr.broadcast_address) and str(addr) not in used:
                return str(addr)
    return None


def _next_index(names: list[str], prefix: str) -> int:
    numbers = [int(n[len(prefix) :]) for n in names if n.startswith(prefix) and n[len(prefix) :].isdigit()]
    return max(numbers, default=0) + 1


def new_pod(plan: Plan, workload: str, node: str, port: int) -> Pod:
    """A new pod of `workload` on `node`: the next free name, address, veth and OpenFlow port."""
    ip = _free_ip(plan, node)
    if ip is None:
        raise UsageError(f"{node}'s pod blocks ({', '.join(plan.node(node).pod_cidrs)}) have no free address")
    name = f"{workload}-{_next_index([p.name for p in plan.pods], f'{workload}-')}"
    k = max([int(p.host_if.removeprefix("veth-p")) for p in plan.pods_on(node)], default=0) + 1
    netns = f"{plan.name}-{name}"
    return Pod(name, netns, node, ip, _mac("0a:58", ip_address(ip)), f"veth-p{k}", POD_OFPORT_BASE + k, workload, port)


def with_pods(plan: Plan, pods: list[Pod]) -> Plan:
    """The plan with another pod list: every Service's endpoints recomputed from it (kube-proxy's order)."""
    services = []
    for svc in plan.services:
        workload = svc.app or svc.workload  # a plan saved before `app` existed keeps it in its endpoints
        endpoints = [
            Endpoint(p.name, p.node, p.ip, svc.target_port) for p in pods if workload and p.workload == workload
        ]
        services.append(dataclasses.replace(svc, endpoints=_sorted_endpoints(endpoints)))
    return dataclasses.replace(plan, pods=pods, services=services)


def check_pod(plan: Plan, name: str) -> Pod:
    pod = next((p for p in plan.pods if p.name == name), None)
    if pod is None:
        raise UsageError(f"pod: no pod named {name!r} in lab {plan.name} ({', '.join(p.name for p in plan.pods)})")
    if not pod.workload:
        raise UsageError(f"pod: {name} belongs to no workload (only a Deployment's pods are rescheduled)")
    return pod


def check_node(plan: Plan, name: str) -> str:
    if name not in {n.name for n in plan.nodes}:
        raise UsageError(f"node: no node named {name!r} in lab {plan.name} ({', '.join(n.name for n in plan.nodes)})")
    return name


def move(plan: Plan, pod_name: str, node: str) -> tuple[Plan, Pod, Pod]:
    """(the plan after the move, the old pod, the new pod); UsageError for an unknown pod or node."""
    old = check_pod(plan, pod_name)
    check_node(plan, node)
    if old.node == node:
        raise UsageError(f"node: {pod_name} already runs on {node}")
    pod = new_pod(plan, old.workload, node, old.port)
    pods = [p for p in plan.pods if p.name != old.name] + [pod]
    return with_pods(plan, pods), old, pod


MAX_REPLICAS = 100  # `scale` on a running lab: a namespace and a process each


def workloads(plan: Plan) -> list[str]:
    """The Deployments of the lab: those with pods, and those a Service selects (scaled to zero, say)."""
    found = {p.workload for p in plan.pods if p.workload} | {s.app for s in plan.services if s.app}
    return sorted(found)


def _emptiest(plan: Plan, workload: str) -> str:
    """Where the scheduler puts the next pod: the node with fewest of this workload's pods, then fewest pods."""
    return min(
        plan.nodes,
        key=lambda n: (sum(p.workload == workload for p in plan.pods_on(n.name)), len(plan.pods_on(n.name))),
    ).name


def scale(plan: Plan, workload: str, replicas: int) -> tuple[Plan, list[Pod], list[Pod]]:
    """(the plan after, the pods removed (newest first), the pods added); UsageError for bad input."""
    if workload not in workloads(plan):
        raise UsageError(f"workload: no workload named {workload!r} in lab {plan.name} ({', '.join(workloads(plan))})")
    if not 0 <= replicas <= MAX_REPLICAS:
        raise UsageError(f"replicas: {replicas} is outside 0-{MAX_REPLICAS}")
    mine = [p for p in plan.pods if p.workload == workload]
    port = mine[0].port if mine else next((s.target_port for s in plan.services if s.app == workload), 8080)
    index = {p.name: int(p.name.rsplit("-", 1)[1]) for p in mine}
    removed = sorted(mine, key=lambda p: index[p.name], reverse=True)[: max(len(mine) - replicas, 0)]
    current = with_pods(plan, [p for p in plan.pods if p not in removed])
    added = []
    for _ in range(replicas - len(mine)):
        pod = new_pod(current, workload, _emptiest(current, workload), port)
        added.append(pod)
        current = with_pods(current, [*current.pods, pod])
    return current, removed, added
