"""`cce-lab compare --quick` on both shipped topologies: a real run, a complete report.

The topologies are copied with their names changed to `cmptun` and `cmpvpc`, so this
never meets another test's `tunnel` or `vpc` lab on the same kernel.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from conftest import cli

from lab import documents
from lab.bench import report
from lab.bench.markdown import markdown
from lab.bench.results import BenchResults
from lab.kernel import journal

ZERO_ALLOWED = ("loss", "cpu", "retransmits")  # no loss, an idle CPU, no retransmit: real measurements
ROOT = Path(__file__).resolve().parents[2]
LABS = {"cmptun": "tunnel", "cmpvpc": "vpc"}  # lab name -> the shipped topology it copies


def _topology(tmp_path: Path, name: str, shipped: str) -> str:
    spec = yaml.safe_load((ROOT / "topologies" / f"{shipped}.yaml").read_text())
    spec["name"] = name
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def test_compare_quick_writes_a_complete_report(tmp_path):
    files = [_topology(tmp_path, name, shipped) for name, shipped in LABS.items()]
    results = tmp_path / "results"
    res = cli("compare", *files, "--quick", "--json", "--results", str(results), timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == 2
    # without the OVS module the tunnel topology (datapath auto) is measured twice: ovs-userspace, linux-vxlan
    both = doc["environment"]["ovs_kernel_module"] is False
    names = ["baseline", "cmptun", "cmptun-vx", "cmpvpc"] if both else ["baseline", "cmptun", "cmpvpc"]
    assert [lab["name"] for lab in doc["labs"]] == names
    assert [lab["model"] for lab in doc["labs"]] == ["baseline", *["tunnel"] * (len(names) - 2), "vpc"]
    if both:
        assert [lab["datapath"] for lab in doc["labs"][1:3]] == ["ovs-userspace", "linux-vxlan"]
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
    assert doc["ratios"]["baseline"] == {"lab": "baseline", "path": "veth pair"}
    pairs = [(p["tunnel"], p["vpc"], p["headline"]) for p in doc["ratios"]["tunnel_vs_vpc"]]
    headline = ("cmptun-vx", "cmpvpc", True) if both else ("cmptun", "cmpvpc", True)
    assert headline in pairs and sum(p[2] for p in pairs) == 1 and len(pairs) == len(names) - 2
    # progress was shown while it ran: which lab, which test, repetition k of n
    n = len(names) - 1
    assert f"lab 1/{n}: cmptun" in res.stderr and f"lab {n}/{n}: cmpvpc" in res.stderr and "1/1" in res.stderr

    (outdir,) = [p for p in results.iterdir() if p.is_dir()]
    assert outdir.name.startswith("-".join(names[1:]) + "-")
    text = (outdir / "report.md").read_text()
    assert text.index("## Summary") < text.index("![")
    assert "ovs-userspace" in text or "ovs-kernel" in text or "linux-vxlan" in text
    assert "## Tunnel model / VPC model" in text and "### cmptun (`" in text
    assert ("### cmptun-vx (`linux-vxlan`) / cmpvpc (`routed`) (headline)" in text) is both
    assert "## Environment" in text and "cce-lab compare" in text
    charts = sorted(outdir.glob("*.png"))
    assert len(charts) >= 10 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts)
    saved = json.loads((outdir / "results.json").read_text())
    assert saved == doc and "ratios" in saved
    # the saved document alone renders the same report
    loaded = documents.load(BenchResults, saved, "results.json")
    assert markdown(loaded, {p.stem: p.name for p in charts}) == text
    assert report.read(outdir) == loaded
    for name in LABS:
        assert not journal.lab_dir(name).exists(), f"lab {name} was left up"
