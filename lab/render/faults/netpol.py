"""Faults in NetworkPolicy enforcement: br-int's policy flows removed behind the lab's back. Pure.

Both apply only to a lab with policies (the catalogue's `NEEDS`): without a
selected pod there is nothing to lose.
"""

from __future__ import annotations

from pathlib import Path

from lab.plan.model import Plan
from lab.render import netpol
from lab.render.faults.fault import Command, Fault

ALLOWED_ROWS = (": allowed ",)  # lab.observe.netpol's scenarios
NOT_ALLOWED_ROWS = (": not allowed ",)


def _removed(plan: Plan, rundir: Path, pick) -> tuple[list[Command], list[Command]]:
    """Per node: `ovs-ofctl --strict del-flows` of each flow `pick` chooses, and `add-flows` of them back."""
    inject: list[Command] = []
    undo: list[Command] = []
    for node in plan.nodes:
        mgmt = f"unix:{rundir / node.name}/br-int.mgmt"
        lost = [f for pod in netpol.isolated_pods(plan, node) for f in pick(pod)]
        if not lost:
            continue
        inject += [
            (node.netns, ["ovs-ofctl", "--strict", "del-flows", mgmt, f.split(",actions=")[0]], None) for f in lost
        ]
        undo.append((node.netns, ["ovs-ofctl", "add-flows", mgmt, "-"], "\n".join(lost) + "\n"))
    if not inject:
        raise ValueError("the fault needs a pod some NetworkPolicy selects")
    return inject, undo


def allow_all(plan: Plan, rundir: Path) -> Fault:
    """Every node's br-int loses the flows that send traffic for a selected pod through the policy table."""
    inject, undo = _removed(plan, rundir, lambda pod: [netpol.redirect_flow(pod)])
    return Fault(
        "netpol-allow-all",
        "br-int no longer sends traffic for selected pods through the policy table: every source gets in",
        inject,
        undo,
        NOT_ALLOWED_ROWS,
    )


def deny_all(plan: Plan, rundir: Path) -> Fault:
    """Every node's br-int loses the flows that admit new connections by a policy's rules."""
    inject, undo = _removed(plan, rundir, lambda pod: netpol.allow_flows(plan, pod))
    return Fault(
        "netpol-deny-all",
        "br-int loses the flows of every policy rule: selected pods take no new connection (but from their node)",
        inject,
        undo,
        ALLOWED_ROWS,
        ("the node and its",),  # where a policy admits the coverage client, it loses that pod too
    )
