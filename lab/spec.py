"""Topology spec: the validated model of what the user asked for.

A spec comes from a YAML file or a Python topology script. Type and range
checks are pydantic's; the address-plane rules of CCE (what must lie inside
what, what must not overlap) are checked here too, so a spec that loads is
self-consistent. Capacity rules (how many nodes and pods fit) live in plan.py.
"""

from __future__ import annotations

import importlib.util
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

from lab.errors import SpecError

Model = Literal["tunnel", "vpc"]
Datapath = Literal["auto", "ovs-kernel", "ovs-userspace", "linux-vxlan"]

# CCE's defaults (cce_10_0282, cce_10_0283, cce_bestpractice_00004).
DEFAULT_SERVICE_CIDR = IPv4Network("10.247.0.0/16")
VXLAN_OVERHEAD = 50
# Counts are whole numbers only: YAML's `yes` must not become 1 node.
Count = Annotated[int, Strict()]
CIDR_FIELDS = ("vpc_cidr", "node_subnet", "container_cidr", "service_cidr")


Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
NODEPORT_RANGE = (30000, 32767)
WORKLOAD_PORT = 8080  # where every pod's netexec-style server listens
RESERVED_WORKLOADS = ("pod", "node")  # pod-N-K and node-N are taken
# The lab's own "Internet" (documentation ranges) and its uplink transfer nets.
LAB_RESERVED = (IPv4Network("198.51.100.0/24"), IPv4Network("203.0.113.0/24"), IPv4Network("100.64.0.0/29"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Workload(_Strict):
    """A Deployment: `replicas` pods labelled app=<name>, spread over the nodes."""

    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,14}$", description="1-15 lower-case letters/digits")
    replicas: Count = Field(default=2, ge=0)
    port: Port = WORKLOAD_PORT


class Service(_Strict):
    """A Kubernetes Service as CCE offers it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "DNAT"] = "ClusterIP"
    selector: dict[str, str]
    port: Port
    target_port: Port | None = Field(default=None, alias="targetPort")
    node_port: Count | None = Field(default=None, alias="nodePort")
    cluster_ip: IPv4Address | None = Field(default=None, alias="clusterIP")
    protocol: Literal["TCP", "UDP"] = "TCP"
    external_traffic_policy: Literal["Cluster", "Local"] = Field(default="Cluster", alias="externalTrafficPolicy")
    session_affinity: Literal["None", "ClientIP"] = Field(default="None", alias="sessionAffinity")


class Ingress(_Strict):
    """An ELB Ingress rule: host + path -> Service (which must have a NodePort)."""

    host: str = Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    path: str = Field(default="/", pattern=r"^/[A-Za-z0-9._~/-]*$")
    service: str
    port: Port


class NatGateway(_Strict):
    snat: bool = Field(default=True, description="SNAT rule for the node subnet (pods/nodes reach the Internet)")


class PeerVpc(_Strict):
    cidr: IPv4Network = IPv4Network("10.10.0.0/16")
    route_container_cidr: bool = Field(default=True, description="the peer routes the container CIDR (VPC model)")


class Intranet(_Strict):
    """A server in another subnet of the VPC, behind a security group."""

    subnet: IPv4Network = IPv4Network("192.168.1.0/24")
    allow: list[IPv4Network] = Field(description="source CIDRs its security group allows")


class Spec(BaseModel):
    """One cluster: its network model, address planes and size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z][a-z0-9]{0,9}$",
        description="lab name, prefix of every namespace (1-10 lower-case letters/digits)",
    )
    model: Model
    vpc_cidr: IPv4Network = IPv4Network("192.168.0.0/16")
    node_subnet: IPv4Network = IPv4Network("192.168.0.0/24")
    container_cidr: IPv4Network = IPv4Network("172.16.0.0/16")
    service_cidr: IPv4Network = DEFAULT_SERVICE_CIDR
    nodes: Count = Field(default=3, ge=1, le=2000)
    pods_per_node: Count | list[Count] = Field(default=2)
    block_mask: Count = Field(default=25, ge=24, le=28, description="VPC model: per-node pod block mask")
    tunnel_block_size: Count = Field(default=16, description="tunnel model: IPs per on-demand block")
    route_quota: Count = Field(default=200, ge=1, description="VPC route table quota")
    mtu: Count = Field(default=1500, ge=1280, le=9000, description="underlay (node network) MTU")
    datapath: Datapath = "auto"
    ecs: bool = Field(default=False, description="add an ECS: a VM in the node subnet outside the cluster")
    workloads: list[Workload] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    ingresses: list[Ingress] = Field(default_factory=list)
    eips: list[str] = Field(default_factory=list, description="nodes with an EIP bound, e.g. [node-1]")
    nat_gateway: NatGateway | None = None
    internet: bool = Field(default=False, description="an Internet with a client and a server")
    peer_vpc: PeerVpc | None = None
    intranet: Intranet | None = None

    @field_validator(*CIDR_FIELDS, mode="before")
    @classmethod
    def _cidr_has_prefix(cls, value: Any) -> Any:
        if isinstance(value, str) and "/" not in value:
            raise ValueError(
                f"{value!r} is not an IPv4 network in CIDR form: the /prefix length is missing (e.g. 172.16.0.0/16)"
            )
        return value

    @field_validator("pods_per_node")
    @classmethod
    def _pods_non_negative(cls, value: int | list[int]) -> int | list[int]:
        counts = value if isinstance(value, list) else [value]
        if any(c < 0 for c in counts):
            raise ValueError("pod counts must be 0 or more")
        return value

    @field_validator("tunnel_block_size")
    @classmethod
    def _block_power_of_two(cls, value: int) -> int:
        if value < 4 or value > 256 or value & (value - 1):
            raise ValueError("must be a power of two from 4 to 256 (CCE uses 16)")
        return value

    def pod_counts(self) -> list[int]:
        """Pods on each node, in node order."""
        if isinstance(self.pods_per_node, int):
            return [self.pods_per_node] * self.nodes
        return list(self.pods_per_node)


