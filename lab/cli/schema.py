"""`cce-lab schema KIND`: the JSON Schema of a document cce-lab writes (plan, status, check, bench results)."""

from __future__ import annotations

import argparse
import json

from lab import documents
from lab.bench.results import BenchResults
from lab.observe.results import CheckReport
from lab.observe.status import LabStatus
from lab.observe.traceresults import TraceReport
from lab.plan.model import Plan, Spread
from lab.training.grading import Grade
from lab.training.record import ExerciseState, Report

DOCUMENTS: dict[str, type] = {
    "plan": Plan,
    "spread": Spread,
    "status": LabStatus,
    "check": CheckReport,
    "bench": BenchResults,
    "trace": TraceReport,
    "exercise-check": Grade,
    "exercise-status": ExerciseState,
    "exercise-report": Report,
}


def add(sub) -> None:
    sp = sub.add_parser(
        "schema", help="print the JSON Schema of a document cce-lab writes (plan, check, trace, exercise-check ...)"
    )
    sp.add_argument("kind", choices=sorted(DOCUMENTS), help="which document")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    print(json.dumps(documents.schema(DOCUMENTS[a.kind]), indent=2))
    return 0
