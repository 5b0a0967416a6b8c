"""The exercises on this machine: the shipped folder `training/` and any folder a trainer adds.

Each exercise is one folder: `exercise.yaml` (validated here, one line per
mistake, like a topology file), `briefing.md`, `solution.md` and an optional
`hooks.py` with exercise-specific assertions. A trainer adds one by writing a
folder; nothing in the engine changes.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lab.errors import UsageError
from lab.render.faults import BUILDERS

SHIPPED = Path(__file__).resolve().parents[2] / "training"
EXTRA_ENV = "CCE_LAB_EXERCISES"  # more exercise folders, ':'-separated
ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
MODELS = ("tunnel", "vpc")


class Verify(BaseModel):
    """What `exercise check` requires besides a green `check`: rows that must be there and pass, and hooks."""

    model_config = ConfigDict(extra="forbid")
    rows: list[str] = Field(default_factory=list, max_length=20)  # check row patterns (lab.render.faults.matches)
    hooks: list[str] = Field(default_factory=list, max_length=10)  # functions of hooks.py: (lab) -> problems


class Exercise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = ""  # the folder's name
    title: str = Field(min_length=3, max_length=100)
    kind: Literal["break-fix", "exploration"]
    models: list[Literal["tunnel", "vpc"]] = Field(min_length=1, max_length=2)
    fault: str = ""  # break-fix: a fault of the catalogue
    datapath: Literal["", "ovs-userspace", "ovs-kernel", "linux-vxlan", "routed"] = ""  # pin one (its fault needs it)
    topology: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]{0,30}$")  # a shipped one (default: the model's)
    question: str = ""  # exploration: what the trainee answers with `exercise answer`
    answer: str = ""  # exploration: a regular expression (or a hooks.py function `answer(lab)` returns one)
    reference: str = ""  # exploration: the reference answer (or `reference(lab)` in hooks.py)
    hints: list[str] = Field(min_length=2, max_length=4)
    verify: Verify = Field(default_factory=Verify)
    learned: str = Field(min_length=20, max_length=2000)
    folder: Path = Path()
    briefing: str = ""
    solution: str = ""

    @field_validator("hints")
    @classmethod
    def _hints_say_something(cls, hints: list[str]) -> list[str]:
        if any(len(h.strip()) < 10 for h in hints):
            raise ValueError("every hint must say something (10 characters or more)")
        return hints

    def hook(self, name: str) -> Callable | None:
        """A function of the exercise's hooks.py, or None."""
        module = _hooks(self.folder / "hooks.py")
        return getattr(module, name, None) if module else None


@cache
def _hooks(path: Path) -> ModuleType | None:
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"cce_lab_exercise_{path.parent.name.replace('-', '_')}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _problem(folder: Path, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "exercise"
    return f"{folder.name}/exercise.yaml: {where}: {first['msg']}"


def load(folder: Path) -> Exercise:
    """One exercise folder, checked whole; UsageError names the file, the field and the rule."""
    if not ID.match(folder.name):
        raise UsageError(f"{folder}: an exercise folder is named with a-z, 0-9 and '-' (2 to 41 characters)")
    try:
        data = yaml.safe_load((folder / "exercise.yaml").read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{folder.name}/exercise.yaml: unreadable: {str(exc).splitlines()[0][:120]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{folder.name}/exercise.yaml: must be a mapping of fields")
    texts = {}
    for part in ("briefing", "solution"):
        try:
            texts[part] = (folder / f"{part}.md").read_text()
        except OSError:
            raise UsageError(f"{folder.name}: {part}.md is missing (every exercise has one)") from None
    try:
        ex = Exercise(**data, id=folder.name, folder=folder, **texts)
    except ValidationError as exc:
        raise UsageError(_problem(folder, exc)) from None
    except TypeError:
        raise UsageError(f"{folder.name}/exercise.yaml: id, folder, briefing and solution are not fields") from None
    if ex.kind == "break-fix" and ex.fault not in BUILDERS:
        raise UsageError(
            f"{folder.name}/exercise.yaml: fault: {ex.fault!r} is not in the catalogue (cce-lab fault list)"
        )
    if ex.kind == "exploration":
        if not ex.question or not (ex.answer or ex.hook("answer")) or not (ex.reference or ex.hook("reference")):
            raise UsageError(f"{folder.name}/exercise.yaml: an exploration needs question, answer and reference")
        if ex.answer:
            try:
                re.compile(ex.answer)
            except re.error as exc:
                raise UsageError(f"{folder.name}/exercise.yaml: answer: not a regular expression: {exc}") from None
    missing = [h for h in ex.verify.hooks if ex.hook(h) is None]
    if missing:
        raise UsageError(f"{folder.name}/exercise.yaml: verify.hooks: {missing[0]} is not a function of hooks.py")
    return ex


def folders() -> list[Path]:
    """Every exercise folder: the shipped ones, then those under $CCE_LAB_EXERCISES (a later one wins)."""
    roots = [SHIPPED, *(Path(p) for p in os.environ.get(EXTRA_ENV, "").split(":") if p)]
    return [f for root in roots if root.is_dir() for f in sorted(root.iterdir()) if (f / "exercise.yaml").exists()]


def all_exercises() -> dict[str, Exercise]:
    found: dict[str, Exercise] = {}
    for folder in folders():
        found[folder.name] = load(folder)
    return found


def get(exercise_id: str) -> Exercise:
    exercises = all_exercises()
    if exercise_id not in exercises:
        shown = exercise_id[:40] + ("…" if len(exercise_id) > 40 else "")
        raise UsageError(f"exercise {shown!r}: no such exercise (cce-lab exercise list)")
    return exercises[exercise_id]
