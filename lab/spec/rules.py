"""CCE's rules across fields: the three address planes, and every reference a Service or Ingress makes.

A spec that passes them is self-consistent; whether it fits (capacity) is the plan's question.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from lab.errors import SpecError
from lab.spec.model import LAB_RESERVED, NODEPORT_RANGE, RESERVED_WORKLOADS, SPECIAL_RANGES, Service, Spec


def _planes(spec: Spec) -> dict[str, IPv4Network]:
    """Every network the lab's addresses come from, by the field that sets it."""
    planes = {k: getattr(spec, k) for k in ("vpc_cidr", "node_subnet", "container_cidr", "service_cidr")}
    if spec.peer_vpc:
        planes["peer_vpc.cidr"] = spec.peer_vpc.cidr
    if spec.intranet:
        planes["intranet.subnet"] = spec.intranet.subnet
    return planes


def check_planes(spec: Spec) -> None:
    """CCE's rules for the three address planes: which must not overlap."""
    for field, net in _planes(spec).items():
        special = next((r for r in SPECIAL_RANGES if net.overlaps(r)), None)
        if special:
            raise SpecError(
                field, f"{net} overlaps {special}, which is {SPECIAL_RANGES[special]}: no lab plane may use it"
            )
    if not spec.node_subnet.subnet_of(spec.vpc_cidr):
        raise SpecError("node_subnet", f"{spec.node_subnet} must lie inside vpc_cidr {spec.vpc_cidr}")
    if spec.container_cidr.overlaps(spec.vpc_cidr):
        raise SpecError(
            "container_cidr",
            f"{spec.container_cidr} overlaps vpc_cidr {spec.vpc_cidr}; the container network must not overlap the VPC",
        )
    for other in ("vpc_cidr", "node_subnet", "container_cidr"):
        net = getattr(spec, other)
        if spec.service_cidr.overlaps(net):
            raise SpecError(
                "service_cidr", f"{spec.service_cidr} overlaps {other} {net}; the Service CIDR must not overlap it"
            )
    if isinstance(spec.pods_per_node, list) and len(spec.pods_per_node) != spec.nodes:
        raise SpecError(
            "pods_per_node", f"lists {len(spec.pods_per_node)} counts but nodes is {spec.nodes}; give one per node"
        )
    if spec.model == "vpc" and spec.datapath not in ("auto",):
        raise SpecError(
            "datapath", f"{spec.datapath!r} is a tunnel datapath; the VPC model routes without one (use auto)"
        )


def check_services(spec: Spec) -> None:
    """Kubernetes' and CCE's rules for Services and Ingresses: every reference resolves."""
    workloads: dict[str, str] = {}  # name -> namespace
    for i, w in enumerate(spec.workloads):
        if w.name in RESERVED_WORKLOADS or w.name in workloads:
            raise SpecError(f"workloads[{i}].name", f"{w.name!r} is reserved or used twice")
        workloads[w.name] = w.namespace
    seen_ports: dict[int, str] = {}
    seen_ips: dict[IPv4Address, str] = {}
    services: dict[str, Service] = {}
    for i, s in enumerate(spec.services):
        where = f"services[{i}]"
        if s.name in services:
            raise SpecError(
                f"{where}.name", f"Service {s.name!r} is defined twice (names are unique across namespaces in a lab)"
            )
        services[s.name] = s
        if list(s.selector) != ["app"] or s.selector["app"] not in workloads:
            raise SpecError(f"{where}.selector", f"{s.selector} matches no workload (labelled app=<name>)")
        if workloads[s.selector["app"]] != s.namespace:
            raise SpecError(
                f"{where}.selector",
                f"workload {s.selector['app']} is in namespace {workloads[s.selector['app']]}; "
                f"a Service selects pods of its own namespace ({s.namespace})",
            )
        _check_ports(s, where, seen_ports)
        _check_health_port(s, where, seen_ports)
        if s.cluster_ip is not None:
            if s.cluster_ip not in spec.service_cidr:
                raise SpecError(f"{where}.clusterIP", f"{s.cluster_ip} is outside service_cidr {spec.service_cidr}")
            if s.cluster_ip in seen_ips or s.cluster_ip in (spec.service_cidr[0], spec.service_cidr[-1]):
                raise SpecError(f"{where}.clusterIP", f"{s.cluster_ip} is taken or not a usable address")
            seen_ips[s.cluster_ip] = s.name
        if s.type == "DNAT" and spec.nat_gateway is None:
            raise SpecError(f"{where}.type", "a DNAT Service needs a nat_gateway")
        if s.type in ("LoadBalancer", "DNAT") and any(p.protocol != "TCP" for p in s.service_ports()):
            raise SpecError(f"{where}.protocol", f"the lab's {s.type} forwards TCP only")
        if s.load_balancer_source_ranges and s.type != "LoadBalancer":
            raise SpecError(f"{where}.loadBalancerSourceRanges", "only a LoadBalancer Service has source ranges")
        if s.session_affinity_config and s.session_affinity != "ClientIP":
            raise SpecError(f"{where}.sessionAffinityConfig", "needs sessionAffinity: ClientIP")
    routed: set[tuple[str, str]] = set()
    for i, ing in enumerate(spec.ingresses):
        if (ing.host, ing.path) in routed:
            raise SpecError(
                f"ingresses[{i}].path", f"{ing.host}{ing.path} is routed by an earlier Ingress rule already"
            )
        routed.add((ing.host, ing.path))
        svc = services.get(ing.service)
        if svc is None:
            raise SpecError(f"ingresses[{i}].service", f"no Service named {ing.service!r}")
        if svc.type not in ("NodePort", "LoadBalancer") or all(p.protocol != "TCP" for p in svc.service_ports()):
            raise SpecError(
                f"ingresses[{i}].service",
                f"{svc.name} must be a TCP NodePort or LoadBalancer Service (a {svc.type} Service is not an "
                "Ingress backend: the ELB forwards to NodePorts)",
            )
        ports = [p.port for p in svc.service_ports() if p.protocol == "TCP"]
        if ing.port not in ports:
            raise SpecError(
                f"ingresses[{i}].port", f"{svc.name} listens on {', '.join(map(str, ports))}, not {ing.port}"
            )
    node_names = {f"node-{i + 1}" for i in range(spec.nodes)}
    bound: set[str] = set()
    for i, node in enumerate(spec.eips):
        if node not in node_names or node in bound:
            raise SpecError(f"eips[{i}]", f"{node!r} is not a node here (node-1...node-{spec.nodes}) or is repeated")
        bound.add(node)
    if (spec.eips or spec.nat_gateway or spec.ingresses) and not spec.internet:
        raise SpecError("internet", "EIPs, a NAT gateway and Ingresses need internet: true")
    for field, net in _planes(spec).items():
        if field == "node_subnet":
            continue  # inside vpc_cidr, checked with it
        reserved = next((r for r in LAB_RESERVED if net.overlaps(r)), None)
        if reserved:
            raise SpecError(field, f"{net} overlaps {reserved}, which the lab uses for its Internet, EIPs and uplinks")
        if field.startswith(("peer", "intranet")) and net.prefixlen > 28:
            raise SpecError(field, f"{net} is too small: use a /28 or larger (the lab puts a host at its 10th address)")
    if spec.peer_vpc:
        for other in ("vpc_cidr", "container_cidr", "service_cidr"):
            if spec.peer_vpc.cidr.overlaps(getattr(spec, other)):
                raise SpecError("peer_vpc.cidr", f"{spec.peer_vpc.cidr} overlaps {other}; peered VPCs must not overlap")
    if spec.intranet:
        sub = spec.intranet.subnet
        if not sub.subnet_of(spec.vpc_cidr) or sub.overlaps(spec.node_subnet):
            raise SpecError("intranet.subnet", f"{sub} must lie inside vpc_cidr and outside node_subnet")


