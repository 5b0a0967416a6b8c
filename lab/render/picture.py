"""The topology as a picture, before any syntax: elements, clusters and links computed from the plan. Pure.

`lab.render.graph` writes this one model as DOT (Graphviz lays it out) and as
Mermaid, and `lab.render.graphinfo` gives each element's addresses, so the
picture, the Markdown flowchart and the HTML page's click panel all name the
same elements by the same ids. Big plans stay readable: past a threshold the
pods of a node are drawn as one counted box and the VXLAN full mesh as one
hub, and the picture says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.plan.cluster import AUTO_DATAPATH, VXLAN_PORT, VXLAN_VNI
from lab.plan.model import Host, Plan, ServicePlan

MAX_PODS_PER_NODE = 8  # beyond this on any node, pods are drawn as one counted box per node
MAX_PODS = 200  # ... and beyond this many pods in all
MAX_MESH_NODES = 8  # beyond this, the VXLAN full mesh (n(n-1)/2 tunnels) is drawn as one hub
VXLAN = f"VXLAN VNI {VXLAN_VNI}, UDP {VXLAN_PORT}"


def ident(kind: str, name: str) -> str:
    """A stable element id (also the SVG id and, with `_` for the rest, the Mermaid id)."""
    return f"{kind}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"


def node_id(name: str) -> str:
    return ident("node", name)


def pod_id(name: str) -> str:
    return ident("pod", name)


def pods_id(node: str) -> str:
    return ident("pods", node)


def host_id(name: str) -> str:
    return ident("host", name)


def svc_id(name: str) -> str:
    return ident("svc", name)


def eip_id(eip: str) -> str:
    return ident("eip", eip)


def route_id(dst: str) -> str:
    return ident("route", dst)


def vxlan_id(a: str, b: str) -> str:
    return ident("vxlan", f"{a}--{b}")


MESH = "mesh-vxlan"
BRIDGE = "bridge-subnet0"


@dataclass(frozen=True)
class Element:
    id: str
    kind: str  # router, node, pod, pods, host, eip, bridge, mesh, service
    lines: tuple[str, ...]  # the label, line by line
    cluster: str = ""  # the cluster it is drawn in ("" at the top)


@dataclass(frozen=True)
class Cluster:
    id: str  # starts with "cluster_" (DOT draws such subgraphs as boxes)
    label: str
    parent: str = ""


@dataclass(frozen=True)
class Link:
    id: str
    tail: str
    head: str
    kind: str  # wire, route, vxlan, eip, uplink, peering, endpoint, frontend
    label: str = ""


@dataclass
class Picture:
    title: str
    notes: list[str] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    _link_ids: set[str] = field(default_factory=set, repr=False)

    def add(self, kind: str, eid: str, *lines: str, cluster: str = "") -> str:
        self.elements.append(Element(eid, kind, tuple(lines), cluster))
        return eid

    def link(self, kind: str, tail: str, head: str, label: str = "", lid: str = "") -> None:
        """A link; two between the same elements (a LoadBalancer and its Ingress) get -2, -3... ids."""
        base = lid or f"link-{kind}-{tail}--{head}"
        lid, k = base, 1
        while lid in self._link_ids:
            k += 1
            lid = f"{base}-{k}"
        self._link_ids.add(lid)
        self.links.append(Link(lid, tail, head, kind, label))


def collapsed(plan: Plan) -> bool:
    """Pods drawn as one box per node: more than MAX_PODS_PER_NODE on a node, or more than MAX_PODS in all."""
    per_node = max((len(plan.pods_on(n.name)) for n in plan.nodes), default=0)
    return per_node > MAX_PODS_PER_NODE or len(plan.pods) > MAX_PODS


def mesh_as_hub(plan: Plan) -> bool:
    return plan.model == "tunnel" and len(plan.nodes) > MAX_MESH_NODES


def endpoint_element(plan: Plan, pod: str, node: str) -> str:
    """The element a pod is drawn as: its own box, or its node's counted box."""
    return pods_id(node) if collapsed(plan) else pod_id(pod)


def picture(plan: Plan, services: bool = False) -> Picture:
    datapath = "auto (decided by up)" if plan.datapath == "auto" else plan.datapath
    pic = Picture(f"{plan.name}: {plan.model} model, datapath {datapath}, pod MTU {plan.pod_mtu} (underlay {plan.mtu})")
    if plan.datapath == "auto":
        pic.notes.append(AUTO_DATAPATH)
    _vpc(pic, plan)
    _cluster_nodes(pic, plan)
    _fabric(pic, plan)
    _surroundings(pic, plan)
    if services and plan.services:
        _services(pic, plan)
    return pic


