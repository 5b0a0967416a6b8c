"""Errors the CLI turns into one clear message and an exit code."""

from __future__ import annotations


class LabError(Exception):
    """A failure the user can act on; `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(LabError):
    """Bad command-line arguments."""

    exit_code = 2


class SpecError(LabError):
    """Bad topology input: names the field and the rule it breaks."""

    exit_code = 2

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")
