"""A performance run's results rendered for people: report.md, one PNG chart per metric, results.json.

The input is the results document of `cce-lab bench`/`compare` (version 1): settings,
environment, and one entry per lab (the bare veth-pair baseline first) holding, per path,
per metric, the values of every repetition and their min/median/max. Everything here but
`charts` and `write` is pure, so the report can be rebuilt from a saved results.json.

matplotlib is imported only when a chart is drawn: the rest of the CLI does not pay for it.
"""

from __future__ import annotations

import json
import statistics
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASELINE_MODEL = "baseline"
BASELINE_PATH = "veth pair"
# CCE's documentation (cce_10_0282) gives the tunnel model this loss against the VPC model.
CCE_TUNNEL_LOSS = (5.0, 15.0)

NA = "n/a"  # a table cell without a figure

CHART_DPI = 100
CHART_SIZE = (12.0, 6.2)  # inches: 1200 x 620 px at CHART_DPI
FONT = 11  # points; nothing on a chart is smaller than 10


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is named and judged when the document does not say."""

    title: str
    short: str  # summary-table column header
    unit: str
    better: str  # "higher" or "lower"


METRICS: dict[str, MetricInfo] = {
    "tcp_1_gbps": MetricInfo("TCP throughput, 1 stream", "TCP 1 stream", "Gbit/s", "higher"),
    "tcp_n_gbps": MetricInfo("TCP throughput, {streams} streams", "TCP {streams} streams", "Gbit/s", "higher"),
    "cpu_sender_pct": MetricInfo("CPU use of the sender", "CPU sender", "%", "lower"),
    "cpu_receiver_pct": MetricInfo("CPU use of the receiver", "CPU receiver", "%", "lower"),
    "udp_64_kpps": MetricInfo("UDP 64-byte packets", "UDP 64 B", "kpps", "higher"),
    "udp_64_loss_pct": MetricInfo("UDP 64-byte packets, loss", "UDP 64 B loss", "%", "lower"),
    "udp_large_gbps": MetricInfo("UDP large datagrams, throughput", "UDP large", "Gbit/s", "higher"),
    "udp_large_loss_pct": MetricInfo("UDP large datagrams, loss", "UDP large loss", "%", "lower"),
    "ping_p50_ms": MetricInfo("Ping round trip, median (p50)", "ping p50", "ms", "lower"),
    "ping_p99_ms": MetricInfo("Ping round trip, p99", "ping p99", "ms", "lower"),
    "tcp_rr_p50_us": MetricInfo("TCP request/response latency, median (p50)", "TCP RR p50", "µs", "lower"),
    "tcp_rr_p99_us": MetricInfo("TCP request/response latency, p99", "TCP RR p99", "µs", "lower"),
    "mtu": MetricInfo("Path MTU", "MTU", "bytes", "higher"),
}
# The summary table's columns: the figures a reader compares first.
MAIN_METRICS = ["tcp_1_gbps", "tcp_n_gbps", "udp_64_kpps", "udp_large_gbps", "ping_p50_ms", "tcp_rr_p50_us"]
MODEL_NAMES = {"tunnel": "tunnel", "vpc": "VPC", "baseline": "baseline"}
# Lab colours by position among the non-baseline labs (colour-blind safe: Okabe-Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]


# ------------------------------------------------------------------ reading the document


def _baseline(doc: dict) -> dict | None:
    return next((lab for lab in doc.get("labs", []) if lab.get("model") == BASELINE_MODEL), None)


def _baseline_path(lab: dict) -> str | None:
    """The veth-pair path, or the baseline's only path if it is named differently."""
    paths = lab.get("paths", {})
    if BASELINE_PATH in paths:
        return BASELINE_PATH
    return next(iter(paths), None)


def _others(doc: dict) -> list[dict]:
    return [lab for lab in doc.get("labs", []) if lab.get("model") != BASELINE_MODEL]


def _first_of(doc: dict, model: str) -> dict | None:
    return next((lab for lab in doc.get("labs", []) if lab.get("model") == model), None)


