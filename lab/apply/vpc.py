"""The VPC and the pods on the kernel: namespaces with their sysctls, the router's subnet bridge, NICs, pod veths."""

from __future__ import annotations

from ipaddress import IPv4Network

from lab.kernel import netns, rtbatch
from lab.kernel.journal import Journal
from lab.kernel.links import configure, link_index, veth
from lab.plan.cluster import POD_GATEWAY
from lab.plan.model import Node, Plan, Pod

# The lab is IPv4 (as CCE's container networks are); no router solicitations or DAD noise in captures.
IPV6_OFF = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
LOOPBACK, POD_ETH0 = 1, 2  # interface indexes in a pod's namespace (eth0's chosen as it is made)
# Routers of the VPC and the Internet forward, and never redirect or filter by reverse path.
ROUTER_ROLES = ("vpc-router", "elb", "nat-gateway", "internet-router")
ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}
# Nodes route pod traffic; replies may come back on another interface than the route (tunnel models).
NODE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv4.conf.all.accept_redirects": "0",
}


def namespaces(plan: Plan, journal: Journal) -> None:
    """Every namespace, journalled before it exists, with its sysctls set before any device is made.

    One journal write names them all (one fsync, not thousands); `down` skips a name never made.
    """
    defaults = {n.netns: {**IPV6_OFF, **NODE_SYSCTLS} for n in plan.nodes}
    defaults |= {h.netns: {**IPV6_OFF, **ROUTER_SYSCTLS} for h in plan.hosts if h.role in ROUTER_ROLES}
    defaults |= {h.netns: IPV6_OFF for h in plan.hosts if h.role not in ROUTER_ROLES}
    names = plan.netns_names()
    journal.add_all([{"netns": ns} for ns in names])  # a kill after any create leaves it named
    for ns in names:
        netns.create(ns, defaults.get(ns))  # a pod's IPv6 is kept quiet by its link, not by sysctls


def router_and_nics(plan: Plan) -> None:
    """The VPC router: one bridge for the node subnet, its gateway IP, the VPC route table; every NIC on it."""
    prefixlen = IPv4Network(plan.node_subnet).prefixlen
    router = plan.router
    with netns.iproute(router.netns) as ipr:
        ipr.link("set", index=1, state="up")
        ipr.link("add", ifname="subnet0", kind="bridge")
        br = link_index(ipr, "subnet0")
        ipr.link("set", index=br, mtu=plan.mtu, state="up")
        ipr.addr("add", index=br, address=router.ip, prefixlen=prefixlen)
        members: list[tuple[str, str, str]] = [(n.router_if, n.netns, "") for n in plan.nodes]
        members += [(h.router_if, h.netns, h.mac) for h in plan.hosts if h.router_if]
        for ifname, peer_ns, mac in members:
            ipr.link("set", index=veth(ipr, ifname, peer_ns, "eth0", plan.mtu, peer_mac=mac or None), master=br)
        for route in plan.vpc_routes:
            ipr.route("add", dst=route.dst, gateway=route.via)
    default = [("0.0.0.0/0", router.ip)]
    for node in plan.nodes:
        configure(node.netns, "eth0", node.ip, prefixlen, mtu=plan.mtu, routes=default)
    for host in plan.hosts:
        if host.router_if:  # ECS, ELB, NAT gateway: hosts in the node subnet
            configure(host.netns, "eth0", host.source_ip, prefixlen, mtu=plan.mtu, routes=default)
            if host.backend_ip:  # the VIP second: the first address is what the host's own traffic leaves from
                with netns.iproute(host.netns) as ipr:
                    ipr.addr("add", index=link_index(ipr, "eth0"), address=host.ip, prefixlen=prefixlen)


def pods(plan: Plan) -> None:
    """One veth per pod: node end `veth-pK`, pod end `eth0` with its /32 and the 169.254.1.1 gateway."""
    for node in plan.nodes:
        wire_pods(plan, node, plan.pods_on(node.name))


def wire_pods(plan: Plan, node: Node, on_node: list[Pod]) -> None:
    """The veths of `on_node` (pods of `node`), as `up` makes them and `move` makes one more.

    One batch of requests to the node (every veth, its far end made in the pod's namespace)
    and one to each pod (eth0 without IPv6 addresses, lo and eth0 up, the /32, the gateway routes):
    no request waits for another, and no /proc/sys path is looked up per pod.
    """
    to_node = rtbatch.Requests()
    for pod in on_node:
        to_node.veth(pod.host_if, pod.host_index, plan.pod_mtu, pod.netns, "eth0", POD_ETH0, pod.mac)
    to_node.send(node.netns)
    for pod in on_node:
        to_pod = rtbatch.Requests()
        to_pod.no_ipv6_addresses(POD_ETH0)
        to_pod.up(LOOPBACK)
        to_pod.up(POD_ETH0)
        to_pod.addr(POD_ETH0, pod.ip, 32)
        to_pod.route(f"{POD_GATEWAY}/32", POD_ETH0, link_scope=True)
        to_pod.route("0.0.0.0/0", POD_ETH0, gateway=POD_GATEWAY)
        to_pod.send(pod.netns)


def pod_namespace(journal: Journal, pod: Pod) -> None:
    """A pod's namespace made on a running lab: journalled first, its sysctls as `namespaces` sets them."""
    journal.add(netns=pod.netns)
    netns.create(pod.netns)


def unwire_pod(node: Node, pod: Pod) -> None:
    """A pod gone: its veth (both ends) and its namespace."""
    with netns.iproute(node.netns) as ipr:
        found = ipr.link_lookup(ifname=pod.host_if)
        if found:
            ipr.link("del", index=found[0])
    if netns.exists(pod.netns):
        netns.delete(pod.netns)
