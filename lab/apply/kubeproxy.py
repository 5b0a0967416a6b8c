"""A node's netfilter batch (kube-proxy, ip-masq-agent, the lab's return paths) handed to the kernel.

One iptables-restore per node, as kube-proxy syncs. A fresh node gets the batch as
rendered; a node that already holds one (a re-sync after endpoints moved) is read
first with iptables-save, so that the jumps from the built-in chains stay once each
and the chains of endpoints that left are deleted (lab/render/iptsave.py).
"""

from __future__ import annotations

from lab.kernel import procs
from lab.plan.model import Node, Plan
from lab.render import iptsave, nodenet


def program(plan: Plan, node: Node, *, fresh: bool) -> None:
    text = nodenet.ruleset(plan, node)
    if not fresh:
        text = iptsave.resync(text, procs.run(node.netns, ["iptables-save"]).stdout)
    procs.run(node.netns, ["iptables-restore", "--noflush"], input=text)
