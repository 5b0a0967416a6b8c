"""`iptables: legacy`: every rule the lab writes, reads, breaks and mends goes through iptables-legacy.

The backend decides where rules live: iptables-nft and iptables-legacy keep
separate tables in the same namespace, so a lab that wrote one and read the
other would check rules nobody forwards with. The test writes with legacy and
asserts nothing of the lab's is in the nft tables, that `check` is green
(its counters read legacy's), and that a fault breaks and heals there.
"""

from __future__ import annotations

import json

from conftest import cli, shipped_lab

from lab.kernel import procs


def _save(ns: str, tool: str) -> str:
    return procs.run(ns, [tool, "-t", "nat"], mounts=False).stdout


def _failed(lab: str) -> list[str]:
    rows = json.loads(cli("check", lab, "--json", timeout=300).stdout)["results"]
    return [r["scenario"] for r in rows if not r["ok"]]


def test_legacy_backend_holds_every_rule_and_the_checker_reads_it(tmp_path_factory):
    with shipped_lab(tmp_path_factory, "itlegacy", "vpc", iptables="legacy") as lab:
        for ns in (f"{lab}-node-1", f"{lab}-vpc", f"{lab}-natgw", f"{lab}-elb"):
            assert "-A " in _save(ns, "iptables-legacy-save"), f"{ns}: no rule in the legacy tables"
            assert "-A " not in _save(ns, "iptables-nft-save"), f"{ns}: a rule in the nft tables"
        assert "KUBE-SERVICES" in _save(f"{lab}-node-1", "iptables-legacy-save")
        assert _failed(lab) == []

        cli("fault", "inject", "kubeproxy-flushed", "--lab", lab, check=True)
        try:
            failed = _failed(lab)
        finally:
            cli("fault", "undo", "kubeproxy-flushed", "--lab", lab, check=True)
        assert any("ClusterIP Service web" in s for s in failed), failed
        assert _failed(lab) == []
