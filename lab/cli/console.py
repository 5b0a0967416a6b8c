"""What every verb shares: the two consoles, progress lines, the root check, reading a topology."""

from __future__ import annotations

import os
import sys

from rich.console import Console

from lab import topology
from lab.errors import LabError, UsageError
from lab.observe import status
from lab.plan.model import Plan
from lab.spec import Spec

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
