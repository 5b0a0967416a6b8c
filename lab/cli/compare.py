"""`cce-lab compare FILE...`: bring each topology up in turn, measure it, take it down; one report.

Which datapaths a topology is measured on is `lab.bench.variants`' choice.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.cli.bench import perf_args, settings, show
from lab.cli.console import need_root, progress, spec_of
from lab.errors import UsageError


def add(sub) -> None:
    sp = sub.add_parser(
        "compare",
        help="bring each topology up in turn, measure it, take it down; one report",
        description="Where the OVS kernel module is missing, a tunnel topology with datapath auto is measured on "
        "both ovs-userspace and linux-vxlan (its results named NAME and NAME-vx); pin datapath: to measure one.",
    )
    sp.add_argument("files", nargs="+", help="topology files, e.g. topologies/tunnel.yaml topologies/vpc.yaml")
    perf_args(sp)
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    from lab.apply.engine import plan_for_up
    from lab.bench.compare import compare
    from lab.bench.variants import Run, specs_to_measure

    chosen = settings(a)
    specs = [spec_of(f) for f in a.files]  # bad input fails before anything is built
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"compare: the topologies must have different names (got {', '.join(names)})")
    ovs_kernel = None
    if any(s.model == "tunnel" and s.datapath == "auto" for s in specs):
        from lab.datapaths.ovs import kernel_available

        ovs_kernel = kernel_available(load=True)
    runs = []
    for spec in specs:
        measured, note = specs_to_measure(spec, bool(ovs_kernel))
        if note:
            progress(note)
        runs += [Run(plan_for_up(s), name) for s, name in measured]
    return show(a, *compare(runs, chosen, Path(a.results), progress, a.paths))
