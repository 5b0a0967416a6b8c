"""What the HTML page shows when an element of the picture is clicked: its addresses, interfaces, routes. Pure.

Everything comes from the plan, by the same ids `lab.render.picture` gives the
elements: nodes (IP, MACs, router port, pod blocks, routes, VXLAN ports, the
kube-proxy Services they carry), pods (IP/32, MAC, the node's veth end, the
default route), hosts, the VPC routes, VXLAN tunnels and Services.
"""

from __future__ import annotations

from lab.plan.cluster import POD_GATEWAY, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Host, Node, Plan, Pod, ServicePlan
from lab.render.picture import (
    BRIDGE,
    MESH,
    collapsed,
    eip_id,
    host_id,
    mesh_as_hub,
    node_id,
    pod_id,
    pods_id,
    route_id,
    svc_id,
    vxlan_id,
)

Rows = list[tuple[str, str]]
Info = dict[str, dict[str, object]]  # id -> {"title": str, "kind": str, "rows": [[key, value]]}


def _ovs(plan: Plan) -> bool:
    return plan.model == "tunnel" and plan.datapath != "linux-vxlan"


def _prefix(plan: Plan) -> str:
    return plan.node_subnet.split("/")[1]


def node_rows(plan: Plan, n: Node) -> Rows:
    pods = plan.pods_on(n.name)
    rows: Rows = [
        ("netns", n.netns),
        (f"{plan.underlay_if} (underlay)", f"{n.ip}/{_prefix(plan)}, MTU {plan.mtu}"),
        ("VPC router port", f"{n.router_if} on subnet0"),
        ("pod blocks", ", ".join(n.pod_cidrs)),
        (
            "pods",
            f"{len(pods)}: " + ", ".join(f"{p.name} {p.ip}" for p in pods[:12]) + (" ..." if len(pods) > 12 else ""),
        ),
        ("route", f"default via {plan.router.ip} dev {plan.underlay_if}"),
    ]
    if plan.node_eips.get(n.name):
        rows.append(("EIP", f"{plan.node_eips[n.name]} (1:1 NAT at the VPC router)"))
    others = [m for m in plan.nodes if m.name != n.name]
    if plan.model == "vpc":
        rows.append(("route", f"one /32 per pod: {pods[0].ip}/32 dev {pods[0].host_if} ..." if pods else "no pods"))
        rows.append(("proxy ARP", f"answers {POD_GATEWAY} on every pod veth"))
    elif _ovs(plan):
        rows.append(("route", f"{plan.container_cidr} dev gw0 (br-int, MTU {plan.pod_mtu})"))
        rows.append(("gw0 MAC", n.gw_mac))
        rows.append(
            ("br-int ports", "gw0, " + ", ".join([p.host_if for p in pods[:8]] + [f"vx-{m.name}" for m in others[:8]]))
        )
    else:
        rows.append(("vxlan0", f"VNI {VXLAN_VNI}, UDP {VXLAN_PORT}, MAC {n.vtep_mac}"))
        rows += [(f"route to {m.name}", f"{', '.join(m.pod_cidrs)} via {m.ip} dev vxlan0 onlink") for m in others[:8]]
    for s in plan.services:
        rows.append((f"kube-proxy: {s.name}", _service_on_node(s, n)))
    return rows


def _service_on_node(s: ServicePlan, n: Node) -> str:
    local = sum(1 for e in s.endpoints if e.node == n.name)
    text = f"{s.type} {s.cluster_ip}:{s.port}/{s.protocol} -> {len(s.endpoints)} endpoints ({local} here)"
    if s.node_port:
        text += f"; NodePort {n.ip}:{s.node_port}"
        if s.external_traffic_policy == "Local" and not local:
            text += " (Local: no endpoint here, drops)"
    return text


def pod_rows(plan: Plan, p: Pod) -> Rows:
    rows: Rows = [
        ("netns", p.netns),
        ("node", p.node),
        ("eth0", f"{p.ip}/32, MAC {p.mac}, MTU {plan.pod_mtu}"),
        ("node side", f"{p.host_if} on {p.node}"),
        ("route", f"default via {POD_GATEWAY} dev eth0 (answered by {p.node})"),
        ("serves", f"HTTP and UDP on {p.port}"),
    ]
    if _ovs(plan):
        rows.append(("OpenFlow port", f"{p.ofport} on br-int"))
    if p.workload:
        rows.append(("workload", f"{p.workload} (app={p.workload})"))
    chosen = [s.name for s in plan.services if any(e.pod == p.name for e in s.endpoints)]
    if chosen:
        rows.append(("endpoint of", ", ".join(chosen)))
    return rows


