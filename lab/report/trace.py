"""A trace for people: one row per hop in time order, the kernel's evidence under it, the verdict at the end."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.observe.traceresults import TraceReport

_LEG_STYLE = {"request": "", "reply": "dim", "error": "red"}


def print_trace(console: Console, r: TraceReport) -> None:
    dst = r.destination
    what = (
        r.protocol.upper()
        + (f" port {r.port}" if r.port else "")
        + (f", {r.size} payload bytes, DF" if r.size is not None else "")
    )
    console.print(
        f"[bold]trace {escape(r.source.name)} ({r.source.ip}) -> {escape(dst.name)} ({dst.ip})[/bold]: {what}; "
        f"lab {r.lab} ({r.model}, {r.datapath}), {r.watched} interfaces watched"
    )
    table = Table("#", "+µs", "leg", "where", "interface", "dir", "headers as seen there", show_lines=False, box=None)
    for h in r.hops:
        style = _LEG_STYLE.get(h.leg, "")
        table.add_row(
            str(h.index),
            f"{h.t_us:g}",
            h.leg,
            escape(h.owner),
            escape(h.ifname),
            h.direction,
            escape(h.headers),
            style=style,
        )
        for line in h.evidence:
            table.add_row("", "", "", "", "", "", f"[cyan]{escape(line)}[/cyan]")
    console.print(table)
    mark = "[green]answered[/green]" if r.ok else "[red]no answer[/red]"
    console.print(f"{mark}: {escape(r.detail)}")
    if r.dropped:
        d = r.dropped
        console.print(
            f"[red bold]dropped at {escape(d.owner)}[/red bold] ({escape(d.netns)} {escape(d.ifname)}): "
            + escape(d.reason)
        )
    for note in r.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    if r.pcap_dir:
        console.print(f"pcaps: {escape(r.pcap_dir)} (README.md lists the hops)")
    console.print(f"[dim]{len(r.hops)} hops in {r.seconds:.2f} s[/dim]")
