"""Services and Ingresses, planned: ClusterIPs, NodePorts, endpoints, ELB and DNAT listeners.

Pure: what kube-proxy, the ELB, the NAT gateway and the Ingress will be told.
"""

from __future__ import annotations

from lab.errors import SpecError
from lab.plan.model import DnatRule, Edge, Endpoint, IngressPlan, Node, Pod, ServicePlan
from lab.spec import NODEPORT_RANGE, Spec
from lab.spec.tlsrules import plain_http

MAX_PORT = 65535
INGRESS_PORT = 80  # the ELB's HTTP listener for Ingress rules
INGRESS_TLS_PORT = 443  # the ELB's HTTPS listener for Ingress rules with tls: true
FIRST_CLUSTER_IP = 10  # service_cidr[10] onwards; low addresses stay free as in a real cluster


def plan_services(spec: Spec, nodes: list[Node], pods: list[Pod], edge: Edge) -> list[ServicePlan]:
    taken_ips = {s.cluster_ip for s in spec.services if s.cluster_ip}
    cidr = spec.service_cidr
    free_ips = (cidr[i] for i in range(FIRST_CLUSTER_IP, cidr.num_addresses - 1) if cidr[i] not in taken_ips)
    taken_ports = {s.node_port for s in spec.services if s.node_port}
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
        target = s.target_port or wl.port
        endpoints = [Endpoint(p.name, p.node, p.ip, target) for p in pods if p.workload == workload]
        cluster_ip = s.cluster_ip or next(free_ips, None)
        if cluster_ip is None:
            raise SpecError(f"services[{i}]", f"service_cidr {spec.service_cidr} has no free ClusterIP left")
        node_port = s.node_port
        if s.type != "ClusterIP" and node_port is None:
            node_port = next(free_ports, None)
            if node_port is None:
                raise SpecError(
                    f"services[{i}]", f"the NodePort range {NODEPORT_RANGE[0]}-{NODEPORT_RANGE[1]} is used up"
                )
        vip = eip = ""
        dnat: list[DnatRule] = []
        if s.type == "LoadBalancer" and elb:
            vip, eip = elb.ip, elb.eip
            _listen(listeners, (vip, s.port), s.name, i)
        if s.type == "DNAT" and natgw and node_port:
            eip = natgw.eip
            local = {e.node for e in endpoints}
            targets = [n for n in nodes if s.external_traffic_policy == "Cluster" or n.name in local]
            if s.port + len(targets) - 1 > MAX_PORT:
                raise SpecError(
                    f"services[{i}].port",
                    f"DNAT uses EIP ports {s.port}..{s.port + len(targets) - 1} "
                    f"(one per node): keep them at or below {MAX_PORT}",
                )
            for k, n in enumerate(targets):
                _listen(listeners, (eip, s.port + k), s.name, i)
                dnat.append(DnatRule(eip, s.port + k, n.name, n.ip, node_port))
        result.append(
            ServicePlan(
                name=s.name,
                type=s.type,
                protocol=s.protocol,
                cluster_ip=str(cluster_ip),
                port=s.port,
                target_port=target,
                node_port=node_port,
                external_traffic_policy=s.external_traffic_policy,
                session_affinity=s.session_affinity,
                endpoints=endpoints,
                vip=vip,
                eip=eip,
                dnat=dnat,
            )
        )
    return result


def _listen(listeners: dict[tuple[str, int], str], key: tuple[str, int], who: str, index: int) -> None:
    if key in listeners:
        raise SpecError(f"services[{index}].port", f"{key[0]}:{key[1]} is already used by {listeners[key]}")
    listeners[key] = who


def plan_ingresses(spec: Spec, edge: Edge, services: list[ServicePlan]) -> list[IngressPlan]:
    """ELB Ingress rules: the ELB's L7 listener forwards to the Service's NodePort on the nodes."""
    elb = edge.host("elb")
    if not elb:
        return []
    by_name = {s.name: s for s in services}
    return [
        IngressPlan(
            ing.host,
            ing.path,
            ing.service,
            ing.port,
            by_name[ing.service].node_port or 0,
            elb.eip,
            elb.ip,
            ing.tls,
            plain_http(ing),
        )
        for ing in spec.ingresses
    ]
