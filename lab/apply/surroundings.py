"""The world around the cluster, realised: Internet, EIPs, NAT gateway, ELB, peer VPC, intranet.

Then every node gets kube-proxy's rules and its return paths, and the pods,
the Internet server and the intranet server their HTTP/UDP servers. The rule
texts come from `lab.render`; this module only hands them to the kernel.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network

from lab.apply import health, ingress, kubeproxy, workloads
from lab.errors import LabError
from lab.kernel import netns, procs, rtbatch
from lab.kernel.journal import Journal
from lab.kernel.links import configure, link_index, veth
from lab.plan.edge import NAT_UPLINK, UPLINK
from lab.plan.model import Node, Plan
from lab.plan.spread import Here
from lab.progress import Progress
from lab.render import edge as rules
from lab.render import nodenet

EIP_TABLE = 100  # VPC router: hosts with an EIP leave through the Internet uplink


def _iptables(plan: Plan, ns: str, text: str) -> None:
    procs.run(ns, [plan.iptables_tool("restore"), "--noflush"], input=text, mounts=False)


def _local_eips(ns: str, eips: list[str]) -> None:
    """EIPs are the edge's own addresses: unknown ports end there instead of looping."""
    with netns.iproute(ns) as ipr:
        for eip in eips:
            ipr.addr("add", index=1, address=eip, prefixlen=32)


def _internet(plan: Plan) -> None:
    inet, client, server = plan.host("internet-router"), plan.host("internet-client"), plan.host("internet-server")
    natgw, elb = plan.host("nat-gateway"), plan.host("elb")
    if not (inet and client and server):
        return
    with netns.iproute(inet.netns) as ipr:
        ipr.link("set", index=1, state="up")
        ipr.link("add", ifname="lan0", kind="bridge")
        lan = link_index(ipr, "lan0")
        ipr.link("set", index=lan, state="up")
        ipr.addr("add", index=lan, address=inet.ip, prefixlen=24)
        for host in (client, server):
            ipr.link("set", index=veth(ipr, host.name, host.netns, "eth0", plan.mtu), master=lan)
        ipr.addr("add", index=veth(ipr, "vpc", plan.router.netns, "uplink", plan.mtu), address=UPLINK[1], prefixlen=30)
        for eip in [*plan.node_eips.values(), *([elb.eip] if elb else [])]:
            ipr.route("add", dst=f"{eip}/32", gateway=UPLINK[0])
        if natgw:
            idx = veth(ipr, "natgw", natgw.netns, "uplink", plan.mtu)
            ipr.addr("add", index=idx, address=NAT_UPLINK[1], prefixlen=30)
            ipr.route("add", dst=f"{natgw.eip}/32", gateway=NAT_UPLINK[0])
    for host in (client, server):
        configure(host.netns, "eth0", host.ip, 24, routes=[("0.0.0.0/0", inet.ip)])


def _vpc_router(plan: Plan) -> None:
    """EIPs (1:1 NAT at the VPC edge), the peering connection, the intranet subnet."""
    router, edge = plan.router, plan.edge
    if plan.host("internet-router"):
        bound = rules.eip_bindings(plan)
        configure(router.netns, "uplink", UPLINK[0], 30)
        with netns.iproute(router.netns) as ipr:
            ipr.route("add", dst="0.0.0.0/0", gateway=UPLINK[1], table=EIP_TABLE)
            # VPC routes first (the main table without its default route), then EIP holders' own default.
            ipr.rule("add", table=254, suppress_prefixlen=0, priority=90)
            for private in bound:
                ipr.rule("add", src=private, src_len=32, table=EIP_TABLE, priority=100)
        _local_eips(router.netns, list(bound.values()))
        _iptables(plan, router.netns, rules.vpc_router_nat(plan))
    peer = plan.host("peer-host")
    if peer:
        prefix = IPv4Network(edge.peer_cidr).prefixlen
        with netns.iproute(router.netns) as ipr:
            idx = veth(ipr, "peer0", peer.netns, "eth0", plan.mtu)
            ipr.addr("add", index=idx, address=edge.peer_gateway, prefixlen=prefix)
        routes = [(plan.vpc_cidr, edge.peer_gateway)]
        if edge.peer_routes_containers:
            routes.append((plan.container_cidr, edge.peer_gateway))
        configure(peer.netns, "eth0", peer.ip, prefix, routes=routes)
    intra = plan.host("intranet-server")
    if intra:
        prefix = IPv4Network(edge.intranet_subnet).prefixlen
        with netns.iproute(router.netns) as ipr:
            idx = veth(ipr, "intra0", intra.netns, "eth0", plan.mtu)
            ipr.addr("add", index=idx, address=edge.intranet_gateway, prefixlen=prefix)
        configure(intra.netns, "eth0", intra.ip, prefix, routes=[("0.0.0.0/0", edge.intranet_gateway)])
        security_group(plan, edge.intranet_allow)


