"""`cce-lab scale WORKLOAD N [--lab NAME]`: a Deployment scaled on a running lab; its Services' endpoints follow."""

from __future__ import annotations

import argparse

from lab.apply import moves
from lab.cli.console import err, need_root, progress
from lab.observe import status
from lab.plan import moves as planned


def _count(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of replicas") from None


def add(sub) -> None:
    sp = sub.add_parser("scale", help="scale a workload's pods (endpoints, kube-proxy, health checks follow)")
    sp.add_argument("workload", help="the Deployment, e.g. web")
    sp.add_argument("replicas", type=_count, help=f"how many pods (0-{planned.MAX_REPLICAS})")
    sp.add_argument("--lab", help="lab name (default: the only lab up)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    name = status.pick_lab(a.lab)
    plan = status.load_plan(name)
    _, removed, added = planned.scale(plan, a.workload, a.replicas)  # bad input is refused first, root or not
    if not removed and not added:
        err.print(f"{a.workload} has {a.replicas} pods already; nothing to do")
        return 0
    need_root()
    after, removed, added, took = moves.scale(plan, a.workload, a.replicas, progress)
    svcs = [s.label for s in after.services if s.app == a.workload]
    err.print(
        f"{a.workload}: {a.replicas} pods (+{', '.join(p.name + '@' + p.node for p in added) or '0'}, "
        f"-{', '.join(p.name for p in removed) or '0'}); endpoints of {', '.join(svcs) or 'no Service'} "
        f"re-synced on {len(after.nodes)} nodes in {took:.2f} s"
    )
    return 0