def host_rows(plan: Plan, h: Host) -> Rows:
    rows: Rows = [("netns", h.netns), ("role", h.role), ("eth0" if h.role != "vpc-router" else "subnet0", h.ip)]
    if h.mac:
        rows.append(("MAC", h.mac))
    if h.router_if:
        rows.append(("VPC router port", f"{h.router_if} on subnet0"))
    if h.eip:
        rows.append(("EIP", h.eip))
    if h.role == "vpc-router":
        rows += [("route", f"{r.dst} via {r.via}" + (f" ({r.note})" if r.note else "")) for r in plan.vpc_routes]
        rows.append(
            (
                "subnet0 ports",
                ", ".join(
                    [n.router_if for n in plan.nodes[:12]] + [x.router_if for x in plan.edge.hosts if x.router_if]
                ),
            )
        )
        extra = [
            ("uplink", plan.host("internet-router")),
            ("peer0", plan.host("peer-host")),
            ("intra0", plan.host("intranet-server")),
        ]
        rows += [(name, f"to {other.name}") for name, other in extra if other]
    elif h.router_if:
        rows.append(("route", f"default via {plan.router.ip} dev eth0"))
    if h.role == "intranet-server":
        rows.append(("security group allows", ", ".join(plan.edge.intranet_allow) or "nothing"))
    if h.role == "elb":
        rows += [
            (f"listener {s.name}", f"{s.vip}:{s.port} -> NodePort {s.node_port} on {len(s.backends(plan.nodes))} nodes")
            for s in plan.services
            if s.type == "LoadBalancer"
        ]
    if h.role == "nat-gateway":
        rows.append(("SNAT", f"{plan.vpc_cidr} -> {h.eip}" if plan.edge.snat else "off"))
        rows += [
            (f"DNAT {s.name}", f"{d.eip}:{d.eip_port} -> {d.node} {d.node_ip}:{d.node_port}")
            for s in plan.services
            for d in s.dnat
        ]
    return rows


def service_rows(s: ServicePlan) -> Rows:
    rows: Rows = [
        ("type", s.type),
        ("ClusterIP", f"{s.cluster_ip}:{s.port}/{s.protocol} -> targetPort {s.target_port}"),
        ("externalTrafficPolicy", s.external_traffic_policy),
        ("sessionAffinity", s.session_affinity),
    ]
    if s.node_port:
        rows.append(("NodePort", str(s.node_port)))
    if s.vip:
        rows.append(("ELB VIP", f"{s.vip}:{s.port}"))
    if s.eip:
        rows.append(("EIP", s.eip))
    rows += [("endpoint", f"{e.pod} {e.ip}:{e.port} on {e.node}") for e in s.endpoints] or [
        ("endpoints", "none: refused")
    ]
    rows += [("DNAT", f"{d.eip}:{d.eip_port} -> {d.node}:{d.node_port}") for d in s.dnat]
    return rows


def info(plan: Plan) -> Info:
    """Every clickable element's title and rows, by element id."""
    out: Info = {}

    def put(eid: str, kind: str, title: str, rows: Rows) -> None:
        out[eid] = {"title": title, "kind": kind, "rows": [list(r) for r in rows]}

    for h in plan.hosts:
        put(host_id(h.name), "host", h.name, host_rows(plan, h))
    put(
        BRIDGE,
        "bridge",
        "subnet0",
        [
            ("subnet", plan.node_subnet),
            ("gateway", plan.router.ip),
            ("members", str(len(plan.nodes) + sum(1 for h in plan.edge.hosts if h.router_if))),
        ],
    )
    for n in plan.nodes:
        put(node_id(n.name), "node", n.name, node_rows(plan, n))
        if collapsed(plan):
            pods = plan.pods_on(n.name)
            put(
                pods_id(n.name),
                "pods",
                f"{len(pods)} pods on {n.name}",
                [(p.name, f"{p.ip} {p.mac} {p.host_if}") for p in pods],
            )
    for p in plan.pods:
        put(pod_id(p.name), "pod", p.name, pod_rows(plan, p))
    by_ip = {n.ip: n for n in plan.nodes}
    for r in plan.vpc_routes:
        via = by_ip.get(r.via)
        put(
            route_id(r.dst),
            "route",
            f"VPC route {r.dst}",
            [("destination", r.dst), ("next hop", r.via + (f" ({via.name})" if via else "")), ("note", r.note)],
        )
    if plan.model == "tunnel" and mesh_as_hub(plan):
        put(
            MESH,
            "mesh",
            "VXLAN full mesh",
            [
                ("tunnels", str(len(plan.nodes) * (len(plan.nodes) - 1) // 2)),
                ("VNI", str(VXLAN_VNI)),
                ("UDP port", str(VXLAN_PORT)),
            ],
        )
    elif plan.model == "tunnel":
        for i, a in enumerate(plan.nodes):
            for b in plan.nodes[i + 1 :]:
                put(vxlan_id(a.name, b.name), "tunnel", f"VXLAN {a.name} <-> {b.name}", _tunnel_rows(plan, a, b))
    for n, eip in plan.node_eips.items():
        put(
            eip_id(eip), "eip", f"EIP {eip}", [("bound to", f"{n} {plan.node(n).ip}"), ("NAT", "1:1 at the VPC router")]
        )
    for h in plan.edge.hosts:
        if h.eip:
            put(eip_id(h.eip), "eip", f"EIP {h.eip}", [("bound to", f"{h.name} {h.ip}")])
    for s in plan.services:
        put(svc_id(s.name), "service", f"Service {s.name}", service_rows(s))
    return out


def _tunnel_rows(plan: Plan, a: Node, b: Node) -> Rows:
    port = (f"vx-{b.name} on {a.name}", f"vx-{a.name} on {b.name}") if _ovs(plan) else ("vxlan0", "vxlan0")
    return [
        ("VNI", str(VXLAN_VNI)),
        ("UDP port", str(VXLAN_PORT)),
        ("outer addresses", f"{a.ip} <-> {b.ip} ({plan.underlay_if})"),
        ("carries", f"{', '.join(a.pod_cidrs)} <-> {', '.join(b.pod_cidrs)}"),
        ("ports", f"{port[0]}; {port[1]}"),
        ("pod MTU", f"{plan.pod_mtu} (underlay {plan.mtu} - 50)"),
    ]
