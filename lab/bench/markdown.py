"""report.md of a performance run, from its results document (pure: a saved results.json renders the same).

Summary first (each figure with its datapath and its ratio to the baseline), every
tunnel/VPC pairing's ratios with intervals (the headline pairing, on the kernel
datapath, first and set against CCE's documented loss), every ovs-kernel/linux-vxlan
pairing of tunnel labs the same way, one section per metric (its chart,
min/median/max), the skipped paths, the environment, the command that reproduces it.
"""

from __future__ import annotations

from typing import Any

from lab.bench.metrics import SUMMARY, TUNNEL_VPC
from lab.bench.results import BenchResults, LabResult, RatioInterval, Ratios, TunnelVsVpc
from lab.bench.stats import BOOTSTRAP_MIN, BOOTSTRAP_RESAMPLES, CONFIDENCE

# CCE's documentation (cce_10_0282) gives the tunnel model this loss against the VPC model.
CCE_TUNNEL_LOSS = (5.0, 15.0)
NA = "n/a"  # a table cell without a figure
NO_DIFFERENCE = "no measurable difference"  # a ratio whose interval contains 1
MODEL_NAMES = {"tunnel": "tunnel", "vpc": "VPC", "baseline": "baseline"}


def num(v: float | None) -> str:
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


def with_unit(v: float | None, unit: str) -> str:
    if v is None:
        return NA
    return f"{num(v)} {unit}".rstrip()


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), "|" + "|".join("---" for _ in header) + "|", *(_row(r) for r in rows)]


def _arrow(better: str) -> str:
    return "↓" if better == "lower" else "↑"


def _model(lab: LabResult) -> str:
    return MODEL_NAMES.get(lab.model, lab.model)


def _vs_baseline(rat: Ratios, lab: LabResult, path: str, key: str) -> float | None:
    return rat.vs_baseline.get(lab.name, {}).get(path, {}).get(key)


def _intro(doc: BenchResults) -> list[str]:
    others, base = doc.others(), doc.baseline()
    models = " vs ".join(f"{_model(lab)} model" for lab in others) or "baseline only"
    compared = ", ".join(
        f"**{lab.name}** ({_model(lab)} model, datapath `{lab.datapath}`, MTU {lab.mtu})" for lab in others
    )
    text = f"Compared: {compared}" if compared else "Measured"
    if base:
        text += (
            f"{' against' if compared else ''} a bare veth pair "
            f"(`{base.datapath}`, MTU {base.mtu}) measured in the same run, the ceiling of this machine."
        )
    else:
        text += "; no baseline was measured."
    s = doc.settings
    run = (
        f"Run {doc.created}: {s.repetitions} repetition{'s' if s.repetitions != 1 else ''} of "
        f"{s.duration} s per measurement{', quick mode' if s.quick else ''}."
    )
    return [f"# cce-lab performance: {models}", "", text, run, ""]


def _summary(doc: BenchResults, rat: Ratios) -> list[str]:
    present = doc.metric_order()
    cols = [k for k in SUMMARY if k in present]
    infos = {k: doc.info(k) for k in cols}
    header = ["lab", "path", "datapath", "MTU"] + [f"{infos[k].short} {_arrow(infos[k].better)}" for k in cols]
    rows: list[list[Any]] = []
    base = doc.baseline()
    for lab in doc.labs:
        for path, metrics in lab.paths.items():
            cells: list[Any] = [lab.name, path, lab.datapath, lab.mtu]
            for k in cols:
                m = metrics.get(k)
                cell = with_unit(m.median if m else None, infos[k].unit)
                if m is not None and lab is base:
                    cell += " (baseline)"
                elif m is not None:
                    r = _vs_baseline(rat, lab, path, k)
                    cell += f" ({r:.2f} of baseline)" if r is not None else ""
                cells.append(cell)
            rows.append(cells)
    intro = (
        "Each cell: the median over the repetitions, then that median as a fraction of the "
        "veth-pair baseline's. ↑ higher is better, ↓ lower is better."
    )
    return ["## Summary", "", intro, "", *_table(header, rows), ""]


