"""Expected results per model, CheckResult.ok, the check document, and the rich rendering of plans and checks."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lab import documents
from lab.observe.checks import _pairs, expected_reach
from lab.observe.results import CheckReport, CheckResult
from lab.plan import Plan, make_plan
from lab.render import ovs
from lab.report.tables import print_checks, print_plan, print_side_by_side
from lab.spec import build_spec

SCENARIOS = [
    "pod -> pod, same node",
    "pod -> pod, other node",
    "node -> pod, other node",
    "node -> pod, same node",
    "node -> node",
]


def _plan(name: str, model: str, **overrides: object) -> Plan:
    return make_plan(build_spec({"name": name, "model": model, "ecs": True, **overrides}), ovs_kernel_available=False)


def _report(results: list[CheckResult]) -> CheckReport:
    return CheckReport("tun", "tunnel", "ovs-userspace", results)


def _console() -> Console:
    return Console(record=True, width=200, color_system=None)


def _line_with(text: str, needle: str) -> str:
    (line,) = [ln for ln in text.splitlines() if needle in ln]
    return line


# ------------------------------------------------------------ expectations


@pytest.mark.parametrize(
    ("model", "scenario", "expected"),
    [
        pytest.param("tunnel", "ECS -> pod IP", "blocked", id="tunnel-ecs-blocked"),
        pytest.param("vpc", "ECS -> pod IP", "reachable", id="vpc-ecs-reachable"),
        *[pytest.param(m, s, "reachable", id=f"{m}-{s}") for m in ("tunnel", "vpc") for s in SCENARIOS],
    ],
)
def test_expected_reach(model: str, scenario: str, expected: str) -> None:
    assert expected_reach(_plan("x", model), scenario) == expected


def test_pairs_cover_the_access_scenarios() -> None:
    plan = _plan("x", "tunnel", nodes=3, pods_per_node=2)
    pairs = _pairs(plan)
    assert set(pairs) == {*SCENARIOS, "ECS -> pod IP", "ECS -> node IP"}
    ecs = plan.host("ecs")
    assert ecs
    assert pairs["ECS -> node IP"] == ("x-ecs", "x-node-3", plan.node("node-3").ip, ecs.ip)
    # the ECS aims at a pod on another node than the probes' first node
    assert pairs["ECS -> pod IP"] == ("x-ecs", "x-pod-3-1", plan.pods_on("node-3")[0].ip, ecs.ip)
    # pod to pod must arrive from the client pod's own IP (no NAT); node to pod from wherever the node sends
    assert pairs["pod -> pod, other node"] == ("x-pod-1-1", "x-pod-3-1", plan.pods_on("node-3")[0].ip, plan.pods[0].ip)
    assert pairs["node -> pod, same node"][3] is None
    assert pairs["node -> node"] == ("x-node-1", "x-node-3", plan.node("node-3").ip, plan.node("node-1").ip)


@pytest.mark.parametrize(
    ("overrides", "present", "absent"),
    [
        pytest.param(
            {"nodes": 1, "pods_per_node": 2},
            {"pod -> pod, same node", "node -> pod, same node", "ECS -> pod IP"},
            {"pod -> pod, other node", "node -> node", "node -> pod, other node"},
            id="single-node",
        ),
        pytest.param(
            {"nodes": 2, "pods_per_node": 1, "ecs": False},
            {"pod -> pod, other node", "node -> node"},
            {"pod -> pod, same node", "ECS -> pod IP", "ECS -> node IP"},
            id="one-pod-per-node-no-ecs",
        ),
    ],
)
def test_pairs_follow_the_lab_shape(overrides: dict, present: set[str], absent: set[str]) -> None:
    pairs = _pairs(_plan("x", "vpc", **overrides))
    assert present <= set(pairs)
    assert not absent & set(pairs)


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        pytest.param("reachable", "reachable", True, id="reachable-as-expected"),
        pytest.param("blocked", "blocked", True, id="blocked-as-expected"),
        pytest.param("blocked", "reachable", False, id="leak"),
        pytest.param("reachable", "blocked", False, id="broken"),
        pytest.param("reachable", "unreachable", False, id="substring-is-not-equal"),
        pytest.param("1450", "1450", True, id="mtu"),
        pytest.param("1450", "larger", False, id="mtu-larger"),
        pytest.param("VXLAN (UDP 4789)", "nothing captured", False, id="no-capture"),
    ],
)
def test_result_ok(expected: str, actual: str, ok: bool) -> None:
    result = CheckResult("s", expected, actual, "d")
    assert result.ok is ok
    assert documents.dump(result) == {
        "scenario": "s",
        "expected": expected,
        "actual": actual,
        "detail": "d",
        "source": "",
        "answered_by": "",
        "model": "",
        "ok": ok,
    }


def test_check_report_round_trips() -> None:
    report = _report([CheckResult("s", "reachable", "blocked", "d", source="10.0.0.1")])
    data = documents.dump(report)
    assert data["schema_version"] == 1
    assert documents.load(CheckReport, data) == report
    assert not documents.load(CheckReport, data).ok


# ---------------------------------------------------------------- rendering

RESULTS = [
    CheckResult("pod -> pod, other node (ICMP)", "reachable", "reachable", "ICMP reply in 0.081 ms"),
    CheckResult("ECS -> pod IP (ICMP)", "blocked", "blocked", "no reply within 1 s"),
    CheckResult(
        "ECS -> pod IP (TCP)", "blocked", "reachable", "TCP 172.16.0.32:41000 echoed, server saw 192.168.0.254:1"
    ),
]


@pytest.mark.parametrize(
    ("results", "passed", "failed"),
    [
        pytest.param(RESULTS, 2, 1, id="mixed"),
        pytest.param(RESULTS[:2], 2, 0, id="all-pass"),
        pytest.param(RESULTS[2:], 0, 1, id="all-fail"),
        pytest.param([], 0, 0, id="none"),
    ],
)
def test_print_checks(results: list[CheckResult], passed: int, failed: int) -> None:
    console = _console()
    print_checks(console, _report(results))
    text = console.export_text()
    assert "tun (tunnel model, datapath ovs-userspace)" in text
    assert f"{passed} passed, {failed} failed" in text
    assert text.count("PASS") == passed
    assert text.count("FAIL") == failed
    for r in results:
        line = _line_with(text, r.scenario)
        assert r.detail in line
        assert ("PASS" if r.ok else "FAIL") in line


def test_print_checks_renders_real_vxlan_detail() -> None:
    detail = "node-1 eth0: UDP 192.168.0.2:41234 > 192.168.0.4:4789 VXLAN vni 1 [ICMP 172.16.0.1 > 172.16.0.32]"
    console = _console()
    print_checks(console, _report([CheckResult("encapsulation", "VXLAN (UDP 4789)", "VXLAN (UDP 4789)", detail)]))
    assert detail in console.export_text()


@pytest.mark.parametrize(
    "detail",
    [
        pytest.param(
            "eth0: UDP 192.168.0.2:1 > 192.168.0.4:4789 VXLAN vni 1 [proto 132 10.0.0.1 > 10.0.0.2]", id="tag"
        ),
        pytest.param("server said [/x]", id="closing-tag"),
    ],
)
def test_print_checks_renders_detail_verbatim(detail: str) -> None:
    console = _console()
    print_checks(console, _report([CheckResult("encapsulation", "a", "a", detail)]))
    assert detail in console.export_text()


def test_print_plan_tunnel() -> None:
    plan = _plan("tun", "tunnel", pods_per_node=[20, 2, 2])
    console = _console()
    print_plan(console, plan)
    text = console.export_text()
    assert "tun: tunnel model, datapath ovs-userspace, pod MTU 1450 (underlay 1500)" in text
    assert "192.168.0.0/24 (gateway 192.168.0.1)" in text
    assert "172.16.0.0/16 (4096 blocks of 16)" in text
    assert "10.247.0.0/16" in text
    binding = _line_with(text, "binds")
    assert "node_subnet 192.168.0.0/24" in binding
    assert "252" in binding  # 254 hosts - gateway - ECS
    assert "max nodes: 252" in text
    assert "blocks used 4/4096" in text
    node1 = _line_with(text, "tun-node-1 ")
    assert "192.168.0.2" in node1
    assert "172.16.0.0/28, 172.16.0.48/28" in node1
    assert "(+16)" in node1  # 20 pods, 4 shown
    assert "tun-ecs" in text
    assert "tun-vpc" in text
    assert "VPC route table" not in text
    assert "br-int flows" not in text


def test_print_plan_vpc_route_table() -> None:
    plan = _plan("vpc", "vpc")
    console = _console()
    print_plan(console, plan)
    text = console.export_text()
    assert "vpc: vpc model, datapath routed, pod MTU 1500 (underlay 1500)" in text
    assert "VPC route table (3 routes)" in text
    routes = [ln for ln in text.splitlines() if ln.endswith(" pod block │")]
    expected = [("172.16.0.0/25", "192.168.0.2"), ("172.16.0.128/25", "192.168.0.3"), ("172.16.1.0/25", "192.168.0.4")]
    assert len(routes) == len(expected)
    for line, (block, via) in zip(routes, expected, strict=True):
        assert [cell.strip() for cell in line.split("│")][1:3] == [block, via]
    assert "route_quota" in _line_with(text, "binds")
    assert "max nodes: 200" in text


def test_print_plan_flows_verbatim() -> None:
    plan = _plan("tun", "tunnel", datapath="ovs-kernel")
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_plan(console, plan, flows=True)
    text = console.file.getvalue()
    for node in ("node-1", "node-2", "node-3"):
        assert f"{node} br-int flows:" in text
    # flows hold '[]' field syntax that must not be eaten as markup, and are not wrapped
    for line in ovs.flows(plan, plan.node("node-2")):
        assert line in text


def test_print_side_by_side() -> None:
    tunnel, vpc = _plan("tun", "tunnel"), _plan("vpc", "vpc")
    runs = [
        CheckReport(
            tunnel.name,
            tunnel.model,
            tunnel.datapath,
            [
                CheckResult("ECS -> pod IP (ICMP)", "blocked", "blocked", ""),
                CheckResult("pod -> pod, other node (ICMP)", "reachable", "blocked", ""),
                CheckResult("encapsulation on the wire", "VXLAN (UDP 4789)", "VXLAN (UDP 4789)", ""),
            ],
        ),
        CheckReport(
            vpc.name,
            vpc.model,
            vpc.datapath,
            [
                CheckResult("ECS -> pod IP (ICMP)", "reachable", "reachable", ""),
                CheckResult("pod -> pod, other node (ICMP)", "reachable", "reachable", ""),
                CheckResult("path MTU", "1500", "1500", ""),
            ],
        ),
    ]
    console = _console()
    print_side_by_side(console, runs)
    text = console.export_text()
    assert "Side by side" in text
    header = _line_with(text, "tun: tunnel / ovs-userspace")
    assert header.index("tun: tunnel / ovs-userspace") < header.index("vpc: vpc / routed")

    ecs = _line_with(text, "ECS -> pod IP (ICMP)")
    assert ecs.index("blocked PASS") < ecs.index("reachable PASS")
    pod = _line_with(text, "pod -> pod, other node (ICMP)")
    assert pod.index("blocked FAIL") < pod.index("reachable PASS")
    # a scenario only one lab ran shows '-' for the other
    encap = _line_with(text, "encapsulation on the wire")
    assert "VXLAN (UDP 4789) PASS" in encap
    assert encap.rstrip(" │").endswith("-")
    mtu = _line_with(text, "path MTU")
    assert mtu.index(" - ") < mtu.index("1500 PASS")
    # rows keep first-seen order across runs
    order = [text.index(s) for s in ("ECS -> pod IP (ICMP)", "pod -> pod, other", "encapsulation", "path MTU")]
    assert order == sorted(order)
