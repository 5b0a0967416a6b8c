"""Planned Services, Ingresses and edge hosts: ClusterIPs, NodePorts, endpoints, ELB, NAT gateway, EIPs.

Expectations are derived with `ipaddress` and arithmetic, never with lab's own helpers.
"""

from __future__ import annotations

import json
import signal
from ipaddress import IPv4Address, ip_address, ip_network
from pathlib import Path

import pytest

from lab import documents
from lab.errors import SpecError
from lab.plan import DnatRule, Edge, Endpoint, Host, IngressPlan, Plan, ServicePlan, ServiceSummary, make_plan
from lab.spec import build_spec
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
SUBNET = ip_network("192.168.0.0/24")
INTERNET = ip_network("198.51.100.0/24")
EIPS = ip_network("203.0.113.0/24")
ELB_EIP, NAT_EIP = "203.0.113.20", "203.0.113.10"


def _svc(name: str, type_: str = "ClusterIP", app: str = "web", port: int = 80, **extra: object) -> dict:
    return {"name": name, "type": type_, "selector": {"app": app}, "port": port, **extra}


def _plan(model: str = "tunnel", **overrides: object) -> Plan:
    data = {"name": "t", "model": model, "internet": True, "workloads": [{"name": "web", "replicas": 3}]}
    return make_plan(build_spec({**data, **overrides}))


def _plan_error(model: str = "tunnel", **overrides: object) -> SpecError:
    with pytest.raises(SpecError) as info:
        _plan(model, **overrides)
    return info.value


def _node_ip(i: int, subnet: str = "192.168.0.0/24") -> str:
    """node-(i+1): the address after the gateway, then upwards."""
    return str(ip_network(subnet).network_address + 2 + i)


def _top(j: int, subnet: str = "192.168.0.0/24") -> str:
    """The j-th address from the top of the subnet (0: broadcast - 1)."""
    return str(ip_network(subnet).broadcast_address - 1 - j)


def _by_name(plan: Plan) -> dict[str, ServicePlan]:
    return {s.name: s for s in plan.services}


# ---------------------------------------------------------------- ClusterIPs


def test_cluster_ips_from_index_10_skipping_explicit_ones() -> None:
    plan = _plan(
        services=[
            _svc("a"),
            _svc("b", clusterIP="10.247.0.11"),
            _svc("c"),
            _svc("d", clusterIP="10.247.0.3"),
            _svc("e"),
            _svc("f", clusterIP="10.247.0.14"),
            _svc("g"),
        ]
    )
    net = ip_network("10.247.0.0/16")
    explicit = {"b": "10.247.0.11", "d": "10.247.0.3", "f": "10.247.0.14"}
    candidates = [str(net.network_address + k) for k in range(10, 100)]
    free = (ip for ip in candidates if ip not in explicit.values())
    expected = {name: explicit.get(name) or next(free) for name in "abcdefg"}
    assert [expected[n] for n in "aceg"] == ["10.247.0.10", "10.247.0.12", "10.247.0.13", "10.247.0.15"]
    assert {s.name: s.cluster_ip for s in plan.services} == expected


@pytest.mark.parametrize("cidr", ["10.96.0.0/12", "10.247.128.0/17", "100.100.4.0/22"])
def test_first_cluster_ip_is_the_tenth_address_of_service_cidr(cidr: str) -> None:
    plan = _plan(service_cidr=cidr, services=[_svc("a"), _svc("b", "NodePort")])
    base = ip_network(cidr).network_address
    assert [s.cluster_ip for s in plan.services] == [str(base + 10), str(base + 11)]


def test_cluster_ips_run_out_in_a_small_service_cidr() -> None:
    # /28: 16 addresses, index 10..14 usable (15 is the broadcast address): five Services fit
    cidr = "10.247.0.0/28"
    usable = list(range(10, ip_network(cidr).num_addresses - 1))
    assert len(usable) == 5
    plan = _plan(service_cidr=cidr, services=[_svc(f"s{i}") for i in range(5)])
    assert [s.cluster_ip for s in plan.services] == [f"10.247.0.{k}" for k in usable]
    err = _plan_error(service_cidr=cidr, services=[_svc(f"s{i}") for i in range(6)])
    assert err.field == "services[5]"
    assert "no free clusterip" in err.rule.lower()
    assert cidr in err.rule
    assert err.exit_code == 2


