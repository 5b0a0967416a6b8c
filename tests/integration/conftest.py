"""Integration fixtures: root only, and the root namespace must be left exactly as found."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rootsnapshot import root_snapshot

CLI = [sys.executable, "-m", "lab.cli"]
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything here `integration` (select with -m); skip it without root."""
    skip = pytest.mark.skip(reason="integration tests need root (CI runs them as root)")
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if os.geteuid() != 0:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def root_namespace_unchanged():
    """Every integration test must leave the root namespace as it found it."""
    before = root_snapshot()
    yield
    after = root_snapshot()
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"root namespace changed by the test: {changed}"


def cli(*args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a user would."""
    res = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if check and res.returncode != 0:
        raise AssertionError(f"cce-lab {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture
def topology(tmp_path):
    """Write a topology YAML from keyword arguments; returns its path."""
    import yaml

    def write(**spec) -> str:
        path = tmp_path / f"{spec['name']}.yaml"
        path.write_text(yaml.safe_dump(spec))
        return str(path)

    return write


@contextmanager
def shipped_lab(tmp_path_factory, name: str, model: str, **changes) -> Iterator[str]:
    """A shipped topology (`topologies/<model>.yaml`) up under its own name (and `changes`), always taken down."""
    import yaml

    data = yaml.safe_load((ROOT / f"topologies/{model}.yaml").read_text())
    path = tmp_path_factory.mktemp(name) / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**data, **changes, "name": name}))
    cli("up", str(path), check=True)
    try:
        yield name
    finally:
        cli("down", name)


@pytest.fixture
def lab(topology):
    """Bring a lab up from keyword arguments and always take it down again."""
    names: list[str] = []

    def up(**spec) -> str:
        path = topology(**spec)
        names.append(spec["name"])
        cli("up", path, check=True)
        return spec["name"]

    yield up
    for name in names:
        cli("down", name)
