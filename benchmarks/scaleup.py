"""`cce-lab up`/`down` at CCE scale against the kernel's floor: `ip -batch` making the same namespaces and veths.

    .venv/bin/python benchmarks/scaleup.py [--points 50x20,100x20,200x20] [--runs 1] [--name s12a]
        [--param KEY=VALUE ...] [--check] [--out scaleup]

For every point NODESxPODS (pods per node) and every run:

- floor: one `ip -batch` file that adds the namespaces the lab has (VPC router, ECS, the nodes,
  the pods: nodes x (pods + 1) + 2) and one veth per namespace but the router's (router -> node
  and ECS, node -> each of its pods), each end created directly in its namespace
  (`link add NAME netns A type veth peer name eth0 netns B`: nothing touches the root
  namespace); then one `ip -batch` file of `netns del`. Namespaces are named FLOOR_PREFIX-*.
- cce-lab: the real CLI, `up topologies/scale.py -p nodes=N -p pods=P -p name=NAME` (VPC model,
  no Services; `--param` passes more, e.g. `shipped=1` for the shipped Services and hosts around,
  `model=tunnel`, `datapath=linux-vxlan`) and `down NAME`, each timed as a whole command
  (interpreter start included); peak RSS is `up`'s ru_maxrss; the memory the lab holds is the drop
  in MemAvailable from before `up` to after it (kernel objects and daemons alike), and its daemons'
  PSS is summed over the processes its journal names (by pidfile). With `--check`, `check NAME --json`
  runs between them, timed the same way, with its rows counted.

Before every timed step the machine is left to settle (the kernel frees deleted namespaces in the
background, which would otherwise be billed to the next step). Writes benchmarks/results/scaleup.json,
scaleup.md and scaleup.png (time and peak memory against namespaces) and prints the table. Needs
root; nothing here is a test.
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


def _available_kib() -> int:
    """MemAvailable: what the machine could still give, kernel objects and daemons of a lab counted against it."""
    line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemAvailable:"))
    return int(line.split()[1])


def daemons_pss_kib(name: str) -> tuple[int, int]:
    """(processes, total PSS in KiB) of the daemons lab `name` journalled: found by pidfile, never by name."""
    from lab.kernel import procs
    from lab.kernel.journal import Journal

    total = count = 0
    for entry in Journal(name).entries():
        pid = procs.pid_of(entry["pidfile"], entry.get("marker"), entry.get("title")) if "pidfile" in entry else None
        if pid is None:
            continue
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        total += next(int(ln.split()[1]) for ln in rollup if ln.startswith("Pss:"))
        count += 1
    return count, total


def lab_run(nodes: int, pods: int, name: str, params: list[str], check: bool) -> dict:
    """One up (and check) and down of the lab: seconds, peak RSS, memory the lab holds, check rows, and how busy
    the CPU was before up."""
    run: dict = {"busy_before_up": (settle(), _busy())[1]}
    extra = [arg for param in params for arg in ("-p", param)]
    available = _available_kib()
    try:
        run["up_s"], run["up_kib"] = _timed(
            [
                *CLI,
                "up",
                "topologies/scale.py",
                "-p",
                f"nodes={nodes}",
                "-p",
                f"pods={pods}",
                "-p",
                f"name={name}",
                *extra,
            ]
        )
        settle()
        run["held_mib"] = (available - _available_kib()) / 1024
        run["daemons"], pss = daemons_pss_kib(name)
        run["daemons_pss_mib"] = pss / 1024
        if check:
            settle()
            t0 = time.perf_counter()
            res = subprocess.run([*CLI, "check", name, "--json"], cwd=ROOT, capture_output=True, text=True)
            run["check_s"] = time.perf_counter() - t0
            rows = json.loads(res.stdout)["results"] if res.stdout.strip() else []
            run["check_rows"], run["check_failed"] = len(rows), sum(not r["ok"] for r in rows)
    finally:
        settle()
        run["down_s"], _ = _timed([*CLI, "down", name])
    return run


def _median(values: list[float]) -> float:
    return statistics.median(values)


def markdown(doc: dict) -> str:
    env = doc["environment"]
    lines = [
        f"kernel {env['kernel']}, {env['cpus']} CPUs, Python {env['python']}, iproute2 {env['iproute2']}, "
        f"{doc['runs']} run(s) per point, medians",
        "",
        "| nodes x pods | namespaces | floor up (`ip -batch`) | cce-lab up | up / floor | floor down | cce-lab down "
        "| down / floor | peak RSS of up | memory held by the lab | its daemons (PSS) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checked = any("check_s" in r for r in doc["results"])
    if checked:
        lines[2] += " check | check rows (failed) |"
        lines[3] += "---|---|"
    for r in doc["results"]:
        lines.append(
            f"| {r['nodes']} x {r['pods']} | {r['namespaces']} | {r['floor_up_s']:.2f} s | {r['up_s']:.2f} s "
            f"| {r['up_s'] / r['floor_up_s']:.2f}x | {r['floor_down_s']:.2f} s | {r['down_s']:.2f} s "
            f"| {r['down_s'] / r['floor_down_s']:.2f}x | {r['peak_rss_mib']:.0f} MiB | {r['held_mib']:.0f} MiB "
            f"| {r['daemons']}: {r['daemons_pss_mib']:.0f} MiB |"
            + (f" {r['check_s']:.1f} s | {r['check_rows']} ({r['check_failed']}) |" if checked else "")
        )
    busy = max(b for r in doc["results"] for b in r["all_runs"]["busy_before_up"])
    lines += ["", f"CPU busy before each up: at most {busy:.0%} (a concurrent job shows here)."]
    lines += ["", f"Command: `{doc['command']}`", ""]
    return "\n".join(lines)


def plot(doc: dict, out: Path) -> None:
    """Time and peak memory against namespaces: cce-lab up/down (and check) beside the `ip -batch` floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(doc["results"], key=lambda r: r["namespaces"])
    x = [r["namespaces"] for r in rows]
    fig, (times, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [
        ("up_s", "cce-lab up", "o-"),
        ("floor_up_s", "floor up (ip -batch)", "s--"),
        ("down_s", "cce-lab down", "o-"),
    ]
    series += [("floor_down_s", "floor down", "s--")] + (
        [("check_s", "cce-lab check", "^-")] if "check_s" in rows[0] else []
    )
    for key, label, style in series:
        times.plot(x, [r[key] for r in rows], style, label=label)
    times.set(xlabel="namespaces", ylabel="seconds", title="time against namespaces")
    times.legend()
    times.grid(alpha=0.3)
    memory.plot(x, [r["peak_rss_mib"] for r in rows], "o-", label="cce-lab up: peak RSS")
    memory.plot(x, [r["held_mib"] for r in rows], "^-", label="held by the lab (MemAvailable drop)")
    memory.plot(x, [r["daemons_pss_mib"] for r in rows], "s-", label="the lab's daemons (PSS)")
    memory.set(xlabel="namespaces", ylabel="MiB", title="memory against namespaces", ylim=(0, None))
    memory.legend()
    memory.grid(alpha=0.3)
    params = " ".join(doc.get("params", [])) or "VPC model, no Services"
    fig.suptitle(
        f"topologies/scale.py ({params}); kernel {doc['environment']['kernel']}, {doc['environment']['cpus']} CPUs"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="50x20,100x20,200x20", help="NODESxPODS,... (default 50x20,100x20,200x20)")
    ap.add_argument("--runs", type=int, default=1, help="repetitions per point (default 1)")
    ap.add_argument("--name", default="s12a", help="lab name (default s12a)")
    ap.add_argument("--out", default="scaleup", help="results file stem in benchmarks/results (default scaleup)")
    ap.add_argument("--param", action="append", default=[], help="KEY=VALUE for topologies/scale.py (repeatable)")
    ap.add_argument("--check", action="store_true", help="also time `check` on the lab and count its rows")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (it makes namespaces)")
    results = []
    for point in args.points.split(","):
        nodes, pods = (int(v) for v in point.split("x"))
        runs: dict[str, list[float]] = {}
        rss = []
        for k in range(args.runs):
            print(f"{nodes}x{pods}: run {k + 1}/{args.runs}", file=sys.stderr)
            f_up, f_down = floor_run(nodes, pods)
            run = lab_run(nodes, pods, args.name, args.param, args.check)
            rss.append(run.pop("up_kib"))
            for key, value in {"floor_up_s": f_up, "floor_down_s": f_down, **run}.items():
                runs.setdefault(key, []).append(value)
            print(
                f"  floor {f_up:.2f}/{f_down:.2f} s, cce-lab {run['up_s']:.2f}/{run['down_s']:.2f} s", file=sys.stderr
            )
        results.append(
            {
                "nodes": nodes,
                "pods": pods,
                "namespaces": namespaces(nodes, pods),
                **{key: _median(values) for key, values in runs.items() if key.endswith(("_s", "_mib"))},
                "daemons": runs["daemons"][-1],
                **(
                    {"check_rows": runs["check_rows"][-1], "check_failed": max(runs["check_failed"])}
                    if args.check
                    else {}
                ),
                "all_runs": runs,
                "peak_rss_mib": max(rss) / 1024,
            }
        )
    version = subprocess.run(["ip", "-V"], capture_output=True, text=True).stdout
    iproute2 = next((w.strip(",").removeprefix("iproute2-") for w in version.split() if w.startswith("iproute2")), "?")
    doc = {
        "command": "benchmarks/scaleup.py " + " ".join(sys.argv[1:]),
        "params": args.param,
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
    plot(doc, RESULTS / f"{args.out}.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