def test_explicit_low_cluster_ips_leave_the_small_pool_alone() -> None:
    cidr = "10.247.0.0/28"
    services = [_svc(f"x{i}", clusterIP=f"10.247.0.{i}") for i in range(1, 10)] + [_svc(f"s{i}") for i in range(5)]
    plan = _plan(service_cidr=cidr, services=services)
    assert [s.cluster_ip for s in plan.services[9:]] == [f"10.247.0.{k}" for k in range(10, 15)]


def test_planning_a_large_service_cidr_is_quick() -> None:
    """A /8 Service CIDR is valid; planning one Service in it must not walk 16M addresses."""

    def too_slow(signum: int, frame: object) -> None:
        raise TimeoutError("make_plan with a /8 service_cidr took over 2 s")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        plan = _plan(service_cidr="10.0.0.0/8", services=[_svc("a")])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert plan.services[0].cluster_ip == "10.0.0.10"


# ------------------------------------------------------------------ NodePorts


def test_nodeports_from_30000_skipping_explicit_ones() -> None:
    plan = _plan(
        nat_gateway={},
        services=[
            _svc("c0"),
            _svc("n1", "NodePort"),
            _svc("n2", "NodePort", port=81, nodePort=30001),
            _svc("l3", "LoadBalancer", port=8081),
            _svc("d4", "DNAT", port=9000),
            _svc("n5", "NodePort", port=82, nodePort=30000),
            _svc("n6", "NodePort", port=83),
            _svc("c7", port=84),
        ],
    )
    explicit = {"n2": 30001, "n5": 30000}
    auto = (p for p in range(30000, 32768) if p not in explicit.values())
    expected = {}
    for name in ("c0", "n1", "n2", "l3", "d4", "n5", "n6", "c7"):
        expected[name] = None if name.startswith("c") else explicit.get(name) or next(auto)
    assert (expected["n1"], expected["l3"], expected["d4"], expected["n6"]) == (30002, 30003, 30004, 30005)
    assert {s.name: s.node_port for s in plan.services} == expected


def test_nodeports_run_out() -> None:
    services = [_svc(f"s{i}", "NodePort") for i in range(32767 - 30000 + 2)]
    spec = build_spec(
        {"name": "t", "model": "tunnel", "workloads": [{"name": "web", "replicas": 0}], "services": services}
    )
    with pytest.raises(SpecError) as info:
        make_plan(spec)
    assert info.value.field == "services[2768]"


# ---------------------------------------------------- endpoints and placement


def _round_robin(nodes: int, workloads: list[tuple[str, int]]) -> dict[str, str]:
    """Replica -> node: one turn counter across all workloads, in order."""
    placed, turn = {}, 0
    for name, replicas in workloads:
        for r in range(1, replicas + 1):
            placed[f"{name}-{r}"] = f"node-{turn % nodes + 1}"
            turn += 1
    return placed


@pytest.mark.parametrize(
    ("nodes", "pods_per_node", "workloads"),
    [
        pytest.param(3, 2, [("web", 3), ("api", 2)], id="shipped-shape"),
        pytest.param(3, 0, [("web", 4), ("api", 3), ("db", 1)], id="wraps-around"),
        pytest.param(2, [1, 0], [("a", 5)], id="two-nodes"),
        pytest.param(1, 1, [("a", 2), ("b", 2)], id="one-node"),
        pytest.param(4, 1, [("a", 0), ("b", 6)], id="empty-workload-takes-no-turn"),
    ],
)
def test_replicas_spread_round_robin(nodes: int, pods_per_node: object, workloads: list[tuple[str, int]]) -> None:
    plan = _plan(
        nodes=nodes,
        pods_per_node=pods_per_node,
        workloads=[{"name": n, "replicas": r} for n, r in workloads],
        services=[_svc(f"svc-{n}", app=n) for n, _ in workloads],
    )
    expected = _round_robin(nodes, workloads)
    placed = {p.name: p.node for p in plan.pods if p.workload}
    assert placed == expected
    for (name, replicas), svc in zip(workloads, plan.services, strict=True):
        assert sorted(e.pod for e in svc.endpoints) == sorted(f"{name}-{r}" for r in range(1, replicas + 1))
        assert [e.node for e in svc.endpoints] == [expected[e.pod] for e in svc.endpoints]
        assert svc.nodes_with_endpoints() == sorted({expected[f"{name}-{r}"] for r in range(1, replicas + 1)})


