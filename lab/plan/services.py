"""Services and Ingresses, planned: ClusterIPs, NodePorts, endpoints, ELB and DNAT listeners.

Pure: what kube-proxy, the ELB, the NAT gateway and the Ingress will be told.
"""

from __future__ import annotations

from collections.abc import Iterator

from lab.errors import SpecError
from lab.plan.model import DnatRule, Edge, Endpoint, IngressPlan, Node, Pod, ServicePlan
from lab.spec import NODEPORT_RANGE, Service, Spec
from lab.spec.tlsrules import plain_http

MAX_PORT = 65535
INGRESS_PORT = 80  # the ELB's HTTP listener for Ingress rules
INGRESS_TLS_PORT = 443  # the ELB's HTTPS listener for Ingress rules with tls: true
FIRST_CLUSTER_IP = 10  # service_cidr[10] onwards; low addresses stay free as in a real cluster


def plan_services(spec: Spec, nodes: list[Node], pods: list[Pod], edge: Edge) -> list[ServicePlan]:
    """One ServicePlan per Service port, in the order written; a Service's ports share its ClusterIP."""
    taken_ips = {s.cluster_ip for s in spec.services if s.cluster_ip}
    cidr = spec.service_cidr
    free_ips = (cidr[i] for i in range(FIRST_CLUSTER_IP, cidr.num_addresses - 1) if cidr[i] not in taken_ips)
    taken_ports = {p.node_port for s in spec.services for p in s.service_ports() if p.node_port}
    taken_ports |= {s.health_check_node_port for s in spec.services if s.health_check_node_port}
    free_ports = (p for p in range(NODEPORT_RANGE[0], NODEPORT_RANGE[1] + 1) if p not in taken_ports)
    elb, natgw = edge.host("elb"), edge.host("nat-gateway")
    listeners: dict[tuple[str, int], str] = {}  # (address, port) -> who listens there
    if spec.ingresses and elb:
        listeners[(elb.ip, INGRESS_PORT)] = "the Ingress"
    if any(i.tls for i in spec.ingresses) and elb:
        listeners[(elb.ip, INGRESS_TLS_PORT)] = "the Ingress (HTTPS)"
    result = []
    for i, s in enumerate(spec.services):
        workload = s.selector["app"]
        wl = next(w for w in spec.workloads if w.name == workload)
        cluster_ip = s.cluster_ip or next(free_ips, None)
        if cluster_ip is None:
            raise SpecError(f"services[{i}]", f"service_cidr {spec.service_cidr} has no free ClusterIP left")
        node_ports = [sp.node_port for sp in s.service_ports()]
        if s.type != "ClusterIP":
            node_ports = [n or _next_port(free_ports, i) for n in node_ports]
        health_port = None
        if s.type == "LoadBalancer" and s.external_traffic_policy == "Local":
            health_port = s.health_check_node_port or _next_port(free_ports, i)
        for sp, node_port in zip(s.service_ports(), node_ports, strict=True):
            target = sp.target_port or wl.port
            endpoints = [Endpoint(p.name, p.node, p.ip, target) for p in pods if p.workload == workload]
            vip = eip = ""
            dnat: list[DnatRule] = []
            if s.type == "LoadBalancer" and elb:
                vip, eip = elb.ip, elb.eip
                _listen(listeners, (vip, sp.port), s.name, i)
            if s.type == "DNAT" and natgw and node_port:
                eip = natgw.eip
                dnat = _dnat(listeners, s, sp.port, node_port, endpoints, nodes, eip, i)
            result.append(
                ServicePlan(
                    name=s.name,
                    type=s.type,
                    protocol=sp.protocol,
                    cluster_ip=str(cluster_ip),
                    port=sp.port,
                    target_port=target,
                    node_port=node_port,
                    external_traffic_policy=s.external_traffic_policy,
                    session_affinity=s.session_affinity,
                    endpoints=_sorted_endpoints(endpoints),
                    vip=vip,
                    eip=eip,
                    dnat=dnat,
                    namespace=s.namespace,
                    port_name=sp.name,
                    internal_traffic_policy=s.internal_traffic_policy,
                    affinity_seconds=s.affinity_seconds(),
                    source_ranges=[str(c) for c in s.load_balancer_source_ranges],
                    health_check_node_port=health_port,
                    app=workload,
                )
            )
    return result


def _next_port(free_ports: Iterator[int], index: int) -> int:
    """The next free port of the NodePort range (nodePorts, then healthCheckNodePort, as Kubernetes allocates)."""
    port = next(free_ports, None)
    if port is None:
        raise SpecError(f"services[{index}]", f"the NodePort range {NODEPORT_RANGE[0]}-{NODEPORT_RANGE[1]} is used up")
    return port


def _sorted_endpoints(endpoints: list[Endpoint]) -> list[Endpoint]:
    """kube-proxy's order: by the text "ip:port", so 172.16.0.18:8080 comes before 172.16.0.3:8080."""
    return sorted(endpoints, key=lambda e: f"{e.ip}:{e.port}")


def _dnat(
    listeners: dict[tuple[str, int], str],
    s: Service,
    port: int,
    node_port: int,
    endpoints: list[Endpoint],
    nodes: list[Node],
    eip: str,
    index: int,
) -> list[DnatRule]:
    """The NAT gateway's DNAT rules: one EIP port per target node, from `port` up."""
    local = {e.node for e in endpoints}
    targets = [n for n in nodes if s.external_traffic_policy == "Cluster" or n.name in local]
    if port + len(targets) - 1 > MAX_PORT:
        raise SpecError(
            f"services[{index}].port",
            f"DNAT uses EIP ports {port}..{port + len(targets) - 1} (one per node): keep them at or below {MAX_PORT}",
        )
    rules = []
    for k, n in enumerate(targets):
        _listen(listeners, (eip, port + k), s.name, index)
        rules.append(DnatRule(eip, port + k, n.name, n.ip, node_port))
    return rules


def _listen(listeners: dict[tuple[str, int], str], key: tuple[str, int], who: str, index: int) -> None:
    if key in listeners:
        raise SpecError(f"services[{index}].port", f"{key[0]}:{key[1]} is already used by {listeners[key]}")
    listeners[key] = who


def plan_ingresses(spec: Spec, edge: Edge, services: list[ServicePlan]) -> list[IngressPlan]:
    """ELB Ingress rules: the ELB's L7 listener forwards to the Service's NodePort on the nodes."""
    elb = edge.host("elb")
    if not elb:
        return []
    by_port = {(s.name, s.port): s for s in services if s.protocol == "TCP"}
    return [
        IngressPlan(
            ing.host,
            ing.path,
            ing.service,
            ing.port,
            by_port[(ing.service, ing.port)].node_port or 0,
            elb.eip,
            elb.ip,
            ing.tls,
            plain_http(ing),
        )
        for ing in spec.ingresses
    ]
