"""The benchmark report: the typed results document, ratios, report.md layout, PNG charts, the written directory.

All numbers below are SYNTHETIC (round, made up so the arithmetic is easy to check by
hand); they are not measurements.
"""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import pytest

from lab import documents
from lab.bench import charts, report
from lab.bench.markdown import markdown
from lab.bench.results import BaselineRef, BenchResults, Metric, load_results, ratios
from lab.errors import LabError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def metric(unit: str, better: str, values: list[float]) -> dict:
    s = sorted(values)
    return {"unit": unit, "better": better, "values": values, "min": s[0], "median": s[len(s) // 2], "max": s[-1]}


def metrics(tcp1: float, tcpn: float, kpps: float, loss: float, ping: float, rr: float, mtu: int) -> dict:
    """A path's synthetic metrics: median as given, min/max 10 % either side.

    CPU per GB: 8 / the 1-stream Gbit/s (both cores busy, 1 GB takes 8 / Gbit/s seconds); retransmits: 100 x loss.
    """
    cpu = 8.0 / tcp1
    return {
        "tcp_1_gbps": metric("Gbit/s", "higher", [tcp1 * 0.9, tcp1, tcp1 * 1.1]),
        "tcp_n_gbps": metric("Gbit/s", "higher", [tcpn * 0.9, tcpn, tcpn * 1.1]),
        "tcp_1_cpu_s_per_gb": metric("CPU s/GB", "lower", [cpu * 0.9, cpu, cpu * 1.1]),
        "tcp_1_retransmits": metric("segments", "lower", [100 * loss] * 3),
        "udp_64_kpps": metric("kpps", "higher", [kpps * 0.9, kpps, kpps * 1.1]),
        "udp_64_loss_pct": metric("%", "lower", [loss, loss, loss]),
        "ping_p50_ms": metric("ms", "lower", [ping * 0.9, ping, ping * 1.1]),
        "tcp_rr_p50_us": metric("µs", "lower", [rr * 0.9, rr, rr * 1.1]),
        "mtu": metric("bytes", "higher", [mtu]),
    }


def synthetic_doc() -> dict:
    """The JSON form of a results document."""
    return {
        "schema_version": 2,
        "created": "2000-01-01T00:00:00Z",
        "command": "cce-lab compare topologies/tunnel.yaml topologies/vpc.yaml --quick",
        "settings": {"duration": 1.0, "repetitions": 3, "streams": 4, "quick": True},
        "environment": {
            "kernel": "9.9.9-synthetic",
            "cpus": 2,
            "machine": "x86_64",
            "python": "3.11.2",
            "ovs": "ovs-vswitchd (Open vSwitch) 3.1.0",
            "iperf3": "3.12",
            "ovs_kernel_module": None,
        },
        "labs": [
            {
                "name": "baseline",
                "model": "baseline",
                "datapath": "veth",
                "mtu": 1500,
                "paths": {"veth pair": metrics(40.0, 80.0, 1000.0, 0.0, 0.02, 20.0, 1500)},
                "skipped": {},
            },
            {
                "name": "tunnel",
                "model": "tunnel",
                "datapath": "ovs-userspace",
                "mtu": 1450,
                "paths": {
                    "pod-pod same node": metrics(4.0, 8.0, 100.0, 2.0, 0.10, 100.0, 1450),
                    "pod-pod across nodes": metrics(2.0, 4.0, 50.0, 5.0, 0.20, 200.0, 1450),
                    "node-node": metrics(10.0, 20.0, 500.0, 1.0, 0.04, 40.0, 1500),
                },
                "skipped": {"pod-ClusterIP": "no Service with targetPort 5201 (iperf3)"},
            },
            {
                "name": "vpc",
                "model": "vpc",
                "datapath": "routed",
                "mtu": 1500,
                "paths": {
                    "pod-pod same node": metrics(32.0, 64.0, 800.0, 0.0, 0.03, 25.0, 1500),
                    "pod-pod across nodes": metrics(20.0, 40.0, 400.0, 0.0, 0.05, 50.0, 1500),
                    "node-node": metrics(25.0, 50.0, 500.0, 0.0, 0.04, 40.0, 1500),
                    "pod-ClusterIP": metrics(16.0, 32.0, 200.0, 0.0, 0.08, 80.0, 1500),
                },
                "skipped": {},
            },
        ],
    }


def load(data: dict) -> BenchResults:
    return documents.load(BenchResults, data, "results.json")


@pytest.fixture
def doc() -> BenchResults:
    return load(synthetic_doc())


def typed(unit: str, better: str, values: list[float]) -> Metric:
    return Metric.model_validate(metric(unit, better, values))


# ------------------------------------------------------------------ the document


def test_the_document_loads_and_dumps_back(doc: BenchResults):
    data = documents.dump(doc)
    assert {k: v for k, v in data.items() if k != "ratios"} == json.loads(json.dumps(synthetic_doc()))
    assert data["ratios"] == documents.dump(ratios(doc))
    assert load(data) == doc  # the saved ratios are derived, not read back


def test_a_document_of_another_schema_version_is_refused():
    data = synthetic_doc()
    data["schema_version"] = 3
    with pytest.raises(LabError, match="schema_version 3"):
        load_results(data)
    del data["schema_version"]
    data["version"] = 1  # results.json before schema_version
    with pytest.raises(LabError, match="schema_version None"):
        load_results(data)


def test_a_version_1_document_reads_as_version_2(tmp_path: Path):
    """Version 2 only adds derived ratios and optional fields: a saved version-1 results.json still renders."""
    data = synthetic_doc()
    data["schema_version"] = 1
    data["ratios"] = {"tunnel_vs_vpc": {"tunnel": "tunnel", "vpc": "vpc", "paths": {}}}  # version 1's single pair
    del data["environment"]["ovs_kernel_module"]  # not in version 1
    doc = load_results(data)
    assert doc == load(synthetic_doc())
    assert doc.environment.ovs_kernel_module is None
    (tmp_path / "results.json").write_text(json.dumps(data))
    assert report.read(tmp_path) == doc
    with pytest.raises(LabError, match="schema_version 1; this cce-lab reads version 2"):
        load(data)  # lab.documents alone reads only its own version: one clear line


def test_a_misspelt_field_is_refused():
    data = synthetic_doc()
    data["labs"][1]["skiped"] = {}
    with pytest.raises(LabError, match=r"labs\.1\.skiped"):
        load(data)


# ------------------------------------------------------------------ ratios


def test_ratios_against_the_baseline(doc: BenchResults):
    r = ratios(doc)
    assert r.baseline == BaselineRef(lab="baseline", path="veth pair")
    assert set(r.vs_baseline) == {"tunnel", "vpc"}  # the baseline has no ratio to itself
    tunnel = r.vs_baseline["tunnel"]
    # tunnel across nodes: 2 / 40, 4 / 80, 50 / 1000, 0.2 / 0.02, 200 / 20, 1450 / 1500
    across = tunnel["pod-pod across nodes"]
    assert across["tcp_1_gbps"] == pytest.approx(0.05)
    assert across["tcp_n_gbps"] == pytest.approx(0.05)
    assert across["udp_64_kpps"] == pytest.approx(0.05)
    assert across["ping_p50_ms"] == pytest.approx(10.0)
    assert across["tcp_rr_p50_us"] == pytest.approx(10.0)
    assert across["mtu"] == pytest.approx(1450 / 1500)
    assert r.vs_baseline["vpc"]["pod-ClusterIP"]["tcp_1_gbps"] == pytest.approx(0.4)  # 16 / 40
    assert doc.ratios == r  # the document's own field is the same computation


def test_zero_baseline_gives_none(doc: BenchResults):
    r = ratios(doc)
    # the baseline lost no packets: 5 % / 0 % has no ratio
    assert r.vs_baseline["tunnel"]["pod-pod across nodes"]["udp_64_loss_pct"] is None
    doc.labs[0].paths["veth pair"]["tcp_1_gbps"] = typed("Gbit/s", "higher", [0.0])
    assert ratios(doc).vs_baseline["vpc"]["node-node"]["tcp_1_gbps"] is None


def test_tunnel_over_vpc_per_path(doc: BenchResults):
    (pair,) = ratios(doc).tunnel_vs_vpc
    assert (pair.tunnel, pair.vpc, pair.headline) == ("tunnel", "vpc", True)
    # only paths both measured: the tunnel skipped pod-ClusterIP
    assert set(pair.paths) == {"pod-pod same node", "pod-pod across nodes", "node-node"}
    same = pair.paths["pod-pod same node"]["tcp_1_gbps"]
    assert same is not None and same.ratio == pytest.approx(0.125)  # 4 / 32
    assert same.method == "bootstrap" and same.low < 0.125 < same.high and same.measurable
    # the whole range of the values, 3.6 / 35.2 .. 4.4 / 28.8, bounds any bootstrap of them
    assert same.low >= 3.6 / 35.2 and same.high <= 4.4 / 28.8
    across = pair.paths["pod-pod across nodes"]["ping_p50_ms"]
    assert across is not None and across.ratio == pytest.approx(4.0)  # 0.2 / 0.05
    equal = pair.paths["node-node"]["udp_64_kpps"]
    assert equal is not None and equal.ratio == pytest.approx(1.0) and equal.measurable is False  # 500 / 500
    assert pair.paths["node-node"]["udp_64_loss_pct"] is None  # 1 % / 0 %
    mtu = pair.paths["node-node"]["mtu"]  # one value each: the min-max range, here a point
    assert mtu is not None and (mtu.method, mtu.low, mtu.high) == ("min-max", 1.0, 1.0)


USERSPACE = " (userspace datapath: CCE's OpenFlow rules, not its speed)"


def test_every_tunnel_vpc_pairing_and_the_kernel_datapath_leads(doc: BenchResults):
    tunnel2 = doc.labs[1].model_copy(deep=True, update={"name": "tunvx", "datapath": "linux-vxlan"})
    tunnel2.paths["pod-pod same node"]["tcp_1_gbps"] = typed("Gbit/s", "higher", [16.0])
    vpc2 = doc.labs[2].model_copy(deep=True, update={"name": "vpc2"})
    # order: baseline, vpc, tunnel, tunvx, vpc2 -- pairing must not depend on position
    doc.labs = [doc.labs[0], doc.labs[2], doc.labs[1], tunnel2, vpc2]
    r = ratios(doc)
    pairs = [(p.tunnel, p.vpc, p.headline) for p in r.tunnel_vs_vpc]
    assert pairs == [
        ("tunnel", "vpc", False),
        ("tunnel", "vpc2", False),
        ("tunvx", "vpc", True),
        ("tunvx", "vpc2", False),
    ]
    lead = r.headline()
    assert lead is not None and lead.paths["pod-pod same node"]["tcp_1_gbps"].ratio == pytest.approx(0.5)  # 16 / 32
    assert r.vs_baseline["tunvx"]["pod-pod same node"]["tcp_1_gbps"] == pytest.approx(0.4)  # 16 / 40
    text = markdown(doc, {})
    headings = [ln for ln in text.splitlines() if ln.startswith("### ")]
    assert headings == [
        "### tunvx (`linux-vxlan`) / vpc (`routed`) (headline)",
        f"### tunnel (`ovs-userspace`) / vpc (`routed`){USERSPACE}",
        f"### tunnel (`ovs-userspace`) / vpc2 (`routed`){USERSPACE}",
        "### tunvx (`linux-vxlan`) / vpc2 (`routed`)",
    ]
    assert "no lab on Open vSwitch's kernel datapath was measured" in text
    doc.environment.ovs_kernel_module = False
    assert "the openvswitch kernel module does not load on this host" in markdown(doc, {})


def kernel_vs_vxlan_doc() -> BenchResults:
    """The reference VM's run: the tunnel topology on ovs-kernel and on linux-vxlan, two paths, no VPC lab."""
    data = synthetic_doc()
    data["command"] = "cce-lab compare /tmp/vmrovs.yaml /tmp/vmrvx.yaml --path 'pod-pod across nodes' --path node-node"
    left_out = {"pod-pod same node": "left out: not among the --path given"}
    node_node = metrics(10.0, 20.0, 500.0, 1.0, 0.04, 40.0, 1500)  # the underlay: the same in both labs
    kernel = {
        "name": "vmrovs",
        "model": "tunnel",
        "datapath": "ovs-kernel",
        "mtu": 1450,
        "paths": {"pod-pod across nodes": metrics(1.6, 4.0, 60.0, 5.0, 0.25, 160.0, 1450), "node-node": node_node},
        "skipped": {**left_out, "pod-ClusterIP": "failed: iperf3 timed out"},
    }
    vxlan = {
        "name": "vmrvx",
        "model": "tunnel",
        "datapath": "linux-vxlan",
        "mtu": 1450,
        "paths": {
            "pod-pod across nodes": metrics(2.0, 4.0, 50.0, 5.0, 0.20, 200.0, 1450),
            "pod-ClusterIP": metrics(1.0, 2.0, 50.0, 5.0, 0.20, 200.0, 1450),
            "node-node": node_node,
        },
        "skipped": left_out,
    }
    data["labs"] = [data["labs"][0], kernel, vxlan]
    return load(data)


def test_ovs_kernel_over_linux_vxlan_per_path():
    doc = kernel_vs_vxlan_doc()
    r = ratios(doc)
    assert r.tunnel_vs_vpc == [] and r.headline() is None
    (pair,) = r.ovs_kernel_vs_linux_vxlan
    assert (pair.ovs_kernel, pair.linux_vxlan) == ("vmrovs", "vmrvx")
    assert set(pair.paths) == {"pod-pod across nodes", "node-node"}  # only paths both measured
    tcp = pair.paths["pod-pod across nodes"]["tcp_1_gbps"]
    assert tcp is not None and tcp.ratio == pytest.approx(0.8) and tcp.method == "bootstrap"  # 1.6 / 2
    cost = pair.paths["pod-pod across nodes"]["tcp_1_cpu_s_per_gb"]
    assert cost is not None and cost.ratio == pytest.approx(1.25)  # 8 / 1.6 over 8 / 2
    same = pair.paths["node-node"]["tcp_1_gbps"]
    assert same is not None and same.ratio == pytest.approx(1.0) and same.measurable is False
    # ovs-userspace is neither side; a VPC lab beside them changes nothing here
    with_vpc = synthetic_doc()
    doc.labs.append(load(with_vpc).labs[2])
    assert ratios(doc).ovs_kernel_vs_linux_vxlan == r.ovs_kernel_vs_linux_vxlan
    assert ratios(load(synthetic_doc())).ovs_kernel_vs_linux_vxlan == []


def test_ovs_kernel_linux_vxlan_table():
    text = markdown(kernel_vs_vxlan_doc(), {})
    assert "## Tunnel model / VPC model" not in text
    section = _section(text, "## OVS kernel datapath / kernel VXLAN")
    assert "### vmrovs (`ovs-kernel`) / vmrvx (`linux-vxlan`)" in section
    assert "QEMU TCG" in section and "95 % bootstrap" in section
    header, *rows = _table_rows(section)
    assert header == ["path", "metric", "vmrovs (ovs-kernel)", "vmrvx (linux-vxlan)", "ratio", "interval", "verdict"]
    tcp = next(r for r in rows if r[:2] == ["pod-pod across nodes", "TCP 1 stream ↑"])
    assert tcp[2:5] == ["1.60 Gbit/s", "2.00 Gbit/s", "0.80 (-20 %)"] and tcp[-1] == "ovs-kernel worse"
    rr = next(r for r in rows if r[:2] == ["pod-pod across nodes", "TCP RR p50 ↓"])
    assert rr[4] == "0.80 (-20 %)" and rr[-1] == "ovs-kernel better"  # 160 / 200 µs: lower is better
    retr = next(r for r in rows if r[:2] == ["pod-pod across nodes", "retr. 1 stream ↓"])
    assert retr[-1] == "no measurable difference"  # 500 segments each
    assert all(r[-1] == "no measurable difference" for r in rows if r[0] == "node-node")
    assert text.index("## OVS kernel datapath") < text.index("## TCP throughput, 1 stream")
    assert "pod-pod same node: left out: not among the --path given" in _section(text, "## Skipped")


def test_the_ovs_kernel_linux_vxlan_report_matches_its_golden_file(golden):
    doc = kernel_vs_vxlan_doc()
    golden("bench/report-ovs-kernel-linux-vxlan.md", markdown(doc, {k: f"{k}.png" for k in doc.metric_order()}))


def test_no_pair_without_both_models(doc: BenchResults):
    doc.labs = doc.labs[:2]  # baseline + tunnel: what `cce-lab bench` writes
    assert ratios(doc).tunnel_vs_vpc == [] and ratios(doc).headline() is None
    assert "Tunnel model / VPC model" not in markdown(doc, {})


def test_median_is_computed_when_missing():
    data = synthetic_doc()
    m = data["labs"][1]["paths"]["node-node"]["tcp_1_gbps"]
    del m["median"], m["min"], m["max"]
    m["values"] = [4.0, 2.0, 30.0]
    doc = load(data)
    assert doc.labs[1].paths["node-node"]["tcp_1_gbps"].model_dump(include={"min", "median", "max"}) == {
        "min": 2.0,
        "median": 4.0,
        "max": 30.0,
    }
    assert ratios(doc).vs_baseline["tunnel"]["node-node"]["tcp_1_gbps"] == pytest.approx(0.1)


def test_ratios_and_markdown_are_pure(doc: BenchResults):
    before = copy.deepcopy(doc)
    ratios(doc)
    text = markdown(doc, {"tcp_1_gbps": "tcp_1_gbps.png"})
    assert doc == before
    assert markdown(doc, {"tcp_1_gbps": "tcp_1_gbps.png"}) == text


# ------------------------------------------------------------------ markdown


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [ln for ln in section.splitlines() if ln.startswith("| ")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in rows]


def test_markdown_title_intro_and_summary_first(doc: BenchResults):
    files = {k: f"{k}.png" for k in doc.metric_order()}
    text = markdown(doc, files)
    assert text.startswith("# ")
    intro = text.splitlines()[2]
    assert "tunnel" in intro and "ovs-userspace" in intro and "routed" in intro and "veth" in intro
    assert text.index("## Summary") < text.index("![")
    assert "![TCP throughput, 1 stream](tcp_1_gbps.png)" in text
    assert "## TCP throughput, 4 streams" in text  # N from settings.streams
    assert (
        text.index("## Summary") < text.index("## Skipped") < text.index("## Environment") < text.index("## Reproduce")
    )


def test_summary_table_cells_and_datapath_on_every_row(doc: BenchResults):
    summary = _section(markdown(doc, {}), "## Summary").split("### ")[0]
    header, *rows = _table_rows(summary)
    assert header[:4] == ["lab", "path", "datapath", "MTU"]
    assert header[4:] == [
        "TCP 1 stream ↑",
        "TCP 4 streams ↑",
        "CPU/GB 1 stream ↓",
        "UDP 64 B ↑",
        "ping p50 ↓",
        "TCP RR p50 ↓",
    ]
    assert len(rows) == 1 + 3 + 4
    datapaths = {"baseline": "veth", "tunnel": "ovs-userspace", "vpc": "routed"}
    for row in rows:
        assert row[2] == datapaths[row[0]]
    across = next(r for r in rows if r[:2] == ["tunnel", "pod-pod across nodes"])
    assert across[4] == "2.00 Gbit/s (0.05 of baseline)"
    assert across[6] == "4.00 CPU s/GB (20.00 of baseline)"  # 8 / 2 over 8 / 40
    assert across[8] == "0.20 ms (10.00 of baseline)"
    base = next(r for r in rows if r[0] == "baseline")
    assert base[4] == "40.0 Gbit/s (baseline)"


def test_tunnel_vpc_table_and_cce_sentence(doc: BenchResults):
    section = _section(markdown(doc, {}), "## Tunnel model / VPC model")
    header, *rows = _table_rows(section)
    assert header == ["path", "metric", "tunnel (ovs-userspace)", "VPC (routed)", "ratio", "interval", "verdict"]
    same = next(r for r in rows if r[:2] == ["pod-pod same node", "TCP 1 stream ↑"])
    assert same[2:] == ["4.00 Gbit/s", "32.0 Gbit/s", "0.12 (-88 %)", "0.10-0.15 (bootstrap)", "tunnel worse"]
    ping = next(r for r in rows if r[:2] == ["pod-pod same node", "ping p50 ↓"])
    assert ping[-1] == "tunnel worse"  # 3.3 times the VPC's latency
    equal = next(r for r in rows if r[:2] == ["node-node", "UDP 64 B ↑"])
    assert equal[-1] == "no measurable difference"
    cost = next(r for r in rows if r[:2] == ["pod-pod across nodes", "CPU/GB 1 stream ↓"])
    assert cost[2:5] == ["4.00 CPU s/GB", "0.40 CPU s/GB", "10.00 (+900 %)"]  # 8 / 2 over 8 / 20
    retr = next(r for r in rows if r[:2] == ["pod-pod across nodes", "retr. 1 stream ↓"])
    assert retr[2:] == ["500 segments", "0 segments", "n/a", "n/a", "no ratio"]  # the VPC lab retransmitted none
    assert "5-15 %" in section
    # CPU per GB is a cost, judged against CCE's figure as such, not as latency: 8/4 / (8/32) .. 8/10 / (8/25)
    assert "its CPU time per GB moved was +150 % to +900 %" in section and "its latency was +0 % to +300 %" in section
    assert "higher is better" in section and "lower is better" in section
    assert "kernel datapath" in section  # the userspace datapath is named as not CCE's


def test_the_report_matches_its_golden_file(doc: BenchResults, golden):
    doc.labs[1].paths["node-node"]["tcp_1_gbps"] = typed("Gbit/s", "higher", [9.0, 30.0])  # 2 runs: min-max
    golden("bench/report.md", markdown(doc, {k: f"{k}.png" for k in doc.metric_order()}))


def test_metric_sections_have_min_median_max(doc: BenchResults):
    text = markdown(doc, {"tcp_rr_p50_us": "tcp_rr_p50_us.png"})
    section = _section(text, "## TCP request/response latency, median (p50)")
    assert "![TCP request/response latency, median (p50)](tcp_rr_p50_us.png)" in section
    assert "lower is better" in section
    header, *rows = _table_rows(section)
    assert header == ["lab", "path", "datapath", "MTU", "min", "median", "max", "runs", "of baseline"]
    row = next(r for r in rows if r[:2] == ["vpc", "pod-ClusterIP"])
    assert row[2:] == ["routed", "1500", "72.0", "80.0", "88.0", "3", "4.00"]


def test_skipped_environment_and_command(doc: BenchResults):
    text = markdown(doc, {})
    skipped = _section(text, "## Skipped")
    assert "pod-ClusterIP: no Service with targetPort 5201 (iperf3)" in skipped
    assert "tunnel (`ovs-userspace`)" in skipped
    env = _section(text, "## Environment")
    for needle in ("9.9.9-synthetic", "x86_64", "Open vSwitch) 3.1.0", "3.12", "3.11.2", "| CPUs | 2 |"):
        assert needle in env
    assert "| MTU, tunnel (ovs-userspace) | 1450 |" in env
    assert "| duration per measurement | 1.0 s |" in env and "| repetitions | 3 |" in env
    assert "| parallel TCP streams | 4 |" in env
    assert "## Reproduce\n\n```sh\ncce-lab compare topologies/tunnel.yaml topologies/vpc.yaml --quick\n```" in text


# ------------------------------------------------------------------ charts


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_charts_one_png_per_metric(doc: dict, tmp_path: Path):
    del doc.labs[2].paths["node-node"]["mtu"]  # a metric missing on one path does not matter
    files = charts.charts(doc, tmp_path)
    expected = {"tcp_1_gbps", "tcp_n_gbps", "udp_64_kpps", "udp_64_loss_pct", "ping_p50_ms", "tcp_rr_p50_us", "mtu"}
    expected |= {"tcp_1_cpu_s_per_gb", "tcp_1_retransmits"}
    assert set(files) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.png" for k in expected)
    for name in files.values():
        data = (tmp_path / name).read_bytes()
        width, height = _png_size(data)
        assert width >= 900 and height >= 400
        assert len(data) > 20_000  # matplotlib drew something, not an empty canvas


def _texts(fig) -> list:
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def test_figure_legend_labels_and_baseline_line(doc: BenchResults):
    fig = charts.figure(doc, "tcp_1_gbps")
    ax = fig.axes[0]
    assert ax.get_title() == "TCP throughput, 1 stream — Gbit/s, higher is better"
    assert "Gbit/s" in ax.get_ylabel()
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == [
        "pod-pod same node",
        "pod-pod across nodes",
        "node-node",
        "pod-ClusterIP",
    ]
    (legend,) = fig.legends
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries[:2] == ["tunnel (ovs-userspace, MTU 1450)", "vpc (routed, MTU 1500)"]
    assert entries[2].startswith("baseline: veth pair (veth, MTU 1500)")
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert line.get_ydata()[0] == pytest.approx(40.0)
    texts = [t.get_text() for t in _texts(fig)]
    assert "4.00" in texts and "32.0" in texts  # value labels on the bars
    assert "skipped" in texts  # the tunnel's pod-ClusterIP
    # bar heights are the medians; 7 bars (tunnel skipped one path)
    from matplotlib.container import BarContainer

    bars = [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]
    heights = sorted(round(p.get_height(), 6) for p in bars)
    assert heights == sorted([4.0, 2.0, 10.0, 32.0, 20.0, 25.0, 16.0])
    assert all(t.get_fontsize() >= 10 for t in _texts(fig))
    width, _ = fig.get_size_inches() * fig.dpi
    assert width >= 900


def test_figure_lower_is_better_title(doc: BenchResults):
    ax = charts.figure(doc, "ping_p50_ms").axes[0]
    assert ax.get_title().endswith("lower is better")
    assert "ms" in ax.get_ylabel()


def test_figure_all_zero_metric(doc: BenchResults):
    for lab in doc.labs:
        for m in lab.paths.values():
            m["udp_64_loss_pct"] = typed("%", "lower", [0.0])
    ax = charts.figure(doc, "udp_64_loss_pct").axes[0]
    assert ax.get_ylim() == (0.0, 1.0)


# ------------------------------------------------------------------ write


def test_write_the_whole_report(doc: BenchResults, tmp_path: Path):
    out = tmp_path / "results" / "tunnel-vpc-20000101-000000"
    written = report.write(doc, out)
    assert written == out / "report.md"
    saved = json.loads((out / "results.json").read_text())
    assert saved["schema_version"] == 2
    assert saved["ratios"] == documents.dump(ratios(doc))
    assert {k: v for k, v in saved.items() if k != "ratios"} == json.loads(json.dumps(synthetic_doc()))
    text = written.read_text()
    images = [ln[ln.index("](") + 2 : -1] for ln in text.splitlines() if ln.startswith("![")]
    assert len(images) == len(doc.metric_order())
    assert all((out / name).read_bytes()[:8] == PNG_SIGNATURE for name in images)


def test_a_saved_results_json_rebuilds_the_same_report(doc: BenchResults, tmp_path: Path):
    """results.json is enough: loaded back with lab.documents it renders report.md byte for byte."""
    first = report.write(doc, tmp_path / "run")
    saved = documents.load(BenchResults, json.loads((tmp_path / "run" / "results.json").read_text()), "results.json")
    assert saved == doc
    files = {k: f"{k}.png" for k in saved.metric_order()}
    assert markdown(saved, files) == first.read_text()
    again = report.write(report.read(tmp_path / "run" / "results.json"), tmp_path / "rebuilt")
    assert again.read_text() == first.read_text()
    assert report.read(tmp_path / "rebuilt") == doc  # a report directory reads as its results.json
    assert sorted(p.name for p in (tmp_path / "rebuilt").iterdir()) == sorted(
        p.name for p in (tmp_path / "run").iterdir()
    )


# ------------------------------------------------------------------ the CLI's table


def test_print_bench_medians_datapaths_and_skipped(doc: BenchResults):
    from rich.console import Console

    from lab.report.bench import print_bench

    console = Console(record=True, width=250, color_system=None)
    print_bench(console, doc)
    text = console.export_text()
    header = next(ln for ln in text.splitlines() if "lab / path" in ln)
    for column in ("datapath", "MTU", "TCP 1 stream", "TCP 4 streams", "UDP 64 B", "UDP large", "ping p50"):
        assert column in header
    across = next(ln for ln in text.splitlines() if "tunnel / pod-pod across nodes" in ln)
    assert "ovs-userspace" in across and "1450" in across
    assert "2 Gbit/s" in across and "0.2 ms" in across and "200 µs" in across
    assert "-" in across.split("50 kpps")[1]  # no UDP large figure: a dash
    skipped = next(ln for ln in text.splitlines() if "tunnel / pod-ClusterIP" in ln)
    assert "skipped: no Service with targetPort 5201 (iperf3)" in skipped
    assert "baseline / veth pair" in text and "40 Gbit/s" in text
    headline = next(ln for ln in text.splitlines() if ln.startswith("tunnel / VPC"))
    assert "pod-pod across nodes: tunnel (ovs-userspace) / vpc (routed)" in headline
    assert "TCP 1 stream 0.10 [0.08-0.12]" in headline  # 2 / 20


def test_print_bench_ovs_kernel_linux_vxlan_table():
    from rich.console import Console

    from lab.report.bench import print_bench

    console = Console(record=True, width=140, color_system=None)
    print_bench(console, kernel_vs_vxlan_doc())
    text = console.export_text()
    assert "ovs-kernel / linux-vxlan: vmrovs / vmrvx (medians)" in text
    assert "95 % interval" in text
    tcp = next(ln for ln in text.splitlines() if "pod-pod across nodes" in ln and "TCP 1 stream" in ln)
    assert "1.60 Gbit/s" in tcp and "2.00 Gbit/s" in tcp and "0.80" in tcp and "0.65-0.98" in tcp
    assert "ovs-kernel worse" in tcp
    assert all(len(ln) <= 140 for ln in text.splitlines())  # one line per row in a log (the CLI's 140 columns)
    assert sum("no measurable difference" in ln for ln in text.splitlines()) == 3 + 7  # across nodes, node-node
    assert not any(ln.startswith("tunnel / VPC") for ln in text.splitlines())
    # a failed path is shown; what --path left out is no news on the console
    assert "pod-Cluste" in text and "timed out" in text and "left out" not in text