def test_endpoint_ips_are_the_pod_ips_inside_their_node_block() -> None:
    plan = _plan("vpc", nodes=3, workloads=[{"name": "web", "replicas": 5}], services=[_svc("web")])
    svc = plan.services[0]
    pod_ip = {p.name: p.ip for p in plan.pods}
    blocks = {n.name: [ip_network(b) for b in n.pod_cidrs] for n in plan.nodes}
    for e in svc.endpoints:
        assert e.ip == pod_ip[e.pod]
        assert any(ip_address(e.ip) in b for b in blocks[e.node]), (e, blocks[e.node])
    assert len({e.ip for e in svc.endpoints}) == 5


@pytest.mark.parametrize(
    ("workload", "service", "expected"),
    [
        pytest.param({}, {}, 8080, id="default-workload-port"),
        pytest.param({"port": 9090}, {}, 9090, id="custom-workload-port"),
        pytest.param({"port": 9090}, {"targetPort": 7000}, 7000, id="targetport-wins"),
        pytest.param({}, {"targetPort": 8443}, 8443, id="targetport-on-default-workload"),
    ],
)
def test_endpoint_port_is_target_port_else_workload_port(workload: dict, service: dict, expected: int) -> None:
    plan = _plan(workloads=[{"name": "web", "replicas": 2, **workload}], services=[_svc("a", port=80, **service)])
    svc = plan.services[0]
    assert svc.target_port == expected
    assert [e.port for e in svc.endpoints] == [expected, expected]
    assert svc.port == 80


def test_endpoints_only_from_the_selected_workload() -> None:
    plan = _plan(
        pods_per_node=1,
        workloads=[{"name": "web", "replicas": 2}, {"name": "api", "replicas": 3}, {"name": "idle", "replicas": 0}],
        services=[_svc("w", app="web"), _svc("a", app="api"), _svc("i", app="idle")],
    )
    svcs = _by_name(plan)
    assert sorted(e.pod for e in svcs["w"].endpoints) == ["web-1", "web-2"]
    assert sorted(e.pod for e in svcs["a"].endpoints) == ["api-1", "api-2", "api-3"]
    assert svcs["i"].endpoints == []
    assert not any(e.pod.startswith("pod-") for s in plan.services for e in s.endpoints)


# ---------------------------------------------------------- ELB and NAT gateway


def test_loadbalancer_gets_elb_vip_and_eip() -> None:
    plan = _plan(
        ecs=True,
        services=[_svc("c"), _svc("n", "NodePort", port=81), _svc("lb", "LoadBalancer", port=8081)],
    )
    svcs = _by_name(plan)
    # ECS takes the top address, the ELB the next one down
    assert _top(0) == "192.168.0.254"
    assert svcs["lb"].vip == _top(1) == plan.host("elb").ip
    assert svcs["lb"].eip == ELB_EIP
    assert ip_address(svcs["lb"].eip) in EIPS
    for name in ("c", "n"):
        assert (svcs[name].vip, svcs[name].eip, svcs[name].dnat) == ("", "", [])


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_dnat_one_rule_per_node_with_consecutive_eip_ports(nodes: int) -> None:
    plan = _plan(nodes=nodes, nat_gateway={"snat": False}, services=[_svc("d", "DNAT", port=9000, nodePort=30090)])
    svc = plan.services[0]
    expected = [DnatRule(NAT_EIP, 9000 + k, f"node-{k + 1}", _node_ip(k), 30090) for k in range(nodes)]
    assert svc.dnat == expected
    assert svc.eip == NAT_EIP
    assert svc.vip == ""
    assert ServiceSummary.of(svc).dnat[-1] == f"{NAT_EIP}:{9000 + nodes - 1} -> node-{nodes}:30090"


def test_dnat_eip_ports_stay_valid_tcp_ports() -> None:
    spec = build_spec(
        {
            "name": "t",
            "model": "tunnel",
            "internet": True,
            "nat_gateway": {},
            "workloads": [{"name": "web", "replicas": 1}],
            "services": [_svc("d", "DNAT", port=65534)],
        }
    )
    try:
        plan = make_plan(spec)
    except SpecError as err:
        assert err.field == "services[0].port"
        return
    assert all(1 <= d.eip_port <= 65535 for d in plan.services[0].dnat), [d.eip_port for d in plan.services[0].dnat]


