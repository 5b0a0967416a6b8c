"""An exercise's life on a lab: start (build or reuse, then break), reset, solve, stop, hints and answers.

Which exercise runs on a lab is journalled in the lab's own journal
({"exercise": id} ... {"exercise_end": id}), so it ends with the lab: `down`
or `exercise stop` leave nothing. Breaking goes through the fault catalogue's
journalled mechanism only. A reset rebuilds the lab (seconds) before breaking
it again: whatever the trainee changed by hand is gone, as a fresh start must be.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from lab import documents, topology
from lab.apply import engine, faults
from lab.errors import LabError, UsageError
from lab.kernel.journal import Journal, list_labs
from lab.observe import status
from lab.plan.model import Plan
from lab.progress import Progress, quiet
from lab.spec import Spec
from lab.training import record
from lab.training.catalogue import Exercise, get
from lab.training.grading import LabView, reference_answer

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"


def active(name: str) -> tuple[str, str] | None:
    """(exercise id, model) in progress on lab `name`, if any."""
    current = None
    for entry in Journal(name).entries():
        if "exercise" in entry:
            current = (entry["exercise"], entry.get("model", ""))
        elif "exercise_end" in entry:
            current = None
    return current


def current(lab: str | None) -> tuple[Exercise, Plan]:
    """The exercise in progress (on `lab`, or on the only lab that has one) and its lab's plan."""
    names = [lab] if lab else [n for n in list_labs() if active(n)]
    if lab and not Journal(lab).exists():
        raise UsageError(f"--lab {lab[:20]}: no such lab is up")
    if not names or not active(names[0]):
        raise UsageError("no exercise in progress: 'cce-lab exercise list', then 'cce-lab exercise start ID'")
    if len(names) > 1:
        raise UsageError(f"exercises are in progress on labs {', '.join(names)}: give --lab")
    found = active(names[0])
    assert found
    return get(found[0]), status.load_plan(names[0])


def plan_for(ex: Exercise, model: str | None, lab: str | None) -> Plan:
    """The lab an exercise runs on: the shipped topology it names, else its model's, under the trainee's lab name."""
    model = model or ex.models[0]
    if model not in ex.models:
        raise UsageError(f"--model {model}: exercise {ex.id} runs on {' or '.join(ex.models)}")
    spec = topology.load(TOPOLOGIES / f"{ex.topology or model}.yaml")
    changes = ({"name": lab} if lab else {}) | ({"datapath": ex.datapath} if ex.datapath else {})
    try:
        spec = Spec.model_validate(spec.model_dump() | changes)
    except ValidationError:
        raise UsageError(f"--lab {(lab or '')[:20]}: a lab name is 1-10 lower-case letters/digits") from None
    plan = engine.plan_for_up(spec)
    if ex.kind == "break-fix":
        faults.describe(plan, ex.fault)  # does its break apply to this datapath? one line if not
    return plan


def _fresh(plan: Plan, progress: Progress, rebuild: bool) -> None:
    """The lab up exactly as planned, unaltered: reused when it already is, else (re)built."""
    journal = Journal(plan.name)
    if journal.exists():
        same = journal.complete() and journal.plan() == documents.dump(plan)
        clean = same and status.lab_status(plan.name).state == "up" and not active(plan.name)
        if clean and not rebuild:
            progress(f"lab {plan.name} is up and as planned: using it")
            return
        if not same and not active(plan.name):
            raise LabError(f"a different lab named {plan.name} is up: 'cce-lab down {plan.name}' or give --lab")
        progress(f"rebuilding lab {plan.name} for a clean start")
        engine.down(plan.name)
    engine.up(plan, progress)


def _break(ex: Exercise, plan: Plan, model: str) -> None:
    journal = Journal(plan.name)
    if ex.kind == "break-fix":
        faults.inject(plan, ex.fault)
    journal.add(exercise=ex.id, model=model)


def start(ex: Exercise, plan: Plan, progress: Progress = quiet) -> None:
    _fresh(plan, progress, rebuild=False)
    _break(ex, plan, plan.model)
    record.add(ex.id, "start", model=plan.model, lab=plan.name)


def reset(ex: Exercise, plan: Plan, progress: Progress = quiet) -> None:
    _fresh(plan, progress, rebuild=True)
    _break(ex, plan, plan.model)
    record.add(ex.id, "reset", model=plan.model, lab=plan.name)


def solve(ex: Exercise, plan: Plan) -> list[str]:
    """Apply the reference solution; returns what was done, as the commands a trainee would type."""
    record.add(ex.id, "solve", model=plan.model, lab=plan.name)
    if ex.kind == "exploration":
        text = reference_answer(ex, LabView(plan))
        record.add(ex.id, "answer", model=plan.model, lab=plan.name, ok=True, detail=text[:200])
        return [f"cce-lab exercise answer {ex.id} {text!r}"]
    fault = faults.undo(plan, ex.fault, tolerant=True)
    done = fault.undo + fault.forget
    return [f"ip netns exec {ns} {' '.join(argv)}" + (" < (rules)" if stdin else "") for ns, argv, stdin in done]


def healed(ex: Exercise, plan: Plan) -> None:
    """A passing check: the lab matches its plan again, so its fault is no longer in force."""
    journal = Journal(plan.name)
    if ex.kind == "break-fix" and ex.fault in faults.active(journal):
        journal.add(restored=faults.PREFIX + ex.fault)


def stop(ex: Exercise, plan: Plan) -> str:
    journal = Journal(plan.name)
    journal.add(exercise_end=ex.id)
    removed = engine.down(plan.name)
    record.add(ex.id, "stop", model=plan.model, lab=plan.name)
    return str(removed) if removed else "nothing to remove"


def hint(ex: Exercise, plan: Plan) -> tuple[int, str | None]:
    """The next hint (1-based) and its text; None once every hint was shown."""
    used = record.hints_used(record.events(), ex.id, record.trainee())
    if used >= len(ex.hints):
        return used, None
    record.add(ex.id, "hint", model=plan.model, lab=plan.name, hint=used + 1)
    return used + 1, ex.hints[used]
