"""`make setup` provisioned this machine through ansible-runner; a second run must change nothing."""

from __future__ import annotations

from lab.provision import runner as provision


def test_second_provisioning_changes_nothing():
    result = provision.provision(quiet=True)
    assert result.ok, result.failures or result.error
    assert result.stats, "no host ran"
    assert {host: counts["changed"] for host, counts in result.stats.items()} == {"localhost": 0}
    assert result.stats["localhost"]["ok"] > 5  # the roles really ran
