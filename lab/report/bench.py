"""Rendering for people: a performance run's medians as one table (report.md holds the rest)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.bench.markdown import verdict, with_unit
from lab.bench.metrics import SUMMARY, TUNNEL_VPC
from lab.bench.paths import LEFT_OUT
from lab.bench.results import BenchResults
from lab.bench.stats import CONFIDENCE

HEADLINE_PATH = "pod-pod across nodes"  # the path the two models differ on most


def print_bench(console: Console, results: BenchResults) -> None:
    """Medians per lab and path, the datapath beside every figure; skipped paths with the reason (not those
    --path left out).

    Then the headline tunnel/VPC ratios across nodes, each with its interval, and every
    ovs-kernel / linux-vxlan pairing of tunnel labs as a table of ratios.
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
            if reason == LEFT_OUT:  # the user's --path: no news
                continue
            table.add_row(f"{lab.name} / {path}", lab.datapath, str(lab.mtu), f"[dim]skipped: {escape(reason)}[/dim]")
    console.print(table)
    _print_headline(console, results)
    _print_ovs_kernel_vs_vxlan(console, results)


def _print_headline(console: Console, results: BenchResults) -> None:
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


def _print_ovs_kernel_vs_vxlan(console: Console, results: BenchResults) -> None:
    """One table per ovs-kernel / linux-vxlan pairing: each path and metric both labs measured, with its interval."""
    for pair in results.ratios.ovs_kernel_vs_linux_vxlan:
        kernel, vxlan = results.lab(pair.ovs_kernel), results.lab(pair.linux_vxlan)
        table = Table(
            "path",
            "metric",
            "ovs-kernel",
            "linux-vxlan",
            "ratio",
            f"{CONFIDENCE * 100:.0f} % interval",
            "verdict",
            title=f"ovs-kernel / linux-vxlan: {kernel.name} / {vxlan.name} (medians)",
            title_justify="left",
        )
        for path, cells in pair.paths.items():
            for key in [k for k in TUNNEL_VPC if k in cells]:
                mi, cell = results.info(key), cells[key]
                a, b = kernel.metric(path, key), vxlan.metric(path, key)
                figures = [with_unit(a.median if a else None, mi.unit), with_unit(b.median if b else None, mi.unit)]
                if cell is None:
                    table.add_row(path, mi.short, *figures, "-", "-", "no ratio")
                    continue
                low_high = f"{cell.low:.2f}-{cell.high:.2f}" if cell.low is not None and cell.high is not None else "-"
                ratio = f"{cell.ratio:.2f}"
                table.add_row(path, mi.short, *figures, ratio, low_high, verdict(cell, mi.better, "ovs-kernel"))
        if table.rows:
            console.print(table)
