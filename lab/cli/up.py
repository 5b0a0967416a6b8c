"""`cce-lab up FILE`: build a lab (on a lab already up: say so, change nothing)."""

from __future__ import annotations

import argparse
import time

from lab.apply import engine
from lab.cli.console import err, need_root, plan_for_up, progress, topology_args
from lab.plan.model import Plan


def add(sub) -> None:
    sp = sub.add_parser("up", help="build a lab from a topology file")
    topology_args(sp)
    sp.set_defaults(func=run)


def build(plan: Plan) -> bool:
    """Up with a summary line; False when it was already up."""
    t0 = time.monotonic()
    if not engine.up(plan, progress):
        err.print(f"lab {plan.name} is already up; nothing changed")
        return False
    err.print(
        f"lab [bold]{plan.name}[/bold] up in {time.monotonic() - t0:.2f} s: {len(plan.nodes)} nodes, "
        f"{len(plan.pods)} pods, {plan.model} model, datapath {plan.datapath}, pod MTU {plan.pod_mtu}"
    )
    return True


def run(a: argparse.Namespace) -> int:
    need_root()
    plan = plan_for_up(a.file, a.param)
    if build(plan):
        err.print(f"next: cce-lab check {plan.name} | cce-lab status {plan.name} | cce-lab down {plan.name}")
    return 0
