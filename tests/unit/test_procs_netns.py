"""`procs.run(..., mounts=False)`: the tool runs in the named network namespace without `ip netns exec`."""

from __future__ import annotations

import os

import pytest

from lab.errors import LabError
from lab.kernel import procs

own_namespace = os.readlink("/proc/thread-self/ns/net")


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch):
    """Namespace "here" is this process's own network namespace; every other name is missing."""
    here = "/proc/thread-self/ns/net"
    monkeypatch.setattr(procs, "netns_path", lambda n: here if n == "here" else f"/nonexistent/{n}")


@pytest.mark.skipif(os.geteuid() != 0, reason="setns needs CAP_SYS_ADMIN, even into one's own namespace")
def test_the_tool_runs_in_the_namespace_with_its_input(names):
    assert procs.run("here", ["readlink", "/proc/self/ns/net"], mounts=False).stdout.strip() == own_namespace
    assert procs.run("here", ["cat"], input="a batch\n", mounts=False).stdout == "a batch\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="setns needs CAP_SYS_ADMIN, even into one's own namespace")
def test_a_failing_tool_is_reported_as_without_the_option(names):
    with pytest.raises(LabError, match=r"sh -c exit 3 in here failed"):
        procs.run("here", ["sh", "-c", "exit 3"], mounts=False)
    assert procs.run("here", ["sh", "-c", "exit 3"], mounts=False, check=False).returncode == 3
    with pytest.raises(LabError, match="not installed"):
        procs.run("here", ["no-such-tool-s12"], mounts=False)


def test_a_missing_namespace_fails_as_ip_netns_exec_does(names):
    res = procs.run("gone", ["true"], mounts=False, check=False)
    assert res.returncode == 1
    assert res.stderr == 'Cannot open network namespace "gone": No such file or directory\n'
    with pytest.raises(LabError, match='true in gone failed: Cannot open network namespace "gone"'):
        procs.run("gone", ["true"], mounts=False)