@pytest.mark.parametrize(
    ("services", "ingresses", "index", "words"),
    [
        pytest.param(
            [_svc("a", "LoadBalancer", port=8081), _svc("b", "LoadBalancer", port=8081)],
            [],
            1,
            ("8081", "already used", "a"),
            id="two-loadbalancers-same-port",
        ),
        pytest.param(
            [_svc("np", "NodePort"), _svc("c", port=81), _svc("lb", "LoadBalancer", port=80)],
            [{"host": "x.example.com", "service": "np", "port": 80}],
            2,
            (":80", "ingress"),
            id="loadbalancer-on-80-with-ingress",
        ),
        pytest.param(
            [_svc("d1", "DNAT", port=9000), _svc("d2", "DNAT", port=9002)],
            [],
            1,
            ("9002", "already used", "d1"),
            id="dnat-port-ranges-overlap",
        ),
        pytest.param(
            [_svc("d1", "DNAT", port=9000), _svc("d2", "DNAT", port=9000)],
            [],
            1,
            ("9000", "already used", "d1"),
            id="dnat-same-port",
        ),
    ],
)
def test_listener_clash_is_a_spec_error(services: list, ingresses: list, index: int, words: tuple[str, ...]) -> None:
    err = _plan_error(nodes=3, nat_gateway={}, services=services, ingresses=ingresses)
    assert err.field == f"services[{index}].port"
    for word in words:
        assert word.lower() in err.rule.lower(), (word, err.rule)
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("services", "ingresses"),
    [
        pytest.param([_svc("lb", "LoadBalancer", port=80)], [], id="lb-on-80-without-ingress"),
        pytest.param([_svc("lb", "LoadBalancer", port=8080), _svc("d", "DNAT", port=8080)], [], id="elb-and-nat-eips"),
        pytest.param([_svc("d1", "DNAT", port=9000), _svc("d2", "DNAT", port=9003)], [], id="dnat-ranges-adjacent"),
        pytest.param(
            [_svc("np", "NodePort"), _svc("lb", "LoadBalancer", port=8081)],
            [{"host": "x.example.com", "service": "np", "port": 80}],
            id="ingress-and-lb-on-other-port",
        ),
    ],
)
def test_distinct_listeners_plan(services: list, ingresses: list) -> None:
    plan = _plan(nodes=3, nat_gateway={}, services=services, ingresses=ingresses)
    assert len(plan.services) == len(services)


# --------------------------------------------------- node subnet: top addresses


@pytest.mark.parametrize(
    ("ecs", "lb", "nat"),
    [
        pytest.param(False, False, False, id="none"),
        pytest.param(True, False, False, id="ecs"),
        pytest.param(False, True, False, id="elb"),
        pytest.param(False, False, True, id="natgw"),
        pytest.param(True, True, False, id="ecs-elb"),
        pytest.param(False, True, True, id="elb-natgw"),
        pytest.param(True, True, True, id="all"),
    ],
)
def test_extras_take_top_of_node_subnet_and_capacity(ecs: bool, lb: bool, nat: bool) -> None:
    overrides: dict = {"ecs": ecs}
    if lb:
        overrides["services"] = [_svc("lb", "LoadBalancer", port=8081)]
    if nat:
        overrides["nat_gateway"] = {"snat": False}
    plan = _plan(**overrides)
    roles = [r for r, on in (("ecs", ecs), ("elb", lb), ("nat-gateway", nat)) if on]
    for j, role in enumerate(roles):
        assert plan.host(role).ip == _top(j), role
    for role, on in (("ecs", ecs), ("elb", lb), ("nat-gateway", nat)):
        if not on:
            assert plan.host(role) is None
    # 254 host addresses minus the gateway, minus one per extra host
    free = SUBNET.num_addresses - 2 - 1 - len(roles)
    assert plan.capacity.subnet_free_ips == free
    limit = next(lim for lim in plan.capacity.limits if lim.rule.startswith("node_subnet"))
    assert limit.max_nodes == free