def _kind(key: str, better: str) -> str | None:
    """How the CCE sentence groups a metric: throughput, cost or latency (retransmits stay out)."""
    if "retransmits" in key:
        return None
    if "cpu_s_per_gb" in key:
        return "cost"
    return "throughput" if better == "higher" else "latency"


def _cce_sentence(tunnel: LabResult, vpc: LabResult, diffs: dict[str, list[float]]) -> str:
    """CCE's documented loss against this run's figures: throughput (a loss) and CPU per GB (a cost) alike."""
    lo_cce, hi_cce = CCE_TUNNEL_LOSS
    sentence = (
        f"CCE's documentation gives the tunnel model a {lo_cce:.0f}-{hi_cce:.0f} % performance loss against the "
        f"VPC model. In this run (tunnel on `{tunnel.datapath}`, VPC on `{vpc.datapath}`)"
    )
    parts = []
    throughput, cost, latency = diffs.get("throughput"), diffs.get("cost"), diffs.get("latency")
    if throughput:
        inside = sum(lo_cce <= -d <= hi_cce for d in throughput)
        parts.append(
            f"the tunnel model's throughput and packet rate were {min(throughput):+.0f} % to {max(throughput):+.0f} % "
            f"relative to the VPC model's ({inside} of {len(throughput)} figures inside the documented loss)"
        )
    if cost:
        inside = sum(lo_cce <= d <= hi_cce for d in cost)
        parts.append(
            f"its CPU time per GB moved was {min(cost):+.0f} % to {max(cost):+.0f} % relative to the VPC model's "
            f"({inside} of {len(cost)} inside {lo_cce:.0f}-{hi_cce:.0f} % more)"
        )
    if latency:
        parts.append(f"its latency was {min(latency):+.0f} % to {max(latency):+.0f} % relative to the VPC model's")
    sentence += (", " + "; ".join(parts) + ".") if parts else ", no figure was measured by both labs."
    if tunnel.datapath != "ovs-kernel":
        sentence += (
            f" CCE runs Open vSwitch's kernel datapath; `{tunnel.datapath}` is not that, so part of the gap "
            "here belongs to the datapath rather than to the VXLAN encapsulation."
        )
    return sentence


def _why_headline(doc: BenchResults, tunnel: LabResult) -> str:
    """One sentence: why this tunnel lab's datapath heads the comparison."""
    if tunnel.datapath == "ovs-kernel":
        return "It runs Open vSwitch's kernel datapath, the one CCE runs."
    if tunnel.datapath == "linux-vxlan":
        missing = (
            "the openvswitch kernel module does not load on this host"
            if doc.environment.ovs_kernel_module is False
            else "no lab on Open vSwitch's kernel datapath was measured"
        )
        return (
            f"Since {missing}, kernel VXLAN (`linux-vxlan`, the same `vxlan_sys_4789` encapsulation CCE's OVS kernel "
            "datapath uses) stands in for it; `ovs-userspace` copies every packet through one ovs-vswitchd thread "
            "per node, which measures that thread rather than the tunnel model."
        )
    return f"No lab on a kernel datapath was measured: `{tunnel.datapath}` is what there is."


def verdict(cell: RatioInterval, better: str, subject: str = "tunnel") -> str:
    """Whether the numerator's lab (`subject`) measured better, worse, or no measurably different."""
    if cell.measurable is None:
        return "no interval"
    if not cell.measurable:
        return NO_DIFFERENCE
    higher = cell.low is not None and cell.low > 1
    return f"{subject} better" if higher == (better == "higher") else f"{subject} worse"


def _interval(cell: RatioInterval) -> str:
    if cell.low is None or cell.high is None:
        return NA
    return f"{cell.low:.2f}-{cell.high:.2f} ({cell.method})"


