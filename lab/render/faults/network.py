"""Faults in the container network itself: MTU, the VPC route table, VXLAN ports and flows, the underlay. Pure."""

from __future__ import annotations

from pathlib import Path

from lab.plan.cluster import POD_TABLE, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Plan
from lab.render import ovs
from lab.render.faults.fault import CUT_OFF_ROWS, SERVICE_ROWS, Command, Fault


def mtu_blackhole(plan: Plan, rundir: Path) -> Fault:
    node = plan.nodes[0]
    pods = plan.pods_on(node.name)
    big, right = str(plan.mtu), str(plan.pod_mtu)

    def links(mtu: str) -> list[Command]:
        cmds = [(p.netns, ["ip", "link", "set", "eth0", "mtu", mtu], None) for p in pods]
        return cmds + [(node.netns, ["ip", "link", "set", p.host_if, "mtu", mtu], None) for p in pods]

    return Fault(
        "mtu-blackhole",
        f"the pods on {node.name} get the underlay's MTU {big}: VXLAN's 50 bytes no longer fit",
        links(big),
        links(right),
        (f"pod MTU on {node.name}",),
        SERVICE_ROWS,  # web-1 lives on that node, and OVS re-opens a port whose MTU changes: a few requests drop
    )


def missing_vpc_route(plan: Plan, rundir: Path) -> Fault:
    node = plan.nodes[-1]  # the last node's pods are no other node's check client
    route = next(r for r in plan.vpc_routes if r.via == node.ip)
    return Fault(
        "missing-vpc-route",
        f"the VPC route table loses {route.dst} -> {node.name}: its pods are cut off",
        [(plan.router.netns, ["ip", "route", "del", route.dst, "via", route.via], None)],
        [(plan.router.netns, ["ip", "route", "add", route.dst, "via", route.via], None)],
        (f"{node.name}: the node and its",),
        CUT_OFF_ROWS,
    )


def _tunnel_cut(plan: Plan, name: str, summary: str, inject: list[Command], undo: list[Command]) -> Fault:
    src, dst = plan.nodes[0], plan.nodes[-1]
    return Fault(
        name,
        summary.format(src=src.name, dst=dst.name),
        inject,
        undo,
        ("pod -> pod, other node", f"encapsulation on the wire, {src.name} -> {dst.name}", f"{dst.name}: the node"),
        (*SERVICE_ROWS, "pod MTU", "node -> pod, other node", "node -> node", "peer VPC", "security group"),
    )


def vxlan_port_removed(plan: Plan, rundir: Path) -> Fault:
    src, dst = plan.nodes[0], plan.nodes[-1]
    if plan.datapath == "linux-vxlan":
        fdb = ["bridge", "fdb"]
        return _tunnel_cut(
            plan,
            "vxlan-port-removed",
            "{src}'s vxlan0 forgets {dst} (its FDB entry deleted)",
            [(src.netns, [*fdb, "del", dst.vtep_mac, "dev", "vxlan0", "dst", dst.ip], None)],
            [(src.netns, [*fdb, "append", dst.vtep_mac, "dev", "vxlan0", "dst", dst.ip], None)],
        )
    port, ofport = f"vx-{dst.name}", next(o for o, m in ovs.tunnel_ports(plan, src) if m.name == dst.name)
    vsctl = ["ovs-vsctl", f"--db=unix:{rundir / src.name}/db.sock"]
    add = [*vsctl, "add-port", "br-int", port, "--", "set", "interface", port, "type=vxlan"]
    add += [f"options:remote_ip={dst.ip}", f"options:dst_port={VXLAN_PORT}", f"options:key={VXLAN_VNI}"]
    add += [f"ofport_request={ofport}"]
    return _tunnel_cut(
        plan,
        "vxlan-port-removed",
        "{src}'s br-int loses its VXLAN port to {dst}",
        [(src.netns, [*vsctl, "del-port", "br-int", port], None)],
        [(src.netns, add, None)],
    )


def flow_removed(plan: Plan, rundir: Path) -> Fault:
    src, dst = plan.nodes[0], plan.nodes[-1]
    mgmt = f"unix:{rundir / src.name}/br-int.mgmt"
    lost = [f for f in ovs.flows(plan, src) if any(f"nw_dst={b}," in f for b in dst.pod_cidrs)]
    matches = [f.split(",actions=")[0].replace("priority=100,", "") for f in lost]
    return _tunnel_cut(
        plan,
        "flow-removed",
        "{src}'s br-int loses the flow that tunnels {dst}'s pod block",
        [(src.netns, ["ovs-ofctl", "--strict", "del-flows", mgmt, f"priority=100,{m}"], None) for m in matches],
        [(src.netns, ["ovs-ofctl", "add-flows", mgmt, "-"], "\n".join(lost) + "\n")],
    )


def underlay_down(plan: Plan, rundir: Path) -> Fault:
    node = plan.nodes[-1]  # the last node's pods are no other node's check client
    link = ["ip", "link", "set", node.router_if]
    return Fault(
        "underlay-down",
        f"{node.name}'s underlay link is down at the VPC's switch (its eth0 loses carrier)",
        [(plan.router.netns, [*link, "down"], None)],
        [(plan.router.netns, [*link, "up"], None)],
        (f"{node.name}: the node and its",),
        (*CUT_OFF_ROWS, "encapsulation on the wire", "security group"),
    )


def rp_filter(plan: Plan, rundir: Path) -> Fault:
    """Linux VXLAN: node-3 loses the policy rule that sends its pods' replies to other nodes back through the
    tunnel, and filters strictly by reverse path: a request that came through vxlan0 from a node IP whose
    route is now eth0 is dropped. (With the rule, paths are symmetric and strict filtering breaks nothing.)"""
    node = plan.nodes[-1]
    key = "net.ipv4.conf.all.rp_filter"
    rule = ["ip", "rule", "{}", "from", plan.container_cidr, "lookup", str(POD_TABLE), "priority", str(POD_TABLE)]
    return Fault(
        "rp-filter",
        f"{node.name} loses its pod return-path rule and turns on strict reverse-path filtering",
        [(node.netns, [a.format("del") for a in rule], None), (node.netns, ["sysctl", "-qw", f"{key}=1"], None)],
        [(node.netns, [a.format("add") for a in rule], None), (node.netns, ["sysctl", "-qw", f"{key}=0"], None)],
        ("node -> pod, other node",),
        CUT_OFF_ROWS,
    )
