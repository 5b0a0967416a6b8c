"""The plan document: every name and address of a lab, typed once.

pydantic dataclasses: positional construction where the planner builds them,
validation when a saved `plan.json` is read back (`lab.documents`), a JSON
schema for README. Frozen: a plan is computed, never edited.
"""

from __future__ import annotations

from dataclasses import field

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from lab.spec.model import WORKLOAD_PORT

PLAN_SCHEMA_VERSION = 1
SPREAD_SCHEMA_VERSION = 1
HOST_INDEX_BASE = 1000  # a pod's node-side veth veth-pK has interface index 1000 + K in its node's namespace
_FROZEN = {"frozen": True, "config": ConfigDict(extra="forbid")}


@dataclass(**_FROZEN)
class Pod:
    name: str
    netns: str
    node: str
    ip: str
    mac: str
    host_if: str  # the node-side end of the pod's veth
    ofport: int  # its OpenFlow port on br-int (OVS datapaths)
    workload: str = ""  # the Deployment it belongs to ("" for the plain pod-N-K pods)
    port: int = WORKLOAD_PORT  # its HTTP/UDP server

    @property
    def host_index(self) -> int:
        """The node-side end's interface index, chosen by the lab: wiring a pod needs no lookup in between."""
        return HOST_INDEX_BASE + int(self.host_if.removeprefix("veth-p"))


@dataclass(**_FROZEN)
class Node:
    name: str
    netns: str
    ip: str
    router_if: str  # the VPC router's end of the node's eth0 veth
    pod_cidrs: list[str]
    gw_mac: str
    vtep_mac: str  # linux-vxlan: the MAC of the node's vxlan0


@dataclass(**_FROZEN)
class Host:
    """A namespace outside the cluster: VPC router, ECS, ELB, NAT gateway, Internet, peer, intranet."""

    name: str
    netns: str
    ip: str
    role: str
    router_if: str = ""  # its port on the VPC router's subnet bridge (hosts in the node subnet)
    eip: str = ""  # its EIP, if it has one (ELB, NAT gateway)
    mac: str = ""  # fixed MAC of its eth0 (nodes send replies back to the ELB / NAT gateway by it)
    backend_ip: str = ""  # ELB in IPVS mode: the address it reaches the nodes from (its VIP is on every node)

    @property
    def source_ip(self) -> str:
        """The address this host's own traffic to the nodes comes from."""
        return self.backend_ip or self.ip


@dataclass(**_FROZEN)
class Route:
    dst: str
    via: str
    note: str = ""


@dataclass(**_FROZEN)
class Limit:
    rule: str
    max_nodes: int


@dataclass(**_FROZEN)
class Capacity:
    limits: list[Limit]
    max_nodes: int
    binding_rule: str
    pods_per_node: str
    subnet_free_ips: int
    blocks_total: int
    blocks_used: int


@dataclass(**_FROZEN)
class Endpoint:
    pod: str
    node: str
    ip: str
    port: int


@dataclass(**_FROZEN)
class DnatRule:
    """NAT gateway: EIP:eip_port -> node_ip:node_port."""

    eip: str
    eip_port: int
    node: str
    node_ip: str
    node_port: int


@dataclass(**_FROZEN)
class ServicePlan:
    """One port of a Service: kube-proxy, the ELB and the checks all work per Service port."""

    name: str
    type: str
    protocol: str
    cluster_ip: str
    port: int
    target_port: int
    node_port: int | None
    external_traffic_policy: str
    session_affinity: str
    endpoints: list[Endpoint] = field(default_factory=list)
    vip: str = ""  # LoadBalancer: the ELB's private VIP
    eip: str = ""  # LoadBalancer: the ELB's EIP; DNAT: the NAT gateway's EIP
    dnat: list[DnatRule] = field(default_factory=list)
    namespace: str = "default"
    port_name: str = ""  # set when the Service names its ports
    internal_traffic_policy: str = "Cluster"
    affinity_seconds: int = 10800
    source_ranges: list[str] = field(default_factory=list)  # loadBalancerSourceRanges
    health_check_node_port: int | None = None  # LoadBalancer + Local: kube-proxy's /healthz (the ELB probes it)
    app: str = ""  # the workload its selector (app=<name>) picks, kept for `scale` from zero

    @property
    def label(self) -> str:
        """How rows and the ELB name this Service port: `web`, or `web:http` for a named port."""
        return f"{self.name}:{self.port_name}" if self.port_name else self.name

    @property
    def port_id(self) -> str:
        """kube-proxy's ServicePortName, the seed of its chain hashes and its comments: `default/web:http`."""
        return f"{self.namespace}/{self.label}"

    def nodes_with_endpoints(self) -> list[str]:
        return sorted({e.node for e in self.endpoints})

    def backends(self, nodes: list[Node]) -> list[Node]:
        """Nodes an ELB or NAT gateway may send this Service's traffic to: all, or those with an endpoint (Local)."""
        if self.external_traffic_policy == "Cluster":
            return list(nodes)
        local = set(self.nodes_with_endpoints())
        return [n for n in nodes if n.name in local]

    @property
    def workload(self) -> str:
        """The Deployment behind the Service ("" without endpoints)."""
        return self.endpoints[0].pod.rsplit("-", 1)[0] if self.endpoints else ""


