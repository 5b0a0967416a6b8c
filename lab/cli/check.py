"""`cce-lab check [NAME] [--json]`: the connectivity and access checks; exit 1 on any mismatch."""

from __future__ import annotations

import argparse
import json

from lab import documents
from lab.cli.console import err, need_root, out, progress
from lab.errors import LabError
from lab.observe import checks, status
from lab.progress import quiet
from lab.report import tables


def add(sub) -> None:
    sp = sub.add_parser("check", help="run the connectivity checks; exit 1 on any mismatch")
    sp.add_argument("name", nargs="?", help="lab name (default: the only lab up)")
    sp.add_argument("--json", action="store_true", help="results as JSON (schema in README)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    name = status.pick_lab(a.name)
    state = status.lab_status(name)
    if state.state == "incomplete":
        raise LabError(f"lab {name} is incomplete (its up did not finish): 'cce-lab down {name}', then up again")
    if state.state != "up":  # a broken or altered lab is exactly what check is for: say so, then check it
        why = ", ".join([*state.altered, *(f"{ns} missing" for ns in state.missing_netns)]) or "a daemon is gone"
        err.print(f"note: lab {name} is {state.state} ({why})")
    report = checks.run_checks(status.load_plan(name), quiet if a.json else progress)
    if a.json:
        print(json.dumps(documents.dump(report), indent=2))
    else:
        tables.print_checks(out, report)
    return 0 if report.ok else 1
