"""Spec rules for workloads, Services, Ingresses and the world around the cluster.

Every bad input is one SpecError naming the field (`services[1].nodePort`) and the rule, exit code 2.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from lab.errors import LabError, SpecError
from lab.plan import make_plan
from lab.spec import build_spec
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"

WORKLOADS = [{"name": "web", "replicas": 3}, {"name": "api", "replicas": 2}]
BASE = {"name": "t", "model": "tunnel", "internet": True, "workloads": WORKLOADS}


def _svc(name: str, type_: str = "ClusterIP", app: str = "web", port: int = 80, **extra: object) -> dict:
    return {"name": name, "type": type_, "selector": {"app": app}, "port": port, **extra}


def _spec_error(data: dict) -> SpecError:
    with pytest.raises(SpecError) as info:
        build_spec(data)
    return info.value


def _assert_clear(err: SpecError, field: str, words: tuple[str, ...]) -> None:
    assert err.field == field, f"field {err.field!r} (rule: {err.rule!r})"
    rule = err.rule.lower()
    for word in words:
        assert word.lower() in rule, f"{word!r} not in rule {err.rule!r}"
    assert err.exit_code == 2
    assert isinstance(err, LabError)
    assert str(err) == f"{field}: {err.rule}"
    assert "\n" not in err.rule


# (overrides of BASE, field the error must name, words the rule must contain)
INVALID = [
    # -- NodePorts: 30000-32767, unique, not on ClusterIP Services --
    pytest.param(
        {"services": [_svc("a", "NodePort", nodePort=29999)]},
        "services[0].nodePort",
        ("29999", "outside", "30000-32767"),
        id="nodeport-below-range",
    ),
    pytest.param(
        {"services": [_svc("a"), _svc("b", "NodePort", nodePort=32768)]},
        "services[1].nodePort",
        ("32768", "outside", "30000-32767"),
        id="nodeport-above-range",
    ),
    pytest.param(
        {"services": [_svc("a", "LoadBalancer", port=8081, nodePort=80)]},
        "services[0].nodePort",
        ("80", "outside"),
        id="nodeport-lb-well-known-port",
    ),
    pytest.param(
        {"services": [_svc("a", "NodePort", nodePort=30080), _svc("b", "NodePort", port=81, nodePort=30080)]},
        "services[1].nodePort",
        ("30080", "already used", "a"),
        id="nodeport-duplicate",
    ),
    pytest.param(
        {"services": [_svc("a", "ClusterIP", nodePort=30080)]},
        "services[0].nodePort",
        ("clusterip", "no nodeport"),
        id="nodeport-on-clusterip",
    ),
    # -- ClusterIPs: inside service_cidr, unique, usable --
    pytest.param(
        {"services": [_svc("a", clusterIP="10.248.0.10")]},
        "services[0].clusterIP",
        ("10.248.0.10", "outside", "service_cidr", "10.247.0.0/16"),
        id="clusterip-outside-service-cidr",
    ),
    pytest.param(
        {"services": [_svc("a", clusterIP="10.247.0.50"), _svc("b", clusterIP="10.247.0.50")]},
        "services[1].clusterIP",
        ("10.247.0.50", "taken"),
        id="clusterip-duplicate",
    ),
    pytest.param(
        {"services": [_svc("a", clusterIP="10.247.0.0")]},
        "services[0].clusterIP",
        ("10.247.0.0", "usable"),
        id="clusterip-network-address",
    ),
    pytest.param(
        {"services": [_svc("a", clusterIP="10.247.255.255")]},
        "services[0].clusterIP",
        ("10.247.255.255", "usable"),
        id="clusterip-broadcast-address",
    ),
    # -- selectors, names --
    pytest.param(
        {"services": [_svc("a"), _svc("b", app="nope")]},
        "services[1].selector",
        ("nope", "matches no workload"),
        id="selector-unknown-app",
    ),
    pytest.param(
        {"services": [{"name": "a", "selector": {"app": "web", "tier": "x"}, "port": 80}]},
        "services[0].selector",
        ("matches no workload",),
        id="selector-extra-label",
    ),
    pytest.param(
        {"services": [{"name": "a", "selector": {"run": "web"}, "port": 80}]},
        "services[0].selector",
        ("matches no workload", "app"),
        id="selector-wrong-label-key",
    ),
    pytest.param(
        {"services": [_svc("a"), _svc("b", port=81), _svc("a", port=82)]},
        "services[2].name",
        ("'a'", "twice"),
        id="service-name-duplicate",
    ),
    pytest.param(
        {"workloads": [{"name": "pod", "replicas": 1}]},
        "workloads[0].name",
        ("'pod'", "reserved"),
        id="workload-name-reserved-pod",
    ),
    pytest.param(
        {"workloads": [*WORKLOADS, {"name": "web", "replicas": 1}]},
        "workloads[2].name",
        ("'web'", "twice"),
        id="workload-name-duplicate",
    ),
    # -- DNAT needs a NAT gateway; the ELB and the NAT gateway forward TCP only --
    pytest.param(
        {"services": [_svc("a", "DNAT", port=9000)]},
        "services[0].type",
        ("dnat", "nat_gateway"),
        id="dnat-without-nat-gateway",
    ),
    pytest.param(
        {"services": [_svc("a", "LoadBalancer", port=53, protocol="UDP")]},
        "services[0].protocol",
        ("LoadBalancer", "TCP"),
        id="loadbalancer-udp",
    ),
    pytest.param(
        {"nat_gateway": {}, "services": [_svc("a", "DNAT", port=53, protocol="UDP")]},
        "services[0].protocol",
        ("DNAT", "TCP"),
        id="dnat-udp",
    ),
    # -- Ingresses point at a TCP Service with a NodePort, on its port --
    pytest.param(
        {
            "services": [_svc("a", "NodePort")],
            "ingresses": [{"host": "a.example.com", "service": "nope", "port": 80}],
        },
        "ingresses[0].service",
        ("no service", "nope"),
        id="ingress-unknown-service",
    ),
    pytest.param(
        {
            "services": [_svc("a", "NodePort"), _svc("b")],
            "ingresses": [
                {"host": "a.example.com", "service": "a", "port": 80},
                {"host": "b.example.com", "service": "b", "port": 80},
            ],
        },
        "ingresses[1].service",
        ("b", "NodePort"),
        id="ingress-to-clusterip",
    ),
    pytest.param(
        {
            "services": [_svc("u", "NodePort", port=53, protocol="UDP")],
            "ingresses": [{"host": "u.example.com", "service": "u", "port": 53}],
        },
        "ingresses[0].service",
        ("TCP",),
        id="ingress-to-udp-service",
    ),
    pytest.param(
        {
            "services": [_svc("a", "NodePort", port=80)],
            "ingresses": [{"host": "a.example.com", "service": "a", "port": 8080}],
        },
        "ingresses[0].port",
        ("listens on 80", "8080"),
        id="ingress-port-differs",
    ),
    # -- EIPs name existing nodes, once --
    pytest.param({"eips": ["node-4"]}, "eips[0]", ("'node-4'", "not a node", "node-3"), id="eip-unknown-node"),
    pytest.param({"eips": ["node-0"]}, "eips[0]", ("'node-0'", "not a node"), id="eip-node-0"),
    pytest.param({"eips": ["ecs"]}, "eips[0]", ("'ecs'", "not a node"), id="eip-not-a-node-name"),
    pytest.param({"eips": ["node-1", "node-2", "node-1"]}, "eips[2]", ("'node-1'", "repeated"), id="eip-repeated"),
    # -- everything facing the Internet needs internet: true --
    pytest.param({"internet": False, "eips": ["node-1"]}, "internet", ("eip", "internet: true"), id="eips-no-internet"),
    pytest.param(
        {"internet": False, "nat_gateway": {"snat": True}},
        "internet",
        ("nat gateway", "internet: true"),
        id="nat-gateway-no-internet",
    ),
    pytest.param(
        {
            "internet": False,
            "ingresses": [{"host": "a.example.com", "service": "a", "port": 80}],
            "services": [_svc("a", "NodePort")],
        },
        "internet",
        ("ingress", "internet: true"),
        id="ingress-no-internet",
    ),
    pytest.param(
        {
            "internet": False,
            "services": [_svc("a", "NodePort")],
            "ingresses": [{"host": "a.example.com", "service": "a", "port": 80}],
        },
        "internet",
        ("ingress", "internet: true"),
        id="ingress-no-internet",
    ),
    # -- peer VPC must not overlap any plane of this cluster --
    pytest.param(
        {"peer_vpc": {"cidr": "192.168.128.0/17"}},
        "peer_vpc.cidr",
        ("192.168.128.0/17", "overlaps", "vpc_cidr"),
        id="peer-overlaps-vpc",
    ),
    pytest.param(
        {"peer_vpc": {"cidr": "192.168.0.0/24"}},
        "peer_vpc.cidr",
        ("overlaps", "vpc_cidr"),
        id="peer-equals-node-subnet",
    ),
    pytest.param(
        {"peer_vpc": {"cidr": "172.16.0.0/12"}},
        "peer_vpc.cidr",
        ("overlaps", "container_cidr"),
        id="peer-contains-container",
    ),
    pytest.param(
        {"peer_vpc": {"cidr": "10.247.8.0/24"}},
        "peer_vpc.cidr",
        ("overlaps", "service_cidr"),
        id="peer-inside-service-cidr",
    ),
    # -- intranet subnet: inside the VPC, outside the node subnet --
    pytest.param(
        {"intranet": {"subnet": "10.20.0.0/24", "allow": ["192.168.0.0/24"]}},
        "intranet.subnet",
        ("10.20.0.0/24", "inside vpc_cidr"),
        id="intranet-outside-vpc",
    ),
    pytest.param(
        {"intranet": {"subnet": "192.168.0.128/25", "allow": []}},
        "intranet.subnet",
        ("outside node_subnet",),
        id="intranet-inside-node-subnet",
    ),
    pytest.param(
        {"intranet": {"subnet": "192.168.0.0/23", "allow": []}},
        "intranet.subnet",
        ("outside node_subnet",),
        id="intranet-contains-node-subnet",
    ),
    # -- unknown keys name the nested key --
    pytest.param(
        {"services": [_svc("a", "NodePort", nodeport=30080)]},
        "services[0].nodeport",
        ("unknown",),
        id="service-unknown-key-lowercase-nodeport",
    ),
    pytest.param(
        {"services": [_svc("a"), _svc("b", clusterip="10.247.0.50")]},
        "services[1].clusterip",
        ("unknown",),
        id="service-unknown-key-lowercase-clusterip",
    ),
    pytest.param(
        {
            "services": [_svc("a", "NodePort")],
            "ingresses": [{"host": "a.example.com", "paths": ["/"], "service": "a", "port": 80}],
        },
        "ingresses[0].paths",
        ("unknown",),
        id="ingress-unknown-key",
    ),
    pytest.param(
        {"workloads": [{"name": "web", "replica": 3}]}, "workloads[0].replica", ("unknown",), id="workload-unknown-key"
    ),
    # -- pydantic types inside a Service --
    pytest.param(
        {"services": [_svc("a", "ExternalName")]},
        "services[0].type",
        ("'ExternalName'", "ClusterIP", "LoadBalancer", "DNAT"),
        id="service-type-unknown",
    ),
    pytest.param(
        {"services": [_svc("a", protocol="SCTP")]}, "services[0].protocol", ("'SCTP'", "TCP", "UDP"), id="sctp"
    ),
    pytest.param(
        {"services": [_svc("a", externalTrafficPolicy="local")]},
        "services[0].externalTrafficPolicy",
        ("'local'", "Local"),
        id="traffic-policy-lower-case",
    ),
    pytest.param({"services": [_svc("a", port=0)]}, "services[0].port", ("1",), id="service-port-0"),
    pytest.param({"services": [_svc("a", port=65536)]}, "services[0].port", ("65535",), id="service-port-65536"),
    pytest.param({"services": [{"name": "a", "port": 80}]}, "services[0].selector", ("missing",), id="no-selector"),
]


@pytest.mark.parametrize(("overrides", "field", "words"), INVALID)
def test_invalid_services_give_one_clear_error(overrides: dict, field: str, words: tuple[str, ...]) -> None:
    _assert_clear(_spec_error({**BASE, **overrides}), field, words)


def test_unknown_service_key_lists_the_service_keys() -> None:
    err = _spec_error({**BASE, "services": [_svc("a", "NodePort", nodeport=30080)]})
    assert err.field == "services[0].nodeport"
    assert "nodePort" in err.rule
    assert "vpc_cidr" not in err.rule


def test_workload_named_node_cannot_clash_with_node_namespaces() -> None:
    data = {**BASE, "workloads": [{"name": "node", "replicas": 2}]}
    try:
        spec = build_spec(data)
    except SpecError as err:
        assert err.field == "workloads[0].name"
        return
    names = make_plan(spec).netns_names()
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


# ------------------------------------------------------------------- valid inputs


@pytest.mark.parametrize(
    ("overrides", "checks"),
    [
        pytest.param(
            {"services": [_svc("lo", "NodePort", nodePort=30000), _svc("hi", "NodePort", port=81, nodePort=32767)]},
            {0: {"node_port": 30000}, 1: {"node_port": 32767}},
            id="nodeport-range-bounds",
        ),
        pytest.param(
            {"services": [_svc("a", clusterIP="10.247.0.1"), _svc("b", clusterIP="10.247.255.254")]},
            {0: {"cluster_ip": IPv4Address("10.247.0.1")}, 1: {"cluster_ip": IPv4Address("10.247.255.254")}},
            id="clusterip-first-and-last-usable",
        ),
        pytest.param(
            {"services": [_svc("a", targetPort=9090, sessionAffinity="ClientIP")]},
            {0: {"target_port": 9090, "session_affinity": "ClientIP", "type": "ClusterIP", "protocol": "TCP"}},
            id="aliases",
        ),
        pytest.param(
            {"services": [_svc("a", "LoadBalancer", externalTrafficPolicy="Local")]},
            {0: {"external_traffic_policy": "Local", "node_port": None}},
            id="loadbalancer-nodeport-allocated-later",
        ),
        pytest.param(
            {"services": [_svc("a", "NodePort", port=53, protocol="UDP")]},
            {0: {"protocol": "UDP"}},
            id="udp-nodeport-allowed",
        ),
        pytest.param(
            {"workloads": [{"name": "idle", "replicas": 0}], "services": [_svc("idle", app="idle")]},
            {0: {"selector": {"app": "idle"}}},
            id="selector-on-empty-workload",
        ),
        pytest.param(
            {"nat_gateway": {"snat": False}, "services": [_svc("d", "DNAT", port=9000)]},
            {0: {"type": "DNAT"}},
            id="dnat-with-dnat-only-gateway",
        ),
    ],
)
def test_valid_services_load(overrides: dict, checks: dict[int, dict]) -> None:
    spec = build_spec({**BASE, **overrides})
    for index, fields in checks.items():
        for key, value in fields.items():
            assert getattr(spec.services[index], key) == value, (index, key)


def test_internet_false_is_fine_without_anything_facing_the_internet() -> None:
    spec = build_spec(
        {
            **BASE,
            "internet": False,
            "services": [_svc("a"), _svc("b", "NodePort", port=81)],
            "peer_vpc": {"cidr": "10.10.0.0/16"},
            "intranet": {"subnet": "192.168.1.0/24", "allow": ["192.168.0.0/24"]},
        }
    )
    assert not spec.internet
    assert [s.name for s in spec.services] == ["a", "b"]


@pytest.mark.parametrize("name", ["tunnel.yaml", "vpc.yaml"])
def test_shipped_topologies_load_and_plan(name: str) -> None:
    spec = load(TOPOLOGIES / name)
    assert [w.name for w in spec.workloads] == ["web", "api", "idle"]
    assert len(spec.services) == 9  # web, web-sticky, idle, web-np, web-elb, api-local, api-dnat, udp, bench
    assert len(spec.ingresses) == 2
    plan = make_plan(spec)
    assert [s.name for s in plan.services] == [s.name for s in spec.services]
    assert len(plan.ingresses) == 2
    # every Service with a selector on a non-empty workload has endpoints; idle has none
    by_name = {s.name: s for s in plan.services}
    assert by_name["idle"].endpoints == []
    assert len(by_name["web"].endpoints) == 3
    assert len(by_name["api-local"].endpoints) == 2
    roles = {h.role for h in plan.hosts}
    assert {"vpc-router", "ecs", "elb", "nat-gateway", "internet-client", "internet-server"} <= roles
    assert {"peer-host", "intranet-server", "internet-router"} <= roles


def test_a_private_elb_needs_no_internet() -> None:
    """ECS -> private ELB is a CCE scenario of its own: the ELB gets its VIP, and no EIP."""
    spec = build_spec({**BASE, "internet": False, "services": [_svc("a", "LoadBalancer")]})
    (svc,) = make_plan(spec).services
    assert svc.vip == "192.168.0.254" and svc.eip == ""
