"""The kernel accepts every node's netfilter batch (kube-proxy + IP-MASQ-AGENT + return paths).

`iptables-restore --test --noflush` parses and checks the whole batch (chains, matches, targets,
their options) against the running kernel without committing it, in a namespace of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from lab.kernel import netns
from lab.plan import make_plan
from lab.render import nodenet
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a network namespace"),
    pytest.mark.skipif(shutil.which("iptables-restore") is None, reason="iptables-restore is not installed"),
]


@pytest.fixture
def scratch_netns():
    name = f"utkp-{uuid.uuid4().hex[:8]}"
    netns.create(name)
    try:
        yield name
    finally:
        netns.delete(name)


def _restore_test(ns: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, "iptables-restore", "--test", "--noflush"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "datapath", "ovs"),
    [
        pytest.param("tunnel.yaml", "auto", False, id="tunnel-ovs-userspace"),
        pytest.param("tunnel.yaml", "auto", True, id="tunnel-ovs-kernel"),
        pytest.param("tunnel.yaml", "linux-vxlan", False, id="tunnel-linux-vxlan"),
        pytest.param("vpc.yaml", "auto", False, id="vpc"),
    ],
)
def test_every_node_ruleset_loads(scratch_netns: str, name: str, datapath: str, ovs: bool) -> None:
    spec = load(TOPOLOGIES / name)
    plan = make_plan(spec.model_copy(update={"datapath": datapath}), ovs_kernel_available=ovs)
    for node in plan.nodes:
        res = _restore_test(scratch_netns, nodenet.ruleset(plan, node))
        assert res.returncode == 0, f"{name} {node.name}: {res.stderr.strip()}"


def test_a_broken_batch_is_refused(scratch_netns: str) -> None:
    """The check can fail: a bad match option is refused (the nf_tables backend's --test does not
    check that jumped-to chains are declared; tests/unit/test_kubeproxy.py does)."""
    plan = make_plan(load(TOPOLOGIES / "tunnel.yaml"))
    text = nodenet.ruleset(plan, plan.nodes[0])
    assert "--mode random" in text
    res = _restore_test(scratch_netns, text.replace("--mode random", "--mode bogus", 1))
    assert res.returncode != 0
    assert "bogus" in res.stderr
