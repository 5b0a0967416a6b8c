"""Whether the ELB follows its health checks: a listener's live backends are the nodes with a local endpoint.

For each LoadBalancer listener whose Service has a health-check node port
(`externalTrafficPolicy: Local`), the row reads the ELB's chain from the kernel
(iptables-save in the ELB's namespace: its DNAT targets, or the REJECT with no
backend) and the health checker's last probe of every node, and holds both to
the plan: the nodes with a local endpoint, and only they. The checker acts on two
results in a row, so the row waits (with a deadline, never a fixed sleep) for a
probe round after it began, and for the chain to settle after a recent change.
"""

from __future__ import annotations

import json
import re
import time

from lab.errors import LabError
from lab.kernel import procs
from lab.kernel.journal import Journal
from lab.observe.results import CheckResult
from lab.plan.model import Plan, ServicePlan
from lab.render import edge, health

NONE = "none (REJECT)"
SETTLE = (max(health.RISE, health.FALL) + 2) * health.INTERVAL + 1.0  # seconds a change may take to show
POLL = 0.2


def _live(plan: Plan, svc: ServicePlan) -> str:
    """The listener's backends as the ELB's kernel holds them: node names, `none (REJECT)` or `none (no REJECT)`."""
    elb = plan.host("elb")
    assert elb
    text = procs.run(elb.netns, [plan.iptables_tool("save")], mounts=False).stdout
    chain, refuse = edge.elb_chain(svc), edge.elb_refuse_chain(svc)
    by_ip = {n.ip: n.name for n in plan.nodes}
    targets = re.findall(rf"^-A {chain} .*--to-destination ([0-9.]+):\d+", text, re.M)
    if targets:
        return ", ".join(by_ip.get(ip, ip) for ip in targets)
    rejects = re.search(rf"^-A {refuse} .*-j REJECT", text, re.M)
    return NONE if rejects else "none (no REJECT: connections black-holed)"


def _status(plan: Plan) -> dict:
    try:
        return json.loads((Journal(plan.name).dir / "elbcheck-state.json").read_text())
    except (OSError, ValueError):
        return {}


def _row(plan: Plan, svc: ServicePlan) -> CheckResult:
    local = [n.name for n in svc.backends(plan.nodes)]
    expected = ", ".join(local) or NONE
    scenario = f"ELB health check of {svc.label}: backends = nodes with a local endpoint"
    began = time.time()
    deadline = time.monotonic() + SETTLE
    while True:
        try:
            live = _live(plan, svc)
        except LabError as exc:
            return CheckResult(scenario, expected, "unreadable", str(exc))
        status = _status(plan)
        probed = float(status.get("probed", 0))
        last = status.get("listeners", {}).get(svc.label, {}).get("last", {})
        fresh = probed > began
        agree = fresh and all((last.get(n.name) == "200") == (n.name in local) for n in plan.nodes)
        if (live == expected and agree) or time.monotonic() > deadline:
            break
        time.sleep(POLL)
    probes = ", ".join(f"{n}: {r}" for n, r in sorted(last.items())) or "none"
    detail = f"ELB chain {edge.elb_chain(svc)}: {live}; last /healthz on port {svc.health_check_node_port}: {probes}"
    if not fresh:
        age = f"{time.time() - probed:.0f} s ago" if probed else "never"
        return CheckResult(scenario, expected, f"{live} (health checker silent: last round {age})", detail)
    if live == expected and not agree:
        return CheckResult(scenario, expected, f"{live} (but the probes disagree)", detail)
    return CheckResult(scenario, expected, live, detail)


def run(plan: Plan) -> list[CheckResult]:
    """One row per health-checked ELB listener (none without an ELB)."""
    if not plan.host("elb"):
        return []
    return [_row(plan, s) for s in plan.services if s.type == "LoadBalancer" and s.health_check_node_port]
