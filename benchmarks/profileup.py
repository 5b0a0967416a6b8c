"""Profile `cce-lab up` and `down` of topologies/scale.py at several sizes, to see what grows faster than the lab.

    .venv/bin/python benchmarks/profileup.py [--points 50x20,100x20] [--name s12a] [--top 25]

Each point runs the real CLI under cProfile (`python -m cProfile -o FILE -m lab.cli up ...`, then
`down`), stamps every progress line of `up` with the seconds since start (where the time goes by
stage), and prints the functions with the largest cumulative time at the largest point beside
their time at every other point, with the growth factor against the growth in namespaces
(a function whose time grows faster than the lab is the suspect). Profiles stay in
benchmarks/results/profile-*.prof for `python -m pstats`. Needs root; nothing here is a test.
"""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _profiled(args: list[str], out: Path) -> tuple[float, list[tuple[float, str]]]:
    """Wall seconds of one profiled CLI run and its stderr lines, each with its time since start."""
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "lab.cli", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = [(time.perf_counter() - t0, line.rstrip()) for line in proc.stderr]
    code = proc.wait()
    elapsed = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"cce-lab {' '.join(args)} failed (exit {code}):\n" + "\n".join(t for _, t in lines))
    return elapsed, lines


def _cumulative(prof: Path) -> dict[str, tuple[float, float, int]]:
    """function -> (cumulative s, own s, calls)."""
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    found = {}
    for (file, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.items():
        short = f"{Path(file).name}:{line}({func})" if file != "~" else func
        found[short] = (cumtime, tottime, calls)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="50x20,100x20", help="NODESxPODS,... (default 50x20,100x20)")
    ap.add_argument("--name", default="s12a", help="lab name (default s12a)")
    ap.add_argument("--top", type=int, default=30, help="functions shown (default 30)")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    points = [tuple(int(v) for v in p.split("x")) for p in args.points.split(",")]
    profiles: dict[str, dict[int, dict[str, tuple[float, float, int]]]] = {"up": {}, "down": {}}
    sizes: dict[int, int] = {}
    for nodes, pods in points:
        up_args = ["up", "topologies/scale.py", "-p", f"nodes={nodes}", "-p", f"pods={pods}", "-p", f"name={args.name}"]
        up_prof = RESULTS / f"profile-up-{nodes}x{pods}.prof"
        down_prof = RESULTS / f"profile-down-{nodes}x{pods}.prof"
        try:
            t_up, lines = _profiled(up_args, up_prof)
        finally:
            t_down, _ = _profiled(["down", args.name], down_prof)
        sizes[nodes] = nodes * (pods + 1) + 2
        print(f"\n## {nodes} x {pods} ({sizes[nodes]} namespaces): up {t_up:.2f} s, down {t_down:.2f} s (profiled)")
        for at, text in lines:
            print(f"  {at:7.2f} s  {text}")
        profiles["up"][nodes] = _cumulative(up_prof)
        profiles["down"][nodes] = _cumulative(down_prof)
    biggest, smallest = max(sizes), min(sizes)
    growth = sizes[biggest] / sizes[smallest]
    for verb, by_size in profiles.items():
        print(f"\n## {verb}: top {args.top} by cumulative time at {biggest} nodes (namespaces grew {growth:.1f}x)")
        print(f"{'function':70} " + " ".join(f"{n:>9}n cum/own" for n in sorted(by_size)) + "  growth")
        ranked = sorted(by_size[biggest].items(), key=lambda kv: -kv[1][0])[: args.top]
        for func, (cum, _own, _calls) in ranked:
            cells, first = [], None
            for n in sorted(by_size):
                c, o, k = by_size[n].get(func, (0.0, 0.0, 0))
                first = c if first is None else first
                cells.append(f"{c:8.2f}/{o:6.2f} x{k:<6}")
            ratio = f"{cum / first:6.1f}x" if first else "   new"
            print(f"{func[:70]:70} " + " ".join(cells) + f"  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
