"""`cce-lab fault list|inject|undo`: break a running lab on purpose (the catalogue the checker is tested with)."""

from __future__ import annotations

import argparse

from rich.table import Table

from lab.apply import faults
from lab.cli.console import err, need_root, out
from lab.errors import UsageError
from lab.kernel.journal import Journal
from lab.observe import status
from lab.render import faults as catalogue


def add(sub) -> None:
    sp = sub.add_parser("fault", help="inject or undo a fault from the catalogue on a running lab (for training)")
    sp.add_argument("action", choices=["list", "inject", "undo"], help="list the faults, inject one, or undo one")
    sp.add_argument("name", nargs="?", help="the fault (see 'cce-lab fault list')")
    sp.add_argument("--lab", help="lab name (default: the only lab up)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    plan = status.load_plan(status.pick_lab(a.lab))
    if a.action == "list":
        in_force = faults.active(Journal(plan.name))
        table = Table("fault", "what it breaks", "check rows it fails", "", title=f"faults for {plan.name}")
        for name in catalogue.applicable(plan):
            f = faults.describe(plan, name)
            table.add_row(name, f.summary, "; ".join(f.fails), "[red]in force[/red]" if name in in_force else "")
        out.print(table)
        return 0
    if not a.name:
        raise UsageError(f"fault {a.action}: name the fault (see 'cce-lab fault list')")
    need_root()
    fault = faults.inject(plan, a.name) if a.action == "inject" else faults.undo(plan, a.name)
    verb = "injected" if a.action == "inject" else "undone"
    err.print(f"fault {fault.name} {verb} on {plan.name}: {fault.summary}")
    return 0
