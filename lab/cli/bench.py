"""`cce-lab bench [NAME]`: measure a running lab and this machine's veth baseline; write a report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab import documents
from lab.bench.paths import PATH_NAMES
from lab.cli.console import err, need_root, out, progress
from lab.errors import UsageError
from lab.observe import status


def perf_args(sp: argparse.ArgumentParser) -> None:
    """The options `bench` and `compare` share."""
    sp.add_argument("--duration", type=float, help="seconds per iperf3 test (default 5; --quick: 1)")
    sp.add_argument("--repetitions", type=int, help="repetitions of each test (default 3; --quick: 1)")
    sp.add_argument("--streams", type=int, help="parallel TCP streams of the N-stream test (default 4)")
    sp.add_argument("--quick", action="store_true", help="short run for CI: a two-lab compare in under 2 minutes")
    sp.add_argument(
        "--path",
        action="append",
        dest="paths",
        choices=PATH_NAMES,
        metavar="PATH",
        help=f"measure only this path of each lab (repeatable; default all: {', '.join(PATH_NAMES)}); "
        "the baseline is always measured",
    )
    sp.add_argument("--results", default="results", help="where results/<lab>-<time>/ goes (default ./results)")
    sp.add_argument("--json", action="store_true", help="the results document on stdout (schema in README)")


def settings(a: argparse.Namespace):
    from lab.bench.settings import Settings  # iperf3 and matplotlib load only for performance runs

    chosen = Settings.quick_mode() if a.quick else Settings()
    for field in ("duration", "repetitions", "streams"):
        value = getattr(a, field)
        if value is not None:
            if value <= 0:
                raise UsageError(f"--{field} must be positive")
            setattr(chosen, field, value)
    return chosen


def show(a: argparse.Namespace, results, report: Path) -> int:
    if a.json:
        print(json.dumps(documents.dump(results), indent=2))
    else:
        from lab.report.bench import print_bench

        print_bench(out, results)
    err.print(f"report: {report}")
    return 0


def add(sub) -> None:
    sp = sub.add_parser("bench", help="measure a running lab and the machine's veth baseline; write a report")
    sp.add_argument("name", nargs="?", help="lab name (default: the only lab up)")
    perf_args(sp)
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    from lab.bench.compare import bench_lab

    chosen = settings(a)
    plan = status.load_plan(status.pick_lab(a.name))
    return show(a, *bench_lab(plan, chosen, Path(a.results), progress, a.paths))
