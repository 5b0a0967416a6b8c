"""Training for people: the exercise list, a grade, an exercise's status, and the classroom report."""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from lab.training.catalogue import Exercise
from lab.training.grading import Grade
from lab.training.record import ExerciseState, Report


def _mark(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def print_list(console: Console, exercises: list[Exercise], states: dict[str, ExerciseState]) -> None:
    table = Table("exercise", "kind", "models", "title", "your state", title="Exercises")
    for ex in exercises:
        st = states.get(ex.id)
        table.add_row(ex.id, ex.kind, ", ".join(ex.models), escape(ex.title), st.state if st else "not started")
    console.print(table)


def print_briefing(console: Console, ex: Exercise, lab: str, model: str) -> None:
    console.print(f"[bold]{escape(ex.title)}[/bold]  ({ex.id}, {model} model, lab {lab})")
    console.print(Markdown(ex.briefing))
    if ex.kind == "exploration":
        console.print(f"[bold]Question:[/bold] {escape(ex.question)}")
        console.print(f"Answer with: cce-lab exercise answer {ex.id} 'YOUR ANSWER'")
    console.print(
        "When you think it is fixed: [bold]cce-lab exercise check[/bold]; stuck: cce-lab exercise hint", markup=True
    )


def print_grade(console: Console, grade: Grade, ex: Exercise) -> None:
    table = Table("", "what", "detail", title=f"{ex.id} on lab {grade.lab}", title_justify="left")
    for item in grade.items:
        table.add_row(_mark(item.ok), escape(item.what), escape(item.detail))
    console.print(table)
    if grade.solved:
        console.print("[green bold]Solved.[/green bold] What you learned:")
        console.print(Markdown(ex.learned))
    else:
        console.print("[red]Not yet.[/red] 'cce-lab exercise hint' shows the next hint.")


def print_status(console: Console, ex: Exercise, lab: str, model: str, state: ExerciseState, faults: list[str]) -> None:
    table = Table("", "", title=f"exercise {ex.id}", title_justify="left", show_header=False)
    table.add_row("title", escape(ex.title))
    table.add_row("lab", f"{lab} ({model} model)")
    table.add_row("state", state.state)
    table.add_row("started", state.started.isoformat(timespec="seconds") if state.started else "-")
    table.add_row("checks and answers", str(state.attempts))
    table.add_row("hints used", f"{state.hints_used} of {len(ex.hints)}")
    table.add_row("resets", str(state.resets))
    table.add_row("reference solution applied", "yes" if state.solution_applied else "no")
    table.add_row("faults in force", ", ".join(faults) or "none (check to confirm)")
    console.print(table)


COLUMNS = ("trainee", "exercise", "state", "attempts", "hints_used", "resets", "solution_applied", "seconds_to_solve")


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _cells(row: ExerciseState) -> list[str]:
    data = row.model_dump()
    return [_cell(data[c]) for c in COLUMNS]


def report_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_cells(r) for r in report.rows)
    return buf.getvalue()


def report_markdown(report: Report) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in _cells(r)) + " |" for r in report.rows]
    return "\n".join(lines) + "\n"


def print_solution(console: Console, ex: Exercise) -> None:
    console.print(Markdown(ex.solution))
