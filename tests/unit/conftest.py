"""Unit-test fixtures: `kernel`, the recording fake of the kernel boundary (fakekernel.py); and, as root,
the root namespace compared before and after the whole session (CI runs the unit tests as root too)."""

import os

import pytest
from fakekernel import kernel  # noqa: F401  (a fixture, found by pytest through this import)
from rootsnapshot import root_snapshot


@pytest.fixture(scope="session", autouse=True)
def root_namespace_unchanged_by_the_unit_tests():
    if os.geteuid() != 0:
        yield
        return
    before = root_snapshot()
    yield
    after = root_snapshot()
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"the unit tests changed the root namespace: {changed}"
