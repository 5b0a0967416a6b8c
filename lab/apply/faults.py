"""Injecting and undoing the catalogue's faults on a running lab, journalled like every change.

The commands come from `lab.render.faults` (pure); here they are run, and the
journal says which faults are in force, so `status` shows the lab as
altered, `fault undo` (or `down`) puts it back, and a kill in between leaves
a record rather than a silently broken lab.
"""

from __future__ import annotations

from lab.apply.changes import pending
from lab.errors import LabError, UsageError
from lab.kernel import procs
from lab.kernel.journal import Journal, lab_dir
from lab.plan.model import Plan
from lab.render import faults as catalogue
from lab.render.faults import Fault

PREFIX = "fault:"


def describe(plan: Plan, name: str) -> Fault:
    try:
        return catalogue.fault(plan, name, lab_dir(plan.name) / "ovs")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def active(journal: Journal) -> list[str]:
    """The faults in force on the lab, in the order they were injected."""
    return [c.removeprefix(PREFIX) for c in pending(journal) if c.startswith(PREFIX)]


def inject(plan: Plan, name: str) -> Fault:
    """Break the lab as fault `name` says; journalled first, so `undo` and `down` know of it."""
    fault = describe(plan, name)
    journal = Journal(plan.name)
    if name in active(journal):
        raise LabError(f"fault {name} is already in force on {plan.name}: 'cce-lab fault undo {name}' first")
    journal.add(change=PREFIX + name)
    try:
        for ns, argv, stdin in fault.inject:
            procs.run(ns, argv, input=stdin)
    except LabError:
        for ns, argv, stdin in fault.undo:  # put back what was already broken, as far as it goes
            procs.run(ns, argv, input=stdin, check=False)
        journal.add(restored=PREFIX + name)
        raise
    return fault


def undo(plan: Plan, name: str, tolerant: bool = False) -> Fault:
    """Put back what fault `name` broke. `tolerant` (an exercise's reference solution): run every undo command
    even if some fail (what a trainee already fixed refuses to be fixed twice), and accept a fault not in force."""
    journal = Journal(plan.name)
    in_force = name in active(journal)
    if not in_force and not tolerant:
        raise LabError(
            f"fault {name} is not in force on {plan.name} (in force: {', '.join(active(journal)) or 'none'})"
        )
    fault = describe(plan, name)
    for ns, argv, stdin in fault.undo:
        procs.run(ns, argv, input=stdin, check=not tolerant)
    _forget(fault)
    if in_force:
        journal.add(restored=PREFIX + name)
    return fault


def _forget(fault: Fault) -> None:
    """Delete the connections the break left tracked with a wrong NAT decision; none left to delete is fine."""
    for ns, argv, stdin in fault.forget:
        res = procs.run(ns, argv, input=stdin, check=False)
        if res.returncode not in (0, 1):  # 1: "0 flow entries have been deleted"
            raise LabError(f"{' '.join(argv)} in {ns} failed: {(res.stderr or res.stdout).strip()} (make setup?)")