def _check_ports(s: Service, where: str, seen_node_ports: dict[int, str]) -> None:
    """One way of writing the ports; several ports are named, each name and port once (Kubernetes' rules)."""
    if s.ports:
        for key, value in (("port", s.port), ("targetPort", s.target_port), ("nodePort", s.node_port)):
            if value is not None:
                raise SpecError(f"{where}.{key}", "with a ports list, every port is written in the list")
        if "protocol" in s.model_fields_set:
            raise SpecError(f"{where}.protocol", "with a ports list, each port has its own protocol")
    elif s.port is None:
        raise SpecError(f"{where}.port", "required key is missing (or write a ports list)")
    names: set[str] = set()
    numbers: set[tuple[int, str]] = set()
    for k, p in enumerate(s.service_ports()):
        at = f"{where}.ports[{k}]" if s.ports else where
        if len(s.ports) > 1 and not p.name:
            raise SpecError(f"{at}.name", "a Service with several ports names each of them")
        if p.name in names:
            raise SpecError(f"{at}.name", f"port name {p.name!r} is used twice")
        if (p.port, p.protocol) in numbers:
            raise SpecError(f"{at}.port", f"{p.protocol} port {p.port} is used twice")
        names.add(p.name)
        numbers.add((p.port, p.protocol))
        if p.node_port is None:
            continue
        if s.type == "ClusterIP":
            raise SpecError(f"{at}.nodePort", "a ClusterIP Service has no nodePort")
        lo, hi = NODEPORT_RANGE
        if not lo <= p.node_port <= hi:
            raise SpecError(f"{at}.nodePort", f"{p.node_port} is outside the NodePort range {lo}-{hi}")
        if p.node_port in seen_node_ports:
            raise SpecError(f"{at}.nodePort", f"{p.node_port} is already used by {seen_node_ports[p.node_port]}")
        seen_node_ports[p.node_port] = s.name


def _check_health_port(s: Service, where: str, seen_node_ports: dict[int, str]) -> None:
    """healthCheckNodePort: only for LoadBalancer + Local (as Kubernetes), in the NodePort range, unique."""
    hc = s.health_check_node_port
    if hc is None:
        return
    at = f"{where}.healthCheckNodePort"
    if s.type != "LoadBalancer" or s.external_traffic_policy != "Local":
        raise SpecError(at, "only a LoadBalancer Service with externalTrafficPolicy: Local has one")
    lo, hi = NODEPORT_RANGE
    if not lo <= hc <= hi:
        raise SpecError(at, f"{hc} is outside the NodePort range {lo}-{hi}")
    if hc in seen_node_ports:
        raise SpecError(at, f"{hc} is already used by {seen_node_ports[hc]}")
    seen_node_ports[hc] = s.name
