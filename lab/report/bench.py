"""Rendering for people: a performance run's medians as one table (report.md holds the rest)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.bench.metrics import SUMMARY
from lab.bench.results import BenchResults


def print_bench(console: Console, results: BenchResults) -> None:
    """Medians per lab and path, the datapath beside every figure; skipped paths with the reason."""
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
