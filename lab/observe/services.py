"""Services from inside the cluster: ClusterIP from a pod on every node, spreading, ClientIP affinity,
no endpoints, UDP. Each request is a real HTTP or UDP exchange with a pod's netexec server, so a row
knows which pod answered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial

from lab.observe import counters, probe, verdicts
from lab.observe.parallel import parallel
from lab.observe.results import BLOCKED, REACHABLE, CheckResult
from lab.plan.model import Plan, Pod, ServicePlan

# A Service without endpoints is REJECTed: the client gets "connection refused" instead of
# hanging until its timeout. The node's per-host ICMP rate limit (net.ipv4.icmp_ratelimit) may
# swallow the first refusal, so one SYN retransmission (1 s) is allowed for.
REFUSED_WITHIN = 2.0
AFFINITY_REQUESTS = 4  # per client


def answered_by_workload(res: probe.Http, workload: str) -> bool:
    return res.ok and (res.answered_by.startswith(f"{workload}-") or res.answered_by == workload)


def http_row(scenario: str, expected: str, res: probe.Http, workload: str | None = None) -> CheckResult:
    """Reachable means HTTP 200 from the expected workload (any pod of it)."""
    ok = res.ok and (workload is None or answered_by_workload(res, workload))
    return CheckResult(scenario, expected, REACHABLE if ok else BLOCKED, res.detail, res.source, res.answered_by)


def served(plan: Plan) -> list[ServicePlan]:
    """TCP Services with endpoints whose targetPort is where the pods' HTTP server listens."""
    pods = {p.name: p for p in plan.pods}
    return [
        s
        for s in plan.services
        if s.protocol == "TCP" and s.endpoints and all(pods[e.pod].port == e.port for e in s.endpoints)
    ]


def one_pod_per_node(plan: Plan) -> list[Pod]:
    return [pods[0] for n in plan.nodes if (pods := plan.pods_on(n.name))]


def _from_every_node(plan: Plan, svc: ServicePlan) -> CheckResult:
    clients = one_pod_per_node(plan)
    answers = parallel(clients, lambda pod: probe.http(pod.netns, svc.cluster_ip, svc.port))
    failed = [
        f"from {pod.name} on {pod.node}: {res.detail}"
        for pod, res in zip(clients, answers, strict=True)
        if not answered_by_workload(res, svc.workload)
    ]
    return CheckResult(
        f"pod on every node -> ClusterIP Service {svc.name}",
        REACHABLE,
        REACHABLE if not failed else f"{len(failed)} of {len(clients)} nodes failed",
        "; ".join(failed[:3]) or f"{len(clients)} nodes: every request answered by {svc.workload}",
    )


def _spreading(plan: Plan, svc: ServicePlan, client: Pod) -> CheckResult:
    endpoints = [e.pod for e in svc.endpoints]
    n = verdicts.spread_requests(len(endpoints))

    def ask(_: int) -> str:
        # A request that gets no answer is sent again (from a new source port), up to 3 times: after a break,
        # the client's node still holds its failed connections' un-NATed conntrack entries (SYN_SENT, 120 s),
        # and a new connection that draws one of those ports is lost, on a real node too. A dead or starved
        # endpoint still shows, as a count the chi-square refuses; an answer from no endpoint is kept.
        for _attempt in range(3):
            res = probe.http(client.netns, svc.cluster_ip, svc.port, timeout=probe.BURST_TIMEOUT)
            if res.answered_by:
                return res.answered_by
        return ""

    counts = Counter(parallel(list(range(n)), ask))
    ok, detail = verdicts.spread(counts, endpoints)
    if counts[""] and (stale := _untranslated(plan, svc, client)):
        detail += f"; {stale}"
    expected = "uniform over every endpoint"
    return CheckResult(
        f"load spreading over {svc.name}'s {len(endpoints)} endpoints ({n} requests from {client.name})",
        expected,
        expected if ok else "skewed",
        detail,
    )


