"""`cce-lab move POD NODE [--lab NAME]`: reschedule a Deployment's pod on a running lab, and watch the ELB follow."""

from __future__ import annotations

import argparse

from lab.apply import moves
from lab.cli.console import err, need_root, progress
from lab.observe import status


def add(sub) -> None:
    sp = sub.add_parser("move", help="move a workload's pod to another node (endpoints, kube-proxy, health checks)")
    sp.add_argument("pod", help="the pod, e.g. web-1 (a Deployment's pod)")
    sp.add_argument("node", help="the node it moves to, e.g. node-2")
    sp.add_argument("--lab", help="lab name (default: the only lab up)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    name = status.pick_lab(a.lab)
    plan = status.load_plan(name)
    moves.check(plan, a.pod, a.node)  # bad input is refused first, root or not
    need_root()
    after, old, pod, took = moves.move(plan, a.pod, a.node, progress)
    svcs = [s.label for s in after.services if any(e.pod == pod.name for e in s.endpoints)]
    err.print(
        f"{old.name} ({old.node}) -> {pod.name} on {pod.node} ({pod.ip}); "
        f"endpoints of {', '.join(svcs) or 'no Service'} re-synced on {len(after.nodes)} nodes in {took:.2f} s"
    )
    if any(s.health_check_node_port for s in after.services if s.label in svcs):
        err.print("the ELB health checker follows within about 2 s (2 probes, 1 s apart): 'cce-lab check' shows it")
    return 0
