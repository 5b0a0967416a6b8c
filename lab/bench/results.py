"""The results document of `cce-lab bench`/`compare` (results.json), typed once.

One `BenchResults` per run: its settings and environment, and one `LabResult` per
lab (the bare veth-pair baseline first) holding, per path, per metric, the values
of every repetition and their min/median/max (`Metric`). `ratios` (each lab over
the baseline, every tunnel lab over every VPC lab, every `ovs-kernel` tunnel lab over
every `linux-vxlan` one, each of those with an interval)
is derived from the labs whenever it is read: it is written into results.json and
ignored when one is loaded. Save with `lab.documents.dump`, load with `load_results`
(it also reads schema version 1, whose labs and figures version 2 only extends).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from lab import documents
from lab.bench.metrics import METRICS, Better, MetricInfo, info
from lab.bench.settings import Settings
from lab.bench.stats import IntervalMethod, ratio_interval, summarize

SCHEMA_VERSION = 2  # 2: every tunnel/VPC pairing with intervals; environment.ovs_kernel_module
READABLE_VERSIONS = (1, SCHEMA_VERSION)  # version 1 reads as 2: only derived and new optional fields differ
# Which tunnel lab heads the report: the datapath closest to CCE's (OVS's kernel datapath), in this order.
HEADLINE_DATAPATHS = ("ovs-kernel", "linux-vxlan")
BASELINE_MODEL = "baseline"  # the model and name of the veth-pair baseline's LabResult
BASELINE_PATH = "veth pair"
_SUMMARY = ("min", "median", "max")


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Metric(_Document):
    """One metric of one path: every repetition's value and their summary."""

    unit: str
    better: Better
    values: list[float]
    min: float
    median: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _summary_from_values(cls, data: Any) -> Any:
        """A document that leaves out min/median/max (trimmed by hand) gets them from its values."""
        if isinstance(data, dict) and data.get("values") and any(data.get(k) is None for k in _SUMMARY):
            given = {k: v for k, v in data.items() if v is not None}
            return {**summarize([float(v) for v in data["values"]]), **given}
        return data

    @classmethod
    def of(cls, key: str, values: Sequence[float]) -> Metric:
        """A metric of the registry from its values."""
        mi = METRICS[key]
        return cls(unit=mi.unit, better=mi.better, values=list(values), **summarize(values))


class LabResult(_Document):
    """One lab (or the baseline): what it is, its measured paths, and the paths it skipped with the reason."""

    name: str
    model: str  # tunnel | vpc | baseline
    datapath: str
    mtu: int  # the pod MTU (the veth pair's for the baseline)
    paths: dict[str, dict[str, Metric]] = {}
    skipped: dict[str, str] = {}

    @property
    def label(self) -> str:
        """How a lab is named on every figure: its datapath and MTU always with it."""
        return f"{self.name} ({self.datapath}, MTU {self.mtu})"

    def metric(self, path: str, key: str) -> Metric | None:
        return self.paths.get(path, {}).get(key)


class Environment(_Document):
    """What produced the figures."""

    kernel: str
    cpus: int | None
    machine: str
    python: str
    ovs: str
    iperf3: str
    ovs_kernel_module: bool | None = None  # whether the openvswitch module loads here; None: not probed


RatioTable = dict[str, dict[str, float | None]]  # path -> metric -> ratio (None: no denominator)


class BaselineRef(_Document):
    lab: str
    path: str


class RatioInterval(_Document):
    """A ratio of two labs' medians and the interval around it (`lab.bench.stats.ratio_interval`)."""

    ratio: float
    low: float | None = None  # None: no interval (a value of the VPC lab is zero)
    high: float | None = None
    method: IntervalMethod | None = None

    @property
    def measurable(self) -> bool | None:
        """Whether the interval leaves 1 out (a measurable difference); None without an interval."""
        if self.low is None or self.high is None:
            return None
        return not self.low <= 1 <= self.high


class TunnelVsVpc(_Document):
    tunnel: str  # lab names
    vpc: str
    headline: bool = False  # the pairing the report leads with (HEADLINE_DATAPATHS)
    paths: dict[str, dict[str, RatioInterval | None]]  # path -> metric -> ratio (None: no denominator)


class OvsKernelVsVxlan(_Document):
    """A tunnel lab on OVS's kernel datapath over one on kernel VXLAN: how well `linux-vxlan` stands in for it.

    Where the openvswitch module is missing, `linux-vxlan` (the same `vxlan_sys_4789`
    encapsulation) stands in for CCE's datapath; where it loads (the reference VM), this
    ratio says how far apart the two are under the same machine or emulation.
    """

    ovs_kernel: str  # lab names
    linux_vxlan: str
    paths: dict[str, dict[str, RatioInterval | None]]  # path -> metric -> ratio (None: no denominator)


class Ratios(_Document):
    """Medians over medians. A ratio is None where the denominator is zero or either side is missing."""

    baseline: BaselineRef | None = None
    vs_baseline: dict[str, RatioTable] = {}  # lab -> its medians over the baseline's
    tunnel_vs_vpc: list[TunnelVsVpc] = []  # every tunnel lab over every VPC lab, paths both measured
    ovs_kernel_vs_linux_vxlan: list[OvsKernelVsVxlan] = []  # every such pair of tunnel labs, paths both measured

    def headline(self) -> TunnelVsVpc | None:
        return next((pair for pair in self.tunnel_vs_vpc if pair.headline), None)


