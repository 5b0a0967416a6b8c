"""Plan arithmetic: block allocation, capacity limits, routes, MTU, datapaths, flows, determinism.

Expected values are written out or derived with `ipaddress`, never with lab.plan's own helpers.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, ip_network
from pathlib import Path

import pytest

from lab import documents
from lab.errors import SpecError
from lab.plan import Plan, make_plan, resolve_datapath
from lab.render import faults
from lab.render import ovs as render_ovs
from lab.spec import build_spec
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"


def _plan(model: str = "tunnel", ovs: bool = False, **overrides: object) -> Plan:
    return make_plan(build_spec({"name": "t", "model": model, **overrides}), ovs_kernel_available=ovs)


def _plan_error(model: str = "tunnel", **overrides: object) -> SpecError:
    spec = build_spec({"name": "t", "model": model, **overrides})
    with pytest.raises(SpecError) as info:
        make_plan(spec)
    return info.value


def _pod_ips(plan: Plan, node: str) -> list[str]:
    return [p.ip for p in plan.pods_on(node)]


def _expected_ips(blocks: list[str], container: str, count: int) -> list[str]:
    """First `count` addresses of `blocks`, in order, skipping the container network and broadcast."""
    net = ip_network(container)
    addrs = [a for b in blocks for a in ip_network(b) if a not in (net.network_address, net.broadcast_address)]
    return [str(a) for a in addrs[:count]]


# ------------------------------------------------------- tunnel allocation

# (spec overrides, expected pod blocks per node in node order)
TUNNEL_ALLOC = [
    pytest.param({"pods_per_node": [2, 2, 2]}, [["172.16.0.0/28"], ["172.16.0.16/28"], ["172.16.0.32/28"]], id="small"),
    pytest.param(
        {"pods_per_node": [0, 0, 0]},
        [["172.16.0.0/28"], ["172.16.0.16/28"], ["172.16.0.32/28"]],
        id="block-on-join-even-without-pods",
    ),
    pytest.param(
        {"pods_per_node": [15, 16, 0]},
        [["172.16.0.0/28"], ["172.16.0.16/28"], ["172.16.0.32/28"]],
        id="exactly-full-blocks",
    ),
    pytest.param(
        {"pods_per_node": [16, 0, 0]},
        [["172.16.0.0/28", "172.16.0.48/28"], ["172.16.0.16/28"], ["172.16.0.32/28"]],
        id="network-address-costs-node1-a-slot",
    ),
    pytest.param(
        {"pods_per_node": [20, 2, 2]},
        [["172.16.0.0/28", "172.16.0.48/28"], ["172.16.0.16/28"], ["172.16.0.32/28"]],
        id="node1-second-block-after-first-blocks",
    ),
    pytest.param(
        {"pods_per_node": [2, 20, 2]},
        [["172.16.0.0/28"], ["172.16.0.16/28", "172.16.0.48/28"], ["172.16.0.32/28"]],
        id="node2-second-block",
    ),
    pytest.param(
        {"pods_per_node": [20, 20, 2]},
        [["172.16.0.0/28", "172.16.0.48/28"], ["172.16.0.16/28", "172.16.0.64/28"], ["172.16.0.32/28"]],
        id="on-demand-in-node-order",
    ),
    pytest.param(
        {"pods_per_node": [40, 1, 17]},
        [
            ["172.16.0.0/28", "172.16.0.48/28", "172.16.0.64/28"],
            ["172.16.0.16/28"],
            ["172.16.0.32/28", "172.16.0.80/28"],
        ],
        id="three-blocks",
    ),
    pytest.param(
        {"nodes": 2, "pods_per_node": [5, 1], "tunnel_block_size": 4},
        [["172.16.0.0/30", "172.16.0.8/30"], ["172.16.0.4/30"]],
        id="block-size-4",
    ),
    pytest.param(
        {"nodes": 2, "pods_per_node": [70, 1], "tunnel_block_size": 64, "container_cidr": "10.0.0.0/24"},
        [["10.0.0.0/26", "10.0.0.128/26"], ["10.0.0.64/26"]],
        id="block-size-64",
    ),
    pytest.param(
        {"nodes": 4, "pods_per_node": [1, 1, 1, 15], "container_cidr": "172.16.0.0/26"},
        [["172.16.0.0/28"], ["172.16.0.16/28"], ["172.16.0.32/28"], ["172.16.0.48/28"]],
        id="last-block-holds-broadcast",
    ),
]


@pytest.mark.parametrize(("overrides", "blocks"), TUNNEL_ALLOC)
def test_tunnel_blocks_on_demand(overrides: dict, blocks: list[list[str]]) -> None:
    plan = _plan(**overrides)
    counts = overrides["pods_per_node"]
    assert [n.pod_cidrs for n in plan.nodes] == blocks
    for node, node_blocks, count in zip(plan.nodes, blocks, counts, strict=True):
        assert _pod_ips(plan, node.name) == _expected_ips(node_blocks, plan.container_cidr, count)
    assert plan.capacity.blocks_used == sum(len(b) for b in blocks)
    assert plan.block_size == overrides.get("tunnel_block_size", 16)


@pytest.mark.parametrize(
    ("model", "overrides"),
    [
        pytest.param(
            "tunnel",
            {"nodes": 4, "pods_per_node": [15, 16, 16, 15], "container_cidr": "172.16.0.0/26"},
            id="tunnel-container-full",
        ),
        pytest.param(
            "tunnel",
            {"nodes": 2, "pods_per_node": [31, 31], "container_cidr": "10.1.0.0/26"},
            id="tunnel-overflow-into-last-block",
        ),
        pytest.param(
            "vpc",
            {"nodes": 2, "pods_per_node": [61, 61], "container_cidr": "172.16.0.0/24", "block_mask": 25},
            id="vpc-blocks-full",
        ),
    ],
)
def test_container_network_and_broadcast_never_pod_ips(model: str, overrides: dict) -> None:
    plan = _plan(model, **overrides)
    net = ip_network(overrides["container_cidr"])
    ips = [IPv4Address(p.ip) for p in plan.pods]
    assert net.network_address not in ips
    assert net.broadcast_address not in ips
    assert len(set(ips)) == len(ips) == sum(overrides["pods_per_node"])
    assert all(ip in net for ip in ips)


def test_tunnel_fully_used_container_gives_every_other_address() -> None:
    plan = _plan(nodes=4, pods_per_node=[15, 16, 16, 15], container_cidr="172.16.0.0/26")
    assert {IPv4Address(p.ip) for p in plan.pods} == set(ip_network("172.16.0.0/26").hosts())


@pytest.mark.parametrize(
    ("overrides", "blocks_total"),
    [
        pytest.param({"nodes": 4, "pods_per_node": [1, 1, 1, 16], "container_cidr": "172.16.0.0/26"}, 4, id="last"),
        pytest.param({"nodes": 2, "pods_per_node": [40, 1], "container_cidr": "172.16.0.0/27"}, 2, id="first"),
        pytest.param(
            {"nodes": 1, "pods_per_node": 4, "container_cidr": "172.16.0.0/30", "tunnel_block_size": 4}, 1, id="tiny"
        ),
    ],
)
def test_tunnel_out_of_blocks(overrides: dict, blocks_total: int) -> None:
    err = _plan_error(**overrides)
    assert err.field == "pods_per_node"
    assert "block" in err.rule
    assert f"({blocks_total})" in err.rule
    assert overrides["container_cidr"] in err.rule
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("model", "overrides", "field"),
    [
        pytest.param("tunnel", {"container_cidr": "172.16.0.0/29", "nodes": 1}, "tunnel_block_size", id="tunnel"),
        pytest.param("vpc", {"container_cidr": "172.16.0.0/26", "nodes": 1}, "block_mask", id="vpc"),
    ],
)
def test_block_larger_than_container(model: str, overrides: dict, field: str) -> None:
    err = _plan_error(model, **overrides)
    assert err.field == field
    assert "fit" in err.rule
    assert overrides["container_cidr"] in err.rule


# ---------------------------------------------------------- VPC allocation


@pytest.mark.parametrize("mask", [24, 25, 26, 27, 28])
def test_vpc_pods_per_node_is_block_minus_three(mask: int) -> None:
    usable = 2 ** (32 - mask) - 3
    plan = _plan("vpc", nodes=2, pods_per_node=[usable, 1], block_mask=mask)
    blocks = list(ip_network("172.16.0.0/16").subnets(new_prefix=mask))
    for i, node in enumerate(plan.nodes):
        assert node.pod_cidrs == [str(blocks[i])]
    # network, the block's first host (gateway) and broadcast are left out
    block = blocks[0]
    assert _pod_ips(plan, "node-1") == [str(block[k]) for k in range(2, 2 + usable)]
    assert plan.block_size == 2 ** (32 - mask)
    assert plan.capacity.pods_per_node.startswith(f"{usable} ")

    err = _plan_error("vpc", nodes=2, pods_per_node=[1, usable + 1], block_mask=mask)
    assert err.field == "pods_per_node"
    assert "node-2" in err.rule
    assert f"/{mask}" in err.rule
    assert str(usable) in err.rule
    assert str(usable + 1) in err.rule


@pytest.mark.parametrize(
    ("overrides", "nodes"),
    [
        pytest.param({}, 3, id="default"),
        pytest.param({"nodes": 1}, 1, id="one"),
        pytest.param({"nodes": 10, "block_mask": 28, "container_cidr": "10.10.0.0/24"}, 10, id="ten-of-28"),
        pytest.param({"nodes": 200, "node_subnet": "192.168.0.0/20"}, 200, id="route-quota-full"),
    ],
)
def test_vpc_route_table_one_route_per_node(overrides: dict, nodes: int) -> None:
    plan = _plan("vpc", **overrides)
    mask = overrides.get("block_mask", 25)
    blocks = list(ip_network(overrides.get("container_cidr", "172.16.0.0/16")).subnets(new_prefix=mask))
    hosts = list(ip_network(overrides.get("node_subnet", "192.168.0.0/24")).hosts())
    assert len(plan.vpc_routes) == nodes
    assert [(r.dst, r.via) for r in plan.vpc_routes] == [(str(blocks[i]), str(hosts[i + 1])) for i in range(nodes)]
    assert [n.ip for n in plan.nodes] == [str(hosts[i + 1]) for i in range(nodes)]
    for node in plan.nodes:
        block = ip_network(node.pod_cidrs[0])
        assert all(IPv4Address(p.ip) in block for p in plan.pods_on(node.name))


@pytest.mark.parametrize(
    "overrides",
    [pytest.param({}, id="default"), pytest.param({"pods_per_node": [20, 1, 1]}, id="multi-block")],
)
def test_tunnel_has_no_vpc_routes(overrides: dict) -> None:
    assert _plan("tunnel", **overrides).vpc_routes == []


# ----------------------------------------------------------------- capacity


def _free(subnet: str, ecs: bool) -> int:
    """Free node IPs: hosts of the subnet minus the VPC gateway (and the ECS)."""
    return ip_network(subnet).num_addresses - 2 - 1 - int(ecs)


# (model, overrides, expected max nodes, word of the binding rule)
CAPACITY = [
    pytest.param("vpc", {}, 200, "route_quota", id="vpc-route-quota"),
    pytest.param(
        "vpc",
        {"route_quota": 1000, "node_subnet": "192.168.0.0/20", "block_mask": 24},
        ip_network("172.16.0.0/16").num_addresses // 256,
        "container_cidr",
        id="vpc-container-blocks",
    ),
    pytest.param(
        "vpc",
        {"node_subnet": "192.168.0.0/26", "ecs": True},
        _free("192.168.0.0/26", ecs=True),
        "node_subnet",
        id="vpc-subnet-with-ecs",
    ),
    pytest.param(
        "vpc",
        {"route_quota": 5, "container_cidr": "172.16.0.0/24", "block_mask": 26},
        4,
        "container_cidr",
        id="vpc-container-below-quota",
    ),
    pytest.param("vpc", {"route_quota": 3}, 3, "route_quota", id="vpc-small-quota"),
    pytest.param("tunnel", {}, _free("192.168.0.0/24", ecs=False), "node_subnet", id="tunnel-subnet"),
    pytest.param(
        "tunnel",
        {"node_subnet": "192.168.0.0/20", "container_cidr": "172.16.0.0/22"},
        ip_network("172.16.0.0/22").num_addresses // 16,
        "container_cidr",
        id="tunnel-container-blocks",
    ),
    pytest.param(
        "tunnel",
        {"node_subnet": "192.168.0.0/20", "container_cidr": "172.16.0.0/12", "datapath": "linux-vxlan"},
        2000,
        "tunnel",
        id="tunnel-2000-scale-limit",
    ),
    pytest.param(
        "tunnel",
        {"node_subnet": "192.168.0.0/30", "container_cidr": "172.16.0.0/24"},
        1,
        "node_subnet",
        id="tunnel-subnet-30",
    ),
]


@pytest.mark.parametrize(("model", "overrides", "max_nodes", "word"), CAPACITY)
def test_max_nodes_and_binding_rule(model: str, overrides: dict, max_nodes: int, word: str) -> None:
    plan = _plan(model, nodes=1, pods_per_node=0, **overrides)
    cap = plan.capacity
    assert cap.max_nodes == max_nodes
    assert word in cap.binding_rule
    assert cap.max_nodes == min(lim.max_nodes for lim in cap.limits)
    binding = [lim for lim in cap.limits if lim.rule == cap.binding_rule]
    assert len(binding) == 1
    assert binding[0].max_nodes == max_nodes
    assert len(cap.limits) == 3


@pytest.mark.parametrize(
    ("model", "overrides", "expected"),
    [
        pytest.param(
            "vpc",
            {"route_quota": 123, "block_mask": 26},
            {"node_subnet": _free("192.168.0.0/24", False), "container_cidr": 65536 // 64, "route_quota": 123},
            id="vpc",
        ),
        pytest.param(
            "tunnel",
            {"ecs": True, "tunnel_block_size": 32},
            {"node_subnet": _free("192.168.0.0/24", True), "container_cidr": 65536 // 32, "tunnel": 2000},
            id="tunnel",
        ),
    ],
)
def test_capacity_lists_each_limit(model: str, overrides: dict, expected: dict[str, int]) -> None:
    cap = _plan(model, **overrides).capacity
    assert len(cap.limits) == len(expected)
    for word, value in expected.items():
        (lim,) = [lim for lim in cap.limits if word in lim.rule]
        assert lim.max_nodes == value, word
    assert cap.subnet_free_ips == expected["node_subnet"]
    assert cap.blocks_total == expected["container_cidr"]


@pytest.mark.parametrize(("model", "overrides", "max_nodes", "word"), [c for c in CAPACITY if c.values[2] < 2000])
def test_nodes_over_the_limit(model: str, overrides: dict, max_nodes: int, word: str) -> None:
    err = _plan_error(model, nodes=max_nodes + 1, pods_per_node=0, **overrides)
    assert err.field == "nodes"
    assert word in err.rule
    assert str(max_nodes) in err.rule
    assert str(max_nodes + 1) in err.rule
    assert err.exit_code == 2


@pytest.mark.parametrize(("model", "overrides", "max_nodes", "word"), CAPACITY)
def test_nodes_at_the_limit_fit(model: str, overrides: dict, max_nodes: int, word: str) -> None:
    overrides = {"datapath": "linux-vxlan", **overrides} if model == "tunnel" else overrides
    plan = _plan(model, nodes=max_nodes, pods_per_node=0, **overrides)
    assert len(plan.nodes) == max_nodes
    ips = [n.ip for n in plan.nodes] + [h.ip for h in plan.hosts]
    assert len(set(ips)) == len(ips)
    subnet = ip_network(plan.node_subnet)
    assert all(IPv4Address(ip) in subnet for ip in ips)


@pytest.mark.parametrize(
    ("subnet", "ecs"),
    [pytest.param("192.168.0.0/31", False, id="31"), pytest.param("192.168.0.0/30", True, id="30-with-ecs")],
)
def test_subnet_without_room_for_a_node(subnet: str, ecs: bool) -> None:
    err = _plan_error(node_subnet=subnet, nodes=1, ecs=ecs)
    assert err.field == "nodes"
    assert "node_subnet" in err.rule
    assert "limit of 0" in err.rule


# ---------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("model", "subnet", "nodes"),
    [
        pytest.param("tunnel", "192.168.0.0/24", 3, id="tunnel"),
        pytest.param("vpc", "192.168.4.0/22", 5, id="vpc"),
        pytest.param("vpc", "192.168.0.0/29", 4, id="subnet-full"),
    ],
)
def test_router_nodes_and_ecs_addresses(model: str, subnet: str, nodes: int) -> None:
    plan = _plan(model, node_subnet=subnet, nodes=nodes, ecs=True)
    hosts = [str(a) for a in ip_network(subnet).hosts()]
    assert plan.router.ip == hosts[0]
    assert plan.hosts[0] == plan.router
    assert [n.ip for n in plan.nodes] == hosts[1 : 1 + nodes]
    (ecs,) = [h for h in plan.hosts if h.role == "ecs"]
    assert ecs.ip == hosts[-1]


@pytest.mark.parametrize(
    ("model", "mtu", "datapath", "pod_mtu"),
    [
        pytest.param("tunnel", 1500, "auto", 1450, id="tunnel-1500"),
        pytest.param("tunnel", 9000, "auto", 8950, id="tunnel-9000"),
        pytest.param("tunnel", 1280, "auto", 1230, id="tunnel-1280"),
        pytest.param("tunnel", 1500, "linux-vxlan", 1450, id="linux-vxlan-1500"),
        pytest.param("vpc", 1500, "auto", 1500, id="vpc-1500"),
        pytest.param("vpc", 9000, "auto", 9000, id="vpc-9000"),
    ],
)
def test_pod_mtu(model: str, mtu: int, datapath: str, pod_mtu: int) -> None:
    plan = _plan(model, mtu=mtu, datapath=datapath)
    assert (plan.mtu, plan.pod_mtu) == (mtu, pod_mtu)


# ---------------------------------------------------------------- datapaths


@pytest.mark.parametrize(
    ("model", "datapath", "ovs", "expected"),
    [
        pytest.param("tunnel", "auto", True, "ovs-kernel", id="auto-with-module"),
        pytest.param("tunnel", "auto", False, "ovs-userspace", id="auto-without-module"),
        pytest.param("tunnel", "ovs-userspace", True, "ovs-userspace", id="explicit-userspace"),
        pytest.param("tunnel", "ovs-kernel", False, "ovs-kernel", id="explicit-kernel"),
        pytest.param("tunnel", "linux-vxlan", True, "linux-vxlan", id="linux-vxlan"),
        pytest.param("vpc", "auto", True, "routed", id="vpc-with-module"),
        pytest.param("vpc", "auto", False, "routed", id="vpc-without-module"),
        pytest.param("tunnel", "auto", None, "auto", id="auto-unprobed"),
        pytest.param("tunnel", "linux-vxlan", None, "linux-vxlan", id="explicit-unprobed"),
        pytest.param("vpc", "auto", None, "routed", id="vpc-unprobed"),
    ],
)
def test_datapath_resolution(model: str, datapath: str, ovs: bool | None, expected: str) -> None:
    spec = build_spec({"name": "t", "model": model, "datapath": datapath})
    assert resolve_datapath(spec, ovs) == expected
    assert make_plan(spec, ovs_kernel_available=ovs).datapath == expected


@pytest.mark.parametrize(
    ("model", "datapath", "underlay"),
    [
        pytest.param("tunnel", "ovs-userspace", "br-phy", id="userspace"),
        pytest.param("tunnel", "ovs-kernel", "eth0", id="kernel"),
        pytest.param("tunnel", "linux-vxlan", "eth0", id="linux-vxlan"),
        pytest.param("vpc", "auto", "eth0", id="vpc"),
    ],
)
def test_underlay_interface(model: str, datapath: str, underlay: str) -> None:
    assert _plan(model, datapath=datapath).underlay_if == underlay


@pytest.mark.parametrize(
    ("model", "datapath", "ovs", "overrides", "rcvbuf"),
    [
        pytest.param("tunnel", "auto", False, {}, 8 << 20, id="auto-resolved-to-userspace"),
        pytest.param("tunnel", "ovs-userspace", True, {"ovs_userspace_rcvbuf": 1 << 20}, 1 << 20, id="set"),
        pytest.param("tunnel", "ovs-userspace", True, {"ovs_userspace_rcvbuf": 0}, 0, id="left-to-ovs"),
        pytest.param("tunnel", "auto", True, {"ovs_userspace_rcvbuf": 1 << 20}, 0, id="auto-resolved-to-kernel"),
        pytest.param("tunnel", "linux-vxlan", True, {}, 0, id="linux-vxlan"),
        pytest.param("vpc", "auto", False, {}, 0, id="vpc"),
    ],
)
def test_afpacket_receive_buffer_only_for_the_userspace_datapath(
    model: str, datapath: str, ovs: bool, overrides: dict, rcvbuf: int
) -> None:
    assert _plan(model, ovs, datapath=datapath, **overrides).ovs_userspace_rcvbuf == rcvbuf


@pytest.mark.parametrize("value", [-1, (1 << 30) + 1, "8M", True])
def test_afpacket_receive_buffer_is_a_byte_count(value: object) -> None:
    with pytest.raises(SpecError):
        build_spec({"name": "t", "model": "tunnel", "ovs_userspace_rcvbuf": value})


# -------------------------------------------------------------------- flows

NW_DST = re.compile(r"\bnw_dst=([0-9./]+),")


@pytest.mark.parametrize(
    ("datapath", "ovs", "overrides"),
    [
        pytest.param("auto", True, {}, id="kernel"),
        pytest.param("auto", False, {"pods_per_node": [20, 0, 3]}, id="userspace-multi-block"),
        pytest.param(
            "ovs-userspace", True, {"nodes": 5, "pods_per_node": 4, "tunnel_block_size": 4}, id="small-blocks"
        ),
        pytest.param("ovs-kernel", False, {"nodes": 1, "pods_per_node": 2}, id="single-node"),
    ],
)
def test_ovs_flows_name_local_pods_and_remote_blocks(datapath: str, ovs: bool, overrides: dict) -> None:
    plan = _plan("tunnel", ovs=ovs, datapath=datapath, **overrides)
    for node in plan.nodes:
        flows = render_ovs.flows(plan, node)
        local = {p.ip for p in plan.pods_on(node.name)}
        remote = {b for m in plan.nodes if m is not node for b in m.pod_cidrs}
        peer_ips = {m.ip for m in plan.nodes if m is not node}
        assert {m for f in flows for m in NW_DST.findall(f)} == local | remote | peer_ips
        for pod in plan.pods_on(node.name):
            (flow,) = [f for f in flows if f"nw_dst={pod.ip}," in f]
            assert f"output:{pod.ofport}" in flow
            assert pod.mac in flow
        # all blocks of one peer leave by the same port, different peers by different ports
        ports = {}
        for peer in plan.nodes:
            if peer is node:
                continue
            dsts = [*peer.pod_cidrs, peer.ip]  # its blocks, and the node itself (replies come back the same way)
            outs = {re.search(r"output:(\d+)", f).group(1) for f in flows for b in dsts if f"={b}," in f}
            assert len(outs) == 1
            ports[peer.name] = outs.pop()
        assert len(set(ports.values())) == len(ports)
        assert "table=0,priority=0,actions=drop" in flows
        # replies to connections the node started (gw0, committed in conntrack) go back to gw0
        assert any("in_port=2" in f and "ct(commit" in f for f in flows)
        assert any("ct_state=+trk+rpl" in f and "output:2" in f for f in flows)


# ------------------------------------------------- determinism, round trip

SPECS = [
    pytest.param("tunnel", True, {"ecs": True, "pods_per_node": [20, 2, 5]}, id="tunnel-kernel"),
    pytest.param("tunnel", False, {"datapath": "linux-vxlan", "nodes": 4}, id="tunnel-linux-vxlan"),
    pytest.param("vpc", False, {"ecs": True, "block_mask": 27, "nodes": 6, "pods_per_node": 7}, id="vpc"),
]


@pytest.mark.parametrize(("model", "ovs", "overrides"), SPECS)
def test_same_spec_same_plan(model: str, ovs: bool, overrides: dict) -> None:
    data = {"name": "d", "model": model, **overrides}
    first = make_plan(build_spec(data), ovs_kernel_available=ovs)
    second = make_plan(build_spec(dict(data)), ovs_kernel_available=ovs)
    assert first == second
    assert json.dumps(documents.dump(first), sort_keys=True) == json.dumps(documents.dump(second), sort_keys=True)


@pytest.mark.parametrize(("model", "ovs", "overrides"), SPECS)
def test_plan_round_trips_through_dict_and_json(model: str, ovs: bool, overrides: dict) -> None:
    plan = _plan(model, ovs=ovs, **overrides)
    assert documents.load(Plan, documents.dump(plan)) == plan
    again = documents.load(Plan, json.loads(json.dumps(documents.dump(plan))))
    assert again == plan
    assert again.capacity.limits == plan.capacity.limits
    assert again.router == plan.router


def test_different_specs_give_different_plans() -> None:
    """Guards the round-trip test: plan equality does see a changed field."""
    assert _plan(pods_per_node=2) != _plan(pods_per_node=3)
    assert _plan(mtu=1500) != _plan(mtu=1400)


# ------------------------------------------------------------------ scale


@pytest.mark.parametrize("model", ["vpc", "tunnel"])
def test_scale_50x20_names_and_ips_unique(model: str) -> None:
    spec = load(TOPOLOGIES / "scale.py", {"nodes": "50", "pods": "20", "model": model})
    plan = make_plan(spec)
    assert len(plan.nodes) == 50
    assert len(plan.pods) == 1000
    assert {h.role for h in plan.hosts} == {"vpc-router", "ecs"}

    names = plan.netns_names()
    assert len(names) == len(plan.hosts) + 50 + 1000
    assert len(set(names)) == len(names)
    assert all(n.startswith("scale-") for n in names)

    ips = [p.ip for p in plan.pods] + [n.ip for n in plan.nodes] + [h.ip for h in plan.hosts]
    assert len(set(ips)) == len(ips)
    container, subnet = ip_network("172.16.0.0/14"), ip_network("192.168.0.0/20")
    assert all(IPv4Address(p.ip) in container for p in plan.pods)
    assert all(IPv4Address(ip) in subnet for ip in [n.ip for n in plan.nodes] + [h.ip for h in plan.hosts])
    # each pod lies in one of its own node's blocks
    for node in plan.nodes:
        blocks = [ip_network(b) for b in node.pod_cidrs]
        assert all(any(IPv4Address(p.ip) in b for b in blocks) for p in plan.pods_on(node.name))
        assert len({p.mac for p in plan.pods_on(node.name)}) == 20
        assert len({p.ofport for p in plan.pods_on(node.name)}) == 20
        assert len({p.host_if for p in plan.pods_on(node.name)}) == 20
    # no block is owned twice
    owned = [b for n in plan.nodes for b in n.pod_cidrs]
    assert len(set(owned)) == len(owned)
    assert plan.capacity.blocks_used == len(owned)


def test_scale_tunnel_50x20_second_blocks_follow_first_blocks() -> None:
    plan = make_plan(load(TOPOLOGIES / "scale.py", {"nodes": "50", "pods": "20", "model": "tunnel"}))
    blocks = list(ip_network("172.16.0.0/14").subnets(new_prefix=28))
    # every node needs 2 blocks of 16 for 20 pods: first blocks 0..49 in node order, then 50..99 on demand
    assert [n.pod_cidrs for n in plan.nodes] == [[str(blocks[i]), str(blocks[50 + i])] for i in range(50)]


@pytest.mark.parametrize(
    ("backend", "tools"),
    [
        ("host", ("iptables", "iptables-save", "iptables-restore")),
        ("nft", ("iptables-nft", "iptables-nft-save", "iptables-nft-restore")),
        ("legacy", ("iptables-legacy", "iptables-legacy-save", "iptables-legacy-restore")),
    ],
)
def test_iptables_backend_names_every_tool_the_lab_runs(
    backend: str, tools: tuple[str, str, str], tmp_path: Path
) -> None:
    """Every rule the lab writes or reads goes through one backend: mixing them would hide half the rules."""
    spec = load(TOPOLOGIES / "vpc.yaml").model_copy(update={"iptables": backend})
    plan = make_plan(spec, ovs_kernel_available=False)
    assert (plan.iptables_tool(), plan.iptables_tool("save"), plan.iptables_tool("restore")) == tools
    built = [faults.fault(plan, name, tmp_path) for name in faults.applicable(plan)]
    argv0 = {cmd[1][0] for f in built for cmd in (*f.inject, *f.undo) if "iptables" in cmd[1][0]}
    assert argv0 and argv0 <= {tools[0], tools[2]}
