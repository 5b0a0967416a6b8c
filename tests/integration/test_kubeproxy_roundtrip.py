"""kube-proxy as upstream writes it, held to what the kernel shows: `iptables-save` of every node.

Each node's batch goes into a scratch namespace of its own through the lab's own apply
(lab/apply/kubeproxy.py); what iptables-save prints back must equal the batch in save
form and the golden file under tests/golden/iptables-save/ (written from the kernel's
output by `make golden`'s sibling, `pytest tests/integration/test_kubeproxy_roundtrip.py
--update-golden`). The golden lines were checked against upstream's proxier: chain
names, comments, jump order, probabilities, REJECT/DROP for no (local) endpoints,
KUBE-FW-* for source ranges. A re-sync must leave the node as it was, and a batch
whose endpoints moved must delete the chains that went with them.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import pytest

from lab.apply import kubeproxy
from lab.kernel import netns, procs
from lab.plan import Plan, make_plan
from lab.render import iptsave, nodenet
from lab.render import kubeproxy as kp
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = {
    "tunnel": ROOT / "topologies" / "tunnel.yaml",
    "vpc": ROOT / "topologies" / "vpc.yaml",
    "kubeproxy": ROOT / "tests" / "golden" / "topologies" / "kubeproxy.yaml",
}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a network namespace"),
    pytest.mark.skipif(shutil.which("iptables-restore") is None, reason="iptables is not installed"),
]


@pytest.fixture
def scratch():
    """A Plan's node moved into a fresh namespace of its own: the batch is the node's, the kernel a blank one."""
    made: list[str] = []

    def node_in_scratch(plan: Plan, index: int):
        ns = f"utkp-{uuid.uuid4().hex[:8]}"
        netns.create(ns)
        made.append(ns)
        return dataclasses.replace(plan.nodes[index], netns=ns)

    yield node_in_scratch
    for ns in made:
        netns.delete(ns)


def _save(ns: str) -> str:
    return iptsave.save_form(procs.run(ns, ["iptables-save"]).stdout)


def _plan(name: str) -> Plan:
    return make_plan(load(TOPOLOGIES[name]), ovs_kernel_available=False)


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_every_node_reads_back_as_its_golden(name: str, scratch, golden) -> None:
    plan = _plan(name)
    for i, node in enumerate(plan.nodes):
        moved = scratch(plan, i)
        kubeproxy.program(plan, moved, fresh=True)
        saved = _save(moved.netns)
        assert saved == iptsave.save_form(nodenet.ruleset(plan, moved)), (
            f"{name} {node.name}: the kernel rewrote the batch"
        )
        golden(f"iptables-save/{name}/{node.name}.txt", saved)


def test_a_resync_changes_nothing_and_a_plain_second_restore_would(scratch) -> None:
    plan = _plan("kubeproxy")
    node = scratch(plan, 0)
    kubeproxy.program(plan, node, fresh=True)
    first = _save(node.netns)
    kubeproxy.program(plan, node, fresh=False)
    assert _save(node.netns) == first
    # The control: the same batch restored as is appends every built-in chain's jump again.
    procs.run(node.netns, ["iptables-restore", "--noflush"], input=nodenet.ruleset(plan, node))
    doubled = _save(node.netns)
    assert doubled.count("-j KUBE-PROXY-FIREWALL") == 2 * first.count("-j KUBE-PROXY-FIREWALL") == 6


def test_a_resync_after_an_endpoint_left_deletes_its_chains(scratch) -> None:
    plan = _plan("kubeproxy")
    node = scratch(plan, 0)
    kubeproxy.program(plan, node, fresh=True)
    web = next(s for s in plan.services if s.name == "sticky")
    gone = web.endpoints[0]
    fewer = [dataclasses.replace(s, endpoints=[e for e in s.endpoints if e != gone]) for s in plan.services]
    moved = dataclasses.replace(plan, services=fewer)
    kubeproxy.program(moved, node, fresh=False)
    saved = _save(node.netns)
    assert f":{kp.sep_chain(web, gone)} " not in saved
    assert saved == iptsave.save_form(nodenet.ruleset(moved, node))
