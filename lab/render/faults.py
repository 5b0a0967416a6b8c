"""The fault catalogue: ways to break a running lab behind its back, each with its exact undo. Pure.

A fault is what a trainee (or a careless operator) could do with plain tools:
`ip`, `iptables`, `ovs-vsctl`, `ovs-ofctl`, `bridge`. Each renders, from the
plan, the commands that break the lab and the commands that put it back, and
names the `check` rows it must make fail (`fails`) and those it may take
down with it (`collateral`, e.g. a dead pod also breaks a random share of
Service requests): each a part of the row's scenario, `$` at its end
anchoring it to the scenario's end (`matches`). The checker's tests inject every fault and hold `check`
to exactly that; the training exercises use the same catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab.plan.cluster import POD_GATEWAY, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Node, Plan, Pod, ServicePlan
from lab.render import kubeproxy, nodenet, ovs

Command = tuple[str, list[str], str | None]  # (netns, argv, stdin)


@dataclass(frozen=True)
class Fault:
    name: str
    summary: str
    inject: list[Command]
    undo: list[Command]
    fails: tuple[str, ...]  # check rows (substrings of the scenario) that must fail
    collateral: tuple[str, ...] = ()  # rows that may fail with it
    notes: list[str] = field(default_factory=list)


SERVICE_ROWS = (
    "ClusterIP Service",
    "load spreading",
    "ClientIP affinity",
    "ELB",
    "DNAT",
    "Ingress",
    "NodePort",
    "(UDP)",
    "EIP of",
    "source IP seen by the pod",
)  # rows that reach a Service's endpoints: a fault on an endpoint's path may fail any of them


def _link_down(pod: Pod) -> tuple[list[Command], list[Command]]:
    """A pod's eth0 down, and back up with the routes the kernel dropped with it (the /32 gateway, the default)."""
    up = [
        (pod.netns, ["ip", "link", "set", "eth0", "up"], None),
        (pod.netns, ["ip", "route", "replace", f"{POD_GATEWAY}/32", "dev", "eth0", "scope", "link"], None),
        (pod.netns, ["ip", "route", "replace", "default", "via", POD_GATEWAY, "dev", "eth0"], None),
    ]
    return [(pod.netns, ["ip", "link", "set", "eth0", "down"], None)], up


def matches(scenario: str, patterns: tuple[str, ...]) -> bool:
    """Whether a check row's scenario is one the patterns name."""
    return any(scenario.endswith(p[:-1]) if p.endswith("$") else p in scenario for p in patterns)


