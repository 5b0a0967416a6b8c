"""`cce-lab compare FILE...`: bring each topology up in turn, measure it, take it down; one report."""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.cli.bench import perf_args, settings, show
from lab.cli.console import need_root, plan_for_up, progress
from lab.errors import UsageError


def add(sub) -> None:
    sp = sub.add_parser("compare", help="bring each topology up in turn, measure it, take it down; one report")
    sp.add_argument("files", nargs="+", help="topology files, e.g. topologies/tunnel.yaml topologies/vpc.yaml")
    perf_args(sp)
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    from lab.bench.compare import compare

    chosen = settings(a)
    plans = [plan_for_up(f) for f in a.files]  # bad input fails before anything is built
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise UsageError(f"compare: the topologies must have different names (got {', '.join(names)})")
    return show(a, *compare(plans, chosen, Path(a.results), progress))
