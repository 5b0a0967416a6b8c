"""`make demo`'s engine: both shipped topologies up, checked, compared, down."""

from __future__ import annotations

from conftest import cli

from lab.kernel import netns


def test_demo_builds_checks_and_removes_both_models():
    res = cli("demo", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every check matched its expectation" in res.stdout
    assert "tunnel: tunnel /" in res.stdout and "vpc: vpc / routed" in res.stdout
    assert res.stderr.count("down: removed 23 namespaces") == 2  # 3 nodes, 11 pods, 9 hosts around them
    # the row count of check on the shipped topologies, pinned: a row that vanishes is a check that stopped
    assert res.stdout.count("59 passed, 0 failed") == 2
    assert not [n for n in netns.list_names() if n.startswith(("tunnel-", "vpc-"))]


def test_scale_topology_up_check_down():
    """The Python topology with parameters, at a size that keeps CI quick."""
    res = cli("up", "topologies/scale.py", "-p", "nodes=12", "-p", "pods=6", "-p", "name=itscale")
    try:
        assert res.returncode == 0, res.stderr
        assert "12 nodes, 72 pods" in res.stderr
        assert cli("check", "itscale").returncode == 0
    finally:
        cli("down", "itscale")
