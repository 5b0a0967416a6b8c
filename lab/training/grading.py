"""Grading an exercise on the lab as it is now: the checker's rows, the exercise's own assertions, answers.

A break/fix exercise is solved when the whole `check` is green, the rows its
fault broke are there and pass, and every hook of the exercise finds nothing
wrong (e.g. "exactly one VPC route per node": a route to the whole container
CIDR also heals the node, but it is not how CCE's VPC network works). An
exploration is solved by a right answer given since its (re)start.
"""

from __future__ import annotations

import json
import re
from dataclasses import field
from string import Template

from pydantic.dataclasses import dataclass

from lab.apply import faults
from lab.kernel import procs
from lab.observe.checks import run_checks
from lab.observe.results import CheckReport
from lab.plan.model import Plan
from lab.progress import Progress, quiet
from lab.render.faults import matches
from lab.training import record
from lab.training.catalogue import Exercise

GRADE_SCHEMA_VERSION = 1


class LabView:
    """What an exercise's hooks see of the lab: its plan, and a way to ask the kernel."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def run(self, netns: str | None, *argv: str) -> str:
        """A command's output inside a lab namespace ('' when it fails)."""
        res = procs.run(netns, list(argv), check=False)
        return res.stdout if res.returncode == 0 else ""

    def routes(self, netns: str) -> list[dict]:
        """The main route table of a namespace, as `ip -j route` gives it."""
        return json.loads(self.run(netns, "ip", "-j", "route", "show") or "[]")

    def facts(self) -> dict[str, object]:
        """What an answer pattern may name as $key."""
        p = self.plan
        return {"pod_mtu": p.pod_mtu, "mtu": p.mtu, "nodes": len(p.nodes), "model": p.model, "pods": len(p.pods)}


@dataclass
class GradeItem:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Grade:
    """The `exercise check --json` document."""

    exercise: str
    lab: str
    model: str
    solved: bool
    items: list[GradeItem] = field(default_factory=list)
    check: CheckReport | None = None
    schema_version: int = GRADE_SCHEMA_VERSION


def answer_pattern(ex: Exercise, lab: LabView) -> str:
    hook = ex.hook("answer")
    return hook(lab) if hook else Template(ex.answer).safe_substitute(lab.facts())


def reference_answer(ex: Exercise, lab: LabView) -> str:
    hook = ex.hook("reference")
    return hook(lab) if hook else Template(ex.reference).safe_substitute(lab.facts())


def is_right(ex: Exercise, lab: LabView, text: str) -> bool:
    return re.search(answer_pattern(ex, lab), text, re.IGNORECASE) is not None


def _answered(history: list[record.Event], ex: Exercise, who: str) -> record.Event | None:
    """The right answer given in the current run (a reset forgets earlier ones)."""
    right = None
    for e in record.since_start(history, ex.id, who):
        if e.event == "reset":
            right = None
        elif e.event == "answer" and e.ok:
            right = e
    return right


def _hook_items(ex: Exercise, lab: LabView) -> list[GradeItem]:
    items = []
    for name in ex.verify.hooks:
        hook = ex.hook(name)
        assert hook  # the catalogue checked it
        problems = list(hook(lab))
        doc = (hook.__doc__ or name).strip().splitlines()[0]
        items.append(GradeItem(doc, not problems, "; ".join(problems[:4]) or "as it should be"))
    return items


def grade(ex: Exercise, plan: Plan, who: str, progress: Progress = quiet) -> Grade:
    lab = LabView(plan)
    result = Grade(ex.id, plan.name, plan.model, False)
    if ex.kind == "exploration":
        given = _answered(record.events(), ex, who)
        detail = f"answered {given.detail!r}" if given else "no right answer yet: cce-lab exercise answer ID TEXT"
        result.items.append(GradeItem(f"answer: {ex.question}", given is not None, detail))
    else:
        report = run_checks(plan, progress)
        result.check = report
        failed = [r for r in report.results if not r.ok]
        result.items += [GradeItem(f"check: {r.scenario}", False, f"{r.actual}: {r.detail}") for r in failed]
        if not failed:
            result.items.append(GradeItem("cce-lab check", True, f"all {len(report.results)} rows pass"))
        patterns = tuple(ex.verify.rows) or faults.describe(plan, ex.fault).fails
        for pattern in patterns:
            rows = [r for r in report.results if matches(r.scenario, (pattern,))]
            ok = bool(rows) and all(r.ok for r in rows)
            detail = f"{len(rows)} rows" if rows else "no such row: the lab lacks what the exercise needs"
            result.items.append(GradeItem(f"the broken path works again: {pattern.rstrip('$')}", ok, detail))
        result.items += _hook_items(ex, lab)
    result.solved = all(i.ok for i in result.items)
    return result
