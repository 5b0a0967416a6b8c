"""Performance runs from end to end: one lab that is up (`bench`), or several brought up in turn (`compare`).

Every run also measures the machine's ceiling (two namespaces on one veth
pair) so each figure can be read as a fraction of what this machine can do,
and writes its report directory under `results_dir`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

from lab.apply.engine import session
from lab.bench import report
from lab.bench.environment import environment
from lab.bench.results import BenchResults, LabResult
from lab.bench.settings import Settings
from lab.bench.suite import run_baseline, run_suite
from lab.bench.variants import Run
from lab.errors import LabError
from lab.kernel.journal import Journal
from lab.plan.model import Plan
from lab.progress import Progress


def _results(labs: list[LabResult], settings: Settings) -> BenchResults:
    return BenchResults(
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command="cce-lab " + shlex.join(sys.argv[1:]),
        settings=settings,
        environment=environment(),
        labs=labs,
    )


def _outdir(results_dir: Path, label: str) -> Path:
    return results_dir / f"{label}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def _baseline(settings: Settings, progress: Progress) -> LabResult:
    progress(f"baseline: veth pair ({settings.repetitions} repetitions of {settings.duration:g} s)")
    return run_baseline(settings, progress=progress)


def bench_lab(
    plan: Plan, settings: Settings, results_dir: Path, progress: Progress, only_paths: Collection[str] | None = None
) -> tuple[BenchResults, Path]:
    """Measure a lab that is up (only the paths in `only_paths`, None: all), and the baseline; write the report.

    Returns the results and report.md.
    """
    labs = [_baseline(settings, progress)]
    progress(f"{plan.name}: {plan.model} model, datapath {plan.datapath}")
    labs.append(run_suite(plan, settings, progress, only_paths))
    results = _results(labs, settings)
    return results, report.write(results, _outdir(results_dir, plan.name))


def compare(
    runs: list[Run],
    settings: Settings,
    results_dir: Path,
    progress: Progress,
    only_paths: Collection[str] | None = None,
) -> tuple[BenchResults, Path]:
    """Bring each lab up in turn, measure it (only the paths in `only_paths`, None: all), take it down; then one report.

    A lab that is already up is refused before anything is measured (it may hold
    someone's work), and every lab this run builds is taken down again, also on
    Ctrl-C or a failure (`lab.apply.engine.session`). One lab measured on two
    datapaths (`lab.bench.variants`) is brought up twice under its name, one after
    the other, and its results named apart.
    """
    for run in runs:
        if Journal(run.plan.name).exists():
            raise LabError(f"lab {run.plan.name} is already up: 'cce-lab down {run.plan.name}' before comparing")
    labs = [_baseline(settings, progress)]
    for i, run in enumerate(runs, start=1):
        plan = run.plan
        progress(f"lab {i}/{len(runs)}: {run.result} ({plan.model}, {plan.datapath}) up")
        with session(plan, progress) as lab:
            result = run_suite(lab, settings, lambda msg, name=run.result: progress(f"{name}: {msg}"), only_paths)
        labs.append(result.model_copy(update={"name": run.result}))
    results = _results(labs, settings)
    return results, report.write(results, _outdir(results_dir, "-".join(r.result for r in runs)))