def _stat(m: dict | None, key: str) -> float | None:
    """min/median/max of a metric, computed from its values if the document left it out."""
    if not m:
        return None
    if m.get(key) is not None:
        return float(m[key])
    values = [float(v) for v in m.get("values") or [] if v is not None]
    if not values:
        return None
    return {"min": min, "max": max, "median": statistics.median}[key](values)


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def _streams(doc: dict) -> str:
    return str(doc.get("settings", {}).get("streams", "N"))


def metric_order(doc: dict) -> list[str]:
    """Every metric present in any lab: the known ones in their usual order, then unknown ones."""
    present: list[str] = []
    for lab in doc.get("labs", []):
        for metrics in lab.get("paths", {}).values():
            present += [k for k in metrics if k not in present]
    known = [k for k in METRICS if k in present]
    return known + [k for k in present if k not in METRICS]


def info(doc: dict, metric: str) -> MetricInfo:
    """Title, unit and direction of a metric; the document's own unit/better win over the defaults."""
    base = METRICS.get(metric, MetricInfo(metric, metric, "", "higher"))
    first = next(
        (m[metric] for lab in doc.get("labs", []) for m in lab.get("paths", {}).values() if metric in m),
        {},
    )
    unit, better = first.get("unit", base.unit), first.get("better", base.better)
    s = _streams(doc)
    return MetricInfo(base.title.format(streams=s), base.short.format(streams=s), unit, better)


# ------------------------------------------------------------------ ratios


def ratios(doc: dict) -> dict:
    """Each lab's medians over the baseline's, and the tunnel lab's over the VPC lab's.

    Returns {"baseline": {"lab", "path"} or None,
             "vs_baseline": {lab: {path: {metric: ratio}}},
             "tunnel_vs_vpc": {"tunnel": lab, "vpc": lab, "paths": {path: {metric: ratio}}} or None}.
    A ratio is None where the denominator is zero or either median is missing; the
    tunnel/VPC ratios cover the paths and metrics both labs measured.
    """
    base = _baseline(doc)
    bpath = _baseline_path(base) if base else None
    bmetrics = base["paths"][bpath] if base and bpath else {}
    vs_baseline: dict[str, dict[str, dict[str, float | None]]] = {}
    if base and bpath:
        for lab in _others(doc):
            vs_baseline[lab["name"]] = {
                path: {k: _ratio(_stat(m, "median"), _stat(bmetrics.get(k), "median")) for k, m in metrics.items()}
                for path, metrics in lab.get("paths", {}).items()
            }
    tunnel, vpc = _first_of(doc, "tunnel"), _first_of(doc, "vpc")
    pair = None
    if tunnel and vpc:
        tpaths, vpaths = tunnel.get("paths", {}), vpc.get("paths", {})
        pair = {
            "tunnel": tunnel["name"],
            "vpc": vpc["name"],
            "paths": {
                path: {
                    k: _ratio(_stat(m, "median"), _stat(vpaths[path][k], "median"))
                    for k, m in metrics.items()
                    if k in vpaths[path]
                }
                for path, metrics in tpaths.items()
                if path in vpaths
            },
        }
    return {
        "baseline": {"lab": base["name"], "path": bpath} if base and bpath else None,
        "vs_baseline": vs_baseline,
        "tunnel_vs_vpc": pair,
    }


# ------------------------------------------------------------------ markdown


def _num(v: float | None) -> str:
    """A figure with about three significant digits, never in exponent form for normal sizes."""
    if v is None:
        return NA
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:#.2g}"  # 0.10, 0.020: two significant digits, trailing zeros kept


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), "|" + "|".join("---" for _ in header) + "|", *(_row(r) for r in rows)]


def _with_unit(v: float | None, unit: str) -> str:
    if v is None:
        return NA
    return f"{_num(v)} {unit}".rstrip() if unit != "%" else f"{_num(v)} %"


def _arrow(better: str) -> str:
    return "↓" if better == "lower" else "↑"


def _lab_label(lab: dict) -> str:
    """How a lab is named on every figure: its datapath and MTU always with it."""
    return f"{lab['name']} ({lab.get('datapath', '?')}, MTU {lab.get('mtu', '?')})"


def _model(lab: dict) -> str:
    return MODEL_NAMES.get(lab.get("model", ""), lab.get("model", "?"))


