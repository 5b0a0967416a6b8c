"""trace's pure half: SRC/DST names resolved against the plan, and the interfaces a packet may cross, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import UsageError
from lab.plan import endpoints, make_plan, packetpath
from lab.plan.endpoints import protocol_for, resolve, source
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]


def _plan(model: str):
    spec = load(ROOT / f"topologies/{model}.yaml")
    return make_plan(spec, ovs_kernel_available=False if model == "tunnel" else None)


@pytest.fixture(scope="module")
def tunnel():
    return _plan("tunnel")


@pytest.fixture(scope="module")
def vpc():
    return _plan("vpc")


def _places(watches: list[packetpath.Watch]) -> list[tuple[str, str]]:
    return [(w.owner, w.ifname) for w in watches]


def test_names_resolve_to_the_plan_addresses(tunnel) -> None:
    pod, node = tunnel.pods[0], tunnel.nodes[1]
    assert resolve(tunnel, pod.name).ip == pod.ip
    assert resolve(tunnel, pod.netns).netns == pod.netns
    assert resolve(tunnel, pod.ip).name == pod.name
    assert resolve(tunnel, node.name).ip == node.ip
    client = tunnel.host("internet-client")
    assert resolve(tunnel, "client").netns == client.netns
    assert resolve(tunnel, "internet-client").ip == client.ip
    web = tunnel.service("web")
    svc = resolve(tunnel, "web")
    assert (svc.kind, svc.ip, svc.port, svc.protocol) == ("service", web.cluster_ip, web.port, "tcp")
    assert resolve(tunnel, web.cluster_ip).service == "web"
    assert resolve(tunnel, f"{web.cluster_ip}:{web.port}").port == web.port


def test_fronts_resolve_to_what_is_behind_them(tunnel) -> None:
    np = next(s for s in tunnel.services if s.type == "NodePort" and s.protocol == "TCP")
    front = resolve(tunnel, f"{tunnel.nodes[1].name}:{np.node_port}")
    assert (front.kind, front.ip, front.service, front.node) == ("nodeport", tunnel.nodes[1].ip, np.name, "node-2")
    node, eip = next(iter(tunnel.node_eips.items()))
    via_eip = resolve(tunnel, f"{eip}:{np.node_port}")
    assert (via_eip.kind, via_eip.node, via_eip.via) == ("nodeport", node, ["node-eip"])
    lb = next(s for s in tunnel.services if s.type == "LoadBalancer")
    elb = resolve(tunnel, f"{lb.eip}:{lb.port}")
    assert (elb.kind, elb.service, elb.via) == ("elb", lb.name, ["elb-eip", "elb"])
    assert resolve(tunnel, f"{lb.vip}:{lb.port}").via == ["elb"]
    dn = next(s for s in tunnel.services if s.dnat)
    rule = dn.dnat[1]
    hit = resolve(tunnel, f"{rule.eip}:{rule.eip_port}")
    assert (hit.kind, hit.node, hit.service) == ("dnat", rule.node, dn.name)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nope", ("DST", "no pod, node, host or Service")),
        ("node-1:99999", ("DST", "1 to 65535")),
        ("node-1:http", ("DST", "1 to 65535")),
        ("8.8.8.8", ("DST", "not an address of lab")),
        ("fe80::1", ("DST",)),
        ("203.0.113.20:1", ("DST", "the ELB has no port 1")),
        ("203.0.113.10:1", ("DST", "no DNAT rule for port 1")),
        ("x" * 5000, ("DST",)),
        ("pod-1-1\n--rm", ("DST",)),
        ("", ("DST",)),
    ],
)
def test_bad_destinations_name_the_argument_and_the_rule(tunnel, text: str, words: tuple[str, ...]) -> None:
    with pytest.raises(UsageError) as exc:
        resolve(tunnel, text)
    message = str(exc.value)
    assert exc.value.exit_code == 2
    assert len(message) <= 300 and "\n" not in message
    for word in words:
        assert word in message


def test_a_source_must_be_a_namespace(tunnel) -> None:
    with pytest.raises(UsageError, match="SRC 'web': a trace starts in a pod, node or host"):
        source(tunnel, "web")
    with pytest.raises(UsageError, match="SRC"):
        source(tunnel, f"{tunnel.host('elb').eip}:8081")


@pytest.mark.parametrize(
    ("dst", "proto", "port", "expected"),
    [
        ("pod-3-1", None, None, ("icmp", None)),
        ("pod-3-1", "tcp", None, ("tcp", 8080)),
        ("pod-3-1", "udp", 9999, ("udp", 9999)),
        ("web", None, None, ("tcp", 80)),
        ("udp", None, None, ("udp", 53)),
        ("node-2:30080", None, None, ("tcp", 30080)),
        ("server", "tcp", None, ("tcp", 8080)),
    ],
)
def test_protocol_and_port_default_to_what_dst_serves(tunnel, dst, proto, port, expected) -> None:
    assert protocol_for(source(tunnel, "pod-1-1"), resolve(tunnel, dst), proto, port) == expected


@pytest.mark.parametrize(
    ("dst", "proto", "port", "word"),
    [
        ("pod-3-1", "icmp", 80, "--port 80: ICMP has no ports"),
        ("web", "udp", None, "--proto udp: web serves TCP"),
        ("pod-3-1", "sctp", None, "--proto"),
        ("pod-3-1", "tcp", 0, "--port 0"),
        ("pod-1-1", None, None, "the source itself"),
    ],
)
def test_bad_protocol_choices_are_refused(tunnel, dst, proto, port, word) -> None:
    with pytest.raises(UsageError, match=word.replace("(", r"\(")):
        protocol_for(source(tunnel, "pod-1-1"), resolve(tunnel, dst), proto, port)


def test_tunnel_pod_to_pod_crosses_both_nics_and_the_router_in_order(tunnel) -> None:
    a, b = tunnel.pods_on("node-1")[0], tunnel.pods_on("node-3")[0]
    places = _places(packetpath.hops(tunnel, source(tunnel, a.name), resolve(tunnel, b.name)))
    expected = [
        (a.name, "eth0"),
        ("node-1", a.host_if),
        ("node-1", "eth0"),
        ("vpc-router", "node-1"),
        ("vpc-router", "node-3"),
        ("node-3", "eth0"),
        ("node-3", b.host_if),
        (b.name, "eth0"),
    ]
    assert [p for p in places if p in expected] == expected
    assert ("node-1", "br-phy") in places  # userspace OVS: the node IP lives on br-phy
    assert all(owner != "node-2" for owner, _ in places)


def test_vpc_pod_to_pod_goes_through_the_router_and_watches_the_default_route(vpc) -> None:
    a, b = vpc.pods_on("node-1")[0], vpc.pods_on("node-3")[0]
    places = _places(packetpath.hops(vpc, source(vpc, a.name), resolve(vpc, b.name)))
    assert places[:6] == [
        (a.name, "eth0"),
        ("node-1", a.host_if),
        ("node-1", "eth0"),
        ("vpc-router", "node-1"),
        ("vpc-router", "subnet0"),
        ("vpc-router", "node-3"),
    ]
    assert places[-2:] == [("vpc-router", "natgw"), ("nat-gateway", "eth0")]  # where a missing VPC route sends it
    assert not any(ifname in ("gw0", "br-phy", "vxlan0") for _, ifname in places)


def test_a_clusterip_branches_to_every_endpoint(tunnel) -> None:
    web = tunnel.service("web")
    places = _places(packetpath.hops(tunnel, source(tunnel, "pod-1-1"), resolve(tunnel, "web")))
    for ep in web.endpoints:
        assert (ep.pod, "eth0") in places
    assert ("node-1", "gw0") in places


def test_internet_to_the_elb_eip_passes_the_uplink_the_elb_and_the_backends(tunnel) -> None:
    lb = tunnel.service("web-elb")
    places = _places(packetpath.hops(tunnel, source(tunnel, "client"), resolve(tunnel, f"{lb.eip}:{lb.port}")))
    order = [("client", "eth0"), ("internet", "vpc"), ("vpc-router", "uplink"), ("elb", "eth0")]
    assert [p for p in places if p in order] == order
    for n in lb.backends(tunnel.nodes):
        assert (n.name, "eth0") in places


def test_pod_egress_leaves_by_the_node_eip_or_the_nat_gateway(tunnel) -> None:
    with_eip = next(iter(tunnel.node_eips))
    without = next(n.name for n in tunnel.nodes if n.name not in tunnel.node_eips)
    via_eip = _places(
        packetpath.hops(tunnel, source(tunnel, tunnel.pods_on(with_eip)[0].name), resolve(tunnel, "server"))
    )
    via_nat = _places(
        packetpath.hops(tunnel, source(tunnel, tunnel.pods_on(without)[0].name), resolve(tunnel, "server"))
    )
    assert ("vpc-router", "uplink") in via_eip and ("nat-gateway", "uplink") not in via_eip
    assert ("nat-gateway", "uplink") in via_nat and ("vpc-router", "uplink") not in via_nat


def test_linux_vxlan_watches_the_vxlan_device() -> None:
    spec = load(ROOT / "topologies/tunnel.yaml")
    plan = make_plan(type(spec)(**{**spec.__dict__, "datapath": "linux-vxlan"}))
    places = _places(packetpath.hops(plan, source(plan, "pod-1-1"), resolve(plan, "pod-3-1")))
    assert ("node-1", "vxlan0") in places and ("node-1", "br-int") in places


def test_every_watch_is_a_planned_interface_and_peers_are_symmetric(tunnel) -> None:
    for a, b in packetpath.links(tunnel):
        assert packetpath.peer(tunnel, a.netns, a.ifname) == b
        assert packetpath.peer(tunnel, b.netns, b.ifname) == a
    assert packetpath.peer(tunnel, tunnel.router.netns, "subnet0") is None


def test_the_watch_list_is_bounded() -> None:
    assert endpoints  # module is importable without the system
    spec = load(ROOT / "topologies/vpc.yaml")
    plan = make_plan(type(spec)(**{**spec.__dict__, "nodes": 190, "pods_per_node": 1}))
    lb = plan.service("web-elb")
    watches = packetpath.hops(plan, source(plan, "client"), resolve(plan, f"{lb.eip}:{lb.port}"))
    assert len(watches) <= packetpath.MAX_WATCHES
