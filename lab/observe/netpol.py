"""NetworkPolicy rows: for every policy and every pod it selects, a source it admits gets HTTP 200 from the pod
itself, and sources it does not admit (one on the pod's node, one across the tunnel) time out.

Sources are pods, chosen by what the plan's union of policies admits
(`lab.plan.netpol.admits`), so a row's expectation is upstream's semantics,
not this module's. A "blocked" row stands only with its positive control: the
same source, meanwhile, reaches a pod no policy isolates from it on the
selected pod's node (the same bridge, the same tunnel), or else that node.
"""

from __future__ import annotations

from collections.abc import Iterator

from lab.observe import probe
from lab.observe.parallel import parallel
from lab.observe.results import BLOCKED, REACHABLE, CheckResult, controlled
from lab.plan.model import Plan, Pod, PolicyPlan
from lab.plan.netpol import admits

Row = tuple[str, Pod, Pod]  # (scenario, source, selected pod)
TIMEOUT = 1.5  # a dropped SYN waits this long: short, as every row here has its control


def _prefer(pods: list[Pod], node: str, same: bool) -> Pod | None:
    return next((p for p in pods if (p.node == node) == same), None)


def rows(plan: Plan, policy: PolicyPlan) -> list[Row]:
    """(scenario, source, pod) of every row of one policy: per rule one admitted source, then two others."""
    by_name = {p.name: p for p in plan.pods}
    found: list[Row] = []
    for name in policy.pods:
        pod = by_name[name]
        label = f"NetworkPolicy {policy.namespace}/{policy.name}:"
        chosen: list[str] = []
        for rule in policy.rules:
            candidates = [
                p
                for p in (plan.pods if rule.any_source else [by_name[s] for s in rule.sources])
                if p.name != name and admits(plan, p.name, name)
            ]
            src = _prefer(candidates, pod.node, same=False) or _prefer(candidates, pod.node, same=True)
            if src and src.name not in chosen:
                chosen.append(src.name)
                found.append((f"{label} allowed {src.name} -> {name}", src, pod))
        others = [p for p in plan.pods if p.name != name and not admits(plan, p.name, name)]
        for same in (True, False):
            src = _prefer(others, pod.node, same)
            if src:
                where = "same node" if same else "other node"
                found.append((f"{label} not allowed {src.name} -> {name} ({where})", src, pod))
    return found


def _control(plan: Plan, src: Pod, pod: Pod) -> tuple[bool, str]:
    """The same source to a pod it may reach on the selected pod's node, else to that node."""
    open_pods = [
        q for q in plan.pods_on(pod.node) if q.name not in (src.name, pod.name) and admits(plan, src.name, q.name)
    ]
    if open_pods:
        q = open_pods[0]
        res = probe.http(src.netns, q.ip, q.port, timeout=TIMEOUT)
        return res.ok and res.answered_by == q.name, f"{src.name} -> {q.name} meanwhile: {res.detail}"
    node = plan.node(pod.node)
    seen = probe.tcp(src.netns, node.netns, node.ip, timeout=TIMEOUT)
    return seen.ok, f"{src.name} -> {node.name} meanwhile: {seen.detail.split(',')[0]}"


def _row(plan: Plan, row: Row) -> CheckResult:
    scenario, src, pod = row
    expected = REACHABLE if admits(plan, src.name, pod.name) else BLOCKED
    res = probe.http(src.netns, pod.ip, pod.port, timeout=TIMEOUT)
    if res.ok and res.answered_by == pod.name and res.source == src.ip:
        actual = REACHABLE
    elif res.ok:
        actual = f"answered by {res.answered_by or '?'}, saw {res.source or '?'}"
    else:
        actual = BLOCKED
    result = CheckResult(scenario, expected, actual, res.detail, res.source, res.answered_by)
    if expected == BLOCKED:
        ok, text = _control(plan, src, pod)
        result = controlled(result, ok, text)
    return result


def run(plan: Plan) -> Iterator[CheckResult]:
    """Every policy's rows, probed at once (each blocked probe waits out its timeout)."""
    todo = [r for policy in plan.network_policies for r in rows(plan, policy)]
    yield from parallel(todo, lambda r: _row(plan, r))


def isolated_from(plan: Plan, client: Pod, pods: list[Pod]) -> list[Pod]:
    """The pods among `pods` that no policy lets `client` reach (their own rows cover them)."""
    return [p for p in pods if not admits(plan, client.name, p.name)]