def _check_planes(spec: Spec) -> None:
    """CCE's rules for the three address planes: which must not overlap."""
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


def _check_services(spec: Spec) -> None:
    """Kubernetes' and CCE's rules for Services and Ingresses: every reference resolves."""
    names = [w.name for w in spec.workloads]
    for i, w in enumerate(spec.workloads):
        if w.name in RESERVED_WORKLOADS or names.index(w.name) != i:
            raise SpecError(f"workloads[{i}].name", f"{w.name!r} is reserved or used twice")
    seen_ports: dict[int, str] = {}
    seen_ips: dict[IPv4Address, str] = {}
    svc_names = [s.name for s in spec.services]
    for i, s in enumerate(spec.services):
        where = f"services[{i}]"
        if svc_names.index(s.name) != i:
            raise SpecError(f"{where}.name", f"Service {s.name!r} is defined twice")
        if not any(s.selector == {"app": w.name} for w in spec.workloads):
            raise SpecError(f"{where}.selector", f"{s.selector} matches no workload (labelled app=<name>)")
        if s.node_port is not None:
            if s.type == "ClusterIP":
                raise SpecError(f"{where}.nodePort", "a ClusterIP Service has no nodePort")
            lo, hi = NODEPORT_RANGE
            if not lo <= s.node_port <= hi:
                raise SpecError(f"{where}.nodePort", f"{s.node_port} is outside the NodePort range {lo}-{hi}")
            if s.node_port in seen_ports:
                raise SpecError(f"{where}.nodePort", f"{s.node_port} is already used by {seen_ports[s.node_port]}")
            seen_ports[s.node_port] = s.name
        if s.cluster_ip is not None:
            if s.cluster_ip not in spec.service_cidr:
                raise SpecError(f"{where}.clusterIP", f"{s.cluster_ip} is outside service_cidr {spec.service_cidr}")
            if s.cluster_ip in seen_ips or s.cluster_ip in (spec.service_cidr[0], spec.service_cidr[-1]):
                raise SpecError(f"{where}.clusterIP", f"{s.cluster_ip} is taken or not a usable address")
            seen_ips[s.cluster_ip] = s.name
        if s.type == "DNAT" and spec.nat_gateway is None:
            raise SpecError(f"{where}.type", "a DNAT Service needs a nat_gateway")
        if s.type in ("LoadBalancer", "DNAT") and s.protocol != "TCP":
            raise SpecError(f"{where}.protocol", f"the lab's {s.type} forwards TCP only")
    rules = [(ing.host, ing.path) for ing in spec.ingresses]
    for i, ing in enumerate(spec.ingresses):
        if rules.index((ing.host, ing.path)) != i:
            raise SpecError(
                f"ingresses[{i}].path", f"{ing.host}{ing.path} is routed by an earlier Ingress rule already"
            )
        svc = next((s for s in spec.services if s.name == ing.service), None)
        if svc is None:
            raise SpecError(f"ingresses[{i}].service", f"no Service named {ing.service!r}")
        if svc.type == "ClusterIP" or svc.protocol != "TCP":
            raise SpecError(f"ingresses[{i}].service", f"{svc.name} must be a TCP Service with a NodePort")
        if ing.port != svc.port:
            raise SpecError(f"ingresses[{i}].port", f"{svc.name} listens on {svc.port}, not {ing.port}")
    node_names = {f"node-{i + 1}" for i in range(spec.nodes)}
    for i, node in enumerate(spec.eips):
        if node not in node_names or spec.eips.index(node) != i:
            raise SpecError(f"eips[{i}]", f"{node!r} is not a node here (node-1...node-{spec.nodes}) or is repeated")
    if (spec.eips or spec.nat_gateway or spec.ingresses) and not spec.internet:
        raise SpecError("internet", "EIPs, a NAT gateway and Ingresses need internet: true")
    planes = {k: getattr(spec, k) for k in ("vpc_cidr", "container_cidr", "service_cidr")}
    if spec.peer_vpc:
        planes["peer_vpc.cidr"] = spec.peer_vpc.cidr
    if spec.intranet:
        planes["intranet.subnet"] = spec.intranet.subnet
    for field, net in planes.items():
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


