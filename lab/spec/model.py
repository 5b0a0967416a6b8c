"""The topology model: what the user asked for, typed and range-checked by pydantic.

CCE's defaults and the lab's reserved ranges live here too; the cross-field
rules of CCE (what must lie inside what) are in `rules.py`, capacity in the plan.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

Model = Literal["tunnel", "vpc"]
Datapath = Literal["auto", "ovs-kernel", "ovs-userspace", "linux-vxlan"]

# CCE's defaults (cce_10_0282, cce_10_0283, cce_bestpractice_00004).
DEFAULT_SERVICE_CIDR = IPv4Network("10.247.0.0/16")
VXLAN_OVERHEAD = 50
# Counts are whole numbers only: YAML's `yes` must not become 1 node.
Count = Annotated[int, Strict()]


Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
NODEPORT_RANGE = (30000, 32767)
WORKLOAD_PORT = 8080  # where every pod's netexec-style server listens
RESERVED_WORKLOADS = ("pod", "node")  # pod-N-K and node-N are taken
# The lab's own "Internet" (documentation ranges) and its uplink transfer nets.
# Ranges no plane may use: they mean something else to every host (RFC 6890).
SPECIAL_RANGES = {
    IPv4Network("0.0.0.0/8"): "'this network'",
    IPv4Network("127.0.0.0/8"): "loopback",
    IPv4Network("169.254.0.0/16"): "link-local (the pods' gateway 169.254.1.1 lives there)",
    IPv4Network("224.0.0.0/4"): "multicast",
    IPv4Network("240.0.0.0/4"): "reserved (with the broadcast address)",
}
LAB_RESERVED = (IPv4Network("198.51.100.0/24"), IPv4Network("203.0.113.0/24"), IPv4Network("100.64.0.0/29"))


def _cidr_text(value: Any) -> Any:
    """A network is written as text with its prefix: `3` or `true` must not become 0.0.0.3/32."""
    if isinstance(value, IPv4Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{str(value)[:40]!r} is not an IPv4 network: write it in CIDR form, e.g. 172.16.0.0/16")
    if "/" not in value:
        raise ValueError(
            f"{value[:40]!r} is not an IPv4 network in CIDR form: the /prefix length is missing (e.g. 172.16.0.0/16)"
        )
    return value


def _address_text(value: Any) -> Any:
    if isinstance(value, IPv4Address):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{str(value)[:40]!r} is not an IPv4 address: write it as text, e.g. 10.247.0.10")
    return value


Cidr = Annotated[IPv4Network, BeforeValidator(_cidr_text)]
Address = Annotated[IPv4Address, BeforeValidator(_address_text)]


# Kubernetes names and labels (the lab's subset: a DNS label; a label key with an optional prefix/).
DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
LabelKey = Annotated[str, Field(pattern=r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")]
LabelValue = Annotated[str, Strict(), Field(pattern=r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Workload(_Strict):
    """A Deployment: `replicas` pods labelled app=<name>, spread over the nodes."""

    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,14}$", description="1-15 lower-case letters/digits")
    replicas: Count = Field(default=2, ge=0)
    port: Port = WORKLOAD_PORT
    namespace: str = Field(default="default", pattern=DNS_LABEL, description="the pods' namespace")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description="pod labels beside app=<name>")


PORT_NAME = r"^$|" + DNS_LABEL[1:]  # a port's name may be left out
AFFINITY_SECONDS = 10800  # Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds
AFFINITY_MAX_SECONDS = 86400


class ServicePort(_Strict):
    """One port of a Service; a Service with several names each (kube-proxy's `namespace/name:port`)."""

    name: str = Field(default="", pattern=PORT_NAME, description="required with several ports")
    port: Port
    target_port: Port | None = Field(default=None, alias="targetPort")
    node_port: Count | None = Field(default=None, alias="nodePort")
    protocol: Literal["TCP", "UDP"] = "TCP"


class ClientIPConfig(_Strict):
    timeout_seconds: Count = Field(default=AFFINITY_SECONDS, ge=1, le=AFFINITY_MAX_SECONDS, alias="timeoutSeconds")


class SessionAffinityConfig(_Strict):
    client_ip: ClientIPConfig = Field(alias="clientIP")


class Service(_Strict):
    """A Kubernetes Service as CCE offers it: one port at the top level, or a `ports` list."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    namespace: str = Field(default="default", pattern=DNS_LABEL)
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "DNAT"] = "ClusterIP"
    selector: dict[str, str]
    port: Port | None = None
    target_port: Port | None = Field(default=None, alias="targetPort")
    node_port: Count | None = Field(default=None, alias="nodePort")
    protocol: Literal["TCP", "UDP"] = "TCP"
    ports: list[ServicePort] = Field(default_factory=list)
    cluster_ip: Address | None = Field(default=None, alias="clusterIP")
    external_traffic_policy: Literal["Cluster", "Local"] = Field(default="Cluster", alias="externalTrafficPolicy")
    internal_traffic_policy: Literal["Cluster", "Local"] = Field(default="Cluster", alias="internalTrafficPolicy")
    session_affinity: Literal["None", "ClientIP"] = Field(default="None", alias="sessionAffinity")
    session_affinity_config: SessionAffinityConfig | None = Field(default=None, alias="sessionAffinityConfig")
    load_balancer_source_ranges: list[Cidr] = Field(default_factory=list, alias="loadBalancerSourceRanges")
    health_check_node_port: Count | None = Field(
        default=None, alias="healthCheckNodePort", description="LoadBalancer + Local: kube-proxy's /healthz port"
    )

    def service_ports(self) -> list[ServicePort]:
        """The ports, whichever way they were written (rules.py has made sure it is one way)."""
        if self.ports:
            return list(self.ports)
        top = {"target_port": self.target_port, "node_port": self.node_port, "protocol": self.protocol}
        return [ServicePort(port=self.port or 1, **top)]

    def affinity_seconds(self) -> int:
        cfg = self.session_affinity_config
        return cfg.client_ip.timeout_seconds if cfg else AFFINITY_SECONDS


class Ingress(_Strict):
    """An ELB Ingress rule: host + path -> Service (which must have a NodePort)."""

    host: str = Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    path: str = Field(default="/", pattern=r"^/[A-Za-z0-9._~/-]*$")
    service: str
    port: Port
    tls: bool = Field(default=False, description="HTTPS on the ELB's port 443 with a certificate from the lab's CA")
    plain_http: Literal["redirect", "refuse"] | None = Field(
        default=None, description="TLS hosts: plain HTTP is redirected to https:// (301, default) or refused (403)"
    )


class NatGateway(_Strict):
    snat: bool = Field(default=True, description="SNAT rule for the node subnet (pods/nodes reach the Internet)")


class PeerVpc(_Strict):
    cidr: Cidr = IPv4Network("10.10.0.0/16")
    route_container_cidr: bool = Field(default=True, description="the peer routes the container CIDR (VPC model)")


class Intranet(_Strict):
    """A server in another subnet of the VPC, behind a security group."""

    subnet: Cidr = IPv4Network("192.168.1.0/24")
    allow: list[Cidr] = Field(description="source CIDRs its security group allows")


class Namespace(_Strict):
    """A namespace and its labels (every namespace also carries kubernetes.io/metadata.name=<name>)."""

    name: str = Field(pattern=DNS_LABEL)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)


class LabelSelector(_Strict):
    match_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, alias="matchLabels")


class IpBlock(_Strict):
    cidr: Cidr
    except_: list[Cidr] = Field(default_factory=list, alias="except")


class PolicyPeer(_Strict):
    """One `from` entry: pods by label (in the policy's namespace, or in the namespaces selected), or a CIDR."""

    pod_selector: LabelSelector | None = Field(default=None, alias="podSelector")
    namespace_selector: LabelSelector | None = Field(default=None, alias="namespaceSelector")
    ip_block: IpBlock | None = Field(default=None, alias="ipBlock")


class PolicyPort(_Strict):
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    port: Port | None = None


class IngressRule(_Strict):
    """Sources (`from`; none: every source) and ports (none: every port) one rule allows."""

    from_: list[PolicyPeer] = Field(default_factory=list, alias="from")
    ports: list[PolicyPort] = Field(default_factory=list)


class NetworkPolicy(_Strict):
    """A Kubernetes NetworkPolicy (networking.k8s.io/v1, the fields CCE's tunnel network enforces)."""

    name: str = Field(pattern=DNS_LABEL)
    namespace: str = Field(default="default", pattern=DNS_LABEL)
    pod_selector: LabelSelector = Field(alias="podSelector")
    policy_types: list[Literal["Ingress", "Egress"]] = Field(default=["Ingress"], alias="policyTypes")
    ingress: list[IngressRule] = Field(default_factory=list)
    egress: list[dict[str, Any]] | None = None  # accepted only to be refused with CCE's reason (netpolrules)


class Spec(BaseModel):
    """One cluster: its network model, address planes and size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z][a-z0-9]{0,9}$",
        description="lab name, prefix of every namespace (1-10 lower-case letters/digits)",
    )
    model: Model
    vpc_cidr: Cidr = IPv4Network("192.168.0.0/16")
    node_subnet: Cidr = IPv4Network("192.168.0.0/24")
    container_cidr: Cidr = IPv4Network("172.16.0.0/16")
    service_cidr: Cidr = DEFAULT_SERVICE_CIDR
    nodes: Count = Field(default=3, ge=1, le=2000)
    pods_per_node: Count | list[Count] = Field(default=2)
    block_mask: Count = Field(default=25, ge=24, le=28, description="VPC model: per-node pod block mask")
    tunnel_block_size: Count = Field(default=16, description="tunnel model: IPs per on-demand block")
    route_quota: Count = Field(default=200, ge=1, description="VPC route table quota")
    mtu: Count = Field(default=1500, ge=1280, le=9000, description="underlay (node network) MTU")
    datapath: Datapath = "auto"
    ovs_userspace_rcvbuf: Count = Field(
        default=8 * 1024 * 1024,
        ge=0,
        le=1 << 30,
        description=(
            "datapath ovs-userspace: receive buffer (bytes) given to each AF_PACKET socket ovs-vswitchd reads "
            "a port through (0: OVS's default, the host's net.core.rmem_default); other datapaths ignore it"
        ),
    )
    kube_proxy_mode: Literal["iptables", "ipvs"] = Field(
        default="iptables", description="kube-proxy's forwarding: iptables chains or IPVS virtual servers"
    )
    iptables: Literal["host", "nft", "legacy"] = Field(
        default="host",
        description=(
            "the iptables backend every lab namespace's rules are written with: host (the host's `iptables`), "
            "nft (iptables-nft) or legacy (iptables-legacy, whose restore of thousands of Services' chains is "
            "~10x faster than iptables-nft 1.8's)"
        ),
    )
    ecs: bool = Field(default=False, description="add an ECS: a VM in the node subnet outside the cluster")
    workloads: list[Workload] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    ingresses: list[Ingress] = Field(default_factory=list)
    eips: list[str] = Field(default_factory=list, description="nodes with an EIP bound, e.g. [node-1]")
    nat_gateway: NatGateway | None = None
    internet: bool = Field(default=False, description="an Internet with a client and a server")
    peer_vpc: PeerVpc | None = None
    intranet: Intranet | None = None
    namespaces: list[Namespace] = Field(default_factory=list, description="namespaces with labels")
    network_policies: list[NetworkPolicy] = Field(default_factory=list, description="Kubernetes NetworkPolicies")
    placement: dict[Annotated[str, Field(pattern=r"^node-[1-9][0-9]{0,3}$")], Annotated[str, Field(max_length=64)]] = (
        Field(
            default_factory=dict,
            description="with --inventory: the inventory host of a node, e.g. {node-1: hostA}; others: --placement",
        )
    )

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