def test_nodes_fill_the_subnet_up_to_the_extra_hosts() -> None:
    subnet = "192.168.0.0/28"  # 14 hosts: gateway, 10 nodes, then NAT gateway, ELB, ECS at the top
    overrides = {
        "node_subnet": subnet,
        "ecs": True,
        "pods_per_node": 0,
        "nat_gateway": {},
        "services": [_svc("lb", "LoadBalancer", port=8081)],
    }
    free = ip_network(subnet).num_addresses - 2 - 1 - 3
    assert free == 10
    plan = _plan(nodes=free, **overrides)
    assert [n.ip for n in plan.nodes] == [_node_ip(i, subnet) for i in range(free)]
    tops = [plan.host(r).ip for r in ("ecs", "elb", "nat-gateway")]
    assert tops == [_top(j, subnet) for j in range(3)] == ["192.168.0.14", "192.168.0.13", "192.168.0.12"]
    assert not {n.ip for n in plan.nodes} & set(tops)
    assert plan.capacity.max_nodes == free
    err = _plan_error(nodes=free + 1, **overrides)
    assert err.field == "nodes"
    assert str(free) in err.rule and "node_subnet" in err.rule


# ------------------------------------------------- NAT gateway SNAT and routes


@pytest.mark.parametrize(
    ("model", "snat", "peer", "taken"),
    [
        pytest.param("vpc", True, False, 1, id="vpc-snat"),
        pytest.param("vpc", True, True, 2, id="vpc-snat-peer"),
        pytest.param("vpc", False, True, 1, id="vpc-dnat-only-peer"),
        pytest.param("vpc", False, False, 0, id="vpc-dnat-only"),
        pytest.param("tunnel", True, True, 0, id="tunnel-snat-peer"),
    ],
)
def test_snat_default_route_and_route_quota(model: str, snat: bool, peer: bool, taken: int) -> None:
    overrides: dict = {"nodes": 3, "route_quota": 50, "nat_gateway": {"snat": snat}}
    if peer:
        overrides["peer_vpc"] = {"cidr": "10.10.0.0/16"}
    plan = _plan(model, **overrides)
    natgw = plan.host("nat-gateway")
    defaults = [r for r in plan.vpc_routes if r.dst == "0.0.0.0/0"]
    if snat:
        assert [(r.dst, r.via) for r in defaults] == [("0.0.0.0/0", natgw.ip)]
        assert plan.vpc_routes[-1] == defaults[0]
    else:
        assert defaults == []
    pod_routes = [r for r in plan.vpc_routes if r.dst != "0.0.0.0/0"]
    assert len(pod_routes) == (3 if model == "vpc" else 0)
    quota = [lim for lim in plan.capacity.limits if lim.rule.startswith("route_quota")]
    if model == "vpc":
        assert [lim.max_nodes for lim in quota] == [50 - taken]
    else:
        assert quota == []


def test_route_quota_minus_snat_and_peering_binds_the_node_count() -> None:
    overrides = {"route_quota": 5, "nat_gateway": {}, "peer_vpc": {"cidr": "10.10.0.0/16"}, "pods_per_node": 0}
    plan = _plan("vpc", nodes=3, **overrides)
    assert plan.capacity.max_nodes == 3
    assert "route_quota" in plan.capacity.binding_rule
    err = _plan_error("vpc", nodes=4, **overrides)
    assert err.field == "nodes"
    assert "route_quota" in err.rule and "3" in err.rule


# ------------------------------------------------------ EIPs and the Internet


def test_node_eips_are_203_0_113_100_plus_node_number() -> None:
    plan = _plan(nodes=12, pods_per_node=0, eips=["node-3", "node-1", "node-12"])
    expected = {n: str(EIPS.network_address + 100 + int(n.split("-")[1])) for n in ("node-3", "node-1", "node-12")}
    assert expected == {"node-3": "203.0.113.103", "node-1": "203.0.113.101", "node-12": "203.0.113.112"}
    assert plan.node_eips == expected
    assert plan.edge.node_eips == expected
    assert _plan().node_eips == {}


def test_node_eip_for_a_high_node_number() -> None:
    spec = build_spec(
        {"name": "t", "model": "tunnel", "nodes": 160, "pods_per_node": 0, "internet": True, "eips": ["node-160"]}
    )
    try:
        plan = make_plan(spec)
    except SpecError as err:
        assert err.field == "eips[0]"
        return
    eip = ip_address(plan.node_eips["node-160"])
    assert eip in EIPS and eip != EIPS.broadcast_address


