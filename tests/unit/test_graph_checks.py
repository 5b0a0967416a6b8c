"""Check rows onto the picture (lab.report.graphchecks): which elements a row names, and the colours rows give."""

from __future__ import annotations

from pathlib import Path

from lab.observe.results import CheckReport, CheckResult
from lab.plan import make_plan
from lab.report import graphchecks
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
TUNNEL = make_plan(load(ROOT / "topologies/tunnel.yaml", {}))
VPC = make_plan(load(ROOT / "topologies/vpc.yaml", {}))


def row(scenario: str, ok: bool = True, detail: str = "") -> CheckResult:
    return CheckResult(scenario, "reachable", "reachable" if ok else "blocked", detail)


def test_rows_name_nodes_pods_services_and_hosts() -> None:
    e = graphchecks.elements_of
    assert e("node-2: the node and its 4 pods answer, source IP kept", TUNNEL) == ["node-node-2"]
    assert e("pod MTU on node-1: pod-1-1 -> pod-3-1", TUNNEL) == ["node-node-1", "pod-pod-1-1", "pod-pod-3-1"]
    assert e("pod on every node -> ClusterIP Service web", TUNNEL) == ["svc-web"]
    assert e("ClientIP affinity of web-sticky (9 clients x 4 requests)", TUNNEL) == ["svc-web-sticky"]
    assert e("pod -> ClusterIP Service udp (UDP)", TUNNEL) == ["svc-udp"]
    assert e("ECS -> NodePort 30080 (web-np) on every node", TUNNEL) == ["host-ecs", "svc-web-np"]
    assert e("ECS -> pod IP", TUNNEL) == ["host-ecs"]
    assert e("ECS -> private ELB 192.168.0.253:8081 (web-elb)", TUNNEL) == ["host-ecs", "host-elb", "svc-web-elb"]
    assert e("Internet -> EIP of node-1 203.0.113.101:30080", TUNNEL) == [
        "host-client",
        "eip-203.0.113.101",
        "node-node-1",
    ]
    assert e("Internet -> DNAT 203.0.113.10:9000 -> node-1:30090", TUNNEL) == [
        "host-nat-gateway",
        "host-client",
        "eip-203.0.113.10",
        "node-node-1",
    ]
    assert e("pod on node-2 -> Internet (via NAT gateway SNAT): source seen", TUNNEL) == [
        "host-nat-gateway",
        "host-server",
        "host-internet",
        "node-node-2",
    ]
    assert e("pod -> intranet server 192.168.1.10: source seen", TUNNEL) == ["host-intranet"]
    assert e("peer VPC -> NodePort node-3:30080", TUNNEL) == ["host-peer", "node-node-3"]


def test_a_dotted_host_name_or_a_longer_name_is_not_a_match() -> None:
    assert graphchecks.elements_of("Internet -> Ingress http://web.example.com/", TUNNEL) == ["host-elb", "host-client"]
    assert graphchecks.elements_of("node-10: the node and its pods answer", TUNNEL) == []


def test_two_nodes_name_the_tunnel_or_the_routes_between_them() -> None:
    scenario = "encapsulation on the wire, node-1 -> node-3"
    assert graphchecks.elements_of(scenario, TUNNEL) == ["node-node-1", "node-node-3", "vxlan-node-1--node-3"]
    assert graphchecks.elements_of(scenario, VPC) == [
        "node-node-1",
        "node-node-3",
        "route-172.16.0.0_25",
        "route-172.16.1.0_25",
    ]


def test_a_failing_row_blames_what_its_detail_names() -> None:
    nodeport = row("ECS -> NodePort 30080 (web-np) on every node", False, "node-2: timed out; node-3: refused")
    assert graphchecks.blamed(nodeport, TUNNEL) == ["node-node-2", "node-node-3"]
    coverage = row(
        "node-3: the node and its 3 pods answer, source IP kept",
        False,
        "from pod-1-1 (172.16.0.1): pod-3-2 172.16.0.33: timed out; web-3 saw 192.168.0.2, not pod-1-1's 172.16.0.1",
    )
    assert graphchecks.blamed(coverage, TUNNEL) == ["pod-pod-3-2", "pod-web-3"]  # not the client pod-1-1
    spread = row("ECS -> private ELB 192.168.0.253:8081 (web-elb)", False, "40 requests; never reached: node-2, node-3")
    assert graphchecks.blamed(spread, TUNNEL) == ["node-node-2", "node-node-3"]
    assert graphchecks.blamed(row("x", True, "node-2: timed out"), TUNNEL) == []  # a passing row blames nothing
    affinity = row(
        "ClientIP affinity of web-sticky (9 clients x 4 requests)",
        False,
        "pod-1-1 -> web-1; pod-2-2 -> no answer; node-1 -> web-1; node-3 -> web-3",
    )
    assert graphchecks.blamed(affinity, TUNNEL) == ["pod-pod-2-2"]  # the clients that were fine are not blamed


def test_colours_follow_the_rows() -> None:
    report = CheckReport(
        "tunnel",
        "tunnel",
        "ovs-userspace",
        [
            row("node-1: the node and its 4 pods answer, source IP kept"),
            row("node-2: the node and its 4 pods answer, source IP kept", ok=False),
            row("pod MTU on node-2: pod-2-1 -> pod-1-1"),
            row("ECS -> NodePort 30080 (web-np) on every node", False, "node-3: refused"),
            row("pod on every node -> ClusterIP Service web"),
        ],
    )
    states = graphchecks.states(report, TUNNEL)
    assert states["node-node-1"] == "ok"
    assert states["node-node-2"] == "fail"  # a passing row naming it does not make it green again
    assert states["node-node-3"] == "fail" and states["svc-web-np"] == "fail" and states["host-ecs"] == "fail"
    assert states["svc-web"] == "ok" and states["pod-pod-2-1"] == "ok"
    assert "host-peer" not in states  # no row names it: uncoloured
    rows = graphchecks.rows(report, TUNNEL)
    assert [r["ok"] for r in rows] == [True, False, True, False, True]
    assert rows[3]["elements"] == ["host-ecs", "svc-web-np", "node-node-3"]


def test_collapsed_pods_map_to_their_nodes_box() -> None:
    big = make_plan(load(ROOT / "topologies/scale.py", {"nodes": "12", "pods": "10"}))
    assert graphchecks.elements_of("pod MTU on node-12: pod-12-1 -> pod-1-1", big) == [
        "node-node-12",
        "pods-node-12",
        "pods-node-1",
    ]