def _intro(doc: dict) -> list[str]:
    others, base = _others(doc), _baseline(doc)
    models = " vs ".join(f"{_model(lab)} model" for lab in others) or "baseline only"
    compared = ", ".join(
        f"**{lab['name']}** ({_model(lab)} model, datapath `{lab.get('datapath', '?')}`, MTU {lab.get('mtu', '?')})"
        for lab in others
    )
    text = f"Compared: {compared}" if compared else "Measured"
    if base:
        text += (
            f"{' against' if compared else ''} a bare veth pair "
            f"(`{base.get('datapath', 'veth')}`, MTU {base.get('mtu', '?')}) measured in the same run, "
            "the ceiling of this machine."
        )
    else:
        text += "; no baseline was measured."
    s = doc.get("settings", {})
    reps = s.get("repetitions", "?")
    run = (
        f"Run {doc.get('created', '?')}: {reps} repetition{'s' if reps != 1 else ''} of "
        f"{s.get('duration', '?')} s per measurement{', quick mode' if s.get('quick') else ''}."
    )
    return [f"# cce-lab performance: {models}", "", text, run, ""]


def _summary(doc: dict, rat: dict) -> list[str]:
    cols = [k for k in MAIN_METRICS if k in metric_order(doc)]
    infos = {k: info(doc, k) for k in cols}
    header = ["lab", "path", "datapath", "MTU"] + [f"{infos[k].short} {_arrow(infos[k].better)}" for k in cols]
    rows: list[list[Any]] = []
    base = _baseline(doc)
    for lab in doc.get("labs", []):
        is_base = lab is base
        for path, metrics in lab.get("paths", {}).items():
            cells: list[Any] = [lab["name"], path, lab.get("datapath", "?"), lab.get("mtu", "?")]
            for k in cols:
                med = _stat(metrics.get(k), "median")
                cell = _with_unit(med, infos[k].unit)
                if med is not None and is_base:
                    cell += " (baseline)"
                elif med is not None:
                    r = rat["vs_baseline"].get(lab["name"], {}).get(path, {}).get(k)
                    cell += f" ({r:.2f} of baseline)" if r is not None else ""
                cells.append(cell)
            rows.append(cells)
    out = ["## Summary", ""]
    out.append(
        "Each cell: the median over the repetitions, then that median as a fraction of the "
        "veth-pair baseline's. ↑ higher is better, ↓ lower is better."
    )
    return [*out, "", *_table(header, rows), ""]


def _tunnel_vpc(doc: dict, rat: dict) -> list[str]:
    pair = rat.get("tunnel_vs_vpc")
    if not pair or not pair["paths"]:
        return []
    labs = {lab["name"]: lab for lab in doc.get("labs", [])}
    tunnel, vpc = labs[pair["tunnel"]], labs[pair["vpc"]]
    cols = [k for k in MAIN_METRICS if any(k in m for m in pair["paths"].values())]
    infos = {k: info(doc, k) for k in cols}
    datapaths = f"{tunnel.get('datapath', '?')} / {vpc.get('datapath', '?')}"
    rows: list[list[Any]] = []
    throughput: list[float] = []  # tunnel relative to VPC, %, higher-is-better metrics
    latency: list[float] = []  # the same for lower-is-better metrics
    for path, metrics in pair["paths"].items():
        cells: list[Any] = [path, datapaths]
        for k in cols:
            r = metrics.get(k)
            if r is None:
                cells.append(NA)
                continue
            diff = (r - 1) * 100
            (throughput if infos[k].better == "higher" else latency).append(diff)
            cells.append(f"{r:.2f} ({diff:+.0f} %)")
        rows.append(cells)
    header = ["path", "datapaths (tunnel / VPC)"] + [f"{infos[k].short} {_arrow(infos[k].better)}" for k in cols]
    out = [
        f"### Tunnel model / VPC model ({pair['tunnel']} / {pair['vpc']})",
        "",
        "The tunnel lab's median divided by the VPC lab's, per path; in brackets the difference in per cent. "
        "A ratio below 1 means the tunnel model measured less: worse for throughput and packet rate "
        "(↑ higher is better), better for latency (↓ lower is better).",
        "",
        *_table(header, rows),
        "",
    ]
    lo_cce, hi_cce = CCE_TUNNEL_LOSS
    sentence = (
        f"CCE's documentation gives the tunnel model a {lo_cce:.0f}-{hi_cce:.0f} % performance loss against the "
        f"VPC model. In this run (tunnel on `{tunnel.get('datapath', '?')}`, VPC on `{vpc.get('datapath', '?')}`)"
    )
    parts = []
    if throughput:
        inside = sum(lo_cce <= -d <= hi_cce for d in throughput)
        parts.append(
            f"the tunnel model's throughput and packet rate were {min(throughput):+.0f} % to {max(throughput):+.0f} % "
            f"relative to the VPC model's ({inside} of {len(throughput)} figures inside the documented loss)"
        )
    if latency:
        parts.append(f"its latency was {min(latency):+.0f} % to {max(latency):+.0f} % relative to the VPC model's")
    sentence += (", " + "; ".join(parts) + ".") if parts else ", no figure was measured by both labs."
    if tunnel.get("datapath") not in ("ovs-kernel", None):
        sentence += (
            f" CCE runs Open vSwitch's kernel datapath; `{tunnel.get('datapath')}` is not that, so part of the gap "
            "here belongs to the datapath rather than to the VXLAN encapsulation."
        )
    out += [sentence, ""]
    return out


