"""`cce-lab demo [FILES...]`: up, check, down for each topology, then a side-by-side table."""

from __future__ import annotations

import argparse

from lab.apply import engine
from lab.cli.console import err, need_root, out, plan_for_up, progress
from lab.observe import checks
from lab.report import tables

DEFAULT_DEMO = ["topologies/tunnel.yaml", "topologies/vpc.yaml"]


def add(sub) -> None:
    sp = sub.add_parser("demo", help="build each topology, check it, tear it down, compare side by side")
    sp.add_argument("files", nargs="*", default=DEFAULT_DEMO, help=f"topologies (default: {' '.join(DEFAULT_DEMO)})")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    plans = [(path, plan_for_up(path)) for path in a.files]  # bad input fails before any up
    reports = []
    for path, plan in plans:
        err.rule(f"{plan.name}: {plan.model} model from {path}")
        with engine.session(plan, progress):  # refuses a lab that is already up, always takes it down
            report = checks.run_checks(plan, progress)
        tables.print_checks(out, report)
        reports.append(report)
    tables.print_side_by_side(out, reports)
    ok = all(r.ok for r in reports)
    out.print("[green]every check matched its expectation[/green]" if ok else "[red]some checks did not match[/red]")
    return 0 if ok else 1