def _middle(plan: Plan) -> Node:
    return plan.nodes[len(plan.nodes) // 2]


def _plain(plan: Plan, node: Node) -> list[Pod]:
    return [p for p in plan.pods_on(node.name) if not p.workload]


def _svc(plan: Plan, name: str) -> ServicePlan:
    svc = plan.service(name)
    if svc is None or not svc.endpoints:
        raise ValueError(f"the fault needs a Service {name!r} with endpoints (the shipped topologies have it)")
    return svc


def _ipt(ns: str, *args: str) -> Command:
    return (ns, ["iptables", "-w", *args], None)


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


def dead_endpoint(plan: Plan, rundir: Path) -> Fault:
    pod = next(p for p in plan.pods if p.name == _svc(plan, "web").endpoints[1].pod)
    return Fault(
        "dead-endpoint",
        f"{pod.name}, an endpoint of web, loses its link (eth0 down): a third of web's requests go nowhere",
        *_link_down(pod),
        (f"{pod.node}: the node and its", "load spreading over web"),
        (*SERVICE_ROWS, "peer VPC -> pod IP"),
    )


def _jump_first(plan: Plan, name: str, probability: str | None) -> tuple[ServicePlan, list[str]]:
    svc = _svc(plan, name)
    first = sorted(svc.endpoints, key=lambda e: e.pod)[0]
    stat = ["-m", "statistic", "--mode", "random", "--probability", probability] if probability else []
    return svc, [kubeproxy.svc_chain(svc), *stat, "-j", kubeproxy.sep_chain(svc, first)]


def skewed_spreading(plan: Plan, rundir: Path) -> Fault:
    client = plan.first_plain_pod()
    assert client
    node = plan.node(client.node)
    svc, rule = _jump_first(plan, "web", "0.6")
    return Fault(
        "skewed-spreading",
        f"kube-proxy's {kubeproxy.svc_chain(svc)} on {node.name} sends 60 % + a share to one endpoint",
        [_ipt(node.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [_ipt(node.netns, "-t", "nat", "-D", *rule)],
        ("load spreading over web",),
    )


def fake_affinity(plan: Plan, rundir: Path) -> Fault:
    svc, rule = _jump_first(plan, "web-sticky", None)
    # the `recent` lists remember whom the fake rule sent where: forget them, or every client stays put
    forget = [
        (n.netns, ["sh", "-c", f"echo / > /proc/net/xt_recent/{kubeproxy.sep_chain(svc, e)}"], None)
        for n in plan.nodes
        for e in svc.endpoints
    ]
    return Fault(
        "fake-affinity",
        f"every node sends {svc.name} to one endpoint, whoever asks: it looks sticky, but it is not affinity",
        [_ipt(n.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:]) for n in plan.nodes],
        [*(_ipt(n.netns, "-t", "nat", "-D", *rule) for n in plan.nodes), *forget],
        ("ClientIP affinity of web-sticky",),
    )


def nodeport_dead(plan: Plan, rundir: Path) -> Fault:
    node = _middle(plan)
    svc = _svc(plan, "web-np")
    rule = ["KUBE-NODEPORTS", "-p", "tcp", "-m", "tcp", "--dport", str(svc.node_port), "-j", "RETURN"]
    ingresses = [f"{i.host}{i.path}" for i in plan.ingresses if i.service == svc.name]
    return Fault(
        "nodeport-dead",
        f"NodePort {svc.node_port} ({svc.name}) stops working on {node.name} only",
        [_ipt(node.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [_ipt(node.netns, "-t", "nat", "-D", *rule)],
        (f"NodePort {svc.node_port} ({svc.name}) on every node", *(f"Ingress upstreams of {i}" for i in ingresses)),
        tuple(f"Internet -> Ingress http://{i}" for i in ingresses),
    )


def dnat_wrong_node(plan: Plan, rundir: Path) -> Fault:
    svc = next(s for s in plan.services if s.dnat)
    first, other = svc.dnat[0], svc.dnat[1]
    natgw = plan.host("nat-gateway")
    assert natgw
    rule = ["PREROUTING", "-d", f"{first.eip}/32", "-i", "uplink", "-p", "tcp", "-m", "tcp"]
    rule += ["--dport", str(first.eip_port), "-j", "DNAT", "--to-destination", f"{other.node_ip}:{first.node_port}"]
    return Fault(
        "dnat-wrong-node",
        f"the NAT gateway's rule for {first.eip}:{first.eip_port} points at {other.node} instead of {first.node}",
        [_ipt(natgw.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [_ipt(natgw.netns, "-t", "nat", "-D", *rule)],
        (f"DNAT {first.eip}:{first.eip_port} -> {first.node}",),
    )


def pod_nat(plan: Plan, rundir: Path) -> Fault:
    node = plan.nodes[0]
    rule = ["POSTROUTING", "-s", plan.container_cidr, "-d", plan.container_cidr, "-j", "MASQUERADE"]
    return Fault(
        "pod-nat",
        f"{node.name} masquerades pod-to-pod traffic: pods no longer see each other's IPs (IP-per-pod broken)",
        [_ipt(node.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [_ipt(node.netns, "-t", "nat", "-D", *rule)],
        ("pod -> pod, same node (TCP)", "pod -> pod, other node (TCP)", *(f"{n.name}: the node" for n in plan.nodes)),
        ("source IP seen by the pod", "pod -> intranet server"),
    )


def dead_pod(plan: Plan, rundir: Path) -> Fault:
    node = _middle(plan)
    pod = _plain(plan, node)[-1]
    return Fault(
        "dead-pod",
        f"{pod.name}, a plain pod on the middle node {node.name}, loses its link",
        *_link_down(pod),
        (f"{node.name}: the node and its",),
        ("ClientIP affinity",),
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
        (*SERVICE_ROWS, "pod MTU", "pod -> pod", "node -> pod", "ECS -> pod IP", "peer VPC -> pod IP"),
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


def kubeproxy_flushed(plan: Plan, rundir: Path) -> Fault:
    client = plan.first_plain_pod()
    assert client
    node = plan.node(client.node)
    svc = _svc(plan, "web")
    chain = kubeproxy.svc_chain(svc)
    rules = [ln for ln in nodenet.ruleset(plan, node).splitlines() if ln.startswith(f"-A {chain} ")]
    return Fault(
        "kubeproxy-flushed",
        f"kube-proxy's chain {chain} (Service web) is flushed on {node.name}",
        [_ipt(node.netns, "-t", "nat", "-F", chain)],
        [
            (
                node.netns,
                ["iptables-restore", "-w", "--noflush"],
                "\n".join(["*nat", f":{chain} - [0:0]", *rules, "COMMIT\n"]),
            )
        ],
        ("ClusterIP Service web$", "load spreading over web"),
    )


BUILDERS: dict[str, tuple[Callable[[Plan, Path], Fault], tuple[str, ...]]] = {
    # name -> (builder, the datapaths it applies to)
    "mtu-blackhole": (mtu_blackhole, ("ovs-userspace", "ovs-kernel", "linux-vxlan")),
    "dead-endpoint": (dead_endpoint, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
    "skewed-spreading": (skewed_spreading, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
    "fake-affinity": (fake_affinity, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
    "nodeport-dead": (nodeport_dead, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
    "dnat-wrong-node": (dnat_wrong_node, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
    "pod-nat": (pod_nat, ("routed",)),
    "dead-pod": (dead_pod, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
    "missing-vpc-route": (missing_vpc_route, ("routed",)),
    "vxlan-port-removed": (vxlan_port_removed, ("ovs-userspace", "ovs-kernel", "linux-vxlan")),
    "flow-removed": (flow_removed, ("ovs-userspace", "ovs-kernel")),
    "kubeproxy-flushed": (kubeproxy_flushed, ("ovs-userspace", "ovs-kernel", "linux-vxlan", "routed")),
}


def applicable(plan: Plan) -> list[str]:
    return [name for name, (_, datapaths) in BUILDERS.items() if plan.datapath in datapaths]


def fault(plan: Plan, name: str, rundir: Path) -> Fault:
    """The fault `name` for this lab; ValueError when it does not apply to the lab's datapath or shape."""
    if name not in BUILDERS:
        raise ValueError(f"no fault {name!r} (known: {', '.join(BUILDERS)})")
    build, datapaths = BUILDERS[name]
    if plan.datapath not in datapaths:
        raise ValueError(f"fault {name} applies to {', '.join(datapaths)}, not {plan.datapath}")
    return build(plan, rundir)
