"""How long work reports what it is doing: one callable taking a short line, shared by every stage."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A Progress that says nothing."""
