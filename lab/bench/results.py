"""The results document of `cce-lab bench`/`compare` (results.json), typed once.

One `BenchResults` per run: its settings and environment, and one `LabResult` per
lab (the bare veth-pair baseline first) holding, per path, per metric, the values
of every repetition and their min/median/max (`Metric`). `ratios` (each lab over
the baseline, the tunnel lab over the VPC lab) is derived from the labs whenever
it is read: it is written into results.json and ignored when one is loaded.
Save and load with `lab.documents.dump` / `lab.documents.load(BenchResults, ...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from lab.bench.metrics import METRICS, Better, MetricInfo, info
from lab.bench.settings import Settings
from lab.bench.stats import summarize

SCHEMA_VERSION = 1
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


RatioTable = dict[str, dict[str, float | None]]  # path -> metric -> ratio (None: no denominator)


class BaselineRef(_Document):
    lab: str
    path: str


class TunnelVsVpc(_Document):
    tunnel: str  # lab names
    vpc: str
    paths: RatioTable


class Ratios(_Document):
    """Medians over medians. A ratio is None where the denominator is zero or either side is missing."""

    baseline: BaselineRef | None = None
    vs_baseline: dict[str, RatioTable] = {}  # lab -> its medians over the baseline's
    tunnel_vs_vpc: TunnelVsVpc | None = None  # the first tunnel lab over the first VPC lab, paths both measured


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

    def first_of(self, model: str) -> LabResult | None:
        return next((lab for lab in self.labs if lab.model == model), None)

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


def _ratio(num: Metric | None, den: Metric | None) -> float | None:
    if num is None or den is None or den.median == 0:
        return None
    return num.median / den.median


def ratios(results: BenchResults) -> Ratios:
    """Each lab's medians over the baseline's, and the tunnel lab's over the VPC lab's (first of each model)."""
    base, bpath = results.baseline(), results.baseline_path()
    vs_baseline: dict[str, RatioTable] = {}
    if base and bpath:
        bmetrics = base.paths[bpath]
        for lab in results.others():
            vs_baseline[lab.name] = {
                path: {k: _ratio(m, bmetrics.get(k)) for k, m in metrics.items()} for path, metrics in lab.paths.items()
            }
    tunnel, vpc = results.first_of("tunnel"), results.first_of("vpc")
    pair = None
    if tunnel and vpc:
        table = {
            path: {k: _ratio(m, vpc.paths[path][k]) for k, m in metrics.items() if k in vpc.paths[path]}
            for path, metrics in tunnel.paths.items()
            if path in vpc.paths
        }
        pair = TunnelVsVpc(tunnel=tunnel.name, vpc=vpc.name, paths=table)
    return Ratios(
        baseline=BaselineRef(lab=base.name, path=bpath) if base and bpath else None,
        vs_baseline=vs_baseline,
        tunnel_vs_vpc=pair,
    )
