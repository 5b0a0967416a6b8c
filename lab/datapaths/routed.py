"""VPC model datapath: pods routed by their node, no encapsulation.

Each pod's node end answers ARP for the pod's 169.254.1.1 gateway by proxy ARP
(CCE uses IPVLAN; this kernel has none, so veth + host routes, as DESIGN.md
allows). The VPC router's one route per node carries traffic between nodes.
"""

from __future__ import annotations

from lab.kernel import rtbatch
from lab.kernel.journal import Journal
from lab.plan.model import Node, Plan, Pod
from lab.plan.spread import Here
from lab.progress import Progress

NAMES = ("routed",)


def preflight(plan: Plan) -> None:
    """Nothing beyond netlink is needed."""


def build(plan: Plan, here: Here, journal: Journal, progress: Progress) -> None:
    for node in here.nodes:
        attach(plan, node, plan.pods_on(node.name))


def attach(plan: Plan, node: Node, pods: list[Pod]) -> None:
    """Proxy ARP on each pod's node end and a host route to it (`up`, and a pod made by `move`)."""
    requests = rtbatch.Requests()
    for pod in pods:
        requests.proxy_arp(pod.host_index)
        requests.route(f"{pod.ip}/32", pod.host_index, link_scope=True)
    requests.send(node.netns)


def detach(plan: Plan, node: Node, pod: Pod) -> None:
    """Nothing to undo: the route and the proxy ARP settings go with the pod's veth."""
