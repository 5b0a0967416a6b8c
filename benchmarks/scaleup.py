"""`cce-lab up`/`down` at CCE scale against the kernel's floor: `ip -batch` making the same namespaces and veths.

    .venv/bin/python benchmarks/scaleup.py [--points 50x20,100x20,200x20] [--runs 1] [--name s12a]

For every point NODESxPODS (pods per node) and every run:

- floor: one `ip -batch` file that adds the namespaces the lab has (VPC router, ECS, the nodes,
  the pods: nodes x (pods + 1) + 2) and one veth per namespace but the router's (router -> node
  and ECS, node -> each of its pods), each end created directly in its namespace
  (`link add NAME netns A type veth peer name eth0 netns B`: nothing touches the root
  namespace); then one `ip -batch` file of `netns del`. Namespaces are named FLOOR_PREFIX-*.
- cce-lab: the real CLI, `up topologies/scale.py -p nodes=N -p pods=P -p name=NAME` (VPC model,
  no Services) and `down NAME`, each timed as a whole command (interpreter start included);
  peak RSS is `up`'s ru_maxrss.

Before every timed step the machine is left to settle (the kernel frees deleted namespaces in the
background, which would otherwise be billed to the next step). Writes benchmarks/results/scaleup.json
and scaleup.md and prints the table. Needs root; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLI = [sys.executable, "-m", "lab.cli"]
FLOOR_PREFIX = "s12c"
SETTLE_BUSY = 0.10  # the machine counts as settled below this CPU busy fraction over half a second


def floor_batches(nodes: int, pods: int, prefix: str = FLOOR_PREFIX) -> tuple[str, str]:
    """The `ip -batch` texts that make and remove the lab's namespaces with one veth each."""
    router, ecs = f"{prefix}-vpc", f"{prefix}-ecs"
    names = [router, ecs]
    veths = [f"link add ecs netns {router} type veth peer name eth0 netns {ecs}"]
    for n in range(1, nodes + 1):
        node = f"{prefix}-n{n}"
        names.append(node)
        veths.append(f"link add n{n} netns {router} type veth peer name eth0 netns {node}")
        for k in range(1, pods + 1):
            pod = f"{prefix}-n{n}p{k}"
            names.append(pod)
            veths.append(f"link add veth-p{k} netns {node} type veth peer name eth0 netns {pod}")
    up = "\n".join([*(f"netns add {ns}" for ns in names), *veths]) + "\n"
    down = "\n".join(f"netns del {ns}" for ns in names) + "\n"
    return up, down


def namespaces(nodes: int, pods: int) -> int:
    return nodes * (pods + 1) + 2


def _busy(interval: float = 0.5) -> float:
    """Fraction of all CPU time not idle over `interval` seconds (/proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total0, idle0 = sample()
    time.sleep(interval)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def settle(limit: float = 10.0) -> float:
    """Wait until the kernel has freed what was deleted (CPU quiet), at most `limit` s (another job may keep
    the CPU busy for good: the busy fraction measured before each step is then in the results)."""
    t0 = time.monotonic()
    while _busy() > SETTLE_BUSY and time.monotonic() - t0 < limit:
        pass
    return time.monotonic() - t0


def _timed(argv: list[str], stdin: str | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command; it must succeed."""
    with tempfile.TemporaryFile("w+") as feed:
        if stdin is not None:
            feed.write(stdin)
            feed.seek(0)
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=feed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {proc.returncode}): {err.strip()[-500:]}")
    return elapsed, usage.ru_maxrss


def floor_run(nodes: int, pods: int) -> tuple[float, float]:
    up, down = floor_batches(nodes, pods)
    settle()
    try:
        t_up, _ = _timed(["ip", "-batch", "-"], up)
    except BaseException:  # what was made goes: -force carries on past the names never made
        subprocess.run(["ip", "-force", "-batch", "-"], input=down, text=True, capture_output=True)
        raise
    settle()
    t_down, _ = _timed(["ip", "-batch", "-"], down)
    return t_up, t_down


def lab_run(nodes: int, pods: int, name: str) -> tuple[float, float, int]:
    settle()
    try:
        t_up, kib = _timed(
            [*CLI, "up", "topologies/scale.py", "-p", f"nodes={nodes}", "-p", f"pods={pods}", "-p", f"name={name}"]
        )
    finally:
        settle()
        t_down, _ = _timed([*CLI, "down", name])
    return t_up, t_down, kib


def _median(values: list[float]) -> float:
    return statistics.median(values)


def markdown(doc: dict) -> str:
    env = doc["environment"]
    lines = [
        f"kernel {env['kernel']}, {env['cpus']} CPUs, Python {env['python']}, iproute2 {env['iproute2']}, "
        f"{doc['runs']} run(s) per point, medians",
        "",
        "| nodes x pods | namespaces | floor up (`ip -batch`) | cce-lab up | up / floor | floor down | cce-lab down "
        "| down / floor | peak RSS of up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["results"]:
        lines.append(
            f"| {r['nodes']} x {r['pods']} | {r['namespaces']} | {r['floor_up_s']:.2f} s | {r['up_s']:.2f} s "
            f"| {r['up_s'] / r['floor_up_s']:.2f}x | {r['floor_down_s']:.2f} s | {r['down_s']:.2f} s "
            f"| {r['down_s'] / r['floor_down_s']:.2f}x | {r['peak_rss_mib']:.0f} MiB |"
        )
    lines += ["", f"Command: `{doc['command']}`", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="50x20,100x20,200x20", help="NODESxPODS,... (default 50x20,100x20,200x20)")
    ap.add_argument("--runs", type=int, default=1, help="repetitions per point (default 1)")
    ap.add_argument("--name", default="s12a", help="lab name (default s12a)")
    ap.add_argument("--out", default="scaleup", help="results file stem in benchmarks/results (default scaleup)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (it makes namespaces)")
    results = []
    for point in args.points.split(","):
        nodes, pods = (int(v) for v in point.split("x"))
        runs: dict[str, list[float]] = {"floor_up_s": [], "floor_down_s": [], "up_s": [], "down_s": []}
        rss = []
        for k in range(args.runs):
            print(f"{nodes}x{pods}: run {k + 1}/{args.runs}", file=sys.stderr)
            f_up, f_down = floor_run(nodes, pods)
            up, down, kib = lab_run(nodes, pods, args.name)
            for key, value in zip(runs, (f_up, f_down, up, down), strict=True):
                runs[key].append(value)
            rss.append(kib)
            print(f"  floor {f_up:.2f}/{f_down:.2f} s, cce-lab {up:.2f}/{down:.2f} s", file=sys.stderr)
        results.append(
            {
                "nodes": nodes,
                "pods": pods,
                "namespaces": namespaces(nodes, pods),
                **{key: _median(values) for key, values in runs.items()},
                "all_runs": runs,
                "peak_rss_mib": max(rss) / 1024,
            }
        )
    version = subprocess.run(["ip", "-V"], capture_output=True, text=True).stdout
    iproute2 = next((w.strip(",").removeprefix("iproute2-") for w in version.split() if w.startswith("iproute2")), "?")
    doc = {
        "command": "benchmarks/scaleup.py " + " ".join(sys.argv[1:]),
        "runs": args.runs,
        "environment": {
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "iproute2": iproute2,
        },
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(doc, indent=1) + "\n")
    text = markdown(doc)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
