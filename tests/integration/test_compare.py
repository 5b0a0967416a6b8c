"""`cce-lab compare --quick` on both shipped topologies: a real run, a complete report."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli

ZERO_ALLOWED = ("loss", "cpu")  # no loss, or an idle CPU, is a real measurement


def test_compare_quick_writes_a_complete_report(tmp_path):
    res = cli(
        "compare",
        "topologies/tunnel.yaml",
        "topologies/vpc.yaml",
        "--quick",
        "--json",
        "--results",
        str(tmp_path),
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    assert [lab["name"] for lab in doc["labs"]] == ["baseline", "tunnel", "vpc"]
    assert {lab["datapath"] for lab in doc["labs"]} >= {"veth", "routed"}
    assert doc["settings"]["quick"] is True and doc["environment"]["cpus"] > 0
    for lab in doc["labs"][1:]:
        assert set(lab["paths"]) == {"pod-pod same node", "pod-pod across nodes", "pod-ClusterIP", "node-node"}
        assert lab["mtu"] == (1450 if lab["model"] == "tunnel" else 1500)
    for lab in doc["labs"]:
        for path, metrics in lab["paths"].items():
            assert {"tcp_1_gbps", "tcp_n_gbps", "tcp_rr_p50_us"} <= set(metrics), (lab["name"], path)
            for key, m in metrics.items():
                assert len(m["values"]) == doc["settings"]["repetitions"], (lab["name"], path, key)
                floor_ok = (lambda v: v >= 0) if any(z in key for z in ZERO_ALLOWED) else (lambda v: v > 0)
                assert all(floor_ok(v) for v in m["values"]), (lab["name"], path, key, m)
                assert m["min"] <= m["median"] <= m["max"]
    # progress was shown while it ran: which lab, which test, repetition k of n
    assert "lab 1/2: tunnel" in res.stderr and "1/1" in res.stderr

    (outdir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    report = (outdir / "report.md").read_text()
    assert report.index("## Summary") < report.index("![")
    assert "ovs-userspace" in report or "ovs-kernel" in report or "linux-vxlan" in report
    assert "## Environment" in report and "cce-lab compare" in report
    charts = sorted(outdir.glob("*.png"))
    assert len(charts) >= 10 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts)
    saved = json.loads((outdir / "results.json").read_text())
    assert saved["labs"] == doc["labs"] and "ratios" in saved
    assert not Path("/run/cce-lab/tunnel").exists() and not Path("/run/cce-lab/vpc").exists()
