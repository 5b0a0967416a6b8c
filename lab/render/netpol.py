"""NetworkPolicy ingress rules as br-int flows, the way CCE's tunnel network enforces them in OVS. Pure.

Only pods some policy selects get flows; without policies br-int is exactly
the router of `lab.render.ovs`. For an isolated pod P on this node:

- table 0: what P sends is committed in conntrack zone 2 first, so the
  answers to P's own connections (and P's replies) are known there;
- table 2: traffic routed to P goes through zone 2 into table 3 instead of
  straight to P's port;
- table 3: established and related packets are delivered; so is whatever the
  node kernel hands in through gw0 (CCE: a node always reaches its own pods,
  Service traffic DNATed on this node included); a new connection is
  delivered, and committed, only if some rule admits its source and port;
  everything else to P is dropped by P's own flow (its counter shows drops).

Zone 2 is apart from zone 1 (the node kernel's connections, whose replies
table 1 sends back through gw0), so a pod's committed connections never look
like the node's.
"""

from __future__ import annotations

from lab.plan.cluster import CT_ZONE, GW_OFPORT, ROUTER_MAC
from lab.plan.model import Node, Plan, Pod
from lab.plan.netpol import rules_for

POLICY_ZONE = 2
POLICY_TABLE = 3
DROP_PRIORITY = 100
ALLOW_PRIORITY = 200
REDIRECT_PRIORITY = 210  # above table 2's delivery to a local pod (200)


def deliver(pod: Pod) -> str:
    return f"mod_dl_src:{ROUTER_MAC},mod_dl_dst:{pod.mac},output:{pod.ofport}"


def _match(proto_port: str) -> str:
    proto, _, number = proto_port.partition("/")
    return proto.lower() + (f",tp_dst={number}" if number else "")


def allow_flows(plan: Plan, pod: Pod) -> list[str]:
    """Table 3: one flow per (source pod, port) some rule admits to `pod` (the union of its policies)."""
    ips = {p.name: p.ip for p in plan.pods}
    seen: dict[str, None] = {}  # ordered, and a rule repeated by another policy is written once
    for rule in rules_for(plan, pod.name) or []:
        sources = [""] if rule.any_source else [f",nw_src={ips[s]}" for s in rule.sources if s != pod.name]
        for src in sources:
            for match in [_match(p) for p in rule.ports] or ["ip"]:
                flow = (
                    f"table={POLICY_TABLE},priority={ALLOW_PRIORITY},{match}{src},nw_dst={pod.ip},"
                    f"actions=ct(commit,zone={POLICY_ZONE}),{deliver(pod)}"
                )
                seen[flow] = None
    return list(seen)


def redirect_flow(pod: Pod) -> str:
    """Table 2: traffic routed to an isolated pod goes through the policy table."""
    return (
        f"table=2,priority={REDIRECT_PRIORITY},ip,nw_dst={pod.ip},actions=ct(zone={POLICY_ZONE},table={POLICY_TABLE})"
    )


def drop_flow(pod: Pod) -> str:
    return f"table={POLICY_TABLE},priority={DROP_PRIORITY},ip,nw_dst={pod.ip},actions=drop"


def isolated_pods(plan: Plan, node: Node) -> list[Pod]:
    return [p for p in plan.pods_on(node.name) if rules_for(plan, p.name) is not None]


def flows(plan: Plan, node: Node) -> list[str]:
    """The policy flows of `node`'s br-int (none when no policy selects a pod on it)."""
    pods = isolated_pods(plan, node)
    rules: list[str] = []
    for pod in pods:
        rules.append(
            f"table=0,priority=245,ip,in_port={pod.ofport},"
            f"actions=ct(commit,zone={POLICY_ZONE}),ct(zone={CT_ZONE},table=1)"
        )
        rules.append(redirect_flow(pod))
    for pod in pods:
        t = f"table={POLICY_TABLE}"
        rules += [
            f"{t},priority=300,ct_state=+est,ip,nw_dst={pod.ip},actions={deliver(pod)}",
            f"{t},priority=300,ct_state=+rel,ip,nw_dst={pod.ip},actions={deliver(pod)}",
            f"{t},priority=290,ip,in_port={GW_OFPORT},nw_dst={pod.ip},"
            f"actions=ct(commit,zone={POLICY_ZONE}),{deliver(pod)}",
            *allow_flows(plan, pod),
            drop_flow(pod),
        ]
    if pods:
        rules.append(f"table={POLICY_TABLE},priority=0,actions=drop")
    return rules
