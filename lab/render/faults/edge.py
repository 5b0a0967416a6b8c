"""Faults around the cluster: the NAT gateway, EIPs, the ELB, the intranet's security group. Pure."""

from __future__ import annotations

from pathlib import Path

from lab.plan.model import Plan
from lab.render import edge
from lab.render.faults.fault import Fault, forget_connections, ipt, rendered_rule, rule_args


def dnat_wrong_node(plan: Plan, rundir: Path) -> Fault:
    svc = next(s for s in plan.services if s.dnat)
    first, other = svc.dnat[0], svc.dnat[1]
    natgw = plan.host("nat-gateway")
    assert natgw
    rule = ["PREROUTING", "-d", f"{first.eip}/32", "-i", "uplink", "-p", "tcp", "-m", "tcp"]
    rule += ["--dport", str(first.eip_port), "-j", "DNAT", "--to-destination", f"{other.node_ip}:{first.node_port}"]
    return Fault(
        "dnat-wrong-node",
        f"the NAT gateway's rule for {first.eip}:{first.eip_port} points at {other.node} instead of {first.node}",
        [ipt(plan, natgw.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [ipt(plan, natgw.netns, "-t", "nat", "-D", *rule)],
        (f"DNAT {first.eip}:{first.eip_port} -> {first.node}",),
    )


def _natgw(plan: Plan) -> str:
    natgw = plan.host("nat-gateway")
    if natgw is None:
        raise ValueError("the fault needs a NAT gateway (the shipped topologies have one)")
    return natgw.netns


def snat_missing(plan: Plan, rundir: Path) -> Fault:
    if not plan.edge.snat:
        raise ValueError("the fault needs the NAT gateway's SNAT rule (nat_gateway: {snat: true})")
    rule = rule_args(rendered_rule(edge.nat_gateway(plan), "SNAT rule"))
    ns = _natgw(plan)
    return Fault(
        "snat-missing",
        "the NAT gateway loses its SNAT rule: pods on nodes without an EIP lose the Internet",
        [ipt(plan, ns, "-t", "nat", "-D", *rule)],
        [ipt(plan, ns, "-t", "nat", "-A", *rule)],
        ("-> Internet (NAT gateway SNAT)",),
    )


def eip_unbound(plan: Plan, rundir: Path) -> Fault:
    if not plan.node_eips:
        raise ValueError("the fault needs a node with an EIP (eips: [node-1])")
    node_name, eip = next(iter(plan.node_eips.items()))
    node = plan.node(node_name)
    text = edge.vpc_router_nat(plan)
    rules = [rule_args(rendered_rule(text, f"-d {eip}/32")), rule_args(rendered_rule(text, f"-s {node.ip}/32"))]
    ns = plan.router.netns
    return Fault(
        "eip-unbound",
        f"the EIP {eip} is unbound from {node_name}: its NodePorts vanish from the Internet, its pods leave by SNAT",
        [ipt(plan, ns, "-t", "nat", "-D", *r) for r in rules],
        [ipt(plan, ns, "-t", "nat", "-A", *r) for r in rules],
        (f"Internet -> EIP of {node_name} ", f"pod on {node_name} -> Internet (its node's EIP)"),
    )


def elb_local_wrong_node(plan: Plan, rundir: Path) -> Fault:
    svc = next((s for s in plan.services if s.type == "LoadBalancer" and s.external_traffic_policy == "Local"), None)
    empty = [n for n in plan.nodes if svc and n.name not in svc.nodes_with_endpoints()]
    if svc is None or not svc.endpoints or not empty or not plan.host("elb"):
        raise ValueError("the fault needs a Local LoadBalancer Service with a node that has no endpoint of it")
    elb = plan.host("elb")
    assert elb
    rule = [edge.elb_chain(svc), "-p", "tcp", "-j", "DNAT"]
    rule += ["--to-destination", f"{empty[0].ip}:{svc.node_port}"]
    return Fault(
        "elb-local-wrong-node",
        f"the ELB sends {svc.name} (externalTrafficPolicy: Local) to {empty[0].name}, which has no endpoint of it",
        [ipt(plan, elb.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [ipt(plan, elb.netns, "-t", "nat", "-D", *rule)],
        (  # the ELB's listener is the same from the Internet and from the VPC
            f"Internet -> ELB EIP {svc.eip}:{svc.port} (Local)",
            *([f"ECS -> private ELB {svc.vip}:{svc.port} ({svc.name})"] if plan.host("ecs") else []),
            f"ELB health check of {svc.label}:",  # the chain holds a node the plan (and the probes) exclude
        ),
        ("source IP seen by the pod, externalTrafficPolicy Local",),
        # the connections the ELB sent to the empty node, whose kube-proxy DROPs them: still unreplied
        forget=[forget_connections(elb.netns, "--reply-src", empty[0].ip, "--reply-port-src", str(svc.node_port))],
    )


def sg_no_containers(plan: Plan, rundir: Path) -> Fault:
    intra = plan.host("intranet-server")
    if intra is None or plan.container_cidr not in plan.edge.intranet_allow:
        raise ValueError("the fault needs an intranet server whose security group allows the container CIDR")
    element = ["inet", "cce_sg", "allowed", f"{{ {plan.container_cidr} }}"]
    return Fault(
        "sg-no-containers",
        f"the intranet server's security group no longer allows the container CIDR {plan.container_cidr}",
        [(intra.netns, ["nft", "delete", "element", *element], None)],
        [(intra.netns, ["nft", "add", "element", *element], None)],
        ("pod -> intranet server", "intranet security group as planned"),
    )


def elb_health_blocked(plan: Plan, rundir: Path) -> Fault:
    """A node's firewall drops the ELB's health checks (CCE's classic: the node security group forgot them)."""
    svc = next((s for s in plan.services if s.type == "LoadBalancer" and s.health_check_node_port), None)
    if svc is None or not svc.endpoints or not plan.host("elb"):
        raise ValueError("the fault needs a Local LoadBalancer Service with endpoints (it has a healthCheckNodePort)")
    node = plan.node(svc.nodes_with_endpoints()[0])
    rule = ["INPUT", "-p", "tcp", "-m", "tcp", "--dport", str(svc.health_check_node_port), "-j", "DROP"]
    only = len(svc.nodes_with_endpoints()) == 1
    return Fault(
        "elb-health-blocked",
        f"{node.name} drops the ELB's health checks of {svc.name} (port {svc.health_check_node_port}): the ELB takes "
        f"it out of {svc.name}'s backends although it has a local endpoint",
        [ipt(plan, node.netns, "-I", rule[0], "1", *rule[1:])],
        [ipt(plan, node.netns, "-D", *rule)],
        (f"ELB health check of {svc.label}:",),
        (  # the ELB no longer reaches that node: rows that expect it among the backends (or, alone, at all)
            f"Internet -> ELB EIP {svc.eip}:{svc.port} (Local)",
            *([f"ECS -> private ELB {svc.vip}:{svc.port} ({svc.name})"] if plan.host("ecs") else []),
            *(("source IP seen by the pod, externalTrafficPolicy Local",) if only else ()),
        ),
    )