def security_group(plan: Plan, allow: list[str]) -> None:
    """The intranet server's security group: inbound only from `allow` (replaces the previous one)."""
    intra = plan.host("intranet-server")
    assert intra
    procs.run(intra.netns, ["nft", "-f", "-"], input=rules.security_group(allow), mounts=False)


def allowed_sources(plan: Plan) -> list[str]:
    """The sources the intranet server's security group allows now, read from the kernel (sorted prefixes).

    Raises LabError when the set cannot be read (someone deleted the table).
    """
    intra = plan.host("intranet-server")
    assert intra
    res = procs.run(intra.netns, ["nft", "-j", "list", "set", "inet", "cce_sg", "allowed"], mounts=False)
    try:
        found = next(item["set"] for item in json.loads(res.stdout)["nftables"] if "set" in item)
        elems = [e.get("prefix", e) if isinstance(e, dict) else e for e in found.get("elem", [])]
        return sorted(f"{e['addr']}/{e['len']}" if isinstance(e, dict) else f"{e}/32" for e in elems)
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        raise LabError(f"the intranet security group is unreadable: {exc}") from None


def _nat_gateway(plan: Plan) -> None:
    natgw = plan.host("nat-gateway")
    if not natgw or not plan.host("internet-router"):
        return
    with netns.iproute(natgw.netns) as ipr:
        ipr.route("del", dst="0.0.0.0/0")
        ipr.route("add", dst=plan.vpc_cidr, gateway=plan.router.ip)
        # Pods reach the Internet masqueraded to node IPs: a pod address has no business here.
        ipr.route("add", dst=plan.container_cidr, type="unreachable")
    configure(natgw.netns, "uplink", NAT_UPLINK[0], 30, routes=[("0.0.0.0/0", NAT_UPLINK[1])])
    _local_eips(natgw.netns, [natgw.eip])
    _iptables(plan, natgw.netns, rules.nat_gateway(plan))


def _elb(plan: Plan) -> None:
    elb = plan.host("elb")
    if elb:
        _iptables(plan, elb.netns, rules.elb(plan))


def _nodes(plan: Plan, nodes: list[Node]) -> None:
    """kube-proxy's rules, pod egress masquerade, and return paths through ELB / NAT gateway."""
    paths = nodenet.return_paths(plan)

    def one(node: Node) -> None:
        kubeproxy.program(plan, node, fresh=True)
        requests = rtbatch.Requests()
        for _mac, ip, mark, table in paths:
            requests.route("0.0.0.0/0", None, ip, table=table)
            requests.rule(table, 100, fwmark=mark)
        requests.send(node.netns)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # each node's restore is a process of its own
        list(pool.map(one, nodes))


def build(plan: Plan, here: Here, journal: Journal, progress: Progress) -> None:
    if here.shared:
        _internet(plan)
        _vpc_router(plan)
        _nat_gateway(plan)
        _elb(plan)
    progress(f"kube-proxy on {len(here.nodes)} nodes: {len(plan.services)} Services")
    _nodes(plan, here.nodes)
    progress("HTTP/UDP servers in every pod, health-check node ports on the nodes")
    workloads.start(plan, here, journal)
    if not here.shared:
        return
    health.start_checker(plan, journal)
    if plan.ingresses:
        progress("Ingress: nginx on the ELB")
        ingress.start(plan, journal)
