"""Where a packet between two endpoints may pass: the (namespace, interface) pairs `trace` watches. Pure.

The lab's wiring is known from the plan alone: every veth (pod <-> node,
node and subnet hosts <-> the VPC router's subnet bridge, the Internet
router's links, peering and intranet) and the devices inside a node that
depend on the datapath (gw0, br-phy, vxlan0, ...). The path is the walk
through those namespaces from the source to the destination by the fronts
that translate it (EIP at the VPC router, ELB, NAT gateway, kube-proxy on a
node), branching to every endpoint a Service may choose. The list is a
superset in path order: `trace` captures on all of it and reports only where
the packet was seen, ordered by the kernel's timestamps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from lab.plan.endpoints import Endpoint
from lab.plan.model import Plan

MAX_WATCHES = 512  # sockets a trace opens at most (a CCE-scale ELB could name thousands of interfaces)
INTERNET_ROLES = ("internet-router", "internet-client", "internet-server")


@dataclass(frozen=True)
class Watch:
    netns: str
    ifname: str
    owner: str  # the namespace's short name: pod-1-1, node-1, vpc-router, client
    role: str  # what this interface is, for a trainee


def _devices(plan: Plan) -> dict[str, list[Watch]]:
    """Devices inside a namespace (bridges, tunnel devices), pod side first, by namespace."""
    inner = {
        "ovs-userspace": [("gw0", "OVS gw0: br-int <-> node kernel"), ("br-phy", "OVS br-phy: holds the node IP")],
        "ovs-kernel": [("gw0", "OVS gw0: br-int <-> node kernel"), ("vxlan_sys_4789", "OVS kernel VXLAN port")],
        "linux-vxlan": [("br-int", "Linux bridge br-int (pods' gateway)"), ("vxlan0", "kernel VXLAN device vxlan0")],
    }.get(plan.datapath, [])
    found = {n.netns: [Watch(n.netns, i, n.name, r) for i, r in inner] for n in plan.nodes}
    found[plan.router.netns] = [Watch(plan.router.netns, "subnet0", plan.router.name, "VPC router: subnet gateway")]
    inet = plan.host("internet-router")
    if inet:
        found[inet.netns] = [Watch(inet.netns, "lan0", inet.name, "Internet router: client/server LAN")]
    return found


def links(plan: Plan) -> list[tuple[Watch, Watch]]:
    """Every veth of the lab as (end, other end), as lab.apply wires them."""
    r = plan.router
    pairs: list[tuple[Watch, Watch]] = []
    for pod in plan.pods:
        node = plan.node(pod.node)
        pairs.append(
            (
                Watch(pod.netns, "eth0", pod.name, "pod eth0"),
                Watch(node.netns, pod.host_if, node.name, f"veth to {pod.name} (node end)"),
            )
        )
    for n in plan.nodes:
        pairs.append(
            (
                Watch(
                    n.netns, "eth0", n.name, f"node NIC ({'port of br-phy' if plan.underlay_if != 'eth0' else n.ip})"
                ),
                Watch(r.netns, n.router_if, r.name, f"VPC subnet port to {n.name}"),
            )
        )
    for h in plan.hosts:
        if h.router_if:
            pairs.append(
                (
                    Watch(h.netns, "eth0", h.name, f"{h.role} NIC"),
                    Watch(r.netns, h.router_if, r.name, f"VPC subnet port to {h.name}"),
                )
            )
    inet = plan.host("internet-router")
    if inet:
        pairs.append(
            (
                Watch(r.netns, "uplink", r.name, "VPC uplink (EIPs)"),
                Watch(inet.netns, "vpc", inet.name, "Internet router: to the VPC"),
            )
        )
        for h in plan.hosts:
            if h.role in ("internet-client", "internet-server"):
                pairs.append(
                    (
                        Watch(inet.netns, h.name, inet.name, f"Internet LAN port to {h.name}"),
                        Watch(h.netns, "eth0", h.name, f"{h.role} NIC"),
                    )
                )
        natgw = plan.host("nat-gateway")
        if natgw:
            pairs.append(
                (
                    Watch(natgw.netns, "uplink", natgw.name, "NAT gateway uplink (its EIP)"),
                    Watch(inet.netns, "natgw", inet.name, "Internet router: to the NAT gateway"),
                )
            )
    for role, port in (("peer-host", "peer0"), ("intranet-server", "intra0")):
        h = plan.host(role)
        if h:
            pairs.append(
                (
                    Watch(r.netns, port, r.name, f"VPC {'peering' if port == 'peer0' else 'intranet subnet'} link"),
                    Watch(h.netns, "eth0", h.name, f"{role} NIC"),
                )
            )
    return pairs


def peer(plan: Plan, netns: str, ifname: str) -> Watch | None:
    """The other end of the veth whose end is (netns, ifname); None for a device or an unknown name."""
    for a, b in links(plan):
        if (a.netns, a.ifname) == (netns, ifname):
            return b
        if (b.netns, b.ifname) == (netns, ifname):
            return a
    return None


class _Graph:
    def __init__(self, plan: Plan) -> None:
        self.ends: dict[tuple[str, str], Watch] = {}  # (from netns, to netns) -> the end in `from`
        self.adj: dict[str, list[str]] = {}
        for a, b in links(plan):
            self.ends[(a.netns, b.netns)], self.ends[(b.netns, a.netns)] = a, b
            self.adj.setdefault(a.netns, []).append(b.netns)
            self.adj.setdefault(b.netns, []).append(a.netns)
        self.devices = _devices(plan)

    def walk(self, start: str, goal: str) -> list[str]:
        """Namespaces from `start` to `goal` (both included), shortest first; [start] if unreachable."""
        before: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue:
            here = queue.popleft()
            if here == goal:
                break
            for nxt in self.adj.get(here, []):
                if nxt not in before:
                    before[nxt] = here
                    queue.append(nxt)
        if goal not in before:
            return [start]
        path, at = [], goal
        while at is not None:
            path.append(at)
            at = before[at]
        return path[::-1]

    def expand(self, spaces: list[str]) -> list[Watch]:
        """Each namespace's way in, its devices, its way out."""
        out: list[Watch] = []
        for i, ns in enumerate(spaces):
            if i > 0:
                out.append(self.ends[(ns, spaces[i - 1])])
            inside = self.devices.get(ns, [])
            from_wire = i > 0 and self.ends[(ns, spaces[i - 1])].ifname == "eth0"
            out += inside[::-1] if from_wire else inside
            if i + 1 < len(spaces):
                out.append(self.ends[(ns, spaces[i + 1])])
        return out


