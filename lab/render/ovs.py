"""What a node's Open vSwitch is told, as text: the ovs-vsctl transaction, br-int's flows, the port guard. Pure.

br-int is a router: answer ARP, deliver to local pods, tunnel to the node that
owns a block, hand everything else to the node kernel. Table 0 classifies,
table 1 sends replies of connections the node kernel started (Service DNAT,
node -> pod) back through gw0 so the node can undo its NAT (as Antrea does
beside kube-proxy), table 2 routes.
"""

from __future__ import annotations

from lab.plan.cluster import CT_ZONE, GW_OFPORT, ROUTER_MAC, TUNNEL_OFPORT_BASE, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Node, Plan, Pod
from lab.render import netpol


def tunnel_ports(plan: Plan, node: Node) -> list[tuple[int, Node]]:
    """(OpenFlow port, remote node) of each VXLAN port on `node`'s br-int."""
    return [(TUNNEL_OFPORT_BASE + j, m) for j, m in enumerate(plan.nodes, start=1) if m.name != node.name]


def flows(plan: Plan, node: Node) -> list[str]:
    """Every flow of `node`'s br-int, in table order."""
    rmac_hex = "0x" + ROUTER_MAC.replace(":", "")
    rules = [
        # ARP responder: every ARP request gets the virtual router MAC as answer.
        "table=0,priority=300,arp,arp_op=1,actions="
        f"move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:{ROUTER_MAC},"
        "load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],"
        f"load:{rmac_hex}->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_TPA[]->NXM_NX_REG0[],"
        "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],move:NXM_NX_REG0[]->NXM_OF_ARP_SPA[],IN_PORT",
    ]
    to_node = f"mod_dl_src:{ROUTER_MAC},mod_dl_dst:{node.gw_mac},output:{GW_OFPORT}"
    rules += [
        f"table=0,priority=250,ip,in_port={GW_OFPORT},actions=ct(commit,zone={CT_ZONE},table=2)",
        f"table=0,priority=240,ip,actions=ct(zone={CT_ZONE},table=1)",
        "table=0,priority=0,actions=drop",
        f"table=1,priority=100,ct_state=+trk+rpl,ip,actions={to_node}",
        "table=1,priority=0,actions=resubmit(,2)",
    ]
    rules += [pod_flow(p) for p in plan.pods_on(node.name)]
    peers = tunnel_ports(plan, node)
    rules += [
        f"table=2,priority=100,ip,nw_dst={block},actions=output:{ofport}"
        for ofport, peer in peers
        for block in peer.pod_cidrs
    ]
    # Pods reach other nodes through the overlay too, so replies to a node's own
    # (Service, NodePort) connections come back the way that node sent them.
    rules += [f"table=2,priority=150,ip,nw_dst={peer.ip},actions=output:{ofport}" for ofport, peer in peers]
    rules += [f"table=2,priority=10,ip,actions={to_node}"]
    return rules + netpol.flows(plan, node)  # NetworkPolicy (none without policies)


def pod_flow(pod: Pod) -> str:
    """br-int delivers a local pod's packets to its port, from the virtual router's MAC."""
    actions = f"mod_dl_src:{ROUTER_MAC},mod_dl_dst:{pod.mac},output:{pod.ofport}"
    return f"{pod_flow_match(pod)},actions={actions}"


def pod_flow_match(pod: Pod) -> str:
    """The match of `pod_flow` (for `ovs-ofctl --strict del-flows` when the pod goes)."""
    return f"table=2,priority=200,ip,nw_dst={pod.ip}"


def pod_port_args(pod: Pod) -> list[str]:
    """ovs-vsctl arguments that put a pod's veth on br-int at its fixed OpenFlow port."""
    return [
        "--",
        "add-port",
        "br-int",
        pod.host_if,
        "--",
        "set",
        "interface",
        pod.host_if,
        f"ofport_request={pod.ofport}",
    ]


def phy_mac(node: Node) -> str:
    """br-phy's MAC (userspace datapath), fixed so every node can pre-seed its tunnel neighbour table."""
    return "0e:57" + node.gw_mac[5:]


def vsctl_args(plan: Plan, node: Node) -> list[str]:
    """One ovs-vsctl transaction: the bridges, gw0, the pod ports and one VXLAN port per remote node."""
    userspace = plan.datapath == "ovs-userspace"
    dp = "netdev" if userspace else "system"
    cmd: list[str] = []
    if userspace:
        cmd += ["--", "add-br", "br-phy", "--", "set", "bridge", "br-phy", f"datapath_type={dp}"]
        cmd += [f'other_config:hwaddr="{phy_mac(node)}"', "--", "add-port", "br-phy", "eth0"]
    cmd += ["--", "add-br", "br-int", "--", "set", "bridge", "br-int", f"datapath_type={dp}", "fail_mode=secure"]
    cmd += ["--", "add-port", "br-int", "gw0", "--", "set", "interface", "gw0", "type=internal"]
    cmd += [f"ofport_request={GW_OFPORT}", f'mac="{node.gw_mac}"', f"mtu_request={plan.pod_mtu}"]
    for pod in plan.pods_on(node.name):
        cmd += pod_port_args(pod)
    for ofport, peer in tunnel_ports(plan, node):
        port = f"vx-{peer.name}"
        cmd += ["--", "add-port", "br-int", port, "--", "set", "interface", port, "type=vxlan"]
        cmd += [f"options:remote_ip={peer.ip}", f"options:dst_port={VXLAN_PORT}", f"options:key={VXLAN_VNI}"]
        cmd += [f"ofport_request={ofport}"]
    return cmd


def tunnel_neighbours(plan: Plan, node: Node) -> list[list[str]]:
    """`tnl/neigh/set` arguments for every remote node (userspace datapath: no ARP for tunnel endpoints)."""
    return [["br-phy", peer.ip, phy_mac(peer)] for _, peer in tunnel_ports(plan, node)]


def port_guard(ports: list[str]) -> str:
    """nftables: keep the node kernel off the ports userspace OVS reads (as a DPDK-bound NIC would be).

    OVS reads them through AF_PACKET, which sees a frame before the netdev
    ingress hook; without this drop the node stack would also take frames
    arriving there (ARP answered twice, broadcasts handled twice).
    """
    devices = ", ".join(f'"{p}"' for p in ports)
    return (
        "table netdev cce_ovs_ports {\n"
        f"  chain ingress {{ type filter hook ingress devices = {{ {devices} }} priority 0; policy drop; }}\n"
        "}\n"
    )
