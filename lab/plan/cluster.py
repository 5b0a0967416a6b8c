"""The cluster planned: node and pod addresses, pod blocks, capacity, VPC routes.

Pure: no root, no kernel, same spec in -> same plan out. All CCE capacity rules
are checked here (DESIGN.md section 1), so bad input fails before `apply`
touches anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network

from lab.errors import SpecError
from lab.plan.edge import plan_edge, subnet_extras
from lab.plan.model import Capacity, Host, Limit, Node, Plan, Pod, Route
from lab.plan.netpol import plan_network_policies
from lab.plan.services import plan_ingresses, plan_services
from lab.spec import VXLAN_OVERHEAD, WORKLOAD_PORT, Spec

TUNNEL_NODE_LIMIT = 2000  # CCE: the container tunnel network scales to 2000 nodes
MAX_PODS = 100_000  # the lab's own limit: every pod is a namespace on one machine
POD_GATEWAY = "169.254.1.1"  # every pod's next hop, answered by its node
ROUTER_MAC = "0a:58:a9:fe:01:01"  # the node's virtual router MAC in OVS (169.254.1.1)
VXLAN_PORT = 4789
POD_TABLE = 50  # linux-vxlan: the policy route table for traffic from pods (replies through the tunnel)
VXLAN_VNI = 1
GW_OFPORT = 2
CT_ZONE = 1  # gw0, the node kernel's port on br-int
POD_OFPORT_BASE = 10
TUNNEL_OFPORT_BASE = 10000


def _mac(prefix: str, ip: IPv4Address) -> str:
    return prefix + ":" + ":".join(f"{b:02x}" for b in ip.packed)


def _placement(spec: Spec) -> list[list[tuple[str, str, int]]]:
    """(pod name, workload, port) per node: plain pods first, then replicas spread round-robin."""
    per_node: list[list[tuple[str, str, int]]] = [
        [(f"pod-{i + 1}-{k}", "", WORKLOAD_PORT) for k in range(1, count + 1)]
        for i, count in enumerate(spec.pod_counts())
    ]
    turn = 0
    for w in spec.workloads:
        for r in range(1, w.replicas + 1):
            per_node[turn % spec.nodes].append((f"{w.name}-{r}", w.name, w.port))
            turn += 1
    return per_node


AUTO_DATAPATH = "auto: ovs-kernel where the openvswitch module loads, else ovs-userspace (decided at up)"


def resolve_datapath(spec: Spec, ovs_kernel_available: bool | None) -> str:
    """The datapath that will run; `auto` stays `auto` until `up` knows whether the OVS module loads (None)."""
    if spec.model == "vpc":
        return "routed"
    if spec.datapath == "auto" and ovs_kernel_available is not None:
        return "ovs-kernel" if ovs_kernel_available else "ovs-userspace"
    return spec.datapath


def _capacity(
    spec: Spec, subnet_free: int, block_size: int, blocks_total: int, other_routes: int
) -> tuple[list[Limit], int, str]:
    limits = [Limit(f"node_subnet {spec.node_subnet}: free IPs", subnet_free)]
    if spec.model == "vpc":
        limits += [
            Limit(f"container_cidr {spec.container_cidr} / block /{spec.block_mask} ({block_size} IPs)", blocks_total),
            Limit(
                "route_quota: one VPC route per node"
                + (f" ({other_routes} taken by NAT gateway/peering)" if other_routes else ""),
                max(spec.route_quota - other_routes, 0),
            ),
        ]
    else:
        limits += [
            Limit(f"container_cidr {spec.container_cidr} / {block_size}-IP blocks", blocks_total),
            Limit("CCE tunnel network scale limit", TUNNEL_NODE_LIMIT),
        ]
    binding = min(limits, key=lambda lim: lim.max_nodes)
    return limits, binding.max_nodes, binding.rule


def pods_per_node(spec: Spec) -> list[int]:
    """How many pods each node gets (plain pods, then replicas round-robin), counted without listing them."""
    replicas = sum(w.replicas for w in spec.workloads)
    share, extra = divmod(replicas, spec.nodes)
    return [plain + share + (i < extra) for i, plain in enumerate(spec.pod_counts())]


def _check_pod_counts(spec: Spec, counts: list[int], block_size: int) -> None:
    """Capacity rules on counts alone, so no pod is enumerated before it is known to fit."""
    total, most = sum(counts), max(counts, default=0)
    busiest = counts.index(most) + 1 if counts else 0
    if total > MAX_PODS:
        raise SpecError("pods_per_node", f"{total} pods in all: the lab builds at most {MAX_PODS} (a namespace each)")
    if spec.model == "vpc" and most > block_size - 3:
        raise SpecError(
            "pods_per_node",
            f"node-{busiest} has {most} pods but a /{spec.block_mask} block holds {block_size - 3} "
            f"(block size - 3); raise block_mask's block size or lower the pods",
        )
    if spec.model == "tunnel" and most >= TUNNEL_OFPORT_BASE - POD_OFPORT_BASE:
        raise SpecError("pods_per_node", f"{most} pods on one node: the lab numbers OVS pod ports below 10000")


def _allocate_tunnel(
    spec: Spec, counts: list[int], blocks: Iterator[IPv4Network], blocks_total: int
) -> list[tuple[list[IPv4Network], list[IPv4Address]]]:
    """Blocks on demand: one per node when it joins, the next free one when it fills up."""
    first, last = spec.container_cidr.network_address, spec.container_cidr.broadcast_address
    free = blocks
    owned = [[next(free)] for _ in counts]
    result = []
    for i, count in enumerate(counts):
        ips: list[IPv4Address] = []
        addrs = (a for a in owned[i][0] if a not in (first, last))
        while len(ips) < count:
            addr = next(addrs, None)
            if addr is None:
                block = next(free, None)
                if block is None:
                    raise SpecError(
                        "pods_per_node",
                        f"the pods need more {spec.tunnel_block_size}-IP blocks than container_cidr "
                        f"{spec.container_cidr} holds ({blocks_total})",
                    )
                owned[i].append(block)
                addrs = (a for a in block if a not in (first, last))
                continue
            ips.append(addr)
        result.append((owned[i], ips))
    return result


def _allocate_vpc(
    spec: Spec, counts: list[int], blocks: Iterator[IPv4Network], blocks_total: int
) -> list[tuple[list[IPv4Network], list[IPv4Address]]]:
    """One fixed block per node, in order; network, gateway and broadcast are not pod IPs (counts are checked)."""
    return [([block], list(block)[2 : 2 + count]) for block, count in zip(blocks, counts, strict=False)]


def make_plan(spec: Spec, ovs_kernel_available: bool | None = None, ipvs_missing: str | None = None) -> Plan:
    """Compute the whole lab from a spec; raises SpecError when it does not fit.

    `ovs_kernel_available` resolves `datapath: auto` (the caller probed the host);
    None leaves it `auto`, which a plan can show but `up` cannot build.
    `ipvs_missing` is why the host cannot run IPVS ("" when it can, None when the
    caller did not look): a kube_proxy_mode the host cannot run is refused.
    """
    if spec.kube_proxy_mode == "ipvs" and ipvs_missing:
        raise SpecError(
            "kube_proxy_mode",
            f"ipvs needs the kernel's IP Virtual Server (module ip_vs), which this host lacks ({ipvs_missing}); "
            "use iptables here, or the reference VM (make vm-test)",
        )
    datapath = resolve_datapath(spec, ovs_kernel_available)
    counts = pods_per_node(spec)
    subnet = spec.node_subnet
    usable = subnet.num_addresses - 2 if subnet.prefixlen < 31 else 0  # without network and broadcast
    extra_hosts = subnet_extras(spec)
    subnet_free = max(usable - 1 - len(extra_hosts), 0)  # the gateway (VPC router) takes the first

    if spec.model == "vpc":
        block_size = 2 ** (32 - spec.block_mask)
        if spec.container_cidr.prefixlen > spec.block_mask:
            raise SpecError(
                "block_mask", f"/{spec.block_mask} blocks do not fit in container_cidr {spec.container_cidr}"
            )
        prefix = spec.block_mask
    else:
        block_size = spec.tunnel_block_size
        prefix = 32 - block_size.bit_length() + 1
        if spec.container_cidr.prefixlen > prefix:
            raise SpecError(
                "tunnel_block_size", f"{block_size}-IP blocks do not fit in container_cidr {spec.container_cidr}"
            )
    blocks_total = 2 ** (prefix - spec.container_cidr.prefixlen)
    blocks = spec.container_cidr.subnets(new_prefix=prefix)  # a generator: only the blocks used are made

    other_routes = int(bool(spec.nat_gateway and spec.nat_gateway.snat)) + int(spec.peer_vpc is not None)
    limits, max_nodes, binding = _capacity(spec, subnet_free, block_size, blocks_total, other_routes)
    if spec.nodes > max_nodes:
        raise SpecError("nodes", f"{spec.nodes} nodes exceed the limit of {max_nodes} set by {binding}")
    _check_pod_counts(spec, counts, block_size)
    placement = _placement(spec)
    alloc = (_allocate_vpc if spec.model == "vpc" else _allocate_tunnel)(spec, counts, blocks, blocks_total)
    pod_mtu = spec.mtu - VXLAN_OVERHEAD if spec.model == "tunnel" else spec.mtu

    router = Host("vpc-router", f"{spec.name}-vpc", str(subnet[1]), "vpc-router")
    nodes: list[Node] = []
    pods: list[Pod] = []
    for i, (node_blocks, ips) in enumerate(alloc):
        node_ip = subnet[2 + i]
        node = Node(
            name=f"node-{i + 1}",
            netns=f"{spec.name}-node-{i + 1}",
            ip=str(node_ip),
            router_if=f"node-{i + 1}",
            pod_cidrs=[str(b) for b in node_blocks],
            gw_mac=_mac("0e:58", node_ip),
            vtep_mac=_mac("0e:59", node_ip),
        )
        nodes.append(node)
        for k, ((pod_name, workload, port), ip) in enumerate(zip(placement[i], ips, strict=True), start=1):
            pods.append(
                Pod(
                    name=pod_name,
                    netns=f"{spec.name}-{pod_name}",
                    node=node.name,
                    ip=str(ip),
                    mac=_mac("0a:58", ip),
                    host_if=f"veth-p{k}",
                    ofport=POD_OFPORT_BASE + k,
                    workload=workload,
                    port=port,
                )
            )

    edge = plan_edge(spec, [subnet[-2 - j] for j in range(len(extra_hosts))], extra_hosts)
    services = plan_services(spec, nodes, pods, edge)

    vpc_routes: list[Route] = []
    if spec.model == "vpc":
        vpc_routes = [Route(b, n.ip, f"{n.name} pod block") for n in nodes for b in n.pod_cidrs]
    natgw = edge.host("nat-gateway")
    if natgw and edge.snat:
        vpc_routes.append(Route("0.0.0.0/0", natgw.ip, "NAT gateway (SNAT rule)"))

    if spec.model == "vpc":
        per_node = f"{block_size - 3} (/{spec.block_mask} block minus network, gateway and broadcast)"
    else:
        per_node = f"on demand, {block_size} IPs per block, while container_cidr has free blocks"
    capacity = Capacity(
        limits=limits,
        max_nodes=max_nodes,
        binding_rule=binding,
        pods_per_node=per_node,
        subnet_free_ips=subnet_free,
        blocks_total=blocks_total,
        blocks_used=sum(len(b) for b, _ in alloc),
    )
    return Plan(
        name=spec.name,
        model=spec.model,
        datapath=datapath,
        mtu=spec.mtu,
        pod_mtu=pod_mtu,
        vpc_cidr=str(spec.vpc_cidr),
        node_subnet=str(spec.node_subnet),
        container_cidr=str(spec.container_cidr),
        service_cidr=str(spec.service_cidr),
        block_size=block_size,
        router=router,
        nodes=nodes,
        pods=pods,
        vpc_routes=vpc_routes,
        capacity=capacity,
        services=services,
        ingresses=plan_ingresses(spec, edge, services),
        edge=edge,
        kube_proxy_mode=spec.kube_proxy_mode,
        iptables=spec.iptables,
        network_policies=plan_network_policies(spec, pods),
        ovs_userspace_rcvbuf=spec.ovs_userspace_rcvbuf if datapath == "ovs-userspace" else 0,
    )
