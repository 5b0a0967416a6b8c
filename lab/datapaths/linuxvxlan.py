"""Tunnel model on kernel VXLAN + a Linux bridge (the `linux-vxlan` datapath).

Pods hang on a Linux bridge `br-int` that holds their 169.254.1.1 gateway;
`vxlan0` (VNI 1, UDP 4789) carries other nodes' pod blocks, with a static
neighbour and FDB entry per remote node, the way flannel's vxlan backend does.
"""

from __future__ import annotations

from lab.kernel import netns, rtbatch
from lab.kernel.journal import Journal
from lab.kernel.links import SCOPE_LINK, link_index
from lab.plan.cluster import POD_GATEWAY, POD_TABLE, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Node, Plan, Pod
from lab.plan.spread import Here
from lab.progress import Progress

NAMES = ("linux-vxlan",)

VXLAN_INDEX, BRIDGE_INDEX = 900, 901  # interface indexes in a node's namespace, chosen: no lookups in between


def preflight(plan: Plan) -> None:
    """Kernel VXLAN and bridges are netlink objects: nothing to check."""


def build(plan: Plan, here: Here, journal: Journal, progress: Progress) -> None:
    """Every node's bridge and VXLAN device, then its pods and its peers' entries in one batch of requests.

    A peer's entries (neighbour, FDB, routes) are the same on every other node, so they are
    encoded once: a 500-node mesh is 250,000 of each, sent without 250,000 round trips.
    """
    for_peer = {peer.name: _peer_entries(peer) for peer in plan.nodes}  # peers on other hosts too
    for node in here.nodes:
        with netns.iproute(node.netns) as ipr:
            ipr.link("add", ifname="br-int", kind="bridge", index=BRIDGE_INDEX, mtu=plan.pod_mtu, state="up")
            ipr.link(
                "add",
                ifname="vxlan0",
                index=VXLAN_INDEX,
                kind="vxlan",
                vxlan_id=VXLAN_VNI,
                vxlan_port=VXLAN_PORT,
                vxlan_local=node.ip,
                vxlan_link=link_index(ipr, "eth0"),
                vxlan_learning=0,
                address=node.vtep_mac,
                mtu=plan.pod_mtu,
                state="up",
            )
        requests = rtbatch.Requests()
        requests.rule(POD_TABLE, POD_TABLE, source=plan.container_cidr)
        requests.addr(BRIDGE_INDEX, POD_GATEWAY, 32)
        _attach(requests, node, plan.pods_on(node.name))
        for peer in plan.nodes:
            if peer.name != node.name:
                requests.include(for_peer[peer.name])
        requests.send(node.netns)


def _peer_entries(peer: Node) -> rtbatch.Requests:
    """What every other node holds for `peer`: its VTEP's neighbour and FDB entry, routes to its pod blocks."""
    entries = rtbatch.Requests()
    entries.neighbour(VXLAN_INDEX, peer.ip, peer.vtep_mac)
    entries.fdb_append(VXLAN_INDEX, peer.vtep_mac, peer.ip)
    for block in peer.pod_cidrs:
        entries.route(block, VXLAN_INDEX, peer.ip, onlink=True)
    # Pods reach other nodes through the overlay (as with OVS), so a node's
    # Service and NodePort connections are answered the way it sent them.
    entries.route(f"{peer.ip}/32", VXLAN_INDEX, peer.ip, onlink=True, table=POD_TABLE)
    return entries


def _attach(requests: rtbatch.Requests, node: Node, pods: list[Pod]) -> None:
    for pod in pods:
        requests.up(pod.host_index, master=BRIDGE_INDEX)
        requests.route(f"{pod.ip}/32", BRIDGE_INDEX, link_scope=True, prefsrc=node.ip)


def attach(plan: Plan, node: Node, pods: list[Pod]) -> None:
    """A pod made by `move`: on br-int, with its host route (as `build` wires the first ones)."""
    requests = rtbatch.Requests()
    _attach(requests, node, pods)
    requests.send(node.netns)


def detach(plan: Plan, node: Node, pod: Pod) -> None:
    """The pod's host route (it is on br-int, so it outlives the veth; a later pod may get the address)."""
    with netns.iproute(node.netns) as ipr:
        ipr.route("del", dst=f"{pod.ip}/32", oif=link_index(ipr, "br-int"), scope=SCOPE_LINK)
