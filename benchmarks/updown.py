"""Time `cce-lab up` and `down` as a user runs them, and the peak memory of `up`.

    .venv/bin/python benchmarks/updown.py [--runs 5] [--json]

Cases: the full shipped topologies (tunnel.yaml with OVS per node, vpc.yaml),
100 Services x 10 endpoints (topologies/services.py) and topologies/scale.py
with 50 nodes x 20 pods in the VPC model. Needs root.
Figures go to README ("Performance"); nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CLI = [sys.executable, "-m", "lab.cli"]
CASES = [
    ("tunnel.yaml (full: 3 nodes, 11 pods, 9 Services, edge)", ["topologies/tunnel.yaml"], "tunnel"),
    ("vpc.yaml (full: 3 nodes, 11 pods, 9 Services, edge)", ["topologies/vpc.yaml"], "vpc"),
    ("services.py (100 Services x 10 endpoints)", ["topologies/services.py"], "svcscale"),
    ("scale.py VPC (50 nodes x 20 pods)", ["topologies/scale.py", "-p", "nodes=50", "-p", "pods=20"], "scale"),
]


def _timed(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one CLI run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # collected here, not by Popen
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"cce-lab {' '.join(args)} failed (exit {proc.returncode}): nothing timed")
    return elapsed, usage.ru_maxrss


def _datapath(name: str) -> str:
    out = subprocess.run([*CLI, "status", name, "--json"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["datapath"]


def _summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="repetitions per case (default 5)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    results = []
    for label, up_args, name in CASES:
        ups, downs, rss, datapath = [], [], [], ""
        for k in range(args.runs):
            print(f"{label}: run {k + 1}/{args.runs}", file=sys.stderr)
            try:
                t_up, kib = _timed(["up", *up_args])
                datapath = datapath or _datapath(name)
            finally:
                t_down, _ = _timed(["down", name])
            ups.append(t_up)
            downs.append(t_down)
            rss.append(kib)
        results.append(
            {
                "case": label,
                "datapath": datapath,
                "up_s": _summary(ups),
                "down_s": _summary(downs),
                "peak_rss_mib": max(rss) / 1024,
            }
        )
    env = {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()}
    if args.json:
        print(json.dumps({"environment": env, "results": results}, indent=2))
        return 0
    print(f"kernel {env['kernel']}, {env['cpus']} CPUs, Python {env['python']}, {args.runs} runs each")
    print(f"{'case':56} {'datapath':14} {'up min/med/max s':22} {'down min/med/max s':22} peak RSS of up")
    for r in results:
        up, down = r["up_s"], r["down_s"]
        print(
            f"{r['case']:36} {r['datapath']:14} {up['min']:.2f}/{up['median']:.2f}/{up['max']:.2f}"
            f"{'':8} {down['min']:.2f}/{down['median']:.2f}/{down['max']:.2f}{'':8} {r['peak_rss_mib']:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
