"""The layout holds: no import cycle anywhere in lab/, and the pure stages never reach the kernel.

Imports are read from the source (every `import`, also those inside
functions), so a lazy import cannot hide a cycle or a side door to the system.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "lab"
# The stages that must stay pure: what they import may not touch the system.
PURE = ("lab.spec", "lab.plan", "lab.render")
PURE_SUPPORT = {"lab.errors", "lab.documents", "lab.progress"}  # pure helpers the stages share
SYSTEM = ("subprocess", "pyroute2", "ctypes", "socket", "fcntl", "lab.kernel")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(LAB.rglob("*.py")):
        parts = path.relative_to(LAB.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Every module `name` imports (resolved to lab modules where it imports from a lab package)."""
    tree = ast.parse(MODULES[name].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
    return out


def _lab_edges() -> dict[str, set[str]]:
    return {m: {i for i in _imports(m) if i in MODULES and i != m} for m in MODULES}


def test_every_module_imports() -> None:
    for name in MODULES:
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)


def test_no_import_cycle() -> None:
    edges = _lab_edges()
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                cycle = [*stack[stack.index(n) :], n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)


def test_pure_stages_import_nothing_that_touches_the_system() -> None:
    edges = _lab_edges()
    allowed = {m for m in MODULES if m.startswith(PURE)} | PURE_SUPPORT | {"lab"}
    for start in (m for m in MODULES if m.startswith(PURE)):
        for imported in _imports(start):
            assert not imported.startswith(SYSTEM), f"{start} imports {imported}"
        assert edges[start] <= allowed, f"{start} imports {sorted(edges[start] - allowed)} outside the pure stages"


def test_the_cli_verbs_are_one_module_each() -> None:
    from lab.cli import VERBS, build_parser

    names = {v.__name__.rsplit(".", 1)[1].rstrip("_") for v in VERBS}
    parser_verbs = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert names == parser_verbs


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by job"


def test_test_modules_have_unique_names() -> None:
    """pytest imports test files by basename (no packages): a unit and an integration test of one name collide."""
    names = [p.name for p in (LAB.parent / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
