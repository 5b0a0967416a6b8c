"""Datapaths: what joins the pods of a lab, behind one interface.

A datapath is a module of this package that defines `NAMES` (the `datapath:`
values it serves), `preflight(plan)` (refuse early, before anything is built,
when the host lacks what it needs), `build(plan, here, journal, progress)` (`here`: the nodes this host builds), and
`attach(plan, node, pods)` / `detach(plan, node, pod)` for a pod made or removed
on a running lab (`cce-lab move`). The
registry finds the modules by itself: a new datapath is one new module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Protocol

from lab.errors import LabError
from lab.kernel.journal import Journal
from lab.plan.model import Node, Plan, Pod
from lab.plan.spread import Here
from lab.progress import Progress


class Datapath(Protocol):
    NAMES: tuple[str, ...]

    def preflight(self, plan: Plan) -> None: ...

    def build(self, plan: Plan, here: Here, journal: Journal, progress: Progress) -> None: ...

    def attach(self, plan: Plan, node: Node, pods: list[Pod]) -> None: ...

    def detach(self, plan: Plan, node: Node, pod: Pod) -> None: ...


@cache
def registry() -> dict[str, Datapath]:
    """datapath name -> the module that builds it."""
    found: dict[str, Datapath] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in getattr(module, "NAMES", ()):
            found[name] = module  # type: ignore[assignment]
    return found


def get(name: str) -> Datapath:
    try:
        return registry()[name]
    except KeyError:
        raise LabError(f"datapath {name!r} cannot be built (known: {', '.join(sorted(registry()))})") from None
