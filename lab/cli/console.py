"""What every verb shares: the two consoles, progress lines, the root check, reading a topology."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import get_args

from rich.console import Console

from lab import inventory, topology
from lab.errors import LabError, SpecError, UsageError
from lab.observe import status
from lab.plan import spread
from lab.plan.model import Plan, Spread
from lab.spec import Spec
from lab.spec.model import Datapath

out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def progress(msg: str) -> None:
    err.print(f"[dim]· {msg}[/dim]", markup=True, highlight=False)


def need_root() -> None:
    if os.geteuid() != 0:
        raise LabError("this command changes network namespaces: run it as root (sudo)")


def params(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: use KEY=VALUE")
        found[key] = value
    return found


def spec_of(path: str, pairs: list[str] | None = None) -> Spec:
    return topology.load(path, params(pairs or []))


def plan_for_up(path: str, pairs: list[str] | None = None) -> Plan:
    """Spec -> plan with `datapath: auto` resolved against this host (it may load the OVS module)."""
    from lab.apply.engine import plan_for_up

    return plan_for_up(spec_of(path, pairs))


def lab_name(arg: str | None) -> str:
    """A lab name, or a topology file whose name is meant; none: the only lab up."""
    if arg is not None and not arg:
        raise UsageError("the lab name is empty: give a lab name or a topology file")
    if arg and (arg.endswith((".yaml", ".yml", ".py")) or "/" in arg):
        return topology.load(arg).name
    return status.pick_lab(arg)


def topology_args(sp) -> None:
    """FILE and -p KEY=VALUE, as `plan` and `up` take them."""
    sp.add_argument("file", help="topology: a .yaml file or a .py script defining topology(**params)")
    sp.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="parameter for a .py topology (repeatable), e.g. -p nodes=50",
    )


def spread_args(sp) -> None:
    """--inventory and --placement, as `plan` and `up` take them."""
    sp.add_argument("--inventory", metavar="HOSTS", help="an Ansible inventory (YAML or INI) the lab spreads over")
    sp.add_argument(
        "--placement",
        choices=spread.PLACEMENTS,
        default="block",
        help="with --inventory: nodes in contiguous blocks per host (default) or round-robin",
    )
    sp.add_argument(
        "--datapath",
        choices=[d for d in get_args(Datapath) if d != "auto"],
        help="with --inventory: the tunnel model's datapath on every host, in place of the topology's auto",
    )


def spread_of(a, spec: Spec, make: Callable[[Spec], Plan]) -> tuple[Plan, Spread]:
    """The plan of a lab over the inventory's hosts (its MTU fitted to the host tunnel) and where each part goes."""
    hosts = inventory.load(a.inventory)
    if a.datapath and spec.model == "tunnel":
        spec = spec.model_copy(update={"datapath": a.datapath})
    spec, note = spread.fit_mtu(spec, hosts)
    spread.require_pinned_datapath(spec, hosts)
    placed = spread.place(spec, hosts, a.placement, dict(spec.placement))
    plan = make(spec)
    return plan, spread.spread(plan, hosts, placed, a.placement, note)


def no_placement_alone(spec: Spec) -> None:
    if spec.placement:
        raise SpecError("placement", "places nodes on inventory hosts: give --inventory")