def _egress(plan: Plan, src: Endpoint) -> list[str]:
    """Waypoints of traffic from `src` to the Internet: its node's EIP at the VPC router, else the NAT gateway."""
    node = src.node if src.kind in ("pod", "node") else ""
    natgw = plan.host("nat-gateway")
    if node in plan.node_eips or not (natgw and plan.edge.snat):
        return [plan.router.netns]
    return [natgw.netns]


def _to_endpoints(plan: Plan, service: str, via_node: str | None) -> list[list[str]]:
    """One branch per endpoint kube-proxy may pick on `via_node` (Local: that node's own)."""
    svc = plan.service(service)
    if svc is None:
        return [[]]
    eps = svc.endpoints
    if via_node and svc.external_traffic_policy == "Local" and svc.type != "ClusterIP":
        eps = [e for e in eps if e.node == via_node]
    pods = {p.name: p for p in plan.pods}
    return [[pods[e.pod].netns] for e in eps if e.pod in pods] or [[]]


def _branches(plan: Plan, src: Endpoint, dst: Endpoint) -> list[list[str]]:
    """Waypoint namespaces after the source, one list per way the packet may go."""
    r = plan.router.netns
    home = plan.node(src.node).netns if src.kind in ("pod", "node") else ""
    if dst.kind in ("pod", "node", "host") and not dst.via:
        internet = {h.netns for h in plan.hosts if h.role in INTERNET_ROLES}
        if dst.netns in internet and src.netns not in internet:
            return [[*_egress(plan, src), dst.netns]]
        return [[dst.netns]]
    if dst.kind == "service":
        if not home:
            return [[r]]
        return [[home, *b] for b in _to_endpoints(plan, dst.service, None)]
    if dst.kind in ("nodeport", "node-eip"):
        node = plan.node(dst.node).netns
        front = [r] if "node-eip" in dst.via else []
        if not dst.service:
            return [[*front, node]]
        return [[*front, node, *b] for b in _to_endpoints(plan, dst.service, dst.node)]
    if dst.kind == "elb":
        elb = plan.host("elb")
        front = [r] if "elb-eip" in dst.via else []
        svc = plan.service(dst.service) if dst.service else None
        if elb is None or svc is None:
            return [[*front, elb.netns]] if elb else [[*front]]
        out = []
        for b in svc.backends(plan.nodes):
            out += [[*front, elb.netns, b.netns, *e] for e in _to_endpoints(plan, svc.name, b.name)]
        return out or [[*front, elb.netns]]
    if dst.kind == "dnat":
        natgw = plan.host("nat-gateway")
        node = plan.node(dst.node).netns
        return [[natgw.netns, node, *b] for b in _to_endpoints(plan, dst.service, dst.node)] if natgw else [[node]]
    return [[]]


def hops(plan: Plan, src: Endpoint, dst: Endpoint) -> list[Watch]:
    """The ordered interfaces to watch for a packet from `src` to `dst` (at most MAX_WATCHES)."""
    g = _Graph(plan)
    seen: set[tuple[str, str]] = set()
    result: list[Watch] = []

    def add(watches: list[Watch]) -> None:
        for w in watches:
            if (w.netns, w.ifname) not in seen and len(result) < MAX_WATCHES:
                seen.add((w.netns, w.ifname))
                result.append(w)

    for branch in _branches(plan, src, dst):
        spaces = [src.netns]
        for goal in branch:
            spaces += g.walk(spaces[-1], goal)[1:]
        add(g.expand(spaces))
    if any(w.netns == plan.router.netns for w in result):  # a missing VPC route falls to the default route
        natgw = plan.host("nat-gateway")
        if natgw and plan.edge.snat:
            add(g.expand([plan.router.netns, natgw.netns])[1:])
    return result