@dataclass(**_FROZEN)
class IngressPlan:
    host: str
    path: str
    service: str
    port: int
    node_port: int
    address: str  # the ELB EIP the Internet reaches it on
    vip: str  # the ELB's private VIP
    tls: bool = False  # HTTPS on INGRESS_TLS_PORT, with a certificate for `host` from the lab's CA
    plain_http: str = ""  # TLS hosts: "redirect" or "refuse" plain HTTP ("" for a plain host: served)


@dataclass(**_FROZEN)
class PolicyRule:
    """One ingress rule resolved: the pods it admits (or every source) on its ports ("TCP/8080", "UDP"; none: all)."""

    sources: list[str]  # pod names
    any_source: bool
    ports: list[str]


@dataclass(**_FROZEN)
class PolicyPlan:
    """A NetworkPolicy resolved to pods: those it selects (default-deny for ingress) and what its rules admit."""

    name: str
    namespace: str
    pods: list[str]
    rules: list[PolicyRule]


@dataclass(**_FROZEN)
class Edge:
    """The world around the cluster: its hosts and how the VPC treats them."""

    hosts: list[Host] = field(default_factory=list)
    node_eips: dict[str, str] = field(default_factory=dict)
    snat: bool = False  # the NAT gateway SNATs the node subnet (VPC default route -> NAT gateway)
    peer_cidr: str = ""
    peer_gateway: str = ""  # the VPC router's address on the peering link
    peer_routes_containers: bool = False
    intranet_subnet: str = ""
    intranet_gateway: str = ""
    intranet_allow: list[str] = field(default_factory=list)

    def host(self, role: str) -> Host | None:
        return next((h for h in self.hosts if h.role == role), None)


@dataclass(**_FROZEN)
class Plan:
    """A whole lab. `hosts` (router first, then the edge's) is derived, not stored."""

    name: str
    model: str
    datapath: str  # resolved: ovs-kernel | ovs-userspace | linux-vxlan | routed
    mtu: int  # underlay MTU
    pod_mtu: int
    vpc_cidr: str
    node_subnet: str
    container_cidr: str
    service_cidr: str
    block_size: int
    router: Host
    nodes: list[Node]
    pods: list[Pod]
    vpc_routes: list[Route]
    capacity: Capacity
    edge: Edge
    services: list[ServicePlan] = field(default_factory=list)
    ingresses: list[IngressPlan] = field(default_factory=list)
    kube_proxy_mode: str = "iptables"  # or "ipvs"
    iptables: str = "host"  # the iptables backend: host (the host's `iptables`), nft or legacy
    schema_version: int = PLAN_SCHEMA_VERSION
    network_policies: list[PolicyPlan] = field(default_factory=list)
    ovs_userspace_rcvbuf: int = 0  # bytes per AF_PACKET socket of ovs-vswitchd (ovs-userspace only; 0: OVS's default)

    def iptables_tool(self, tool: str = "") -> str:
        """The iptables command for `tool` ("", "save", "restore") in the lab's backend: iptables-legacy-save."""
        return "-".join(["iptables", *([self.iptables] if self.iptables != "host" else []), *([tool] if tool else [])])

    @property
    def hosts(self) -> list[Host]:
        return [self.router, *self.edge.hosts]

    @property
    def underlay_if(self) -> str:
        """Where a node's IP lives and VXLAN leaves: the OVS bridge br-phy on the userspace datapath, else eth0."""
        return "br-phy" if self.datapath == "ovs-userspace" else "eth0"

    @property
    def node_eips(self) -> dict[str, str]:
        """Node name -> EIP (kept once, in the edge)."""
        return self.edge.node_eips

    def pods_on(self, node: str) -> list[Pod]:
        return [p for p in self.pods if p.node == node]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def host(self, role: str) -> Host | None:
        return next((h for h in self.hosts if h.role == role), None)

    def service(self, name: str) -> ServicePlan | None:
        return next((s for s in self.services if s.name == name), None)

    def first_plain_pod(self) -> Pod | None:
        """The in-cluster client every probe and explain uses: a pod no Service selects, else the first pod."""
        return next((p for p in self.pods if not p.workload), self.pods[0] if self.pods else None)

    def netns_names(self) -> list[str]:
        return [h.netns for h in self.hosts] + [n.netns for n in self.nodes] + [p.netns for p in self.pods]


