"""`trace --pcap DIR`: one pcap per namespace and interface that saw the packet, and a README of the hops in order."""

from __future__ import annotations

from pathlib import Path

from lab.observe import pcap
from lab.observe.capture import Captured
from lab.observe.traceresults import TraceReport
from lab.plan.packetpath import Watch


def file_name(order: int, watch: Watch) -> str:
    return f"{order:02d}-{watch.owner}-{watch.ifname}.pcap".replace("/", "_")


def save(directory: Path, report: TraceReport, watches: list[Watch], frames: list[Captured]) -> Path:
    """Every frame of the traced flow, one file per interface (named in the order they first saw it)."""
    directory.mkdir(parents=True, exist_ok=True)
    firsts: dict[int, float] = {}
    for f in frames:
        firsts[f.point] = min(firsts.get(f.point, f.time), f.time)
    order = sorted(firsts, key=lambda p: (firsts[p], p))
    names = {p: file_name(i, watches[p]) for i, p in enumerate(order, start=1)}
    for point, name in names.items():
        pcap.write(directory / name, sorted((f.time, f.data) for f in frames if f.point == point))
    by_place = {(watches[p].netns, watches[p].ifname): names[p] for p in names}
    lines = [
        f"# trace {report.source.name} -> {report.destination.name} ({report.protocol}"
        + (f" port {report.port}" if report.port else "")
        + f"), lab {report.lab} ({report.model}, {report.datapath})",
        "",
        f"Answer: {report.detail}."
        + (f" Dropped at {report.dropped.owner}: {report.dropped.reason}" if report.dropped else ""),
        "",
        "One classic pcap per namespace and interface (Wireshark, `tcpdump -r FILE -nn -e`); hops in time order:",
        "",
        "| # | +µs | leg | namespace | interface | dir | headers | file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in report.hops:
        name = by_place.get((h.netns, h.ifname), "")
        lines.append(
            f"| {h.index} | {h.t_us:g} | {h.leg} | {h.netns} | {h.ifname} | {h.direction} | {h.headers} | {name} |"
        )
    (directory / "README.md").write_text("\n".join(lines) + "\n")
    return directory
