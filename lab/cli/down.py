"""`cce-lab down [NAME|FILE] [--all]`: remove everything a lab created, also after a killed or failed `up`."""

from __future__ import annotations

import argparse
import time

from lab import inventory
from lab.apply import engine, hosts
from lab.cli.console import err, lab_name, need_root
from lab.errors import UsageError
from lab.kernel.journal import list_journals


def add(sub) -> None:
    sp = sub.add_parser("down", help="remove everything a lab created")
    sp.add_argument("name", nargs="?", help="lab name or its topology file (default: the only lab up)")
    sp.add_argument("--all", action="store_true", help="every lab (and benchmark baseline) this machine has")
    sp.add_argument("--inventory", metavar="HOSTS", help="a lab spread over these hosts: its part on every one")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    names = list_journals() if a.all else [lab_name(a.name)]  # bad input is refused first, root or not
    if a.inventory:
        if a.all:
            raise UsageError("--inventory takes one lab, not --all")
        inventory.load(a.inventory)
        hosts.down(names[0], a.inventory)
        err.print(f"lab {names[0]} down on every host of {a.inventory}")
        return 0
    need_root()
    for name in names:
        t0 = time.monotonic()
        removed = engine.down(name)
        if removed is None:
            err.print(f"lab {name} is not up; nothing to do")
        else:
            err.print(f"lab {name} down in {time.monotonic() - t0:.2f} s: {removed}")
    return 0
