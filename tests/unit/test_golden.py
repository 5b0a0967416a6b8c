"""Golden files for what the pure stages produce, as netlab keeps them: a change to any of them must be on purpose.

- tests/golden/plans/*.json: the plan (`cce-lab plan --json`) of every shipped topology;
- tests/golden/render/<topology>/*: what the kernel is given for it: node-1's iptables-restore batch
  (kube-proxy, ip-masq-agent, return paths), br-int's flows and the ovs-vsctl transaction (tunnel),
  the ELB, NAT gateway and VPC router rules, the security group, nginx.conf;
- tests/golden/iptables-save/<topology>/node-N.txt: every node's netfilter tables as iptables-save prints
  them, for the shipped topologies and tests/golden/topologies/kubeproxy.yaml (kube-proxy's special cases);
- tests/golden/errors/*.yaml: bad topologies, each with the one line the CLI prints beside it (*.txt);
- tests/golden/schemas/*.json: the JSON Schema of each document README describes.

`make golden` (pytest --update-golden) rewrites them; review the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import documents
from lab.cli.schema import DOCUMENTS
from lab.errors import LabError
from lab.plan import Plan, make_plan
from lab.render import edge, iptsave, nginx, nodenet, ovs
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
# Every shipped topology; the scripts at a size that keeps their plans readable.
TOPOLOGIES = {
    "tunnel": ("topologies/tunnel.yaml", {}),
    "vpc": ("topologies/vpc.yaml", {}),
    "scale": ("topologies/scale.py", {"nodes": "4", "pods": "3"}),
    "services": ("topologies/services.py", {"services": "4", "endpoints": "2"}),
    "servicemix": ("topologies/servicemix.py", {"nodes": "2", "workloads": "2", "replicas": "2", "per_workload": "10"}),
    "netpol": ("topologies/netpol.yaml", {}),
}
ERRORS = sorted((GOLDEN / "errors").glob("*.yaml"))


def _plan(name: str, probed: bool) -> Plan:
    path, params = TOPOLOGIES[name]
    # probed: what `up` builds here (no OVS module: ovs-userspace); else what `plan` shows (auto unresolved)
    return make_plan(load(ROOT / path, params), ovs_kernel_available=False if probed else None)


def test_every_shipped_topology_has_a_golden_plan() -> None:
    shipped = {p.name for p in (ROOT / "topologies").iterdir() if p.suffix in (".yaml", ".py")}
    assert shipped == {Path(path).name for path, _ in TOPOLOGIES.values()}


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_plan(name: str, golden) -> None:
    plan = _plan(name, probed=False)
    data = documents.dump(plan)
    golden(f"plans/{name}.json", json.dumps(data, indent=2) + "\n")
    assert documents.load(Plan, data) == plan


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_rendered(name: str, golden) -> None:
    plan = _plan(name, probed=True)
    node = plan.nodes[0]
    golden(f"render/{name}/node-1.iptables", nodenet.ruleset(plan, node))
    if plan.datapath.startswith("ovs"):
        golden(f"render/{name}/node-1.flows", "\n".join(ovs.flows(plan, node)) + "\n")
        golden(f"render/{name}/node-1.vsctl", "\n".join(ovs.vsctl_args(plan, node)) + "\n")
    if plan.host("elb"):
        golden(f"render/{name}/elb.iptables", edge.elb(plan))
    if plan.host("nat-gateway"):
        golden(f"render/{name}/nat-gateway.iptables", edge.nat_gateway(plan))
    if plan.host("internet-router"):
        golden(f"render/{name}/vpc-router.iptables", edge.vpc_router_nat(plan))
    if plan.host("intranet-server"):
        golden(f"render/{name}/intranet.nft", edge.security_group(plan.edge.intranet_allow))
    if plan.ingresses:
        golden(f"render/{name}/nginx.conf", nginx.config(plan, Path(f"/run/cce-lab/{plan.name}")))


@pytest.mark.parametrize(
    "path", ["topologies/tunnel.yaml", "topologies/vpc.yaml", "tests/golden/topologies/kubeproxy.yaml"]
)
def test_iptables_save_form(path: str, golden) -> None:
    """What iptables-save shows on every node (tests/integration/test_kubeproxy_roundtrip.py holds the kernel to it)."""
    plan = make_plan(load(ROOT / path), ovs_kernel_available=False)
    name = Path(path).stem
    for node in plan.nodes:
        golden(f"iptables-save/{name}/{node.name}.txt", iptsave.save_form(nodenet.ruleset(plan, node)))


def test_error_corpus_is_there() -> None:
    assert len(ERRORS) >= 40
    assert {p.stem for p in ERRORS} == {p.stem for p in (GOLDEN / "errors").glob("*.txt")}


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.stem)
def test_error(path: Path, golden) -> None:
    """The one line `cce-lab plan` prints for each bad topology (the file's own path written as FILE)."""
    with pytest.raises(LabError) as info:
        make_plan(load(path))
    line = f"error: {info.value}".replace(str(path), "FILE")
    assert "\n" not in line and len(line) <= 400
    golden(f"errors/{path.stem}.txt", line + "\n")


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_document_schema(kind: str, golden) -> None:
    golden(f"schemas/{kind}.json", json.dumps(documents.schema(DOCUMENTS[kind]), indent=2) + "\n")