def _ratio_rows(
    doc: BenchResults, paths: dict[str, dict[str, RatioInterval | None]], num: LabResult, den: LabResult, subject: str
) -> list[list[Any]]:
    """One row per path and metric (TUNNEL_VPC's): both medians, their ratio, its interval, the verdict."""
    rows: list[list[Any]] = []
    for path, cells in paths.items():
        for k in [k for k in TUNNEL_VPC if k in cells]:
            mi, cell = doc.info(k), cells[k]
            a, b = num.metric(path, k), den.metric(path, k)
            figures = [with_unit(a.median if a else None, mi.unit), with_unit(b.median if b else None, mi.unit)]
            metric = f"{mi.short} {_arrow(mi.better)}"
            if cell is None:
                rows.append([path, metric, *figures, NA, NA, "no ratio"])
                continue
            ratio = f"{cell.ratio:.2f} ({(cell.ratio - 1) * 100:+.0f} %)"
            rows.append([path, metric, *figures, ratio, _interval(cell), verdict(cell, mi.better, subject)])
    return rows


def _pair_section(doc: BenchResults, pair: TunnelVsVpc) -> tuple[list[str], dict[str, list[float]]]:
    """One pairing's ratio table; and the tunnel's differences in % by `_kind`."""
    tunnel, vpc = doc.lab(pair.tunnel), doc.lab(pair.vpc)
    rows = _ratio_rows(doc, pair.paths, tunnel, vpc, "tunnel")
    diffs: dict[str, list[float]] = {}  # kind -> the tunnel relative to the VPC lab, %
    for cells in pair.paths.values():
        for k, cell in cells.items():
            kind = _kind(k, doc.info(k).better)
            if cell is not None and kind and k in TUNNEL_VPC:
                diffs.setdefault(kind, []).append((cell.ratio - 1) * 100)
    tag = " (headline)" if pair.headline else ""
    if tunnel.datapath == "ovs-userspace":
        tag += " (userspace datapath: CCE's OpenFlow rules, not its speed)"
    header = ["path", "metric", f"tunnel ({tunnel.datapath})", f"VPC ({vpc.datapath})", "ratio", "interval", "verdict"]
    lines = [f"### {pair.tunnel} (`{tunnel.datapath}`) / {pair.vpc} (`{vpc.datapath}`){tag}", ""]
    return [*lines, *_table(header, rows), ""], diffs


def _interval_note() -> str:
    return (
        f"The interval is a {CONFIDENCE * 100:.0f} % bootstrap over the repetitions ({BOOTSTRAP_RESAMPLES} "
        f"resamples, fixed seed), or the whole range of one value over another with fewer than {BOOTSTRAP_MIN} "
        f"repetitions (min-max); where it contains 1 the report says {NO_DIFFERENCE}."
    )


def _tunnel_vpc(doc: BenchResults, rat: Ratios) -> list[str]:
    pairs = [p for p in rat.tunnel_vs_vpc if p.paths]
    if not pairs:
        return []
    pairs.sort(key=lambda p: not p.headline)  # the headline first, the rest in run order
    lead = pairs[0]
    tunnel, vpc = doc.lab(lead.tunnel), doc.lab(lead.vpc)
    lines = [
        "## Tunnel model / VPC model",
        "",
        f"The headline pairing is **{lead.tunnel}** (`{tunnel.datapath}`) over **{vpc.name}** (`{vpc.datapath}`). "
        + _why_headline(doc, tunnel),
        "",
        "Each table: the tunnel lab's median divided by the VPC lab's, per path and metric, and in brackets the "
        f"difference in per cent. {_interval_note()} A ratio below 1 means the "
        "tunnel model measured less: worse for throughput and packet rate (↑ higher is better), better for latency "
        "and cost (↓ lower is better).",
        "",
    ]
    for pair in pairs:
        section, diffs = _pair_section(doc, pair)
        lines += section
        if pair is lead:
            lines += [_cce_sentence(tunnel, vpc, diffs), ""]
    return lines


