"""A node's kube-proxy state (and ip-masq-agent, the lab's return paths) handed to the kernel.

iptables mode: one iptables-restore per node, as kube-proxy syncs. A fresh node
gets the batch as rendered; a node that already holds one (a re-sync after
endpoints moved) is read first with iptables-save, so that the jumps from the
built-in chains stay once each and the chains of endpoints that left are deleted
(lab/render/iptsave.py).

IPVS mode: the kube-ipvs0 dummy interface with every Service address, the
ipsets (`ipset restore`), the IPVS table (netlink, changed only where it
differs), then the same iptables batch handling for the layer that matches the
sets. The sysctls are those kube-proxy sets, with strictARP's: a node must not
answer ARP for the addresses on kube-ipvs0, or it would take the ELB's VIP.
"""

from __future__ import annotations

from lab.kernel import ipvs as kernel_ipvs
from lab.kernel import netns, procs
from lab.kernel.links import link_index
from lab.plan.model import Node, Plan
from lab.render import iptsave, ipvs, nodenet

IPVS_SYSCTLS = {
    "net.ipv4.vs.conntrack": "1",  # so that iptables can masquerade what IPVS forwards
    "net.ipv4.vs.conn_reuse_mode": "0",
    "net.ipv4.vs.expire_nodest_conn": "1",
    "net.ipv4.vs.expire_quiescent_template": "1",
    "net.ipv4.conf.all.arp_ignore": "1",
    "net.ipv4.conf.all.arp_announce": "2",
}


def program(plan: Plan, node: Node, *, fresh: bool) -> None:
    if plan.kube_proxy_mode == "ipvs":
        _ipvs(plan, node, fresh)
    text = nodenet.ruleset(plan, node)
    if not fresh:
        text = iptsave.resync(text, procs.run(node.netns, [plan.iptables_tool("save")], mounts=False).stdout)
    procs.run(node.netns, [plan.iptables_tool("restore"), "--noflush"], input=text, mounts=False)


def _ipvs(plan: Plan, node: Node, fresh: bool) -> None:
    if fresh:
        netns.sysctl(node.netns, IPVS_SYSCTLS)
    want = set(ipvs.dummy_addresses(plan))
    with netns.iproute(node.netns) as ipr:
        if fresh:
            ipr.link("add", ifname=ipvs.DUMMY, kind="dummy")
        idx = link_index(ipr, ipvs.DUMMY)
        have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=idx)}
        for ip in sorted(have - want):
            ipr.addr("del", index=idx, address=ip, prefixlen=32)
        for ip in sorted(want - have):
            ipr.addr("add", index=idx, address=ip, prefixlen=32)
    procs.run(node.netns, ["ipset", "restore", "-exist"], input=ipvs.ipset_restore(plan, node.name), mounts=False)
    kernel_ipvs.program(node.netns, ipvs.virtual_servers(plan, node.name))
