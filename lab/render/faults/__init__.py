"""The fault catalogue: ways to break a running lab behind its back, each with its exact undo. Pure.

The checker's tests inject every fault and hold `check` to exactly the rows
it names (lab.render.faults.fault); the training exercises inject the same
faults, so an exercise's break is always one `check` detects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.plan.model import Plan
from lab.render.faults import cluster, edge, ingress, netpol, network
from lab.render.faults.fault import Command, Fault, matches

__all__ = ["BUILDERS", "NEEDS", "Command", "Fault", "applicable", "fault", "matches"]

OVS = ("ovs-userspace", "ovs-kernel")
TUNNEL = (*OVS, "linux-vxlan")
ALL = (*TUNNEL, "routed")
VPC = ("routed",)

BUILDERS: dict[str, tuple[Callable[[Plan, Path], Fault], tuple[str, ...]]] = {
    # name -> (builder, the datapaths it applies to)
    "mtu-blackhole": (network.mtu_blackhole, TUNNEL),
    "dead-endpoint": (cluster.dead_endpoint, ALL),
    "skewed-spreading": (cluster.skewed_spreading, ALL),
    "fake-affinity": (cluster.fake_affinity, ALL),
    "nodeport-dead": (cluster.nodeport_dead, ALL),
    "dnat-wrong-node": (edge.dnat_wrong_node, ALL),
    "pod-nat": (cluster.pod_nat, VPC),
    "dead-pod": (cluster.dead_pod, ALL),
    "missing-vpc-route": (network.missing_vpc_route, VPC),
    "vxlan-port-removed": (network.vxlan_port_removed, TUNNEL),
    "flow-removed": (network.flow_removed, OVS),
    "kubeproxy-flushed": (cluster.kubeproxy_flushed, ALL),
    "underlay-down": (network.underlay_down, ALL),
    "rp-filter": (network.rp_filter, ("linux-vxlan",)),
    "snat-missing": (edge.snat_missing, ALL),
    "eip-unbound": (edge.eip_unbound, ALL),
    "elb-local-wrong-node": (edge.elb_local_wrong_node, ALL),
    "sg-no-containers": (edge.sg_no_containers, VPC),
    "ingress-cert-wrong-host": (ingress.cert_wrong_host, ALL),
    "ingress-no-forwarded-proto": (ingress.no_forwarded_proto, ALL),
    "ingress-no-default-tls-server": (ingress.no_default_tls_server, ALL),
    "ingress-plain-http-served": (ingress.plain_http_served, ALL),
    "netpol-allow-all": (netpol.allow_all, OVS),
    "netpol-deny-all": (netpol.deny_all, OVS),
    "elb-health-blocked": (edge.elb_health_blocked, ALL),
}
# Faults that need a lab of some shape besides its datapath (a lab without it is not offered them).
NEEDS: dict[str, Callable[[Plan], bool]] = {
    "netpol-allow-all": lambda plan: bool(plan.network_policies),
    "netpol-deny-all": lambda plan: bool(plan.network_policies),
}


# Faults that break kube-proxy's iptables chains: in IPVS mode there are none of those to break.
IPTABLES_ONLY = ("skewed-spreading", "fake-affinity", "nodeport-dead", "kubeproxy-flushed")


def _applies(plan: Plan, name: str) -> bool:
    if plan.kube_proxy_mode == "ipvs" and name in IPTABLES_ONLY:
        return False
    return plan.datapath in BUILDERS[name][1] and NEEDS.get(name, lambda _: True)(plan)


def applicable(plan: Plan) -> list[str]:
    return [name for name in BUILDERS if _applies(plan, name)]


def fault(plan: Plan, name: str, rundir: Path) -> Fault:
    """The fault `name` for this lab; ValueError when it does not apply to the lab's datapath or shape."""
    if name not in BUILDERS:
        raise ValueError(f"no fault {name!r} (known: {', '.join(BUILDERS)})")
    build, datapaths = BUILDERS[name]
    if plan.datapath not in datapaths:
        raise ValueError(f"fault {name} applies to {', '.join(datapaths)}, not {plan.datapath}")
    if plan.kube_proxy_mode == "ipvs" and name in IPTABLES_ONLY:
        raise ValueError(f"fault {name} breaks kube-proxy's iptables chains; this lab runs kube-proxy in IPVS mode")
    if not _applies(plan, name):
        raise ValueError(f"fault {name} does not apply to this lab (it has no NetworkPolicy)")
    return build(plan, rundir)