def _ovs_kernel_vs_vxlan(doc: BenchResults, rat: Ratios) -> list[str]:
    """Every ovs-kernel / linux-vxlan pairing of tunnel labs: how far the stand-in is from CCE's datapath."""
    pairs = [p for p in rat.ovs_kernel_vs_linux_vxlan if p.paths]
    if not pairs:
        return []
    lines = [
        "## OVS kernel datapath / kernel VXLAN",
        "",
        "Where the openvswitch module is missing, `linux-vxlan` (the same `vxlan_sys_4789` encapsulation, "
        "through a Linux bridge instead of Open vSwitch) stands in for CCE's OVS kernel datapath; here both were "
        "measured in one run on one machine, so their ratio says how far the stand-in is off. Each table: the "
        "`ovs-kernel` lab's median divided by the `linux-vxlan` lab's, per path and metric, and in brackets the "
        f"difference in per cent. {_interval_note()} Under emulation (QEMU TCG) the absolute figures say little; "
        "the ratio of two kernel paths under the same emulation is the figure.",
        "",
    ]
    for pair in pairs:
        kernel, vxlan = doc.lab(pair.ovs_kernel), doc.lab(pair.linux_vxlan)
        header = ["path", "metric", f"{kernel.name} (ovs-kernel)", f"{vxlan.name} (linux-vxlan)"]
        rows = _ratio_rows(doc, pair.paths, kernel, vxlan, "ovs-kernel")
        lines += [f"### {kernel.name} (`ovs-kernel`) / {vxlan.name} (`linux-vxlan`)", ""]
        lines += [*_table([*header, "ratio", "interval", "verdict"], rows), ""]
    return lines


def _metric_section(doc: BenchResults, key: str, rat: Ratios, chart: str | None) -> list[str]:
    mi = doc.info(key)
    out = [f"## {mi.title}", "", f"{mi.unit or 'no unit'}, {mi.better} is better.", ""]
    if chart:
        out += [f"![{mi.title}]({chart})", ""]
    header = ["lab", "path", "datapath", "MTU", "min", "median", "max", "runs", "of baseline"]
    rows: list[list[Any]] = []
    base = doc.baseline()
    for lab in doc.labs:
        for path, metrics in lab.paths.items():
            m = metrics.get(key)
            if m is None:
                continue
            if lab is base:
                rel = "baseline"
            else:
                r = _vs_baseline(rat, lab, path, key)
                rel = f"{r:.2f}" if r is not None else NA
            cells = [lab.name, path, lab.datapath, lab.mtu, num(m.min), num(m.median), num(m.max), len(m.values), rel]
            rows.append(cells)
    return [*out, *_table(header, rows), ""]


def _skipped(doc: BenchResults) -> list[str]:
    lines = [
        f"- {lab.name} (`{lab.datapath}`) {path}: {reason}" for lab in doc.labs for path, reason in lab.skipped.items()
    ]
    return ["## Skipped", "", *(lines or ["Nothing was skipped."]), ""]


def _environment(doc: BenchResults) -> list[str]:
    env, s = doc.environment, doc.settings
    rows: list[list[Any]] = [
        ["kernel", env.kernel],
        ["CPUs", env.cpus if env.cpus is not None else "unknown"],
        ["machine", env.machine],
        ["Open vSwitch", env.ovs],
        ["iperf3", env.iperf3],
        ["Python", env.python],
    ]
    rows += [[f"MTU, {lab.name} ({lab.datapath})", lab.mtu] for lab in doc.labs]
    rows += [
        ["duration per measurement", f"{s.duration} s"],
        ["repetitions", s.repetitions],
        ["parallel TCP streams", s.streams],
        ["quick mode", "yes" if s.quick else "no"],
        ["created", doc.created],
    ]
    return ["## Environment", "", *_table(["item", "value"], rows), ""]


def markdown(doc: BenchResults, charts: dict[str, str]) -> str:
    """report.md: summary first, then one section per metric (`charts`: metric -> PNG file), skipped, environment."""
    rat = doc.ratios
    lines = _intro(doc) + _summary(doc, rat) + _tunnel_vpc(doc, rat) + _ovs_kernel_vs_vxlan(doc, rat)
    for key in doc.metric_order():
        lines += _metric_section(doc, key, rat, charts.get(key))
    lines += _skipped(doc) + _environment(doc)
    lines += ["## Reproduce", "", "```sh", doc.command, "```", ""]
    return "\n".join(lines)