def _metric_section(doc: dict, metric: str, rat: dict, chart: str | None) -> list[str]:
    mi = info(doc, metric)
    out = [f"## {mi.title}", "", f"{mi.unit or 'no unit'}, {mi.better} is better.", ""]
    if chart:
        out += [f"![{mi.title}]({chart})", ""]
    header = ["lab", "path", "datapath", "MTU", "min", "median", "max", "runs", "of baseline"]
    rows: list[list[Any]] = []
    base = _baseline(doc)
    for lab in doc.get("labs", []):
        for path, metrics in lab.get("paths", {}).items():
            m = metrics.get(metric)
            if m is None:
                continue
            if lab is base:
                rel = "baseline"
            else:
                r = rat["vs_baseline"].get(lab["name"], {}).get(path, {}).get(metric)
                rel = f"{r:.2f}" if r is not None else NA
            rows.append(
                [
                    lab["name"],
                    path,
                    lab.get("datapath", "?"),
                    lab.get("mtu", "?"),
                    _num(_stat(m, "min")),
                    _num(_stat(m, "median")),
                    _num(_stat(m, "max")),
                    len(m.get("values") or []),
                    rel,
                ]
            )
    return [*out, *_table(header, rows), ""]


def _skipped(doc: dict) -> list[str]:
    out = ["## Skipped", ""]
    lines = [
        f"- {lab['name']} (`{lab.get('datapath', '?')}`) {path}: {reason}"
        for lab in doc.get("labs", [])
        for path, reason in lab.get("skipped", {}).items()
    ]
    return [*out, *(lines or ["Nothing was skipped."]), ""]


def _environment(doc: dict) -> list[str]:
    env, s = doc.get("environment", {}), doc.get("settings", {})
    rows = [
        ["kernel", env.get("kernel", "unknown")],
        ["CPUs", env.get("cpus", "unknown")],
        ["machine", env.get("machine", "unknown")],
        ["Open vSwitch", env.get("ovs", "unknown")],
        ["iperf3", env.get("iperf3", "unknown")],
        ["Python", env.get("python", "unknown")],
    ]
    rows += [[f"MTU, {lab['name']} ({lab.get('datapath', '?')})", lab.get("mtu", "?")] for lab in doc.get("labs", [])]
    rows += [
        ["duration per measurement", f"{s.get('duration', '?')} s"],
        ["repetitions", s.get("repetitions", "?")],
        ["parallel TCP streams", s.get("streams", "?")],
        ["quick mode", "yes" if s.get("quick") else "no"],
        ["created", doc.get("created", "?")],
    ]
    return ["## Environment", "", *_table(["item", "value"], rows), ""]


