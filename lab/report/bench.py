"""Rendering for people: a performance run's medians as one table (report.md holds the rest)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.bench.metrics import SUMMARY, TUNNEL_VPC
from lab.bench.results import BenchResults

HEADLINE_PATH = "pod-pod across nodes"  # the path the two models differ on most


def print_bench(console: Console, results: BenchResults) -> None:
    """Medians per lab and path, the datapath beside every figure; skipped paths with the reason.

    Then the headline tunnel/VPC ratios across nodes, each with its interval.
    """
    table = Table(
        "lab / path",
        "datapath",
        "MTU",
        *(results.info(key).short for key in SUMMARY),
        title="Performance (median)",
        title_justify="left",
    )
    for lab in results.labs:
        for path, metrics in lab.paths.items():
            cells = []
            for key in SUMMARY:
                m = metrics.get(key)
                cells.append(f"{m.median:.3g} {m.unit}" if m else "-")
            table.add_row(f"{lab.name} / {path}", lab.datapath, str(lab.mtu), *cells)
        for path, reason in lab.skipped.items():
            table.add_row(f"{lab.name} / {path}", lab.datapath, str(lab.mtu), f"[dim]skipped: {escape(reason)}[/dim]")
    console.print(table)
    lead = results.ratios.headline()
    cells = lead.paths.get(HEADLINE_PATH, {}) if lead else {}
    if not lead or not cells:
        return
    tunnel, vpc = results.lab(lead.tunnel), results.lab(lead.vpc)
    parts = []
    for key in TUNNEL_VPC:
        cell = cells.get(key)
        if cell is None or cell.low is None or cell.high is None:
            continue
        same = " (no measurable difference)" if cell.measurable is False else ""
        parts.append(f"{results.info(key).short} {cell.ratio:.2f} [{cell.low:.2f}-{cell.high:.2f}]{same}")
    console.print(
        f"tunnel / VPC, {HEADLINE_PATH}: {tunnel.name} ({tunnel.datapath}) / {vpc.name} "
        f"({vpc.datapath}): " + "; ".join(parts),
        markup=False,
    )
