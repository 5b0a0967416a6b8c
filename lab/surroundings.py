"""The world around the cluster, realised: Internet, EIPs, NAT gateway, ELB, peer VPC, intranet.

Then every node gets kube-proxy's rules and its return paths, and the pods,
the Internet server and the intranet server their HTTP/UDP servers.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network

from lab import ingress, kubeproxy, netns, nodenet, procs, workloads
from lab.edge import NAT_UPLINK, UPLINK
from lab.journal import Journal
from lab.netns import link_index
from lab.plan import Plan

EIP_TABLE = 100  # VPC router: hosts with an EIP leave through the Internet uplink


def _addr_up(ns: str, ifname: str, ip: str, prefixlen: int, routes: list[tuple[str, str]]) -> None:
    """Address an interface in `ns`, bring it (and lo) up, add (dst, gateway) routes."""
    with netns.iproute(ns) as ipr:
        ipr.link("set", index=1, state="up")
        idx = link_index(ipr, ifname)
        ipr.link("set", index=idx, state="up")
        ipr.addr("add", index=idx, address=ip, prefixlen=prefixlen)
        for dst, gw in routes:
            ipr.route("add", dst=dst, gateway=gw)


def _iptables(ns: str, lines: list[str]) -> None:
    if lines:
        procs.run(ns, ["iptables-restore", "--noflush"], input="\n".join(lines) + "\n")


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
            ipr.link("set", index=netns.veth(ipr, host.name, host.netns, "eth0", plan.mtu), master=lan)
        ipr.addr(
            "add", index=netns.veth(ipr, "vpc", plan.router.netns, "uplink", plan.mtu), address=UPLINK[1], prefixlen=30
        )
        routed_eips = [*plan.node_eips.values(), *([elb.eip] if elb else [])]
        for eip in routed_eips:
            ipr.route("add", dst=f"{eip}/32", gateway=UPLINK[0])
        if natgw:
            idx = netns.veth(ipr, "natgw", natgw.netns, "uplink", plan.mtu)
            ipr.addr("add", index=idx, address=NAT_UPLINK[1], prefixlen=30)
            ipr.route("add", dst=f"{natgw.eip}/32", gateway=NAT_UPLINK[0])
    for host in (client, server):
        _addr_up(host.netns, "eth0", host.ip, 24, [("0.0.0.0/0", inet.ip)])


def _vpc_router(plan: Plan) -> None:
    """EIPs (1:1 NAT at the VPC edge), the peering connection, the intranet subnet."""
    router, elb = plan.router, plan.host("elb")
    bound = {plan.node(n).ip: eip for n, eip in plan.node_eips.items()}  # private IP -> EIP
    if elb:
        bound[elb.ip] = elb.eip
    if plan.host("internet-router"):
        _addr_up(router.netns, "uplink", UPLINK[0], 30, [])
        with netns.iproute(router.netns) as ipr:
            ipr.route("add", dst="0.0.0.0/0", gateway=UPLINK[1], table=EIP_TABLE)
            # VPC routes first (the main table without its default route), then EIP holders' own default.
            ipr.rule("add", table=254, suppress_prefixlen=0, priority=90)
            for private in bound:
                ipr.rule("add", src=private, src_len=32, table=EIP_TABLE, priority=100)
        _local_eips(router.netns, list(bound.values()))
        nat = ["*nat"]
        for private, eip in bound.items():
            nat.append(
                f'-A PREROUTING -d {eip}/32 -m comment --comment "EIP {eip} -> {private}" '
                f"-j DNAT --to-destination {private}"
            )
            nat.append(
                f'-A POSTROUTING -s {private}/32 -o uplink -m comment --comment "EIP {eip}" -j SNAT --to-source {eip}'
            )
        _iptables(router.netns, [*nat, "COMMIT"])
    edge = plan.edge
    peer = plan.host("peer-host")
    if peer and edge:
        prefix = IPv4Network(edge.peer_cidr).prefixlen
        with netns.iproute(router.netns) as ipr:
            ipr.addr(
                "add",
                index=netns.veth(ipr, "peer0", peer.netns, "eth0", plan.mtu),
                address=edge.peer_gateway,
                prefixlen=prefix,
            )
        routes = [(plan.vpc_cidr, edge.peer_gateway)]
        if edge.peer_routes_containers:
            routes.append((plan.container_cidr, edge.peer_gateway))
        _addr_up(peer.netns, "eth0", peer.ip, prefix, routes)
    intra = plan.host("intranet-server")
    if intra and edge:
        prefix = IPv4Network(edge.intranet_subnet).prefixlen
        with netns.iproute(router.netns) as ipr:
            idx = netns.veth(ipr, "intra0", intra.netns, "eth0", plan.mtu)
            ipr.addr("add", index=idx, address=edge.intranet_gateway, prefixlen=prefix)
        _addr_up(intra.netns, "eth0", intra.ip, prefix, [("0.0.0.0/0", edge.intranet_gateway)])
        security_group(plan, edge.intranet_allow)


def security_group(plan: Plan, allow: list[str]) -> None:
    """The intranet server's security group: inbound only from `allow` (replaces the previous one)."""
    intra = plan.host("intranet-server")
    assert intra
    sources = ", ".join(allow) or "0.0.0.0/32"
    ruleset = (
        "table inet cce_sg\nflush table inet cce_sg\n"
        "table inet cce_sg {\n"
        "  chain inbound {\n"
        "    type filter hook input priority 0; policy drop;\n"
        "    ct state established,related accept\n"
        "    iif lo accept\n"
        f'    ip saddr {{ {sources} }} accept comment "security group: allowed sources"\n'
        "  }\n"
        "}\n"
    )
    procs.run(intra.netns, ["nft", "-f", "-"], input=ruleset)


