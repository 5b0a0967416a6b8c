"""`cce-lab status [NAME] [--json]`: what is running (no root needed)."""

from __future__ import annotations

import argparse
import json

from lab import documents
from lab.cli.console import out
from lab.kernel.journal import list_labs
from lab.observe import status
from lab.report import tables


def add(sub) -> None:
    sp = sub.add_parser("status", help="what is running")
    sp.add_argument("name", nargs="?", help="lab name (default: all labs)")
    sp.add_argument("--json", action="store_true", help="machine-readable (schema in README)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    names = [status.pick_lab(a.name)] if a.name else list_labs()
    states = [status.lab_status(n) for n in names]
    if a.json:
        docs = [documents.dump(s) for s in states]
        print(json.dumps(docs[0] if a.name else docs, indent=2))
        return 0
    if not states:
        out.print("no lab is up")
    for st in states:
        tables.print_status(out, st)
    return 0
