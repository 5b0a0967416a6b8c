"""The world around the cluster: ECS, ELB, NAT gateway, EIPs, Internet, peer VPC, intranet.

Pure, like plan.py: addresses only. "Internet" addresses come from the
documentation ranges (198.51.100.0/24 for hosts, 203.0.113.0/24 for EIPs);
transit links use 100.64.0.0/10. Everything lives in the lab's namespaces.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

from lab.errors import SpecError
from lab.plan.model import Edge, Host
from lab.spec import Spec

INTERNET = IPv4Network("198.51.100.0/24")
EIP_POOL = IPv4Network("203.0.113.0/24")
UPLINK = ("100.64.0.1", "100.64.0.2")  # VPC router <-> Internet router, /30
NAT_UPLINK = ("100.64.0.5", "100.64.0.6")  # NAT gateway <-> Internet router, /30
NAT_EIP, ELB_EIP, NODE_EIP_BASE = EIP_POOL[10], EIP_POOL[20], 100


def needs_elb(spec: Spec) -> bool:
    return bool(spec.ingresses) or any(s.type == "LoadBalancer" for s in spec.services)


def subnet_extras(spec: Spec) -> list[str]:
    """Roles that take a node-subnet address, from the top of the subnet down."""
    roles = ["ecs"] if spec.ecs else []
    roles += ["elb"] if needs_elb(spec) else []
    # IPVS binds the ELB's VIP on every node's kube-ipvs0: the ELB then reaches the nodes from an address
    # of its own, as a cloud ELB does from its backend subnet (a source that is a node's own address is dropped)
    roles += ["elb-backend"] if needs_elb(spec) and spec.kube_proxy_mode == "ipvs" else []
    roles += ["nat-gateway"] if spec.nat_gateway else []
    return roles


def plan_edge(spec: Spec, top: list[IPv4Address], extras: list[str]) -> Edge:
    """Addresses of every host around the cluster; `extras` take the node subnet's top addresses (`top`)."""
    ns = spec.name
    hosts: list[Host] = []
    for j, role in enumerate(extras):
        ip = top[j]
        if role == "elb-backend":
            hosts = [replace(h, backend_ip=str(ip)) if h.role == "elb" else h for h in hosts]
            continue
        mac = "0e:5a:" + ":".join(f"{b:02x}" for b in ip.packed)
        short = {"nat-gateway": "natgw"}.get(role, role)
        eip = {"elb": str(ELB_EIP), "nat-gateway": str(NAT_EIP)}.get(role, "") if spec.internet else ""
        hosts.append(Host(role, f"{ns}-{short}", str(ip), role, router_if=short, eip=eip, mac=mac))
    node_eips = {}
    for i, node in enumerate(spec.eips):
        number = int(node.split("-")[1])
        if NODE_EIP_BASE + number >= EIP_POOL.num_addresses - 1:
            last = EIP_POOL.num_addresses - 2 - NODE_EIP_BASE
            raise SpecError(f"eips[{i}]", f"node EIPs come from {EIP_POOL} as .{NODE_EIP_BASE}+N: node-1..node-{last}")
        node_eips[node] = str(EIP_POOL[NODE_EIP_BASE + number])
    edge = Edge(node_eips=node_eips, snat=bool(spec.nat_gateway and spec.nat_gateway.snat))
    if spec.internet:
        hosts += [
            Host("internet", f"{ns}-inet", str(INTERNET[1]), "internet-router"),
            Host("client", f"{ns}-client", str(INTERNET[10]), "internet-client"),
            Host("server", f"{ns}-server", str(INTERNET[20]), "internet-server"),
        ]
    if spec.peer_vpc:
        cidr = spec.peer_vpc.cidr
        hosts.append(Host("peer", f"{ns}-peer", str(cidr[10]), "peer-host"))
        edge = replace(
            edge,
            peer_cidr=str(cidr),
            peer_gateway=str(cidr[1]),
            peer_routes_containers=spec.peer_vpc.route_container_cidr,
        )
    if spec.intranet:
        sub = spec.intranet.subnet
        hosts.append(Host("intranet", f"{ns}-intra", str(sub[10]), "intranet-server"))
        edge = replace(
            edge,
            intranet_subnet=str(sub),
            intranet_gateway=str(sub[1]),
            intranet_allow=[str(c) for c in spec.intranet.allow],
        )
    return replace(edge, hosts=hosts)
