"""Errors the CLI turns into one clear message and an exit code."""

from __future__ import annotations


class LabError(Exception):
    """A failure the user can act on; `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(LabError):
    """Bad command-line arguments."""

    exit_code = 2


MAX_MESSAGE = 300  # a message never echoes unbounded input


def _bounded(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line, whatever the input held
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SpecError(LabError):
    """Bad topology input: names the field and the rule it breaks, on one line of at most MAX_MESSAGE characters."""

    exit_code = 2

    def __init__(self, field: str, rule: str) -> None:
        self.field = _bounded(field, 80)
        self.rule = _bounded(rule, MAX_MESSAGE - len(self.field) - 2)
        super().__init__(f"{self.field}: {self.rule}")
