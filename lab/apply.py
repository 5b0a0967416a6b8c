"""Apply: realise a plan on the kernel, recording every object as it is made.

Order: namespaces, the VPC (router, node NICs, ECS), pods, then the datapath
that joins the pods (routed for the VPC model, OVS or kernel VXLAN for the
tunnel model). A failure anywhere undoes what the journal holds so far.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network

from lab import linuxvxlan, netns, ovs, routed, surroundings
from lab.errors import LabError
from lab.journal import Journal
from lab.netns import SCOPE_LINK, link_index
from lab.plan import POD_GATEWAY, Plan
from lab.teardown import undo

Progress = Callable[[str], None]
# The lab is IPv4 (as CCE's container networks are); no router solicitations or DAD noise in captures.
IPV6_OFF = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
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


def _quiet(_: str) -> None:
    pass


def _host_side(ns: str, ip: str, prefixlen: int, mtu: int, gateway: str, onlink: bool = False) -> None:
    """Address eth0 in `ns`, bring it up and point the default route at `gateway`."""
    with netns.iproute(ns) as ipr:
        ipr.link("set", index=1, state="up")
        idx = link_index(ipr, "eth0")
        ipr.link("set", index=idx, state="up", mtu=mtu)
        ipr.addr("add", index=idx, address=ip, prefixlen=prefixlen)
        if onlink:
            ipr.route("add", dst=f"{gateway}/32", oif=idx, scope=SCOPE_LINK)
        ipr.route("add", dst="0.0.0.0/0", gateway=gateway, oif=idx)


def _build_vpc(plan: Plan) -> None:
    """The VPC router: one bridge for the node subnet, its gateway IP, the VPC route table."""
    subnet = IPv4Network(plan.node_subnet)
    router = plan.router
    with netns.iproute(router.netns) as ipr:
        ipr.link("set", index=1, state="up")
        ipr.link("add", ifname="subnet0", kind="bridge")
        br = link_index(ipr, "subnet0")
        ipr.link("set", index=br, mtu=plan.mtu, state="up")
        ipr.addr("add", index=br, address=router.ip, prefixlen=subnet.prefixlen)
        members: list[tuple[str, str, str]] = [(n.router_if, n.netns, "") for n in plan.nodes]
        members += [(h.router_if, h.netns, h.mac) for h in plan.hosts if h.router_if]
        for ifname, peer_ns, mac in members:
            idx = netns.veth(ipr, ifname, peer_ns, "eth0", plan.mtu, peer_mac=mac or None)
            ipr.link("set", index=idx, master=br)
        for route in plan.vpc_routes:
            ipr.route("add", dst=route.dst, gateway=route.via)


def _build_node_nic(plan: Plan, node_ns: str, ip: str) -> None:
    prefixlen = IPv4Network(plan.node_subnet).prefixlen
    _host_side(node_ns, ip, prefixlen, plan.mtu, plan.router.ip)


def _build_pods(plan: Plan) -> None:
    """One veth per pod: node end `veth-pK`, pod end `eth0` with its /32 and the 169.254.1.1 gateway."""
    for node in plan.nodes:
        with netns.iproute(node.netns) as ipr:
            for pod in plan.pods_on(node.name):
                netns.veth(ipr, pod.host_if, pod.netns, "eth0", plan.pod_mtu, peer_mac=pod.mac)
        for pod in plan.pods_on(node.name):
            _host_side(pod.netns, pod.ip, 32, plan.pod_mtu, POD_GATEWAY, onlink=True)


DATAPATHS = {"routed": routed, "linux-vxlan": linuxvxlan, "ovs-userspace": ovs, "ovs-kernel": ovs}


def up(plan: Plan, progress: Progress = _quiet) -> bool:
    """Build the lab. Returns False (and changes nothing) if it is already up."""
    journal = Journal(plan.name)
    if journal.exists():
        if journal.complete():
            if journal.plan() != plan.to_dict():
                raise LabError(f"a different lab named {plan.name} is up: run 'cce-lab down {plan.name}' first")
            return False
        raise LabError(f"lab {plan.name} has leftovers of an interrupted run: run 'cce-lab down {plan.name}' first")
    clash = [ns for ns in plan.netns_names() if netns.exists(ns)]
    if clash:
        raise LabError(f"namespace {clash[0]} already exists and is not this lab's; pick another lab name")
    datapath = DATAPATHS[plan.datapath]
    datapath.preflight(plan)
    journal.start(plan.to_dict())
    try:
        progress(f"creating {len(plan.netns_names())} namespaces")
        # Before any device exists, so every interface inherits these defaults.
        defaults = {n.netns: NODE_SYSCTLS for n in plan.nodes}
        defaults |= {h.netns: ROUTER_SYSCTLS for h in plan.hosts if h.role in ROUTER_ROLES}
        for ns in plan.netns_names():
            journal.add(netns=ns)  # recorded first: a kill right after create still leaves it named
            netns.create(ns)
            netns.sysctl(ns, {**IPV6_OFF, **defaults.get(ns, {})})
        progress("wiring the VPC: router, node NICs, ECS")
        _build_vpc(plan)
        for node in plan.nodes:
            _build_node_nic(plan, node.netns, node.ip)
        for host in plan.hosts:
            if host.router_if:  # ECS, ELB, NAT gateway: hosts in the node subnet
                _host_side(host.netns, host.ip, IPv4Network(plan.node_subnet).prefixlen, plan.mtu, plan.router.ip)
        progress(f"creating {len(plan.pods)} pods")
        _build_pods(plan)
        progress(f"datapath {plan.datapath}")
        datapath.build(plan, journal, progress)
        progress("Services, kube-proxy and the hosts around the cluster")
        surroundings.build(plan, journal, progress)
        journal.add(done=True)
    except BaseException as exc:
        progress("failed; removing what was created")
        try:
            undo(journal)
        except Exception as cleanup:  # report both: the cause first
            raise LabError(f"up failed: {exc}; and removing it failed too: {cleanup}") from exc
        if isinstance(exc, LabError | KeyboardInterrupt):
            raise
        raise LabError(f"up failed: {exc}") from exc
    return True