def _vpc(pic: Picture, plan: Plan) -> None:
    pic.clusters.append(Cluster("cluster_vpc", f"VPC {plan.vpc_cidr}"))
    r = plan.router
    count = len(plan.vpc_routes)
    routes = f"route table: {count} route{'s' if count != 1 else ''}"
    pic.add("router", host_id(r.name), r.name, f"{r.ip} (subnet0)", routes, cluster="cluster_vpc")
    pic.clusters.append(Cluster("cluster_subnet", f"node subnet {plan.node_subnet}", "cluster_vpc"))
    pic.add("bridge", BRIDGE, "subnet0 bridge", f"gateway {r.ip}", cluster="cluster_subnet")
    pic.link("wire", host_id(r.name), BRIDGE)
    for h in plan.edge.hosts:
        if h.router_if:  # ECS, ELB, NAT gateway: on the node subnet
            pic.add("host", host_id(h.name), *_host_lines(h), cluster="cluster_subnet")
            pic.link("wire", BRIDGE, host_id(h.name))


def _cluster_nodes(pic: Picture, plan: Plan) -> None:
    few = not collapsed(plan)
    if not few:
        pic.notes.append(
            f"{len(plan.pods)} pods drawn as one counted box per node "
            f"(more than {MAX_PODS_PER_NODE} on a node or {MAX_PODS} in all); click a box for its pods"
        )
    for n in plan.nodes:
        cid = f"cluster_{node_id(n.name)}"
        pods = plan.pods_on(n.name)
        pic.clusters.append(Cluster(cid, f"{n.name}: pod block {', '.join(n.pod_cidrs)}", "cluster_subnet"))
        eip = plan.node_eips.get(n.name)
        lines = [n.name, f"{plan.underlay_if} {n.ip}"] + ([f"EIP {eip}"] if eip else [])
        pic.add("node", node_id(n.name), *lines, cluster=cid)
        pic.link("wire", BRIDGE, node_id(n.name))
        if few:
            for p in pods:
                pic.add("pod", pod_id(p.name), p.name, p.ip, cluster=cid)
                pic.link("wire", node_id(n.name), pod_id(p.name), lid=f"link-veth-{p.name}")
        elif pods:
            span = f"{pods[0].ip} .. {pods[-1].ip}" if len(pods) > 1 else pods[0].ip
            pic.add("pods", pods_id(n.name), f"{len(pods)} pods (collapsed)", span, cluster=cid)
            pic.link("wire", node_id(n.name), pods_id(n.name))


def _fabric(pic: Picture, plan: Plan) -> None:
    """What joins the nodes' pods: the VXLAN mesh (tunnel model) or the VPC route table (VPC model)."""
    router = host_id(plan.router.name)
    by_ip = {n.ip: n.name for n in plan.nodes}
    for r in plan.vpc_routes:
        target = node_id(by_ip[r.via]) if r.via in by_ip else _host_by_ip(plan, r.via)
        if target:
            pic.link("route", router, target, f"{r.dst} via {r.via}", lid=route_id(r.dst))
    if plan.model != "tunnel" or len(plan.nodes) < 2:
        return
    if mesh_as_hub(plan):
        count = len(plan.nodes) * (len(plan.nodes) - 1) // 2
        pic.notes.append(f"VXLAN full mesh of {len(plan.nodes)} nodes ({count} tunnels) drawn as one hub")
        pic.add("mesh", MESH, "VXLAN full mesh", VXLAN, f"{count} tunnels", cluster="cluster_subnet")
        for n in plan.nodes:
            pic.link("vxlan", node_id(n.name), MESH)
        return
    for i, a in enumerate(plan.nodes):
        for b in plan.nodes[i + 1 :]:
            pic.link("vxlan", node_id(a.name), node_id(b.name), VXLAN, lid=vxlan_id(a.name, b.name))


def _host_lines(h: Host) -> list[str]:
    """Name, role (where the name does not say it), address, EIP."""
    role = [] if h.role == h.name else [h.role]
    return [h.name, *role, h.ip] + ([f"EIP {h.eip}"] if h.eip else [])


def _host_by_ip(plan: Plan, ip: str) -> str:
    return next((host_id(h.name) for h in plan.hosts if h.ip == ip), "")