def _untranslated(plan: Plan, svc: ServicePlan, client: Pod) -> str:
    """What the client's node still tracks of connections to the ClusterIP that no rule DNATed (after a break
    they outlive the fix, and take later connections with them), with the command that forgets them."""
    node = plan.node(client.node)
    count = counters.untranslated_connections(node.netns, svc.cluster_ip)
    if not count:
        return ""
    forget = f"conntrack -D -p tcp --orig-dst {svc.cluster_ip} --reply-src {svc.cluster_ip}"
    return f"{node.name} tracks {count} connections to {svc.cluster_ip} that nothing DNATed ('{forget}' forgets them)"


def _affinity(plan: Plan, svc: ServicePlan) -> CheckResult:
    """Every client sticks to one endpoint; enough distinct clients that together they must use several."""
    clients = [(p.name, p.netns) for p in plan.pods if not p.workload]
    clients += [(n.name, n.netns) for n in plan.nodes]

    def ask(ns: str) -> Counter:
        seen: Counter = Counter()
        for _ in range(AFFINITY_REQUESTS):  # one after the other: the first request is what the next must stick to
            who = probe.http(ns, svc.cluster_ip, svc.port).answered_by
            seen[who] += 1
            if not who:  # lost: this client is not served, and the rest would only wait out their timeouts
                break
        return seen

    per_client = dict(zip((c[0] for c in clients), parallel([c[1] for c in clients], ask), strict=True))
    actual, detail = verdicts.affinity(per_client, len(svc.endpoints))
    needed = verdicts.affinity_clients(len(svc.endpoints))
    if len(clients) < needed:
        detail = f"only {len(clients)} clients (spread provable from {needed}); {detail}"
    return CheckResult(
        f"ClientIP affinity of {svc.name} ({len(clients)} clients x {AFFINITY_REQUESTS} requests)",
        "sticky and spread",
        actual,
        detail,
    )


def _node_to_service(plan: Plan, svc: ServicePlan) -> CheckResult:
    res = probe.http(plan.nodes[0].netns, svc.cluster_ip, svc.port)
    return http_row(f"node -> ClusterIP Service {svc.name}", REACHABLE, res, svc.workload)


def _no_endpoints(client: Pod, svc: ServicePlan) -> CheckResult:
    res = probe.http(client.netns, svc.cluster_ip, svc.port, timeout=3)
    fast = res.status is None and res.seconds < REFUSED_WITHIN and "refused" in res.detail.lower()
    return CheckResult(
        f"Service {svc.name} without endpoints",
        "refused, no hang",
        "refused, no hang" if fast else (res.detail if res.status is None else f"HTTP {res.status}"),
        f"{res.detail} in {res.seconds * 1000:.0f} ms",
    )


def _udp(client: Pod, svc: ServicePlan) -> CheckResult:
    out = probe.udp(client.netns, svc.cluster_ip, svc.port)
    return CheckResult(
        f"pod -> ClusterIP Service {svc.name} (UDP)",
        REACHABLE,
        REACHABLE if out.ok and out.detail.startswith(svc.workload) else BLOCKED,
        f"answered by {out.detail}" if out.ok else out.detail,
        answered_by=out.detail if out.ok else "",
    )


def run(plan: Plan) -> Iterator[CheckResult]:
    """Every Service row; the rows run at once (independent Services and clients), reported in a fixed order."""
    client = plan.first_plain_pod()
    if client is None:
        return
    targets = served(plan)
    rows: list[Callable[[], CheckResult]] = [partial(_from_every_node, plan, svc) for svc in targets]
    plain = next((s for s in targets if s.session_affinity == "None"), None)
    if plain:
        rows.append(partial(_node_to_service, plan, plain))
        if len(plain.endpoints) > 1:
            rows.append(partial(_spreading, plan, plain, client))
    sticky = next((s for s in targets if s.session_affinity == "ClientIP" and len(s.endpoints) > 1), None)
    if sticky:
        rows.append(partial(_affinity, plan, sticky))
    udp = next((s for s in plan.services if s.protocol == "UDP" and s.endpoints), None)
    if udp:
        rows.append(partial(_udp, client, udp))
    yield from parallel(rows, lambda row: row())
    empty = next((s for s in plan.services if not s.endpoints and s.protocol == "TCP"), None)
    if empty:  # timed (refused at once, not a hang): measured alone, not among the others' traffic
        yield _no_endpoints(client, empty)
