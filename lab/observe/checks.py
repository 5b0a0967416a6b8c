"""Connectivity checks of a running lab against CCE's expected behaviour, each row proving its verdict.

Each row names a scenario, what the model should do (DESIGN.md "Access
scenarios"), what the probes saw, and whether the two match. "Reachable"
rows prove who answered (a socket inside the target namespace) and, for pod
to pod, that the far end saw the client pod's own IP (IP-per-pod, no NAT).
"Blocked" rows need a positive control over the same path. Every node and
every pod is covered: one row per node probes all of its pods, concurrently.
"""

from __future__ import annotations

from collections.abc import Iterator

from lab.apply import surroundings
from lab.errors import LabError
from lab.kernel import links
from lab.observe import access, capture, elbhealth, netpol, probe, verdicts
from lab.observe import ping as pings
from lab.observe.parallel import parallel
from lab.observe.results import BLOCKED, REACHABLE, CheckReport, CheckResult, controlled
from lab.plan.model import Node, Plan, Pod
from lab.progress import Progress, quiet


def _reach(scenario: str, expected: str, outcome: probe.Outcome, source: str | None = None) -> CheckResult:
    """Reachable needs the probe through (and, with `source`, that address seen); a probe error proves nothing."""
    if outcome.error:
        actual = "probe error"
    elif not outcome.ok:
        actual = BLOCKED
    elif source and outcome.source != source:
        actual = f"reachable, but it saw {outcome.source} (NAT)"
    else:
        actual = REACHABLE
    return CheckResult(scenario, expected, actual, outcome.detail, source=outcome.source)


def _pairs(plan: Plan) -> dict[str, tuple[str, str, str, str | None]]:
    """The endpoints each core scenario uses: (source netns, target netns, target IP, source IP it must arrive from)."""
    n1, n2 = plan.nodes[0], plan.nodes[-1]
    p1 = plan.pods_on(n1.name)
    remote = plan.pods_on(n2.name) if n2 is not n1 else []
    pairs: dict[str, tuple[str, str, str, str | None]] = {}
    if len(p1) >= 2:
        pairs["pod -> pod, same node"] = (p1[0].netns, p1[1].netns, p1[1].ip, p1[0].ip)
    if p1 and remote:
        pairs["pod -> pod, other node"] = (p1[0].netns, remote[0].netns, remote[0].ip, p1[0].ip)
    if remote:
        pairs["node -> pod, other node"] = (n1.netns, remote[0].netns, remote[0].ip, None)
    if p1:
        pairs["node -> pod, same node"] = (n1.netns, p1[0].netns, p1[0].ip, None)
    if n2 is not n1:
        pairs["node -> node"] = (n1.netns, n2.netns, n2.ip, n1.ip)
    ecs = plan.host("ecs")
    target = (remote or p1)[:1]
    if ecs:  # the positive control: a blocked pod IP must not just be a dead ECS
        pairs["ECS -> node IP"] = (ecs.netns, n2.netns, n2.ip, ecs.ip)
    if ecs and target:
        pairs["ECS -> pod IP"] = (ecs.netns, target[0].netns, target[0].ip, ecs.ip)
    return pairs


def expected_reach(plan: Plan, scenario: str) -> str:
    if scenario == "ECS -> pod IP":
        return REACHABLE if plan.model == "vpc" else BLOCKED
    return REACHABLE


def _beyond_the_router(plan: Plan) -> tuple[str, str, str]:
    """The positive control of a blocked ECS -> pod IP: (netns, ip, what) of a host the ECS reaches through the
    VPC router's routing (intranet or peer host), or else the router itself, the hop the blocked packet takes."""
    host = plan.host("intranet-server") or plan.host("peer-host")
    if host:
        return host.netns, host.ip, f"through the VPC router to {host.name}"
    return plan.router.netns, plan.router.ip, "to the VPC router, the ECS's gateway"


def _pair(plan: Plan, scenario: str, src: str, dst_ns: str, dst_ip: str, source: str | None) -> list[CheckResult]:
    expected = expected_reach(plan, scenario)
    icmp = _reach(f"{scenario} (ICMP)", expected, probe.ping(src, dst_ip))
    tcp = _reach(f"{scenario} (TCP)", expected, probe.tcp(src, dst_ns, dst_ip), source)
    if expected == BLOCKED:  # the same source must get through the VPC router meanwhile
        ns, ip, what = _beyond_the_router(plan)
        seen = probe.tcp(src, ns, ip)
        text = f"{what}: {seen.detail.split(',')[0]}"
        icmp, tcp = (controlled(r, seen.ok, text) for r in (icmp, tcp))
    return [icmp, tcp]


def _core(plan: Plan) -> Iterator[CheckResult]:
    """The pairs at once: on a broken lab each lost probe waits out its timeout, and they need not queue."""
    for rows in parallel(list(_pairs(plan).items()), lambda item: _pair(plan, item[0], *item[1])):
        yield from rows


POD_PROBES_PER_NODE = 4
# The one-byte-over ping waits out its 1 s timeout even after the kernel refused it: sleeping `ping`
# processes, so many at a time.
MTU_WORKERS = 64
MTU_RETRIES = 2  # more echoes of the largest packet before a row says it does not cross


def _client_for(plan: Plan, node: Node) -> Pod | None:
    """A pod on another node (a node's pods are checked across the wire), else on the same node."""
    others = [p for p in plan.pods if p.node != node.name]
    return (others or plan.pods_on(node.name) or [None])[0]


