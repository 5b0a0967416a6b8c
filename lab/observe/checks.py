"""Connectivity checks of a running lab against CCE's expected behaviour.

Each check names a scenario, what the model should do (DESIGN.md "Access
scenarios"), what the probe saw, and whether the two match.
"""

from __future__ import annotations

from collections.abc import Iterator

from lab.observe import access, capture, probe
from lab.observe.results import BLOCKED, REACHABLE, CheckReport, CheckResult
from lab.plan.model import Plan
from lab.progress import Progress, quiet


def _reach(scenario: str, expected: str, outcome: probe.Outcome) -> CheckResult:
    return CheckResult(scenario, expected, REACHABLE if outcome.ok else BLOCKED, outcome.detail)


def _pairs(plan: Plan) -> dict[str, tuple[str, str, str]]:
    """The endpoints each scenario uses: (source netns, target netns, target IP)."""
    n1, n2 = plan.nodes[0], plan.nodes[-1]
    p1 = plan.pods_on(n1.name)
    remote = plan.pods_on(n2.name) if n2 is not n1 else []
    pairs: dict[str, tuple[str, str, str]] = {}
    if len(p1) >= 2:
        pairs["pod -> pod, same node"] = (p1[0].netns, p1[1].netns, p1[1].ip)
    if p1 and remote:
        pairs["pod -> pod, other node"] = (p1[0].netns, remote[0].netns, remote[0].ip)
    if remote:
        pairs["node -> pod, other node"] = (n1.netns, remote[0].netns, remote[0].ip)
    if p1:
        pairs["node -> pod, same node"] = (n1.netns, p1[0].netns, p1[0].ip)
    if n2 is not n1:
        pairs["node -> node"] = (n1.netns, n2.netns, n2.ip)
    ecs = plan.host("ecs")
    target = (remote or p1)[:1]
    if ecs:  # the positive control: a blocked pod IP must not just be a dead ECS
        pairs["ECS -> node IP"] = (ecs.netns, n2.netns, n2.ip)
    if ecs and target:
        pairs["ECS -> pod IP"] = (ecs.netns, target[0].netns, target[0].ip)
    return pairs


def expected_reach(plan: Plan, scenario: str) -> str:
    if scenario == "ECS -> pod IP":
        return REACHABLE if plan.model == "vpc" else BLOCKED
    return REACHABLE


def _mtu(plan: Plan) -> Iterator[CheckResult]:
    n1, n2 = plan.nodes[0], plan.nodes[-1]
    src = plan.pods_on(n1.name)[:1]
    dst = plan.pods_on(n2.name)[:1] if n2 is not n1 else plan.pods_on(n1.name)[1:2]
    if not src or not dst:
        return
    payload = plan.pod_mtu - 28  # IPv4 20 + ICMP 8
    fits = probe.ping(src[0].netns, dst[0].ip, size=payload, dont_fragment=True)
    over = probe.ping(src[0].netns, dst[0].ip, size=payload + 1, dont_fragment=True)
    largest = plan.pod_mtu if fits.ok and not over.ok else None
    yield CheckResult(
        "pod MTU: largest DF packet pod -> pod across nodes",
        str(plan.pod_mtu),
        str(largest) if largest else ("larger" if over.ok else "smaller"),
        f"{payload + 28} B passes: {fits.ok}; {payload + 29} B passes: {over.ok} ({over.detail})",
    )


def _encapsulation(plan: Plan) -> Iterator[CheckResult]:
    n1, n2 = plan.nodes[0], plan.nodes[-1]
    if n2 is n1 or not plan.pods_on(n1.name) or not plan.pods_on(n2.name):
        return
    src, dst = plan.pods_on(n1.name)[0], plan.pods_on(n2.name)[0]
    tunnel = plan.model == "tunnel"
    expected = "VXLAN (UDP 4789)" if tunnel else "bare pod IPs"
    try:
        frames = capture.capture_during(n1.netns, "eth0", lambda: probe.ping(src.netns, dst.ip), dst=dst.ip)
    except OSError as exc:
        yield CheckResult(f"encapsulation on the wire, {n1.name} -> {n2.name}", expected, "capture failed", str(exc))
        return
    if not frames:
        actual, detail = "nothing captured", f"no frame to {dst.ip} on {n1.name} eth0"
    else:
        actual = "VXLAN (UDP 4789)" if frames[0].vxlan else "bare pod IPs"
        detail = f"{n1.name} eth0: {frames[0].summary}"
    yield CheckResult(f"encapsulation on the wire, {n1.name} -> {n2.name}", expected, actual, detail)


def run_checks(plan: Plan, progress: Progress = quiet) -> CheckReport:
    """Run every check that the lab's shape allows, in a fixed order."""
    results: list[CheckResult] = []
    for scenario, (src, dst_ns, dst_ip) in _pairs(plan).items():
        expected = expected_reach(plan, scenario)
        progress(scenario)
        results.append(_reach(f"{scenario} (ICMP)", expected, probe.ping(src, dst_ip)))
        results.append(_reach(f"{scenario} (TCP)", expected, probe.tcp(src, dst_ns, dst_ip)))
    results.extend(_mtu(plan))
    results.extend(_encapsulation(plan))
    results.extend(access.run(plan, progress))
    for r in results:
        r.model = plan.model
    return CheckReport(name=plan.name, model=plan.model, datapath=plan.datapath, results=results)
