"""Which paths of a lab are measured, read from its plan (pure): client, server and the address to aim at."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from lab.plan.model import Plan, Pod, ServicePlan

BENCH_PORT = 5201  # iperf3's port: a Service must target it for the pod-ClusterIP path
PATH_NAMES = ("pod-pod same node", "pod-pod across nodes", "pod-ClusterIP", "node-node")
LEFT_OUT = "left out: not among the --path given"


@dataclass(frozen=True)
class ServiceTarget:
    """A Service as the far end: aim at cluster_ip:port, serve on every endpoint (netns, pod IP) at target_port."""

    cluster_ip: str
    port: int
    target_port: int
    endpoints: tuple[tuple[str, str], ...]


def _plain(plan: Plan, node: str) -> list[Pod]:
    """The pods on `node` no Service selects (the plain pod-N-K pods)."""
    return [p for p in plan.pods_on(node) if not p.workload]


def bench_service(plan: Plan) -> tuple[ServiceTarget | None, str]:
    """The Service the pod-ClusterIP path goes through, or None and why there is none.

    iperf3 must listen where the Service sends traffic, so only a TCP Service whose
    targetPort is 5201 can be measured (the shipped topologies define `bench`). Its
    iperf3 control and data connections must all reach the same endpoint, so it needs
    sessionAffinity ClientIP or a single endpoint. UDP and ping are not measured
    through it: a TCP Service translates no UDP, and a ClusterIP answers no ICMP.
    """
    candidates = [s for s in plan.services if s.protocol == "TCP" and s.target_port == BENCH_PORT and s.cluster_ip]
    if not candidates:
        return None, f"no Service with targetPort {BENCH_PORT} (iperf3); add one to the topology"
    with_endpoints = [s for s in candidates if s.endpoints]
    if not with_endpoints:
        return None, f"Service {candidates[0].name} (targetPort {BENCH_PORT}) has no endpoints"
    usable = [s for s in with_endpoints if s.session_affinity == "ClientIP" or len(s.endpoints) == 1]
    if not usable:
        s = with_endpoints[0]
        return None, (
            f"Service {s.name} spreads iperf3's connections over {len(s.endpoints)} endpoints: "
            "give it sessionAffinity: ClientIP"
        )
    chosen: ServicePlan = usable[0]
    by_name = {p.name: p for p in plan.pods}
    endpoints = tuple((by_name[e.pod].netns, e.ip) for e in chosen.endpoints)
    return ServiceTarget(chosen.cluster_ip, chosen.port, chosen.target_port, endpoints), ""


def paths(plan: Plan) -> tuple[dict[str, tuple[str, str, str]], dict[str, str]]:
    """The measured paths -> (client netns, server netns, IP to aim at), and skipped paths -> reason.

    - "pod-pod same node": two plain pods (no workload) on node-1;
    - "pod-pod across nodes": a plain pod on node-1 -> one on the last node;
    - "pod-ClusterIP": a plain pod on node-1 -> the ClusterIP of the Service `bench_service`
      picks; the server netns given is its first endpoint's, but `run_suite` serves on
      every endpoint (the Service may pick any). Skipped, with the reason, when no Service
      has targetPort 5201: a temporary DNAT rule would change the lab being measured;
    - "node-node": node-1's netns -> the last node's IP.
    """
    found: dict[str, tuple[str, str, str]] = {}
    skipped: dict[str, str] = {}
    if not plan.nodes:
        return found, dict.fromkeys(PATH_NAMES, "the lab has no nodes")
    first, last = plan.nodes[0], plan.nodes[-1]
    local = _plain(plan, first.name)
    if len(local) >= 2:
        found["pod-pod same node"] = (local[0].netns, local[1].netns, local[1].ip)
    else:
        skipped["pod-pod same node"] = f"{first.name} has fewer than two plain pods (pods_per_node)"
    remote = _plain(plan, last.name)
    if len(plan.nodes) < 2:
        skipped["pod-pod across nodes"] = "the lab has one node: no path across nodes"
    elif not local or not remote:
        skipped["pod-pod across nodes"] = f"{first.name} or {last.name} has no plain pod (pods_per_node)"
    else:
        found["pod-pod across nodes"] = (local[0].netns, remote[0].netns, remote[0].ip)
    target, reason = bench_service(plan)
    if target is None:
        skipped["pod-ClusterIP"] = reason
    elif not local:
        skipped["pod-ClusterIP"] = f"{first.name} has no plain pod to act as client (pods_per_node)"
    else:
        found["pod-ClusterIP"] = (local[0].netns, target.endpoints[0][0], target.cluster_ip)
    if len(plan.nodes) < 2:
        skipped["node-node"] = "the lab has one node: no path across nodes"
    else:
        found["node-node"] = (first.netns, last.netns, last.ip)
    return found, skipped


def only(
    found: dict[str, tuple[str, str, str]], skipped: dict[str, str], chosen: Collection[str] | None
) -> tuple[dict[str, tuple[str, str, str]], dict[str, str]]:
    """`paths`' answer cut to the paths `chosen` (None: all); a measurable path left out is skipped as LEFT_OUT.

    A short run (the reference VM's, under emulation) measures the paths it is about, not all four.
    """
    if chosen is None:
        return found, skipped
    kept = {name: ends for name, ends in found.items() if name in chosen}
    return kept, {**skipped, **{name: LEFT_OUT for name in found if name not in chosen}}
