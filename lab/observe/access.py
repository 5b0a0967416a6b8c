"""The access scenarios of CCE's guide, checked through Services, ELB, NAT gateway, EIPs, Ingress.

Every probe is a real HTTP or UDP exchange with the netexec server in a pod
(or the Internet / intranet server), so each row can say which pod answered
and which source address arrived (DESIGN.md "Access scenarios").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from lab.apply import changes
from lab.observe import probe
from lab.observe.results import BLOCKED, REACHABLE, CheckResult
from lab.plan.cluster import POD_GATEWAY
from lab.plan.model import Plan, ServicePlan
from lab.plan.services import INGRESS_PORT
from lab.progress import Progress, quiet
from lab.spec import WORKLOAD_PORT

SPREAD_REQUESTS = 60
AFFINITY_REQUESTS = 12
# A Service without endpoints is REJECTed: the client gets "connection refused" instead of
# hanging until its timeout. The node's per-host ICMP rate limit (net.ipv4.icmp_ratelimit) may
# swallow the first refusal, so one SYN retransmission (1 s) is allowed for.
REFUSED_WITHIN = 2.0
NODE_SIDE = "a node-side address (client IP lost)"


def _row(scenario: str, expected: str, res: probe.Http, workload: str | None = None) -> CheckResult:
    """Reachable means HTTP 200 from the expected workload (any pod of it)."""
    ok = res.ok and (workload is None or res.answered_by.startswith(f"{workload}-") or res.answered_by == workload)
    actual = REACHABLE if ok else BLOCKED
    return CheckResult(scenario, expected, actual, res.detail, source=res.source, answered_by=res.answered_by)


def _first(plan: Plan, kind: str) -> ServicePlan | None:
    return next((s for s in plan.services if s.type == kind and s.endpoints and s.protocol == "TCP"), None)


def _cluster_ip(plan: Plan) -> Iterator[CheckResult]:
    svc = next((s for s in plan.services if s.endpoints and s.protocol == "TCP" and s.session_affinity == "None"), None)
    if not svc or not plan.pods:
        return
    pod, node = plan.first_plain_pod(), plan.nodes[0]
    assert pod
    wl = svc.workload
    yield _row(f"pod -> ClusterIP Service {svc.name}", REACHABLE, probe.http(pod.netns, svc.cluster_ip, svc.port), wl)
    yield _row(f"node -> ClusterIP Service {svc.name}", REACHABLE, probe.http(node.netns, svc.cluster_ip, svc.port), wl)
    counts = Counter(probe.http(pod.netns, svc.cluster_ip, svc.port).answered_by for _ in range(SPREAD_REQUESTS))
    endpoints = {e.pod for e in svc.endpoints}
    share = SPREAD_REQUESTS / len(endpoints)
    even = set(counts) == endpoints and max(counts.values()) <= 2 * share
    yield CheckResult(
        f"load spreading over {svc.name}'s {len(endpoints)} endpoints ({SPREAD_REQUESTS} requests)",
        "every endpoint, none over 2x its share",
        "every endpoint, none over 2x its share" if even else "uneven",
        ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(counts.items())),
    )
    sticky = next((s for s in plan.services if s.session_affinity == "ClientIP" and len(s.endpoints) > 1), None)
    if sticky:
        seen = Counter(
            probe.http(pod.netns, sticky.cluster_ip, sticky.port).answered_by for _ in range(AFFINITY_REQUESTS)
        )
        yield CheckResult(
            f"ClientIP affinity of {sticky.name} ({AFFINITY_REQUESTS} requests)",
            "one endpoint",
            "one endpoint" if len(seen) == 1 and "" not in seen else f"{len(seen)} endpoints",
            ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(seen.items())),
        )
    empty = next((s for s in plan.services if not s.endpoints and s.protocol == "TCP"), None)
    if empty:
        res = probe.http(pod.netns, empty.cluster_ip, empty.port, timeout=3)
        fast = res.status is None and res.seconds < REFUSED_WITHIN and "refused" in res.detail.lower()
        yield CheckResult(
            f"Service {empty.name} without endpoints",
            "refused, no hang",
            "refused, no hang" if fast else (res.detail if res.status is None else f"HTTP {res.status}"),
            f"{res.detail} in {res.seconds * 1000:.0f} ms",
        )
    udp = next((s for s in plan.services if s.protocol == "UDP" and s.endpoints), None)
    if udp:
        out = probe.udp(pod.netns, udp.cluster_ip, udp.port)
        yield CheckResult(
            f"pod -> ClusterIP Service {udp.name} (UDP)",
            REACHABLE,
            REACHABLE if out.ok and out.detail.startswith(udp.workload) else BLOCKED,
            f"answered by {out.detail}" if out.ok else out.detail,
            answered_by=out.detail if out.ok else "",
        )


def _from_vpc(plan: Plan) -> Iterator[CheckResult]:
    ecs = plan.host("ecs")
    np = next((s for s in plan.services if s.node_port and s.endpoints and s.protocol == "TCP"), None)
    if ecs and np:
        node = plan.nodes[-1]
        res = probe.http(ecs.netns, node.ip, np.node_port)
        yield _row(f"ECS -> NodePort {node.name}:{np.node_port}", REACHABLE, res, np.workload)
    lb = _first(plan, "LoadBalancer")
    if ecs and lb:
        yield _row(
            f"ECS -> private ELB {lb.vip}:{lb.port}", REACHABLE, probe.http(ecs.netns, lb.vip, lb.port), lb.workload
        )


def _from_internet(plan: Plan) -> Iterator[CheckResult]:
    client = plan.host("internet-client")
    if not client:
        return
    np = next((s for s in plan.services if s.node_port and s.endpoints and s.protocol == "TCP"), None)
    for node_name, eip in plan.node_eips.items():
        if np:
            res = probe.http(client.netns, eip, np.node_port)
            yield _row(f"Internet -> EIP of {node_name} {eip}:{np.node_port}", REACHABLE, res, np.workload)
    for svc in (s for s in plan.services if s.type == "LoadBalancer" and s.endpoints):
        res = probe.http(client.netns, svc.eip, svc.port)
        row = _row(
            f"Internet -> ELB EIP {svc.eip}:{svc.port} ({svc.external_traffic_policy})", REACHABLE, res, svc.workload
        )
        yield row
        if res.ok:
            local = svc.external_traffic_policy == "Local"
            expected = f"client IP {client.ip}" if local else NODE_SIDE
            node_side = {n.ip for n in plan.nodes} | {POD_GATEWAY}  # masqueraded on the way: node or its bridge
            actual = (
                f"client IP {client.ip}"
                if res.source == client.ip
                else NODE_SIDE
                if res.source in node_side
                else f"other: {res.source}"
            )
            yield CheckResult(
                f"source IP seen by the pod, externalTrafficPolicy {svc.external_traffic_policy}",
                expected,
                actual,
                f"{svc.name}: pod {res.answered_by} saw {res.source}",
                source=res.source,
                answered_by=res.answered_by,
            )
    for svc in (s for s in plan.services if s.type == "DNAT" and s.endpoints):
        for rule in svc.dnat:
            res = probe.http(client.netns, rule.eip, rule.eip_port)
            row = _row(
                f"Internet -> DNAT {rule.eip}:{rule.eip_port} -> {rule.node}:{rule.node_port}",
                REACHABLE,
                res,
                svc.workload,
            )
            # Cluster policy: the node the rule names masquerades, so the pod sees that node (or its bridge)
            if res.ok and svc.external_traffic_policy == "Cluster" and res.source not in (rule.node_ip, POD_GATEWAY):
                row.actual = f"via another node ({res.source})"
            yield row
    for ing in plan.ingresses:
        svc = plan.service(ing.service)
        assert svc
        path = ing.path.rstrip("/") + "/whoami"
        # nginx takes its upstream nodes in turn: one request per node, and each must be answered
        tries = [
            probe.http(client.netns, ing.address, INGRESS_PORT, path=path, host=ing.host)
            for _ in range(len(plan.nodes) + 1)
        ]
        res = next((t for t in tries if not t.ok), tries[-1])
        row = _row(f"Internet -> Ingress http://{ing.host}{ing.path}", REACHABLE, res, svc.workload)
        xff = res.data.get("xff") or ""
        if res.ok and client.ip not in xff:
            row = CheckResult(row.scenario, REACHABLE, "no X-Forwarded-For", f"X-Forwarded-For: {xff!r}")
        elif res.ok:
            row.detail += f", X-Forwarded-For: {xff}"
        yield row
    if plan.ingresses:
        res = probe.http(client.netns, plan.ingresses[0].address, INGRESS_PORT, path="/", host="unknown.example.com")
        yield CheckResult("Internet -> Ingress, unknown host", "404", str(res.status or "no answer"), res.detail)


def _egress(plan: Plan) -> Iterator[CheckResult]:
    """Pods reaching out: which source address the far end sees."""
    server, natgw = plan.host("internet-server"), plan.host("nat-gateway")
    snat = natgw.eip if natgw and plan.edge and plan.edge.snat else ""
    with_eip = next((n for n in plan.nodes if n.name in plan.node_eips), None)
    without = next((n for n in plan.nodes if n.name not in plan.node_eips), None)
    for node, eip, via in ((with_eip, "", "its node's EIP"), (without, snat, "NAT gateway SNAT")):
        eip = plan.node_eips.get(node.name, eip) if node else ""
        pods = plan.pods_on(node.name) if node else []
        if not server or not node or not eip or not pods:
            continue
        res = probe.http(pods[0].netns, server.ip, WORKLOAD_PORT)
        yield CheckResult(
            f"pod on {node.name} -> Internet ({via}): source seen",
            eip,
            res.source or "no answer",
            res.detail if not res.ok else f"server saw {res.source}",
            source=res.source,
        )
    intra = plan.host("intranet-server")
    if intra and plan.pods:
        pod = plan.pods[0]
        node = plan.node(pod.node)
        expected = node.ip if plan.model == "tunnel" else pod.ip
        res = probe.http(pod.netns, intra.ip, WORKLOAD_PORT)
        yield CheckResult(
            f"pod -> intranet server {intra.ip}: source seen",
            expected,
            res.source or "no answer",
            f"{'node IP' if plan.model == 'tunnel' else 'pod IP'} expected; {res.detail}",
            source=res.source,
        )
        assert plan.edge
        allowed = plan.edge.intranet_allow
        narrowed = [c for c in allowed if c != plan.container_cidr]
        if narrowed != allowed:
            with changes.security_group(plan, narrowed):
                res = probe.http(pod.netns, intra.ip, WORKLOAD_PORT, timeout=1)
            yield CheckResult(
                "security group without the container CIDR: pod -> intranet",
                BLOCKED if plan.model == "vpc" else REACHABLE,
                REACHABLE if res.ok else BLOCKED,
                f"allowed {', '.join(narrowed)}; {res.detail if not res.ok else 'saw ' + res.source}",
                source=res.source,
            )


def _peer(plan: Plan) -> Iterator[CheckResult]:
    peer = plan.host("peer-host")
    if not peer or not plan.pods:
        return
    pod = plan.pods[-1]
    res = probe.http(peer.netns, pod.ip, pod.port)
    expected = REACHABLE if plan.model == "vpc" and plan.edge and plan.edge.peer_routes_containers else BLOCKED
    row = _row("peer VPC -> pod IP", expected, res)
    row.detail = f"{pod.name} {pod.ip}: {row.detail}"
    yield row
    np = next((s for s in plan.services if s.node_port and s.endpoints and s.protocol == "TCP"), None)
    if np:
        node = plan.nodes[0]
        yield _row(
            f"peer VPC -> NodePort {node.name}:{np.node_port}",
            REACHABLE,
            probe.http(peer.netns, node.ip, np.node_port),
            np.workload,
        )


def run(plan: Plan, progress: Progress = quiet) -> list[CheckResult]:
    results: list[CheckResult] = []
    for title, part in (
        ("Services", _cluster_ip),
        ("from the VPC", _from_vpc),
        ("from the Internet", _from_internet),
        ("egress", _egress),
        ("peer VPC", _peer),
    ):
        progress(title)
        results.extend(part(plan))
    return results
