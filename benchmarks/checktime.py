"""How long `cce-lab check` takes as a lab grows (not a test: the figures go to README).

    sudo .venv/bin/python benchmarks/checktime.py              # 10x10 and 50x20, VPC model
    sudo .venv/bin/python benchmarks/checktime.py --sizes 50x20 --model tunnel

Each size: `up` the parameterised scale topology, time `check --json` (every
node and every pod probed), count the rows, `down`. Prints one Markdown row per size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "lab.cli"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=1800)


def measure(nodes: int, pods: int, model: str) -> dict:
    params = ["-p", f"nodes={nodes}", "-p", f"pods={pods}", "-p", f"model={model}", "-p", "name=ckbench"]
    up = _cli("up", "topologies/scale.py", *params)
    if up.returncode != 0:
        raise SystemExit(f"up failed: {up.stderr.strip()[-300:]}")
    try:
        t0 = time.monotonic()
        res = _cli("check", "ckbench", "--json")
        seconds = time.monotonic() - t0
        rows = json.loads(res.stdout)["results"] if res.stdout.strip() else []
        return {
            "size": f"{nodes}x{pods}",
            "model": model,
            "check_s": seconds,
            "rows": len(rows),
            "failed": sum(not r["ok"] for r in rows),
            "exit": res.returncode,
        }
    finally:
        _cli("down", "ckbench")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10x10,50x20", help="NODESxPODS, comma separated")
    ap.add_argument("--model", default="vpc", choices=["vpc", "tunnel"])
    a = ap.parse_args()
    print("| size (nodes x pods) | model | check | rows | failed |")
    print("|---|---|---|---|---|")
    for size in a.sizes.split(","):
        nodes, pods = (int(x) for x in size.split("x"))
        m = measure(nodes, pods, a.model)
        print(f"| {m['size']} | {m['model']} | {m['check_s']:.1f} s | {m['rows']} | {m['failed']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
