"""VPC model datapath: pods routed by their node, no encapsulation.

Each pod's node end answers ARP for the pod's 169.254.1.1 gateway by proxy ARP
(CCE uses IPVLAN; this kernel has none, so veth + host routes, as DESIGN.md
allows). The VPC router's one route per node carries traffic between nodes.
"""

from __future__ import annotations

from lab.kernel import netns
from lab.kernel.journal import Journal
from lab.kernel.links import SCOPE_LINK, link_index
from lab.plan.model import Node, Plan, Pod
from lab.progress import Progress

NAMES = ("routed",)


def preflight(plan: Plan) -> None:
    """Nothing beyond netlink is needed."""


def build(plan: Plan, journal: Journal, progress: Progress) -> None:
    for node in plan.nodes:
        attach(plan, node, plan.pods_on(node.name))


def attach(plan: Plan, node: Node, pods: list[Pod]) -> None:
    """Proxy ARP on each pod's node end and a host route to it (`up`, and a pod made by `move`)."""
    settings = {}
    for pod in pods:
        settings[f"net.ipv4.conf.{pod.host_if}.proxy_arp"] = "1"
        settings[f"net.ipv4.neigh.{pod.host_if}.proxy_delay"] = "0"
    netns.sysctl(node.netns, settings)
    with netns.iproute(node.netns) as ipr:
        for pod in pods:
            ipr.route("add", dst=f"{pod.ip}/32", oif=link_index(ipr, pod.host_if), scope=SCOPE_LINK)


def detach(plan: Plan, node: Node, pod: Pod) -> None:
    """Nothing to undo: the route and the sysctls go with the pod's veth."""