@dataclass(**_FROZEN)
class ServiceSummary:
    """A Service as `status --json` and `plan` show it: endpoints and DNAT rules as short strings."""

    name: str
    type: str
    protocol: str
    cluster_ip: str
    port: int
    target_port: int
    node_port: int | None
    vip: str
    eip: str
    external_traffic_policy: str
    session_affinity: str
    endpoints: list[str]  # "pod ip:port"
    dnat: list[str]  # "eip:port -> node:nodePort"
    namespace: str = "default"
    port_name: str = ""
    internal_traffic_policy: str = "Cluster"
    health_check_node_port: int | None = None

    @classmethod
    def of(cls, s: ServicePlan) -> ServiceSummary:
        return cls(
            s.name,
            s.type,
            s.protocol,
            s.cluster_ip,
            s.port,
            s.target_port,
            s.node_port,
            s.vip,
            s.eip,
            s.external_traffic_policy,
            s.session_affinity,
            [f"{e.pod} {e.ip}:{e.port}" for e in s.endpoints],
            [f"{d.eip}:{d.eip_port} -> {d.node}:{d.node_port}" for d in s.dnat],
            s.namespace,
            s.port_name,
            s.internal_traffic_policy,
            s.health_check_node_port,
        )


@dataclass(**_FROZEN)
class IngressSummary:
    host: str
    path: str
    service: str
    address: str
    tls: bool = False

    @classmethod
    def of(cls, i: IngressPlan) -> IngressSummary:
        return cls(i.host, i.path, i.service, i.address, i.tls)


@dataclass(**_FROZEN)
class HostPart:
    """What one host holds: its nodes (with their pods), and the shared parts on the shared host."""

    host: str
    address: str
    link_mtu: int
    connection: str
    shared: bool
    nodes: list[str]
    pods: int
    parts: list[str]  # the hosts around the cluster it holds: vpc-router, elb, nat-gateway, ...
    bridge_netns: str  # where its part of the node subnet is bridged and the host tunnel ends


@dataclass(**_FROZEN)
class Spread:
    """A lab over several hosts: the document `plan --inventory` shows and `up --inventory` ships to each host."""

    lab: str
    placement: str
    vni: int
    port: int
    underlay_mtu: int
    mtu_note: str  # what became of the underlay MTU, in one sentence
    hosts: list[HostPart] = field(default_factory=list)
    schema_version: int = SPREAD_SCHEMA_VERSION

    def host_of(self, node: str) -> str:
        return next(h.host for h in self.hosts if node in h.nodes)

    def part(self, host: str) -> HostPart:
        return next(h for h in self.hosts if h.host == host)

    @property
    def shared(self) -> HostPart:
        return next(h for h in self.hosts if h.shared)


@dataclass(**_FROZEN)
class PlanSlice:
    """What `up` builds on one host: its namespaces, and the host tunnel's end there."""

    lab: str
    host: str
    netns: list[str]
    tunnel_if: str
    bridge_netns: str
    vni: int
    local: str
    remotes: list[str]
    mtu: int  # of the tunnel device: the underlay's; on the wire each frame is 50 B more
    placement: dict[str, str] = field(default_factory=dict)  # every node of the lab -> the host that holds it