class BenchResults(_Document):
    """A whole performance run."""

    schema_version: int = SCHEMA_VERSION
    created: str  # UTC, 2000-01-01T00:00:00Z
    command: str  # the command line that reproduces it
    settings: Settings
    environment: Environment
    labs: list[LabResult]

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ratios" in data:
            return {k: v for k, v in data.items() if k != "ratios"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ratios(self) -> Ratios:
        return ratios(self)

    def baseline(self) -> LabResult | None:
        return next((lab for lab in self.labs if lab.model == BASELINE_MODEL), None)

    def baseline_path(self) -> str | None:
        """The baseline's veth-pair path, or its only path if it is named differently."""
        base = self.baseline()
        if base is None:
            return None
        return BASELINE_PATH if BASELINE_PATH in base.paths else next(iter(base.paths), None)

    def others(self) -> list[LabResult]:
        """The labs, the baseline left out."""
        return [lab for lab in self.labs if lab.model != BASELINE_MODEL]

    def of_model(self, model: str) -> list[LabResult]:
        return [lab for lab in self.labs if lab.model == model]

    def lab(self, name: str) -> LabResult:
        return next(lab for lab in self.labs if lab.name == name)

    def metric_order(self) -> list[str]:
        """Every metric present in any lab: the registry's in its order, then unknown ones as they appear."""
        present: list[str] = []
        for lab in self.labs:
            for metrics in lab.paths.values():
                present += [k for k in metrics if k not in present]
        return [k for k in METRICS if k in present] + [k for k in present if k not in METRICS]

    def info(self, key: str) -> MetricInfo:
        """Title and header with this run's stream count; unit and direction as the document gives them."""
        mi = info(key).for_streams(self.settings.streams)
        first = next((m[key] for lab in self.labs for m in lab.paths.values() if key in m), None)
        if first is None:
            return mi
        return MetricInfo(mi.title, mi.short, first.unit, first.better)


def load_results(data: Any, what: str = "results.json") -> BenchResults:
    """A saved results document of any READABLE_VERSIONS as this version's; another version is refused."""
    if isinstance(data, dict) and data.get("schema_version") in READABLE_VERSIONS:
        data = {**data, "schema_version": SCHEMA_VERSION}
    return documents.load(BenchResults, data, what)


def _ratio(num: Metric | None, den: Metric | None) -> float | None:
    if num is None or den is None or den.median == 0:
        return None
    return num.median / den.median


def _with_interval(num: Metric, den: Metric) -> RatioInterval | None:
    ratio = _ratio(num, den)
    if ratio is None:
        return None
    interval = ratio_interval(num.values, den.values)
    if interval is None:
        return RatioInterval(ratio=ratio)
    low, high, method = interval
    return RatioInterval(ratio=ratio, low=low, high=high, method=method)


def _paired(num: LabResult, den: LabResult) -> dict[str, dict[str, RatioInterval | None]]:
    """num's medians over den's with intervals, on the paths and metrics both measured."""
    return {
        path: {k: _with_interval(m, den.paths[path][k]) for k, m in metrics.items() if k in den.paths[path]}
        for path, metrics in num.paths.items()
        if path in den.paths
    }


def headline_tunnel(tunnels: list[LabResult]) -> LabResult | None:
    """The tunnel lab the report leads with: the first on the datapath closest to CCE's, else the first."""
    for datapath in HEADLINE_DATAPATHS:
        found = next((lab for lab in tunnels if lab.datapath == datapath), None)
        if found:
            return found
    return tunnels[0] if tunnels else None


def ratios(results: BenchResults) -> Ratios:
    """Each lab's medians over the baseline's; with intervals, every tunnel lab's over every VPC lab's and
    every `ovs-kernel` tunnel lab's over every `linux-vxlan` one's."""
    base, bpath = results.baseline(), results.baseline_path()
    vs_baseline: dict[str, RatioTable] = {}
    if base and bpath:
        bmetrics = base.paths[bpath]
        for lab in results.others():
            vs_baseline[lab.name] = {
                path: {k: _ratio(m, bmetrics.get(k)) for k, m in metrics.items()} for path, metrics in lab.paths.items()
            }
    tunnels, vpcs = results.of_model("tunnel"), results.of_model("vpc")
    lead = headline_tunnel(tunnels)
    pairs = [
        TunnelVsVpc(tunnel=t.name, vpc=v.name, headline=t is lead and v is vpcs[0], paths=_paired(t, v))
        for t in tunnels
        for v in vpcs
    ]
    kernel = [lab for lab in tunnels if lab.datapath == "ovs-kernel"]
    vxlan = [lab for lab in tunnels if lab.datapath == "linux-vxlan"]
    return Ratios(
        baseline=BaselineRef(lab=base.name, path=bpath) if base and bpath else None,
        vs_baseline=vs_baseline,
        tunnel_vs_vpc=pairs,
        ovs_kernel_vs_linux_vxlan=[
            OvsKernelVsVxlan(ovs_kernel=k.name, linux_vxlan=v.name, paths=_paired(k, v)) for k in kernel for v in vxlan
        ],
    )
