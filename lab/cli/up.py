"""`cce-lab up FILE`: build a lab (on a lab already up: say so, change nothing); with --inventory, one host's part."""

from __future__ import annotations

import argparse
import time

from lab.apply import engine, hosts
from lab.cli.console import err, need_root, no_placement_alone, progress, spec_of, spread_args, spread_of, topology_args
from lab.errors import UsageError
from lab.kernel import netns
from lab.plan import spread
from lab.plan.model import Plan, PlanSlice


def add(sub) -> None:
    sp = sub.add_parser("up", help="build a lab from a topology file")
    topology_args(sp)
    spread_args(sp)
    sp.add_argument(
        "--here",
        metavar="HOST",
        help="with --inventory: build only the part inventory host HOST holds (what each host runs; "
        "without --here, every host's part is built through Ansible)",
    )
    sp.add_argument(
        "--host-netns",
        metavar="NS",
        help="with --here: the namespace this host's tunnel socket lives in (default: the root namespace; "
        "tests stand a namespace in for each host)",
    )
    sp.set_defaults(func=run)


def build(plan: Plan, part: PlanSlice | None = None, host_netns: str | None = None) -> bool:
    """Up with a summary line; False when it was already up."""
    t0 = time.monotonic()
    if not engine.up(plan, progress, part, host_netns):
        err.print(f"lab {plan.name} is already up; nothing changed")
        return False
    nodes = [n for n in plan.nodes if part is None or n.netns in part.netns]
    pods = sum(len(plan.pods_on(n.name)) for n in nodes)
    where = "" if part is None else f" (host {part.host}'s part)"
    err.print(
        f"lab [bold]{plan.name}[/bold]{where} up in {time.monotonic() - t0:.2f} s: {len(nodes)} nodes, "
        f"{pods} pods, {plan.model} model, datapath {plan.datapath}, pod MTU {plan.pod_mtu}"
    )
    return True


def run(a: argparse.Namespace) -> int:
    need_root()
    spec = spec_of(a.file, a.param)
    if a.inventory:
        return _part(a, spec)
    if a.here or a.host_netns:
        raise UsageError("--here and --host-netns go with --inventory")
    no_placement_alone(spec)
    plan = engine.plan_for_up(spec)
    if build(plan):
        err.print(f"next: cce-lab check {plan.name} | cce-lab status {plan.name} | cce-lab down {plan.name}")
    return 0


def _part(a: argparse.Namespace, spec) -> int:
    plan, doc = spread_of(a, spec, engine.plan_for_up)  # bad input is refused here, before any host is touched
    if not a.here:
        if a.host_netns:
            raise UsageError("--host-netns goes with --here (each host's own is an inventory variable)")
        t0 = time.monotonic()
        err.print(f"lab {plan.name} over {len(doc.hosts)} hosts, through Ansible:")
        hosts.up(plan.name, a.file, a.inventory, a.placement, a.datapath)
        err.print(f"lab [bold]{plan.name}[/bold] up on {len(doc.hosts)} hosts in {time.monotonic() - t0:.2f} s")
        err.print(f"next: cce-lab down {plan.name} --inventory {a.inventory}")
        return 0
    names = [h.host for h in doc.hosts]
    if a.here not in names:
        raise UsageError(f"--here {a.here[:64]!r} is not a host of the inventory ({', '.join(names[:8])})")
    if a.host_netns and not netns.exists(a.host_netns):
        raise UsageError(f"--host-netns {a.host_netns[:64]!r}: no such namespace")
    if build(plan, spread.slice_for(plan, doc, a.here), a.host_netns):
        err.print(f"next: the other hosts' parts; cce-lab down {plan.name} on each host")
    return 0
