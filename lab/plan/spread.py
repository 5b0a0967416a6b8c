"""One lab over the hosts of an inventory: which host holds which node, the host tunnel, and its MTU. Pure.

The shared host holds the VPC router and every host around the cluster; the
nodes (each with its pods) are placed in blocks, round-robin, or where the
topology's `placement:` puts them. The node subnet, one L2 segment, is
stitched between the hosts by VXLAN (VNI from the lab's name, UDP 4789)
between the hosts' own addresses: the router's subnet bridge on the shared
host, an `underlay` namespace's bridge on each other host. That tunnel costs
HOST_TUNNEL_OVERHEAD bytes, so the lab's underlay MTU must fit the smallest
host link minus that: a larger `mtu` is lowered, and `plan` says so and what
host MTU would keep it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from lab.errors import SpecError
from lab.plan.model import HostPart, Node, Plan, PlanSlice, Spread
from lab.spec import VXLAN_OVERHEAD, Spec
from lab.spec.inventory import Inventory

HOST_TUNNEL_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14
HOST_TUNNEL_PORT = 4789
HOST_TUNNEL_IF = "hx0"  # the VXLAN device on each host's subnet bridge
UNDERLAY_NETNS = "underlay"  # on a host without the router: `<lab>-underlay` holds its part of the node subnet
PLACEMENTS = ("block", "round-robin")


def vni_of(lab: str) -> int:
    """The host tunnel's VNI: from the lab name, so two labs on the same hosts keep apart (clashes are refused)."""
    return 0x100000 + zlib.crc32(lab.encode()) % 0xE00000


def fit_mtu(spec: Spec, inventory: Inventory) -> tuple[Spec, str]:
    """The spec with an underlay MTU that fits inside the host tunnel, and a sentence saying what was done."""
    if len(inventory.hosts) == 1:
        return spec, f"one host: no host tunnel, the underlay keeps {spec.mtu} B"
    narrowest = min(inventory.hosts, key=lambda h: h.link_mtu)
    room = narrowest.link_mtu - HOST_TUNNEL_OVERHEAD
    uniform = len({h.link_mtu for h in inventory.hosts}) == 1
    link = (
        f"the hosts' {narrowest.link_mtu} B links"
        if uniform
        else f"host {narrowest.name}'s {narrowest.link_mtu} B link"
    )
    carry, leave = ("carry", "leave") if uniform else ("carries", "leaves")
    pods = " (tunnel pods get {} B)" if spec.model == "tunnel" else ""
    if spec.mtu <= room:
        return (
            spec,
            f"the underlay's {spec.mtu} B fit {link} with the {HOST_TUNNEL_OVERHEAD} B host tunnel",
        )
    if room < 1280:
        raise SpecError("mtu", f"{link} {leave} {room} B inside the host tunnel, under 1280")
    note = (
        f"the underlay MTU is lowered from {spec.mtu} to {room} B: {link} {carry} the "
        f"{HOST_TUNNEL_OVERHEAD} B host tunnel"
        + pods.format(room - VXLAN_OVERHEAD)
        + f"; to keep {spec.mtu} B, give every host a cce_lab_link_mtu of at least {spec.mtu + HOST_TUNNEL_OVERHEAD}"
    )
    return spec.model_copy(update={"mtu": room}), note


def require_pinned_datapath(spec: Spec, inventory: Inventory) -> None:
    """`datapath: auto` is resolved on each host against its own kernel: over several hosts, name one."""
    if spec.model == "tunnel" and spec.datapath == "auto" and len(inventory.hosts) > 1:
        raise SpecError(
            "datapath",
            "auto could differ between hosts: name one (--datapath linux-vxlan, ovs-kernel or ovs-userspace)",
        )


def place(spec: Spec, inventory: Inventory, how: str, pinned: dict[str, str]) -> dict[str, str]:
    """Node name -> host name: `pinned` nodes where they are pinned, the others `how` over every host."""
    if how not in PLACEMENTS:
        raise SpecError("placement", f"{how!r} is not one of {', '.join(PLACEMENTS)}")
    names = [f"node-{i + 1}" for i in range(spec.nodes)]
    hosts = [h.name for h in inventory.hosts]
    for node, host in pinned.items():
        if node not in names:
            raise SpecError(f"placement: {node}", f"is not a node of this lab (node-1 to node-{spec.nodes})")
        if host not in hosts:
            raise SpecError(f"placement: {node}", f"host {host} is not in the inventory")
    free = [n for n in names if n not in pinned]
    placed = dict(pinned)
    if how == "round-robin":
        placed |= {node: hosts[i % len(hosts)] for i, node in enumerate(free)}
    else:
        start = 0
        for i, host in enumerate(hosts):
            size = len(free) // len(hosts) + (i < len(free) % len(hosts))
            placed |= {node: host for node in free[start : start + size]}
            start += size
    empty = [h.name for h in inventory.hosts if not h.shared and h.name not in placed.values()]
    if empty:
        raise SpecError(
            "placement",
            f"host {empty[0]} would hold no node ({spec.nodes} nodes over {len(hosts)} hosts): "
            "give it a node or leave it out of the inventory",
        )
    return {n: placed[n] for n in names}


def spread(plan: Plan, inventory: Inventory, placed: dict[str, str], how: str, mtu_note: str) -> Spread:
    """The Spread document of a planned lab."""
    parts = []
    for h in inventory.hosts:
        nodes = [n.name for n in plan.nodes if placed[n.name] == h.name]
        parts.append(
            HostPart(
                host=h.name,
                address=h.address,
                link_mtu=h.link_mtu,
                connection=h.connection,
                shared=h.shared,
                nodes=nodes,
                pods=sum(len(plan.pods_on(n)) for n in nodes),
                parts=[x.role for x in plan.hosts] if h.shared else [],
                bridge_netns=plan.router.netns if h.shared else f"{plan.name}-{UNDERLAY_NETNS}",
            )
        )
    return Spread(plan.name, how, vni_of(plan.name), HOST_TUNNEL_PORT, plan.mtu, mtu_note, parts)


def slice_for(plan: Plan, spreading: Spread, host: str) -> PlanSlice:
    """The part of `plan` that `host` builds."""
    part = spreading.part(host)
    nodes = [plan.node(n) for n in part.nodes]
    netns = [h.netns for h in plan.hosts] if part.shared else [part.bridge_netns]
    netns += [n.netns for n in nodes] + [p.netns for n in nodes for p in plan.pods_on(n.name)]
    remotes = [h.address for h in spreading.hosts if h.host != host]
    return PlanSlice(
        plan.name,
        host,
        netns,
        HOST_TUNNEL_IF,
        part.bridge_netns,
        spreading.vni,
        part.address,
        remotes,
        plan.mtu,
        {n: h.host for h in spreading.hosts for n in h.nodes},
    )


@dataclass(frozen=True)
class Here:
    """What this host builds of a plan: all of it when the lab is on one host, its slice when on several."""

    nodes: list[Node]
    shared: bool  # the VPC router and the hosts around the cluster are here
    bridge_netns: str  # where the node subnet's bridge is: the router, or `<lab>-underlay`
    netns: frozenset[str]

    def holds(self, ns: str) -> bool:
        return ns in self.netns


def everything(plan: Plan) -> Here:
    return Here(plan.nodes, True, plan.router.netns, frozenset(plan.netns_names()))


def here_of(plan: Plan, part: PlanSlice) -> Here:
    nodes = [n for n in plan.nodes if n.netns in part.netns]
    return Here(nodes, plan.router.netns in part.netns, part.bridge_netns, frozenset(part.netns))