def _node_coverage(plan: Plan, node: Node) -> CheckResult:
    """Every pod on `node` answers as itself and sees the client's own IP; the node answers too."""
    pods = plan.pods_on(node.name)
    client = _client_for(plan, node)
    scenario = f"{node.name}: the node and its {len(pods)} pods answer, source IP kept"
    if client is None:
        outcome = probe.tcp(plan.router.netns, node.netns, node.ip)
        return CheckResult(
            scenario, REACHABLE, REACHABLE if outcome.ok else BLOCKED, f"no pods; node: {outcome.detail}"
        )
    problems = []
    isolated = netpol.isolated_from(plan, client, pods)  # NetworkPolicy keeps the client out: their own rows
    pods = [p for p in pods if p not in isolated]
    node_seen = probe.tcp(client.netns, node.netns, node.ip)
    if not node_seen.ok:
        problems.append(f"{node.name} {node.ip}: {node_seen.detail}")
    # a few at a time: a dead node's pods wait out their timeouts together (nodes already run in parallel)
    answers = parallel(pods, lambda pod: probe.http(client.netns, pod.ip, pod.port), workers=POD_PROBES_PER_NODE)
    for pod, res in zip(pods, answers, strict=True):
        if res.answered_by != pod.name:
            problems.append(f"{pod.name} {pod.ip}: {res.detail if not res.ok else 'answered by ' + res.answered_by}")
        elif res.source != client.ip:
            problems.append(f"{pod.name} saw {res.source}, not {client.name}'s {client.ip}")
    actual = REACHABLE if not problems else f"{len(problems)} failed"
    detail = f"from {client.name} ({client.ip}): " + ("; ".join(problems[:4]) or "all answered as themselves")
    if isolated:
        detail += f"; {', '.join(p.name for p in isolated)}: NetworkPolicy rows"
    return CheckResult(scenario, REACHABLE, actual, detail, source=client.ip)


def _node_mtu(plan: Plan, node: Node) -> CheckResult | None:
    """The pods' link MTU is the plan's, and the largest DF packet crosses to a pod on the next node, no more."""
    pods = plan.pods_on(node.name)
    others = [p for p in plan.pods if p.node != node.name] or pods[1:]
    if not pods or not others:
        return None
    src, dst = pods[0], others[0]
    payload = plan.pod_mtu - 28  # IPv4 20 + ICMP 8
    try:
        mtus = {p.name: links.mtu(p.netns, "eth0") for p in pods}
    except OSError as exc:
        return CheckResult(f"pod MTU on {node.name}", str(plan.pod_mtu), "probe error", str(exc))
    fits = pings.ping(src.netns, dst.ip, size=payload, dont_fragment=True)
    for _ in range(MTU_RETRIES):  # one lost echo is no MTU (OVS re-opens a port whose MTU just changed)
        if fits.ok:
            break
        fits = pings.ping(src.netns, dst.ip, size=payload, dont_fragment=True)
    over = pings.ping(src.netns, dst.ip, size=payload + 1, dont_fragment=True)
    actual, detail = verdicts.mtu(fits.ok, over.ok, over.reason, mtus, plan.pod_mtu, fits.reason)
    return CheckResult(f"pod MTU on {node.name}: {src.name} -> {dst.name}", str(plan.pod_mtu), actual, detail)


def _encapsulation(plan: Plan) -> Iterator[CheckResult]:
    n1, n2 = plan.nodes[0], plan.nodes[-1]
    if n2 is n1 or not plan.pods_on(n1.name) or not plan.pods_on(n2.name):
        return
    src, dst = plan.pods_on(n1.name)[0], plan.pods_on(n2.name)[0]
    expected = "VXLAN (UDP 4789)" if plan.model == "tunnel" else "bare pod IPs"
    scenario = f"encapsulation on the wire, {n1.name} -> {n2.name}"
    try:
        frames = capture.capture_during(n1.netns, "eth0", lambda: probe.ping(src.netns, dst.ip), dst=dst.ip)
    except OSError as exc:
        yield CheckResult(scenario, expected, "capture failed", str(exc))
        return
    if not frames:
        yield CheckResult(scenario, expected, "nothing captured", f"no frame to {dst.ip} on {n1.name} eth0")
        return
    actual = "VXLAN (UDP 4789)" if frames[0].vxlan else "bare pod IPs"
    yield CheckResult(scenario, expected, actual, f"{n1.name} eth0: {frames[0].summary}")


def _security_group(plan: Plan) -> Iterator[CheckResult]:
    """The intranet server's security group allows exactly what the plan says (nobody changed it unseen)."""
    if not plan.host("intranet-server"):
        return
    expected = ", ".join(sorted(plan.edge.intranet_allow))
    try:
        actual, detail = ", ".join(surroundings.allowed_sources(plan)), "nft set inet cce_sg allowed"
    except LabError as exc:
        actual, detail = "unreadable", str(exc)
    yield CheckResult("intranet security group as planned", expected, actual, detail)


def run_checks(plan: Plan, progress: Progress = quiet) -> CheckReport:
    """Run every check that the lab's shape allows, in a fixed order."""
    progress("core scenarios")
    results: list[CheckResult] = list(_core(plan))
    progress(f"every node and pod ({len(plan.nodes)} nodes, {len(plan.pods)} pods)")
    results += parallel(plan.nodes, lambda n: _node_coverage(plan, n))
    progress("pod MTU on every node")
    results += [r for r in parallel(plan.nodes, lambda n: _node_mtu(plan, n), workers=MTU_WORKERS) if r]
    results.extend(_encapsulation(plan))
    results.extend(_security_group(plan))
    results.extend(access.run(plan, progress))
    if plan.network_policies:
        progress(f"NetworkPolicy ({len(plan.network_policies)} policies)")
        results.extend(netpol.run(plan))
    progress("ELB health checks")
    results += elbhealth.run(plan)
    for r in results:
        r.model = plan.model
    return CheckReport(name=plan.name, model=plan.model, datapath=plan.datapath, results=results)
