"""A performance run's report directory: results.json, one PNG chart per metric, report.md.

`write` lays it out from a results document; `read` loads a saved results.json
back into one, so `write(read(path), outdir)` rebuilds a report without measuring.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab import documents
from lab.bench import charts
from lab.bench.markdown import markdown
from lab.bench.results import BenchResults, load_results

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"


def write(results: BenchResults, outdir: Path) -> Path:
    """The whole report in outdir: results.json (the document with its ratios), the charts, report.md."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / RESULTS_FILE).write_text(json.dumps(documents.dump(results), indent=2) + "\n")
    files = charts.charts(results, outdir)
    report = outdir / REPORT_FILE
    report.write_text(markdown(results, files))
    return report


def read(path: Path) -> BenchResults:
    """A saved results.json (or the report directory holding one) as a results document."""
    if path.is_dir():
        path = path / RESULTS_FILE
    return load_results(json.loads(path.read_text()), str(path))
