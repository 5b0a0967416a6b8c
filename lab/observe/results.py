"""The check results document (`check --json`): one row per scenario, typed once."""

from __future__ import annotations

from dataclasses import field

from pydantic import computed_field
from pydantic.dataclasses import dataclass

CHECKS_SCHEMA_VERSION = 1
REACHABLE, BLOCKED = "reachable", "blocked"


@dataclass
class CheckResult:
    """A scenario, what the model should do (DESIGN.md "Access scenarios"), what the probe saw."""

    scenario: str
    expected: str
    actual: str
    detail: str
    source: str = ""  # the source address the far end saw, where the probe learns it
    answered_by: str = ""  # the pod (or server) that answered
    model: str = ""  # the network model of the lab it ran on (rows of several labs side by side)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass
class CheckReport:
    """Every row of one `check` run, with the lab it ran on."""

    name: str
    model: str
    datapath: str
    results: list[CheckResult] = field(default_factory=list)
    schema_version: int = CHECKS_SCHEMA_VERSION

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def controlled(row: CheckResult, control_ok: bool, control: str) -> CheckResult:
    """A "blocked" verdict stands only if the positive control over the same path got through."""
    if row.actual == BLOCKED:
        row.detail += f"; control {control}"
        if not control_ok:
            row.actual = "blocked, but the control failed"
    return row