_NESTED: dict[str, type[BaseModel]] = {}  # top-level key -> the model of its items, filled below


def _first_error(exc: ValidationError) -> SpecError:
    err = exc.errors()[0]
    loc = err["loc"]
    # Keys and list indices; pydantic's union branch names ("int", "list[int]") are not fields.
    parts = [p for p in loc if isinstance(p, int) or (p not in ("int", "str", "bool") and "[" not in p)]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "topology"
    msg = err["msg"]
    if field.startswith("pods_per_node") and err["type"] in ("int_type", "int_parsing", "list_type"):
        msg = "must be a whole number of pods, or a list with one whole number per node"
    elif err["type"] == "extra_forbidden":
        model = _NESTED.get(str(loc[0]), Spec) if len(loc) > 1 else Spec
        allowed = [f.alias or name for name, f in model.model_fields.items()]
        msg = f"unknown key (allowed: {', '.join(allowed)})"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"].startswith("ip_v4_network"):
        msg = f"{err.get('input')!r} is not an IPv4 network in CIDR form with host bits zero (e.g. 172.16.0.0/16)"
    elif err["type"] == "string_pattern_mismatch" and field == "name":
        msg = f"{err.get('input')!r} must be 1-10 lower-case letters or digits, starting with a letter"
    elif err["type"] == "literal_error":
        msg = f"{err.get('input')!r} is not one of {err['ctx']['expected']}"
    return SpecError(field, msg.removeprefix("Value error, "))


def build_spec(data: Any) -> Spec:
    """Validate a mapping (from YAML or a script) into a Spec, or raise SpecError."""
    if isinstance(data, Spec):
        spec = data
    elif not isinstance(data, dict):
        raise SpecError("topology", "must be a mapping of keys to values")
    else:
        try:
            spec = Spec.model_validate(data)
        except ValidationError as exc:
            raise _first_error(exc) from None
    _check_planes(spec)
    _check_services(spec)
    return spec


def load(path: str | Path, params: dict[str, str] | None = None) -> Spec:
    """Read a topology file: YAML (`.yaml`/`.yml`) or a Python script (`.py`).

    A script defines `topology(**params)` returning a mapping or a Spec;
    `params` are the CLI's `--param KEY=VALUE` pairs, passed as strings.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError("topology", f"file {path} does not exist")
    if path.suffix == ".py":
        mod_spec = importlib.util.spec_from_file_location(f"cce_topology_{path.stem}", path)
        assert mod_spec and mod_spec.loader
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:
            raise SpecError("topology", f"{path} failed to load: {type(exc).__name__}: {exc}") from None
        if not callable(getattr(module, "topology", None)):
            raise SpecError("topology", f"{path} must define a function topology(**params)")
        try:
            data = module.topology(**(params or {}))
        except (TypeError, ValueError) as exc:
            raise SpecError("param", f"{path}: {exc}") from None
        except Exception as exc:
            raise SpecError("topology", f"{path}: topology() failed: {type(exc).__name__}: {exc}") from None
        return build_spec(data)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError("topology", f"{path}: use a .yaml/.yml file or a .py topology script")
    if params:
        raise SpecError("param", "--param applies to Python topology scripts only")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError("topology", f"{path} is not valid YAML: {exc}") from None
    return build_spec(data)


_NESTED.update(
    workloads=Workload, services=Service, ingresses=Ingress, nat_gateway=NatGateway, peer_vpc=PeerVpc, intranet=Intranet
)