def _surroundings(pic: Picture, plan: Plan) -> None:
    router = host_id(plan.router.name)
    inet = plan.host("internet-router")
    if inet:
        pic.clusters.append(Cluster("cluster_internet", "Internet"))
        pic.add("host", host_id(inet.name), *_host_lines(inet), cluster="cluster_internet")
        for role in ("internet-client", "internet-server"):
            h = plan.host(role)
            if h:
                pic.add("host", host_id(h.name), *_host_lines(h), cluster="cluster_internet")
                pic.link("wire", host_id(inet.name), host_id(h.name))
        pic.link("uplink", host_id(inet.name), router, "uplink: EIPs routed in")
        natgw = plan.host("nat-gateway")
        if natgw:
            pic.link("uplink", host_id(inet.name), host_id(natgw.name), "uplink")
        _eips(pic, plan, host_id(inet.name))
    peer = plan.host("peer-host")
    if peer:
        pic.clusters.append(Cluster("cluster_peer", f"peer VPC {plan.edge.peer_cidr}"))
        pic.add("host", host_id(peer.name), *_host_lines(peer), cluster="cluster_peer")
        routes = f"; routes {plan.container_cidr}" if plan.edge.peer_routes_containers else ""
        pic.link("peering", router, host_id(peer.name), f"peering peer0{routes}")
    intra = plan.host("intranet-server")
    if intra:
        pic.clusters.append(Cluster("cluster_intranet", f"intranet subnet {plan.edge.intranet_subnet}", "cluster_vpc"))
        pic.add("host", host_id(intra.name), *_host_lines(intra), cluster="cluster_intranet")
        allow = ", ".join(plan.edge.intranet_allow) or "nothing"
        pic.link("wire", router, host_id(intra.name), f"intra0; security group allows {allow}")


def _eips(pic: Picture, plan: Plan, inet: str) -> None:
    pic.clusters.append(Cluster("cluster_eips", "EIPs (203.0.113.0/24)"))
    holders = [(eip, node_id(n), "1:1 NAT at the VPC router") for n, eip in plan.node_eips.items()]
    elb, natgw = plan.host("elb"), plan.host("nat-gateway")
    if elb and elb.eip:
        holders.append((elb.eip, host_id(elb.name), "1:1 NAT at the VPC router"))
    if natgw and natgw.eip:
        what = "SNAT for the VPC, DNAT rules" if plan.edge.snat else "DNAT rules"
        holders.append((natgw.eip, host_id(natgw.name), what))
    for eip, holder, how in holders:
        pic.add("eip", eip_id(eip), f"EIP {eip}", cluster="cluster_eips")
        pic.link("wire", inet, eip_id(eip))
        pic.link("eip", eip_id(eip), holder, how)


def _services(pic: Picture, plan: Plan) -> None:
    pic.clusters.append(Cluster("cluster_services", f"Services {plan.service_cidr} (kube-proxy on every node)"))
    elb, natgw = plan.host("elb"), plan.host("nat-gateway")
    for s in plan.services:
        sid = pic.add("service", svc_id(s.name), *_service_lines(s), cluster="cluster_services")
        counts: dict[str, int] = {}
        for e in s.endpoints:
            target = endpoint_element(plan, e.pod, e.node)
            counts[target] = counts.get(target, 0) + 1
        for target, k in counts.items():
            label = f":{s.target_port}" if k == 1 else f"{k} endpoints :{s.target_port}"
            pic.link("endpoint", sid, target, label)
        if s.type == "LoadBalancer" and elb:
            pic.link("frontend", host_id(elb.name), sid, f"VIP {s.vip}:{s.port} -> NodePort {s.node_port}")
        if s.type == "DNAT" and natgw and s.dnat:
            first, last = s.dnat[0].eip_port, s.dnat[-1].eip_port
            pic.link("frontend", host_id(natgw.name), sid, f"{s.eip}:{first}-{last} -> NodePort {s.node_port}")
    if elb:
        for ing in plan.ingresses:
            pic.link("frontend", host_id(elb.name), svc_id(ing.service), f"Ingress {ing.host}{ing.path}")


def _service_lines(s: ServicePlan) -> list[str]:
    lines = [s.name, f"{s.type} {s.cluster_ip}:{s.port}/{s.protocol}"]
    if s.node_port:
        lines.append(f"NodePort {s.node_port}" + (f" ({s.external_traffic_policy})" if s.type != "NodePort" else ""))
    if s.session_affinity != "None":
        lines.append(f"affinity {s.session_affinity}")
    if not s.endpoints:
        lines.append("no endpoints: refused")
    return lines
