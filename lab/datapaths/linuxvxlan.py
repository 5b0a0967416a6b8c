"""Tunnel model on kernel VXLAN + a Linux bridge (the `linux-vxlan` datapath).

Pods hang on a Linux bridge `br-int` that holds their 169.254.1.1 gateway;
`vxlan0` (VNI 1, UDP 4789) carries other nodes' pod blocks, with a static
neighbour and FDB entry per remote node, the way flannel's vxlan backend does.
"""

from __future__ import annotations

from pyroute2 import IPRoute

from lab.kernel import netns
from lab.kernel.journal import Journal
from lab.kernel.links import SCOPE_LINK, link_index
from lab.plan.cluster import POD_GATEWAY, POD_TABLE, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Node, Plan, Pod
from lab.progress import Progress

NAMES = ("linux-vxlan",)

NUD_PERMANENT = 0x80
RTNH_F_ONLINK = 4


def preflight(plan: Plan) -> None:
    """Kernel VXLAN and bridges are netlink objects: nothing to check."""


def build(plan: Plan, journal: Journal, progress: Progress) -> None:
    for node in plan.nodes:
        with netns.iproute(node.netns) as ipr:
            ipr.link("add", ifname="br-int", kind="bridge")
            br = link_index(ipr, "br-int")
            ipr.link("set", index=br, mtu=plan.pod_mtu, state="up")
            ipr.addr("add", index=br, address=POD_GATEWAY, prefixlen=32)
            _attach(ipr, node, br, plan.pods_on(node.name))
            ipr.link(
                "add",
                ifname="vxlan0",
                kind="vxlan",
                vxlan_id=VXLAN_VNI,
                vxlan_port=VXLAN_PORT,
                vxlan_local=node.ip,
                vxlan_link=link_index(ipr, "eth0"),
                vxlan_learning=0,
                address=node.vtep_mac,
                mtu=plan.pod_mtu,
            )
            vx = link_index(ipr, "vxlan0")
            ipr.link("set", index=vx, state="up")
            for peer in plan.nodes:
                if peer.name == node.name:
                    continue
                ipr.neigh("add", dst=peer.ip, lladdr=peer.vtep_mac, ifindex=vx, state=NUD_PERMANENT)
                ipr.fdb("append", ifindex=vx, lladdr=peer.vtep_mac, dst=peer.ip)
                for block in peer.pod_cidrs:
                    ipr.route("add", dst=block, gateway=peer.ip, oif=vx, flags=RTNH_F_ONLINK)
                # Pods reach other nodes through the overlay (as with OVS), so a node's
                # Service and NodePort connections are answered the way it sent them.
                ipr.route("add", dst=f"{peer.ip}/32", gateway=peer.ip, oif=vx, flags=RTNH_F_ONLINK, table=POD_TABLE)
            ipr.rule(
                "add",
                src=plan.container_cidr.split("/")[0],
                src_len=int(plan.container_cidr.split("/")[1]),
                table=POD_TABLE,
                priority=POD_TABLE,
            )


def _attach(ipr: IPRoute, node: Node, br: int, pods: list[Pod]) -> None:
    for pod in pods:
        ipr.link("set", index=link_index(ipr, pod.host_if), master=br)
        ipr.route("add", dst=f"{pod.ip}/32", oif=br, scope=SCOPE_LINK, prefsrc=node.ip)


def attach(plan: Plan, node: Node, pods: list[Pod]) -> None:
    """A pod made by `move`: on br-int, with its host route (as `build` wires the first ones)."""
    with netns.iproute(node.netns) as ipr:
        _attach(ipr, node, link_index(ipr, "br-int"), pods)


def detach(plan: Plan, node: Node, pod: Pod) -> None:
    """The pod's host route (it is on br-int, so it outlives the veth; a later pod may get the address)."""
    with netns.iproute(node.netns) as ipr:
        ipr.route("del", dst=f"{pod.ip}/32", oif=link_index(ipr, "br-int"), scope=SCOPE_LINK)
