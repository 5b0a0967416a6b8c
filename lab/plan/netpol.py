"""NetworkPolicies resolved to pods, with upstream's semantics. Pure.

A pod selected by any policy is isolated for ingress: only what some rule of
some policy selecting it admits gets in (the union); a policy with no rules
admits nothing. An empty podSelector selects every pod of the policy's
namespace; a rule without `from` admits every source, without `ports` every
port. Pods carry app=<workload> plus their workload's labels; the plain
pod-N-K pods live in `default` with no labels. What CCE adds (cce_10_0059):
a node always reaches its own pods, so traffic the node kernel hands to
br-int is never filtered (the render's job).
"""

from __future__ import annotations

from lab.errors import SpecError
from lab.plan.model import Plan, Pod, PolicyPlan, PolicyRule
from lab.spec.model import LabelSelector, NetworkPolicy, PolicyPeer, Spec
from lab.spec.netpolrules import namespaces

MAX_POLICY_FLOWS = 100_000  # per node: the render writes one flow per (source pod, port, selected pod)


def pod_identity(spec: Spec, pod: Pod) -> tuple[str, dict[str, str]]:
    """(namespace, labels) of a pod, from its workload."""
    workload = next((w for w in spec.workloads if w.name == pod.workload), None)
    if workload is None:
        return "default", {}
    return workload.namespace, {**workload.labels, "app": workload.name}


def _matches(selector: LabelSelector, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.match_labels.items())


def _peer_pods(peer: PolicyPeer, policy_ns: str, ns_labels: dict[str, dict[str, str]], ident: dict) -> set[str]:
    chosen = set()
    for name, (ns, labels) in ident.items():
        if peer.namespace_selector is not None:
            in_ns = _matches(peer.namespace_selector, ns_labels.get(ns, {}))
        else:
            in_ns = ns == policy_ns
        if in_ns and (peer.pod_selector is None or _matches(peer.pod_selector, labels)):
            chosen.add(name)
    return chosen


def _ports(policy: NetworkPolicy, rule_index: int) -> list[str]:
    ports = policy.ingress[rule_index].ports
    return [f"{p.protocol}/{p.port}" if p.port else p.protocol for p in ports]


def plan_network_policies(spec: Spec, pods: list[Pod]) -> list[PolicyPlan]:
    """Each policy with the pods it selects and, per rule, the pods it admits (in placement order)."""
    if not spec.network_policies:
        return []
    ident = {p.name: pod_identity(spec, p) for p in pods}
    ns_labels = namespaces(spec)
    order = [p.name for p in pods]
    plans = []
    for pol in spec.network_policies:
        selected = [n for n in order if ident[n][0] == pol.namespace and _matches(pol.pod_selector, ident[n][1])]
        rules = []
        for j, rule in enumerate(pol.ingress):
            admitted: set[str] = set()
            for peer in rule.from_:
                admitted |= _peer_pods(peer, pol.namespace, ns_labels, ident)
            rules.append(PolicyRule([n for n in order if n in admitted], not rule.from_, _ports(pol, j)))
        plans.append(PolicyPlan(pol.name, pol.namespace, selected, rules))
    _check_flow_budget(plans, pods)
    return plans


def _check_flow_budget(plans: list[PolicyPlan], pods: list[Pod]) -> None:
    """Counted before anything is rendered: rules naming many pods, on many selected pods, multiply."""
    node_of = {p.name: p.node for p in pods}
    per_node: dict[str, int] = {}
    for pol in plans:
        cost = sum(1 if r.any_source else len(r.sources) * max(1, len(r.ports)) for r in pol.rules)
        for name in pol.pods:
            per_node[node_of[name]] = per_node.get(node_of[name], 0) + cost
    node, flows = max(per_node.items(), key=lambda kv: kv[1], default=("", 0))
    if flows > MAX_POLICY_FLOWS:
        raise SpecError(
            "network_policies",
            f"{node}'s br-int would need {flows} policy flows (one per source pod, port and selected pod); "
            f"the lab renders at most {MAX_POLICY_FLOWS} per node: select fewer pods or sources",
        )


def rules_for(plan: Plan, pod: str) -> list[PolicyRule] | None:
    """The rules that admit traffic to `pod` (the union of every policy selecting it); None: not isolated."""
    selecting = [p for p in plan.network_policies if pod in p.pods]
    if not selecting:
        return None
    return [r for p in selecting for r in p.rules]


def port_matches(spec: str, protocol: str, port: int) -> bool:
    proto, _, number = spec.partition("/")
    return proto == protocol and (not number or int(number) == port)


def admits(plan: Plan, source: str, pod: str, protocol: str = "TCP", port: int | None = None) -> bool:
    """Whether a new connection from pod `source` (a pod name) to `pod` on protocol/port gets in."""
    rules = rules_for(plan, pod)
    if rules is None:
        return True
    target = next(p for p in plan.pods if p.name == pod)
    number = port if port is not None else target.port
    return any(
        (r.any_source or source in r.sources)
        and (not r.ports or any(port_matches(s, protocol, number) for s in r.ports))
        for r in rules
    )


def why_denied(plan: Plan, source: str, pod: str) -> str:
    """The policies that isolate `pod`, in words (trace's drop reason); "" when none selects it."""
    selecting = [f"{p.namespace}/{p.name}" for p in plan.network_policies if pod in p.pods]
    if not selecting:
        return ""
    return (
        f"NetworkPolicy {', '.join(selecting)} selects {pod} (default-deny for ingress) and no rule admits "
        f"{source} with this protocol and port"
    )
