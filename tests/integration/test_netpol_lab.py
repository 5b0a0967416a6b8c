"""NetworkPolicy on a real lab: the tunnel model enforces two policies in br-int (check all green, a source a
policy does not admit really times out while an admitted one gets HTTP 200 from the pod itself), and the VPC
model refuses policies before anything is built, as a default CCE VPC cluster has none (cce_10_0059).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from conftest import cli, shipped_lab

from lab.kernel import netns
from lab.observe import probe
from lab.observe.status import load_plan

ROOT = Path(__file__).resolve().parents[2]


def test_tunnel_lab_enforces_its_policies(tmp_path_factory) -> None:
    with shipped_lab(tmp_path_factory, "nptun", "netpol") as name:
        res = cli("check", name, "--json", timeout=300)
        rows = {r["scenario"]: r for r in json.loads(res.stdout)["results"]}
        assert res.returncode == 0, [(s, r["actual"], r["detail"]) for s, r in rows.items() if not r["ok"]]
        policy_rows = [s for s in rows if s.startswith("NetworkPolicy ")]
        assert len(policy_rows) == 9, policy_rows
        assert {r["expected"] for s, r in rows.items() if s in policy_rows} == {"reachable", "blocked"}

        plan = load_plan(name)
        pods = {p.name: p for p in plan.pods}
        allowed = probe.http(pods["api-1"].netns, pods["db-1"].ip, 8080, timeout=2)
        assert allowed.status == 200 and allowed.answered_by == "db-1"
        assert allowed.source == pods["api-1"].ip  # no NAT on the way
        denied = probe.http(pods["pod-2-1"].netns, pods["db-1"].ip, 8080, timeout=2)
        assert denied.status is None and "timed out" in denied.detail  # dropped, not refused
        cross_ns = probe.http(pods["tool-1"].netns, pods["db-1"].ip, 8080, timeout=2)
        assert cross_ns.status is None  # another namespace, no rule admits it
        from_dev = probe.http(pods["tool-1"].netns, pods["api-1"].ip, 8080, timeout=2)
        assert from_dev.status == 200 and from_dev.answered_by == "api-1"  # namespaceSelector env=dev
        # trace names the flow that dropped it and the policy behind it
        traced = cli("trace", "pod-2-1", "db-1", "--proto", "tcp", "--port", "8080", "--lab", name, timeout=60)
        assert "table 3. ip,nw_dst=" + pods["db-1"].ip + ", priority 100; drop" in " ".join(traced.stdout.split())
        assert "NetworkPolicy default/db-from-api selects db-1" in " ".join(traced.stdout.split())
        # CCE: a node always reaches its own pods, whatever the policies
        node = plan.node(pods["db-1"].node)
        assert probe.tcp(node.netns, pods["db-1"].netns, pods["db-1"].ip).ok
    assert not [n for n in netns.list_names() if n.startswith("nptun-")]


def test_vpc_model_refuses_policies(tmp_path) -> None:
    data = yaml.safe_load((ROOT / "topologies/netpol.yaml").read_text()) | {"name": "npvpc", "model": "vpc"}
    path = tmp_path / "npvpc.yaml"
    path.write_text(yaml.safe_dump(data))
    for verb in ("plan", "up"):
        res = cli(verb, str(path))
        assert res.returncode == 2, res.stderr
        assert "network_policies: CCE's VPC network enforces NetworkPolicy only with DataPlane V2" in res.stderr
        assert "Traceback" not in res.stderr
    assert not [n for n in netns.list_names() if n.startswith("npvpc-")]
    # the same pods, labels and namespaces without policies build a VPC plan
    del data["network_policies"]
    path.write_text(yaml.safe_dump(data))
    assert cli("plan", str(path)).returncode == 0
