"""`cce-lab explain SERVICE`: one request to a Service, and every rule it hit, in order."""

from __future__ import annotations

import argparse

from rich.markup import escape

from lab.cli.console import need_root, out
from lab.errors import UsageError
from lab.observe import explain, status


def add(sub) -> None:
    sp = sub.add_parser("explain", help="send one request to a Service and show every rule it hit, in order")
    sp.add_argument("service", help="Service name (see cce-lab status)")
    sp.add_argument("--lab", help="lab name (default: the only lab up)")
    sp.add_argument("--from", dest="source", metavar="POD", help="client pod (default: the first plain pod)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    plan = status.load_plan(status.pick_lab(a.lab))
    source = None
    if a.source:
        source = next((p for p in plan.pods if a.source in (p.name, p.netns)), None)
        if source is None:
            raise UsageError(f"--from {a.source}: no such pod in lab {plan.name}")
    for step in explain.explain(plan, a.service, source):
        out.print(f"[bold]{escape(step.title)}[/bold]")
        for line in step.lines:
            out.print("   " + line, markup=False, soft_wrap=True)
    return 0
