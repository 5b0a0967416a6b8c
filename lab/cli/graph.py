"""`cce-lab graph FILE|LAB`: the topology as a picture (DOT, SVG, PNG, Mermaid, or an HTML page with checks)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from lab import documents
from lab.cli.console import err, need_root, progress, spec_of
from lab.errors import UsageError
from lab.observe import status
from lab.observe.results import CheckReport
from lab.plan import make_plan
from lab.plan.model import Plan
from lab.render import graph as render
from lab.report import graph as out
from lab.report import graphpage

SUFFIXES = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".html": "html"}
MAX_CHECK_FILE = 16 << 20  # a check --json document of a 2,000-node lab is far smaller


def add(sub) -> None:
    sp = sub.add_parser("graph", help="draw the topology: DOT, SVG, PNG, Mermaid, or an HTML page with checks")
    sp.add_argument("target", help="a topology file (.yaml/.py; no root needed) or the name of a running lab")
    sp.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="for a .py topology")
    sp.add_argument("-o", "--output", metavar="OUT", help="write here (default: standard output)")
    sp.add_argument("--format", metavar="|".join(out.FORMATS), help="default: from OUT's suffix, else dot")
    sp.add_argument("--services", action="store_true", help="draw the Services layer (ClusterIP/NodePort/LB/DNAT)")
    sp.add_argument("--check", metavar="FILE", help="html: colour the results of this 'cce-lab check --json' file")
    sp.set_defaults(func=run)


def _format(a: argparse.Namespace) -> str:
    if a.format is not None:
        if a.format not in out.FORMATS:
            raise UsageError(f"--format {a.format!r}: use one of {', '.join(out.FORMATS)}")
        return a.format
    if a.output:
        return SUFFIXES.get(Path(a.output).suffix.lower(), "dot")
    return "dot"


def _is_file(target: str) -> bool:
    return target.endswith((".yaml", ".yml", ".py")) or "/" in target or os.path.isfile(target)


def _plan(a: argparse.Namespace) -> tuple[Plan, bool]:
    """(plan, running): a topology file's plan (`datapath: auto` left as auto), or a running lab's saved plan."""
    if not a.target:
        raise UsageError("graph: the target is empty: give a topology file or a lab name")
    if _is_file(a.target):
        return make_plan(spec_of(a.target, a.param)), False
    if a.param:
        raise UsageError("-p: parameters belong to a topology script, not to a running lab")
    return status.load_plan(status.pick_lab(a.target)), True


def _read_checks(path: str) -> graphpage.Checks:
    try:
        size = os.stat(path).st_size
        if size > MAX_CHECK_FILE:
            raise UsageError(f"--check {path}: {size} bytes, more than a check document holds")
        data = json.loads(Path(path).read_text())
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise UsageError(f"--check {path}: cannot be read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--check {path}: not JSON ({str(exc)[:80]}): give a 'cce-lab check --json' output") from exc
    report = documents.load(CheckReport, data, f"--check {path}")
    return graphpage.Checks(report, f"'cce-lab check --json' file {path}", f"written {out.stamp(mtime)}")


def _checks(a: argparse.Namespace, plan: Plan, running: bool) -> graphpage.Checks | None:
    if a.check:
        checks = _read_checks(a.check)
        if checks.report.name != plan.name:
            raise UsageError(f"--check {a.check}: results of lab {checks.report.name!r}, not {plan.name!r}")
        return checks
    if not running:
        return None
    need_root()
    from lab.observe import checks as run  # the probes: only for a running lab, as root

    progress(f"running the checks of {plan.name} for the page")
    when = time.time()
    return graphpage.Checks(run.run_checks(plan, progress), "checks run by cce-lab graph", out.stamp(when))


def run(a: argparse.Namespace) -> int:
    fmt = _format(a)
    target = out.check_output(a.output)
    if a.check and fmt != "html":
        raise UsageError("--check: check results are drawn on the html page only (--format html)")
    if fmt == "png" and target is None and sys.stdout.isatty():
        raise UsageError("--format png: a binary image; give -o FILE.png")
    plan, running = _plan(a)
    if fmt == "mermaid":
        data: str | bytes = render.mermaid(plan, a.services)
    elif fmt == "dot":
        data = render.dot(plan, a.services)
    elif fmt == "html":
        checks = _checks(a, plan, running)
        data = graphpage.page(plan, out.svg_text(render.dot(plan, a.services)), checks)
        if checks and not checks.report.ok:
            err.print(f"note: {sum(1 for r in checks.report.results if not r.ok)} check rows failed (red on the page)")
    else:
        data = out.layout(render.dot(plan, a.services), fmt)
    if target is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        return 0
    out.write(target, data)
    err.print(f"wrote {target} ({fmt}, {len(data)} bytes)")
    return 0
