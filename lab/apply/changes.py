"""Declared, journalled changes to a running lab: a lab is only ever altered through here.

A change is journalled before it is made ({"change": kind, ...}) and again once
it is undone ({"restored": kind}), so a run killed in between leaves a lab
that `status` reports as altered (and `down` removes as usual): nobody is left
trusting a lab that silently differs from its plan. `check` uses one such
change (the intranet security group without the container CIDR, to show what
the VPC model's pod source IPs need); the fault catalogue of the training
work is meant to land here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lab.apply import surroundings
from lab.kernel.journal import Journal
from lab.plan.model import Plan


def pending(journal: Journal) -> list[str]:
    """Changes made and not (yet) undone, in the order they were made."""
    open_changes: list[str] = []
    for entry in journal.entries():
        if "change" in entry:
            open_changes.append(entry["change"])
        elif "restored" in entry and entry["restored"] in open_changes:
            open_changes.remove(entry["restored"])
    return open_changes


@contextmanager
def security_group(plan: Plan, allow: list[str]) -> Iterator[None]:
    """The intranet server's security group allows only `allow` for the body, then what it allowed before
    (the plan's sources, or what a fault or a trainee left there: a check must not repair the lab it grades)."""
    journal = Journal(plan.name)
    before = surroundings.allowed_sources(plan)
    journal.add(change="security-group", allow=allow, before=before)
    surroundings.security_group(plan, allow)
    try:
        yield
    finally:
        surroundings.security_group(plan, before)
        journal.add(restored="security-group")
