"""What the CLI shows of a lab: its members (pods, nodes, hosts), their ports and the wires between them. Pure.

Read from the plan, never from guesses: the device names and addresses are
the ones `lab.apply` gave the kernel (eth0 of every pod and host, the node's
IP on eth0 or on br-phy for the userspace datapath, the VPC router's subnet0
bridge and one port per NIC on it, the Internet router's lan0). The
integration test holds this table to the kernel, so a drift shows up there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network

from lab.plan.edge import NAT_UPLINK, UPLINK
from lab.plan.model import Plan

POD, NODE, HOST = "pod", "node", "host"


@dataclass(frozen=True)
class Port:
    """One device in a member's namespace: Mininet's Intf."""

    name: str
    ip: str | None = None
    prefixlen: int | None = None
    mac: str | None = None


@dataclass(frozen=True)
class Wire:
    """A veth pair: member `a`'s device `a_if` <-> member `b`'s `b_if`."""

    a: str
    a_if: str
    b: str
    b_if: str


@dataclass
class Member:
    """A pod, node or host: Mininet's Node. Port 0 carries its address (Mininet's defaultIntf)."""

    name: str
    netns: str
    kind: str
    ports: list[Port] = field(default_factory=list)

    @property
    def ip(self) -> str | None:
        return self.ports[0].ip if self.ports else None


@dataclass
class Layout:
    lab: str
    members: list[Member]
    wires: list[Wire]

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def of_kind(self, kind: str) -> list[Member]:
        return [m for m in self.members if m.kind == kind]

    def substitute(self, words: list[str]) -> list[str]:
        """Member names -> their IPs, as Mininet's CLI does past a command's first word."""
        ips = {m.name: m.ip for m in self.members if m.ip}
        return [ips.get(w, w) for w in words]


def _prefix(cidr: str) -> int:
    return IPv4Network(cidr).prefixlen


def layout(plan: Plan) -> Layout:
    """Every member of the lab with its ports, and every wire, in the order `nodes` and `net` print them."""
    subnet = _prefix(plan.node_subnet)
    members: list[Member] = []
    wires: list[Wire] = []
    router = Member(plan.router.name, plan.router.netns, HOST, [Port("subnet0", plan.router.ip, subnet)])

    for pod in plan.pods:
        members.append(Member(pod.name, pod.netns, POD, [Port("eth0", pod.ip, 32, pod.mac)]))
        wires.append(Wire(pod.name, "eth0", pod.node, pod.host_if))
    for node in plan.nodes:
        ports = [Port(plan.underlay_if, node.ip, subnet)]
        if plan.underlay_if != "eth0":  # userspace OVS: eth0 is a port of br-phy, the IP on the bridge
            ports.append(Port("eth0"))
        ports += [Port(p.host_if) for p in plan.pods_on(node.name)]
        members.append(Member(node.name, node.netns, NODE, ports))
        router.ports.append(Port(node.router_if))
        wires.append(Wire(node.name, "eth0", router.name, node.router_if))

    members.append(router)
    inet = plan.host("internet-router")
    edge = plan.edge
    by_name = {h.name: Member(h.name, h.netns, HOST) for h in edge.hosts}
    members += by_name.values()
    for host in edge.hosts:
        member = by_name[host.name]
        if host.router_if:  # ECS, ELB, NAT gateway: NICs on the node subnet
            member.ports.append(Port("eth0", host.ip, subnet, host.mac or None))
            router.ports.append(Port(host.router_if))
            wires.append(Wire(host.name, "eth0", router.name, host.router_if))
        elif host.role == "internet-router":
            member.ports.append(Port("lan0", host.ip, 24))
        elif host.role in ("internet-client", "internet-server"):
            member.ports.append(Port("eth0", host.ip, 24))
            if inet:
                by_name[inet.name].ports.append(Port(host.name))
                wires.append(Wire(host.name, "eth0", inet.name, host.name))
        elif host.role == "peer-host":
            member.ports.append(Port("eth0", host.ip, _prefix(edge.peer_cidr)))
            router.ports.append(Port("peer0", edge.peer_gateway, _prefix(edge.peer_cidr)))
            wires.append(Wire(host.name, "eth0", router.name, "peer0"))
        elif host.role == "intranet-server":
            member.ports.append(Port("eth0", host.ip, _prefix(edge.intranet_subnet)))
            router.ports.append(Port("intra0", edge.intranet_gateway, _prefix(edge.intranet_subnet)))
            wires.append(Wire(host.name, "eth0", router.name, "intra0"))
    if inet:
        inet_member = by_name[inet.name]
        router.ports.append(Port("uplink", UPLINK[0], 30))
        inet_member.ports.append(Port("vpc", UPLINK[1], 30))
        wires.append(Wire(router.name, "uplink", inet.name, "vpc"))
        natgw = plan.host("nat-gateway")
        if natgw:
            by_name[natgw.name].ports.append(Port("uplink", NAT_UPLINK[0], 30))
            inet_member.ports.append(Port("natgw", NAT_UPLINK[1], 30))
            wires.append(Wire(natgw.name, "uplink", inet.name, "natgw"))
    return Layout(plan.name, members, wires)