def test_internet_hosts_and_eips() -> None:
    plan = _plan(
        nat_gateway={},
        eips=["node-2"],
        services=[_svc("lb", "LoadBalancer", port=8081)],
        peer_vpc={"cidr": "10.10.0.0/16"},
        intranet={"subnet": "192.168.1.0/24", "allow": ["192.168.0.0/24"]},
    )
    inet = {h.role: h.ip for h in plan.hosts if h.role.startswith("internet-")}
    assert set(inet) == {"internet-router", "internet-client", "internet-server"}
    assert all(ip_address(ip) in INTERNET for ip in inet.values())
    assert len(set(inet.values())) == 3
    assert plan.host("elb").eip == ELB_EIP
    assert plan.host("nat-gateway").eip == NAT_EIP
    eips = [ELB_EIP, NAT_EIP, *plan.node_eips.values()]
    assert all(ip_address(e) in EIPS for e in eips) and len(set(eips)) == 3
    assert ip_address(plan.host("peer-host").ip) in ip_network("10.10.0.0/16")
    assert ip_address(plan.host("intranet-server").ip) in ip_network("192.168.1.0/24")
    netns = plan.netns_names()
    assert len(netns) == len(set(netns))


def test_no_internet_hosts_without_internet() -> None:
    plan = _plan(internet=False, services=[_svc("a")])
    assert not [h for h in plan.hosts if h.role.startswith("internet-")]
    assert plan.edge is not None and plan.edge.hosts == []


# ------------------------------------------------------------------ Ingresses


def test_ingress_plan_uses_the_service_nodeport_and_the_elb() -> None:
    plan = _plan(
        ecs=True,
        services=[_svc("np", "NodePort", nodePort=30080), _svc("lb", "LoadBalancer", port=8082)],
        ingresses=[
            {"host": "a.example.com", "service": "np", "port": 80},
            {"host": "b.example.com", "path": "/api", "service": "lb", "port": 8082},
        ],
    )
    lb_port = _by_name(plan)["lb"].node_port
    assert lb_port == 30000
    assert plan.ingresses == [
        IngressPlan("a.example.com", "/", "np", 80, 30080, ELB_EIP, _top(1)),
        IngressPlan("b.example.com", "/api", "lb", 8082, 30000, ELB_EIP, _top(1)),
    ]


# ----------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", ["tunnel.yaml", "vpc.yaml"])
def test_plan_round_trips_with_services_ingresses_and_edge(name: str) -> None:
    plan = make_plan(load(TOPOLOGIES / name))
    assert plan.services and plan.ingresses and plan.edge and plan.edge.hosts
    for data in (documents.dump(plan), json.loads(json.dumps(documents.dump(plan)))):
        again = documents.load(Plan, data)
        assert again == plan
        assert all(isinstance(s, ServicePlan) for s in again.services)
        assert all(isinstance(e, Endpoint) for s in again.services for e in s.endpoints)
        assert all(isinstance(d, DnatRule) for s in again.services for d in s.dnat)
        assert any(s.dnat for s in again.services)
        assert all(isinstance(i, IngressPlan) for i in again.ingresses)
        assert isinstance(again.edge, Edge)
        assert all(isinstance(h, Host) for h in again.edge.hosts)
        assert again.edge.host("elb") == plan.host("elb")


def test_plan_without_services_round_trips() -> None:
    plan = make_plan(build_spec({"name": "t", "model": "vpc"}))
    assert plan.services == [] and plan.ingresses == []
    assert documents.load(Plan, json.loads(json.dumps(documents.dump(plan)))) == plan


def test_shipped_services_planned_as_documented() -> None:
    plan = make_plan(load(TOPOLOGIES / "tunnel.yaml"))
    svcs = _by_name(plan)
    base = IPv4Address("10.247.0.0")
    assert [s.cluster_ip for s in plan.services] == [str(base + 10 + k) for k in range(9)]
    assert {n: svcs[n].node_port for n in ("web-np", "web-elb", "api-local", "api-dnat", "udp")} == {
        "web-np": 30080,
        "web-elb": 30081,
        "api-local": 30082,
        "api-dnat": 30090,
        "udp": 30053,
    }
    assert svcs["web"].target_port == 8080 and svcs["web-sticky"].target_port == 8080
    assert (svcs["web-elb"].vip, svcs["web-elb"].eip) == ("192.168.0.253", ELB_EIP)
    assert [d.eip_port for d in svcs["api-dnat"].dnat] == [9000, 9001, 9002]
    assert plan.node_eips == {"node-1": "203.0.113.101"}
