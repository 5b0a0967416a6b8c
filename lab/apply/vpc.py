"""The VPC and the pods on the kernel: namespaces with their sysctls, the router's subnet bridge, NICs, pod veths."""

from __future__ import annotations

from ipaddress import IPv4Network

from lab.kernel import netns, rtbatch
from lab.kernel.journal import Journal
from lab.plan.cluster import POD_GATEWAY
from lab.plan.model import Node, Plan, Pod
from lab.plan.spread import Here

# The lab is IPv4 (as CCE's container networks are); no router solicitations or DAD noise in captures.
IPV6_OFF = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
# Interface indexes the lab chooses as it makes the devices, so no request waits for a lookup:
LOOPBACK, POD_ETH0, NIC = 1, 2, 2  # a pod's eth0, a node's or subnet host's eth0
SUBNET_BRIDGE, ROUTER_PORTS = 900, 1000  # the VPC router's subnet0 and its ports (node-1 first)
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


def namespaces(plan: Plan, here: Here, journal: Journal) -> None:
    """Every namespace this host holds, journalled before it exists, its sysctls set before any device is made.

    One journal write names them all (one fsync, not thousands); `down` skips a name never made.
    """
    defaults = {n.netns: {**IPV6_OFF, **NODE_SYSCTLS} for n in plan.nodes}
    defaults |= {h.netns: {**IPV6_OFF, **ROUTER_SYSCTLS} for h in plan.hosts if h.role in ROUTER_ROLES}
    defaults |= {h.netns: IPV6_OFF for h in plan.hosts if h.role not in ROUTER_ROLES}
    names = [ns for ns in plan.netns_names() if here.holds(ns)]
    if not here.shared:
        names.insert(0, here.bridge_netns)  # this host's part of the node subnet
    journal.add_all([{"netns": ns} for ns in names])  # a kill after any create leaves it named
    for ns in names:
        netns.create(ns, defaults.get(ns))  # a pod's IPv6 is kept quiet by its link, not by sysctls


def router_and_nics(plan: Plan, here: Here) -> None:
    """The VPC router: one bridge for the node subnet, its gateway IP, the VPC route table; every NIC on it.

    One batch of requests to the router (every port a veth whose far end is the NIC `eth0`) and
    one to each node and host in the subnet (its address and default route). On a host without
    the router, the bridge is in `<lab>-underlay` and holds only that host's nodes.
    """
    prefixlen = IPv4Network(plan.node_subnet).prefixlen
    router = plan.router
    with netns.iproute(here.bridge_netns) as ipr:
        ipr.link("add", ifname="subnet0", kind="bridge", index=SUBNET_BRIDGE, mtu=plan.mtu, state="up")
    subnet_hosts = [h for h in plan.hosts if h.router_if] if here.shared else []
    to_router = rtbatch.Requests()
    to_router.up(LOOPBACK)
    if here.shared:
        to_router.addr(SUBNET_BRIDGE, router.ip, prefixlen)
    members: list[tuple[str, str, str]] = [(n.router_if, n.netns, "") for n in here.nodes]
    members += [(h.router_if, h.netns, h.mac) for h in subnet_hosts]
    for port, (ifname, peer_ns, mac) in enumerate(members, start=ROUTER_PORTS):
        to_router.veth(ifname, port, plan.mtu, peer_ns, "eth0", NIC, mac or None)
        to_router.up(port, master=SUBNET_BRIDGE)
    for route in plan.vpc_routes if here.shared else []:
        to_router.route(route.dst, SUBNET_BRIDGE, route.via)
    to_router.send(here.bridge_netns)
    subnet = [(n.netns, [n.ip]) for n in here.nodes]
    # ECS, ELB, NAT gateway: their own address first (what their traffic leaves from), then a VIP
    subnet += [(h.netns, [h.source_ip, *([h.ip] if h.backend_ip else [])]) for h in subnet_hosts]
    for ns, addresses in subnet:
        to_nic = rtbatch.Requests()
        to_nic.up(LOOPBACK)
        to_nic.up(NIC)
        for ip in addresses:
            to_nic.addr(NIC, ip, prefixlen)
        to_nic.route("0.0.0.0/0", NIC, router.ip)
        to_nic.send(ns)


def pods(plan: Plan, here: Here) -> None:
    """One veth per pod: node end `veth-pK`, pod end `eth0` with its /32 and the 169.254.1.1 gateway."""
    for node in here.nodes:
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