def markdown(doc: dict, charts: dict[str, str]) -> str:
    """report.md: summary first, then one section per metric, skipped paths, environment, the command."""
    rat = ratios(doc)
    lines = _intro(doc) + _summary(doc, rat) + _tunnel_vpc(doc, rat)
    for metric in metric_order(doc):
        lines += _metric_section(doc, metric, rat, charts.get(metric))
    lines += _skipped(doc) + _environment(doc)
    lines += ["## Reproduce", "", "```sh", doc.get("command", "cce-lab compare ..."), "```", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ charts


def figure(doc: dict, metric: str) -> Figure:
    """The chart of one metric as a matplotlib Figure (no pyplot, no display: safe in a server or a test).

    Grouped bars: a group per path, a bar per lab (median), min-max whiskers, the value over
    each bar; the baseline is a dashed line with its min-max band, since it has no such paths.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mi = info(doc, metric)
    fig = Figure(figsize=CHART_SIZE, dpi=CHART_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labs = [lab for lab in _others(doc) if any(metric in m for m in lab.get("paths", {}).values())]
    paths: list[str] = []
    for lab in _others(doc):
        paths += [p for p, m in lab.get("paths", {}).items() if metric in m and p not in paths]
    n = max(len(labs), 1)
    width = 0.8 / n
    top = 0.0
    base_line = None
    labels: list[tuple[float, float, str]] = []  # x, y, text
    for i, lab in enumerate(labs):
        xs, meds, lows, highs = [], [], [], []
        for g, path in enumerate(paths):
            x = g - 0.4 + width * (i + 0.5)
            m = lab.get("paths", {}).get(path, {}).get(metric)
            med = _stat(m, "median")
            if med is None:
                why = "skipped" if path in lab.get("skipped", {}) else "not measured"
                labels.append((x, 0.0, why))
                continue
            lo, hi = _stat(m, "min"), _stat(m, "max")
            lo = med if lo is None else lo
            hi = med if hi is None else hi
            xs.append(x)
            meds.append(med)
            lows.append(max(med - lo, 0.0))
            highs.append(max(hi - med, 0.0))
            top = max(top, hi, med)
            labels.append((x, max(hi, med), _num(med)))
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
            label=_lab_label(lab),
        )
    base = _baseline(doc)
    bpath = _baseline_path(base) if base else None
    bm = base["paths"][bpath].get(metric) if base and bpath else None
    bmed = _stat(bm, "median")
    if base and bmed is not None:
        blo, bhi = _stat(bm, "min"), _stat(bm, "max")
        if blo is not None and bhi is not None and bhi > blo:
            ax.axhspan(blo, bhi, color="#555555", alpha=0.12, linewidth=0)
        text = (
            f"baseline: {bpath} ({base.get('datapath', 'veth')}, MTU {base.get('mtu', '?')})\n"
            f"median {_with_unit(bmed, mi.unit)}, grey band: min-max"
        )
        base_line = ax.axhline(bmed, color="#333333", linestyle="--", linewidth=1.8, label=text, zorder=1.5)
        ax.text(
            0.005,
            bmed,
            f"baseline {_with_unit(bmed, mi.unit)}",
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="bottom",
            fontsize=FONT - 1,
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
        )
        top = max(top, bhi if bhi is not None else bmed, bmed)
    top = top * 1.15 if top > 0 else 1.0
    ax.set_ylim(0, top)
    for x, y, text in labels:
        measured = text not in ("skipped", "not measured")
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
    reps = doc.get("settings", {}).get("repetitions", "?")
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


def charts(doc: dict, outdir: Path) -> dict[str, str]:
    """One PNG per metric present in outdir; returns metric -> file name (relative, as report.md links it)."""
    outdir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for metric in metric_order(doc):
        name = f"{metric}.png"
        fig = figure(doc, metric)
        fig.savefig(outdir / name, dpi=CHART_DPI, facecolor="white")
        files[metric] = name
    return files


def write(doc: dict, outdir: Path) -> Path:
    """The whole report in outdir: results.json (the document plus its ratios), the charts, report.md."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "results.json").write_text(json.dumps({**doc, "ratios": ratios(doc)}, indent=2) + "\n")
    files = charts(doc, outdir)
    report = outdir / "report.md"
    report.write_text(markdown(doc, files))
    return report
