"""The trainee's record: an append-only file of events, and what status and the report compute from it.

One file per machine (a classroom machine is one trainee's, or each trainee
passes --trainee). Events are never rewritten: a reference solution or a reset
stays on the record, so an exercise "solved" by `exercise solve` says so.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RECORD_ENV = "CCE_LAB_TRAINING_RECORD"
DEFAULT_RECORD = Path("/var/lib/cce-lab/training/record.jsonl")
REPORT_SCHEMA_VERSION = 1

Kind = Literal["start", "check", "hint", "solve", "reset", "answer", "stop"]


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    trainee: str
    exercise: str
    event: Kind
    model: str = ""
    lab: str = ""
    ok: bool | None = None  # check / answer: passed?
    hint: int = 0  # hint: which one (1-based)
    detail: str = ""  # check: what failed; answer: the answer given (shortened)


class ExerciseState(BaseModel):
    """One trainee's state of one exercise, as `status` and `report` show it (`exercise status --json`)."""

    schema_version: int = REPORT_SCHEMA_VERSION
    trainee: str
    exercise: str
    lab: str = ""  # status: the lab it runs on
    model: str = ""
    state: Literal["not started", "attempted", "solved", "solved by the reference solution"]
    attempts: int = 0  # checks and answers
    hints_used: int = 0
    resets: int = 0
    solution_applied: bool = False
    started: datetime | None = None
    solved: datetime | None = None
    seconds_to_solve: float | None = None


class Report(BaseModel):
    schema_version: int = REPORT_SCHEMA_VERSION
    rows: list[ExerciseState] = Field(default_factory=list)


def path() -> Path:
    return Path(os.environ.get(RECORD_ENV, DEFAULT_RECORD))


def trainee() -> str:
    """Whoever runs the command: sudo's caller if there is one."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def add(exercise: str, event: Kind, who: str | None = None, **fields) -> Event:
    entry = Event(at=datetime.now(UTC), trainee=who or trainee(), exercise=exercise, event=event, **fields)
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    cut_short = target.exists() and target.stat().st_size and not target.read_bytes().endswith(b"\n")
    with target.open("a") as f:
        f.write("\n" * bool(cut_short) + entry.model_dump_json() + "\n")  # a line a crash cut short stays alone
    return entry


def events() -> list[Event]:
    try:
        lines = path().read_text().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            found.append(Event(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # a line cut short by a crash: the rest of the record still counts
    return found


def since_start(history: list[Event], exercise: str, who: str) -> list[Event]:
    """The events of the current run of an exercise: from its last `start` on."""
    mine = [e for e in history if e.exercise == exercise and e.trainee == who]
    starts = [i for i, e in enumerate(mine) if e.event == "start"]
    return mine[starts[-1] :] if starts else []


def hints_used(history: list[Event], exercise: str, who: str) -> int:
    return max((e.hint for e in since_start(history, exercise, who) if e.event == "hint"), default=0)


def summarise(history: list[Event], exercise: str, who: str) -> ExerciseState:
    """State of one exercise for one trainee, over all of its runs: the first solve counts."""
    mine = [e for e in history if e.exercise == exercise and e.trainee == who]
    state = ExerciseState(trainee=who, exercise=exercise, state="not started")
    for e in mine:
        if e.event == "start" and state.started is None:
            state.started, state.state = e.at, "attempted"
        elif e.event in ("check", "answer"):
            state.attempts += 1
        elif e.event == "hint":
            state.hints_used = max(state.hints_used, e.hint)
        elif e.event == "reset":
            state.resets += 1
        elif e.event == "solve":
            state.solution_applied = True
        if e.event in ("check", "answer") and e.ok and state.solved is None:
            state.solved = e.at
            state.state = "solved by the reference solution" if state.solution_applied else "solved"
            if state.started:
                state.seconds_to_solve = round((e.at - state.started).total_seconds(), 1)
    return state


def report(history: list[Event], exercises: list[str]) -> Report:
    """Every trainee on the record, every exercise: the classroom's table."""
    people = sorted({e.trainee for e in history}) or [trainee()]
    return Report(rows=[summarise(history, ex, who) for who in people for ex in exercises])
