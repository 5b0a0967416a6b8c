"""One PNG chart per metric of a performance run, drawn from its results document.

matplotlib is imported only when a chart is drawn: the rest of the CLI does not pay for it.
No pyplot and no display: safe in a server or a test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from lab.bench.markdown import num, with_unit
from lab.bench.results import BenchResults

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_DPI = 100
CHART_SIZE = (12.0, 6.2)  # inches: 1200 x 620 px at CHART_DPI
FONT = 11  # points; nothing on a chart is smaller than 10
# Lab colours by position among the non-baseline labs (colour-blind safe: Okabe-Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
_NO_FIGURE = ("skipped", "not measured")


def figure(doc: BenchResults, key: str) -> Figure:
    """The chart of one metric as a matplotlib Figure.

    Grouped bars: a group per path, a bar per lab (median), min-max whiskers, the value over
    each bar; the baseline is a dashed line with its min-max band, since it has no such paths.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mi = doc.info(key)
    fig = Figure(figsize=CHART_SIZE, dpi=CHART_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    others = doc.others()
    labs = [lab for lab in others if any(key in m for m in lab.paths.values())]
    paths: list[str] = []
    for lab in others:
        paths += [p for p, m in lab.paths.items() if key in m and p not in paths]
    width = 0.8 / max(len(labs), 1)
    top = 0.0
    labels: list[tuple[float, float, str]] = []  # x, y, text
    for i, lab in enumerate(labs):
        xs, meds, lows, highs = [], [], [], []
        for g, path in enumerate(paths):
            x = g - 0.4 + width * (i + 0.5)
            m = lab.metric(path, key)
            if m is None:
                labels.append((x, 0.0, "skipped" if path in lab.skipped else "not measured"))
                continue
            xs.append(x)
            meds.append(m.median)
            lows.append(max(m.median - m.min, 0.0))
            highs.append(max(m.max - m.median, 0.0))
            top = max(top, m.max, m.median)
            labels.append((x, max(m.max, m.median), num(m.median)))
        ax.bar(
            xs,
            meds,
            width * 0.92,
            yerr=[lows, highs],
            capsize=5,
            error_kw={"elinewidth": 1.4, "ecolor": "#222222"},
            color=COLOURS[i % len(COLOURS)],
            edgecolor="#222222",
            linewidth=0.6,
            label=lab.label,
        )
    base, bpath = doc.baseline(), doc.baseline_path()
    bm = base.metric(bpath, key) if base and bpath else None
    base_line = None
    if base and bm is not None:
        if bm.max > bm.min:
            ax.axhspan(bm.min, bm.max, color="#555555", alpha=0.12, linewidth=0)
        text = (
            f"baseline: {bpath} ({base.datapath}, MTU {base.mtu})\n"
            f"median {with_unit(bm.median, mi.unit)}, grey band: min-max"
        )
        base_line = ax.axhline(bm.median, color="#333333", linestyle="--", linewidth=1.8, label=text, zorder=1.5)
        ax.text(
            0.005,
            bm.median,
            f"baseline {with_unit(bm.median, mi.unit)}",
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="bottom",
            fontsize=FONT - 1,
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
        )
        top = max(top, bm.max, bm.median)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    for x, y, text in labels:
        measured = text not in _NO_FIGURE
        ax.annotate(
            text,
            (x, y),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=FONT if measured else FONT - 1,
            fontweight="bold" if measured else "normal",
            color="#111111" if measured else "#666666",
            rotation=0 if measured else 90,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.0},
            zorder=4,  # over the baseline line
        )
    ax.set_xticks(range(len(paths)), [textwrap.fill(p, 18) for p in paths], fontsize=FONT)
    ax.set_xlim(-0.6, max(len(paths), 1) - 0.4)
    ax.tick_params(axis="y", labelsize=FONT)
    ax.set_ylabel(f"{mi.short} ({mi.unit})" if mi.unit else mi.short, fontsize=FONT + 1)
    reps = doc.settings.repetitions
    ax.set_xlabel(
        f"path  ·  bar: median of {reps} repetition{'s' if reps != 1 else ''}, whiskers: min-max", fontsize=FONT
    )
    unit = f"{mi.unit}, " if mi.unit else ""
    ax.set_title(f"{mi.title} — {unit}{mi.better} is better", fontsize=FONT + 4, fontweight="bold")
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    handles, texts = ax.get_legend_handles_labels()
    order = sorted(range(len(handles)), key=lambda j: handles[j] is base_line)  # labs first, the baseline last
    handles, texts = [handles[j] for j in order], [texts[j] for j in order]
    if handles:
        fig.legend(handles, texts, loc="outside lower center", ncol=min(len(handles), 3), fontsize=FONT, frameon=False)
    return fig


def charts(doc: BenchResults, outdir: Path) -> dict[str, str]:
    """One PNG per metric present, in outdir; returns metric -> file name (relative, as report.md links it)."""
    outdir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for key in doc.metric_order():
        name = f"{key}.png"
        figure(doc, key).savefig(outdir / name, dpi=CHART_DPI, facecolor="white")
        files[key] = name
    return files
