"""Performance runs: one lab (`bench`) or several brought up in turn (`compare`).

Every run also measures the machine's ceiling (two namespaces on one veth
pair) so each figure can be read as a fraction of what this machine can do.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lab import apply, bench, benchreport, teardown
from lab.errors import LabError
from lab.journal import Journal
from lab.plan import Plan

Progress = Callable[[str], None]


def _document(labs: list[dict], settings: bench.Settings) -> dict:
    return {
        "version": 1,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "cce-lab " + shlex.join(sys.argv[1:]),
        "settings": {
            "duration": settings.duration,
            "repetitions": settings.repetitions,
            "streams": settings.streams,
            "quick": settings.quick,
        },
        "environment": bench.environment(),
        "labs": labs,
    }


def _outdir(results: Path, label: str) -> Path:
    return results / f"{label}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def bench_lab(plan: Plan, settings: bench.Settings, results: Path, progress: Progress) -> tuple[dict, Path]:
    """Measure a lab that is up, and the baseline; write the report."""
    progress(f"baseline: veth pair ({settings.repetitions} repetitions of {settings.duration:g} s)")
    labs = [bench.run_baseline(settings, progress=progress)]
    progress(f"{plan.name}: {plan.model} model, datapath {plan.datapath}")
    labs.append(bench.run_suite(plan, settings, progress))
    doc = _document(labs, settings)
    return doc, benchreport.write(doc, _outdir(results, plan.name))


def compare(plans: list[Plan], settings: bench.Settings, results: Path, progress: Progress) -> tuple[dict, Path]:
    """Bring each lab up in turn, measure it, take it down; then one side-by-side report.

    A lab that is already up is refused (it may hold someone's work), and every
    lab this run builds is taken down again, also on Ctrl-C or a failure.
    """
    for plan in plans:
        if Journal(plan.name).exists():
            raise LabError(f"lab {plan.name} is already up: 'cce-lab down {plan.name}' before comparing")
    progress(f"baseline: veth pair ({settings.repetitions} repetitions of {settings.duration:g} s)")
    labs = [bench.run_baseline(settings, progress=progress)]
    for i, plan in enumerate(plans, start=1):
        progress(f"lab {i}/{len(plans)}: {plan.name} ({plan.model}, {plan.datapath}) up")
        apply.up(plan, progress)
        try:
            labs.append(bench.run_suite(plan, settings, lambda msg, p=plan: progress(f"{p.name}: {msg}")))
        finally:
            teardown.undo(Journal(plan.name))
            progress(f"lab {plan.name} down")
    doc = _document(labs, settings)
    return doc, benchreport.write(doc, _outdir(results, "-".join(p.name for p in plans)))
