"""`cce-lab exercise list|start|status|check|hint|answer|solve|reset|stop|report`: graded hands-on training."""

from __future__ import annotations

import argparse
import json

from lab import documents
from lab.apply import faults
from lab.cli.console import err, need_root, out, progress
from lab.errors import UsageError
from lab.kernel.journal import Journal
from lab.progress import quiet
from lab.report import training as show
from lab.training import catalogue, grading, record, session

ACTIONS = ("list", "start", "status", "check", "hint", "answer", "solve", "reset", "stop", "report")
MAX_ANSWER = 500


def add(sub) -> None:
    sp = sub.add_parser(
        "exercise",
        help="hands-on training: break/fix and exploration exercises, graded on a running lab",
        description="Exercises live in training/<id>/ (and in folders named by $CCE_LAB_EXERCISES). "
        "The trainee's record is kept in /var/lib/cce-lab/training/record.jsonl ($CCE_LAB_TRAINING_RECORD).",
    )
    sp.add_argument("action", choices=ACTIONS, help="what to do (start, check, hint ... see docs/training.md)")
    sp.add_argument("id", nargs="?", help="the exercise (start, answer; see 'cce-lab exercise list')")
    sp.add_argument("text", nargs="?", help="answer: your answer, quoted")
    sp.add_argument(
        "--model", choices=catalogue.MODELS, help="start: the network model (default: the exercise's first)"
    )
    sp.add_argument("--lab", help="the lab name (start: default the model's topology name; else: the lab in progress)")
    sp.add_argument("--json", action="store_true", help="list, check, status, report: JSON")
    sp.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown", help="report: the format")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    if a.action in ("list", "report"):
        return _list(a) if a.action == "list" else _report(a)
    need_root()
    if a.action == "start":
        if not a.id:
            raise UsageError("exercise start: name the exercise (see 'cce-lab exercise list')")
        ex = catalogue.get(a.id)
        plan = session.plan_for(ex, a.model, a.lab)
        session.start(ex, plan, progress)
        show.print_briefing(out, ex, plan.name, plan.model)
        return 0
    ex, plan = session.current(a.lab)
    who = record.trainee()
    if a.action == "status":
        state = record.summarise(record.events(), ex.id, who)
        state.hints_used = record.hints_used(record.events(), ex.id, who)
        state.lab, state.model = plan.name, plan.model
        if a.json:
            print(state.model_dump_json(indent=2))
        else:
            show.print_status(out, ex, plan.name, plan.model, state, faults.active(Journal(plan.name)))
        return 0
    if a.action == "check":
        grade = grading.grade(ex, plan, who, quiet if a.json else progress)
        failed = [i.what for i in grade.items if not i.ok]
        record.add(ex.id, "check", model=plan.model, lab=plan.name, ok=grade.solved, detail="; ".join(failed)[:300])
        if grade.solved:
            session.healed(ex, plan)
        if a.json:
            print(json.dumps(documents.dump(grade), indent=2))
        else:
            show.print_grade(out, grade, ex)
        return 0 if grade.solved else 1
    if a.action == "hint":
        n, text = session.hint(ex, plan)
        if text is None:
            out.print(f"No more hints ({n} of {len(ex.hints)} shown). 'cce-lab exercise solve' applies the solution.")
        else:
            out.print(f"[bold]Hint {n} of {len(ex.hints)}:[/bold] {text}")
        return 0
    if a.action == "answer":
        return _answer(a, ex, plan)
    if a.action == "solve":
        for line in session.solve(ex, plan):
            out.print(line, markup=False, soft_wrap=True)
        err.print(f"reference solution of {ex.id} applied (the record says so); 'cce-lab exercise check' to grade")
        show.print_solution(out, ex)
        return 0
    if a.action == "reset":
        session.reset(ex, plan, progress)
        err.print(f"{ex.id}: back to its broken start on lab {plan.name}")
        return 0
    err.print(f"exercise {ex.id} stopped; lab {plan.name}: {session.stop(ex, plan)}")
    return 0


def _answer(a: argparse.Namespace, ex: catalogue.Exercise, plan) -> int:
    if not a.id or a.text is None:
        raise UsageError("exercise answer: give the exercise and your answer: cce-lab exercise answer ID 'TEXT'")
    if a.id != ex.id:
        raise UsageError(f"exercise answer: {a.id[:40]!r} is not the exercise in progress ({ex.id})")
    if ex.kind != "exploration":
        raise UsageError(f"exercise answer: {ex.id} is a break/fix exercise: fix the lab, then 'exercise check'")
    if len(a.text) > MAX_ANSWER:
        raise UsageError(f"exercise answer: at most {MAX_ANSWER} characters")
    ok = grading.is_right(ex, grading.LabView(plan), a.text)
    record.add(ex.id, "answer", model=plan.model, lab=plan.name, ok=ok, detail=a.text[:200])
    out.print("[green]Right.[/green] 'cce-lab exercise check' records it as solved." if ok else "[red]Not that.[/red]")
    return 0 if ok else 1


def _list(a: argparse.Namespace) -> int:
    exercises = list(catalogue.all_exercises().values())
    history, who = record.events(), record.trainee()
    states = {ex.id: record.summarise(history, ex.id, who) for ex in exercises}
    if a.json:
        rows = [
            {
                "id": ex.id,
                "title": ex.title,
                "kind": ex.kind,
                "models": ex.models,
                "fault": ex.fault,
                "hints": len(ex.hints),
                "state": states[ex.id].state,
            }
            for ex in exercises
        ]
        print(json.dumps(rows, indent=2))
    else:
        show.print_list(out, exercises, states)
    return 0


def _report(a: argparse.Namespace) -> int:
    report = record.report(record.events(), list(catalogue.all_exercises()))
    if a.json or a.format == "json":
        print(report.model_dump_json(indent=2))
    else:
        print(show.report_csv(report) if a.format == "csv" else show.report_markdown(report), end="")
    return 0