def _nat_gateway(plan: Plan) -> None:
    natgw = plan.host("nat-gateway")
    if not natgw or not plan.host("internet-router"):
        return
    with netns.iproute(natgw.netns) as ipr:
        ipr.route("del", dst="0.0.0.0/0")
        ipr.route("add", dst=plan.vpc_cidr, gateway=plan.router.ip)
        # Pods reach the Internet masqueraded to node IPs: a pod address has no business here.
        ipr.route("add", dst=plan.container_cidr, type="unreachable")
    _addr_up(natgw.netns, "uplink", NAT_UPLINK[0], 30, [("0.0.0.0/0", NAT_UPLINK[1])])
    _local_eips(natgw.netns, [natgw.eip])
    nat = ["*nat"]
    if plan.edge and plan.edge.snat:
        nat.append(
            f'-A POSTROUTING -s {plan.vpc_cidr} -o uplink -m comment --comment "SNAT rule: VPC -> {natgw.eip}" '
            f"-j SNAT --to-source {natgw.eip}"
        )
    for svc in plan.services:
        for rule in svc.dnat:
            nat.append(
                f"-A PREROUTING -d {rule.eip}/32 -i uplink -p tcp -m tcp --dport {rule.eip_port} -m comment "
                f'--comment "DNAT rule {svc.name}: {rule.eip}:{rule.eip_port} -> {rule.node}" '
                f"-j DNAT --to-destination {rule.node_ip}:{rule.node_port}"
            )
    _iptables(natgw.netns, [*nat, "COMMIT"])


def _elb(plan: Plan) -> None:
    elb = plan.host("elb")
    if not elb:
        return
    nat, flt = ["*nat"], ["*filter"]
    for svc in plan.services:
        if svc.type != "LoadBalancer":
            continue
        backends = [n.ip for n in svc.backends(plan.nodes)]
        match = f"-d {elb.ip}/32 -p tcp -m tcp --dport {svc.port}"
        if not backends:
            flt.append(
                f'-A INPUT {match} -m comment --comment "{svc.name}: no healthy backend" '
                "-j REJECT --reject-with tcp-reset"
            )
            continue
        chain = "ELB-" + kubeproxy.chain_suffix(svc.name)  # unique, within iptables' 28 characters
        nat += [f":{chain} - [0:0]", f'-A PREROUTING {match} -m comment --comment "listener {svc.name}" -j {chain}']
        for i, ip in enumerate(backends):
            stat = kubeproxy.probability(i, len(backends))
            nat.append(f"-A {chain} -p tcp{stat} -j DNAT --to-destination {ip}:{svc.node_port}")
    _iptables(elb.netns, [*nat, "COMMIT", *flt, "COMMIT"])


def _nodes(plan: Plan) -> None:
    """kube-proxy's rules, pod egress masquerade, and return paths through ELB / NAT gateway."""
    paths = nodenet.return_paths(plan)
    for node in plan.nodes:
        procs.run(node.netns, ["iptables-restore", "--noflush"], input=nodenet.ruleset(plan, node))
        with netns.iproute(node.netns) as ipr:
            for _mac, ip, mark, table in paths:
                ipr.route("add", dst="0.0.0.0/0", gateway=ip, table=table)
                ipr.rule("add", fwmark=mark, fwmask=mark, table=table, priority=100)


def build(plan: Plan, journal: Journal, progress: Callable[[str], None]) -> None:
    _internet(plan)
    _vpc_router(plan)
    _nat_gateway(plan)
    _elb(plan)
    progress(f"kube-proxy on {len(plan.nodes)} nodes: {len(plan.services)} Services")
    _nodes(plan)
    progress("HTTP/UDP servers in every pod")
    workloads.start(plan, journal)
    if plan.ingresses:
        progress("Ingress: nginx on the ELB")
        ingress.start(plan, journal)
