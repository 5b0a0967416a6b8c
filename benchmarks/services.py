"""1,000 Services x 10 endpoints on a 10-node lab: kube-proxy's iptables-restore batches, measured.

    .venv/bin/python benchmarks/services.py [--model vpc|tunnel] [--iptables host|nft|legacy]
        [--nodes 10] [--workloads 50] [--replicas 10] [--per-workload 20] [--name svcb] [--check-limit 900]

The lab is `topologies/servicemix.py`: W workloads of R replicas spread round-robin over the
nodes, each selected by `per_workload` Services (so every Service has R endpoints); of every ten
Services seven are ClusterIP (one with ClientIP affinity) and three NodePort (one with
externalTrafficPolicy Local). Defaults: 50 x 10 pods (50 per node) and 1,000 Services.
`--iptables` is the topology's `iptables` field: the backend kube-proxy's batches go through.

Steps, each after the machine has settled (scaleup.settle), each the real CLI timed as a whole:

- `up`: wall time, peak RSS (ru_maxrss), and every progress line on stderr stamped with the
  time since start; the kube-proxy stage is from "kube-proxy on N nodes" to the next line
  (one iptables-restore --noflush per node, fresh);
- per node: the batch `up` handed to iptables-restore (lab.render.nodenet.ruleset on the saved
  plan: lines, bytes) and what the kernel holds after it (`iptables-save | wc -l` in the node);
- one re-sync on the running lab: `scale w0 R+1` (a new pod, then kube-proxy.program(fresh=False)
  on every node: iptables-save, resync, iptables-restore); the command's own "re-synced in" figure;
- `check NAME --json` once, with a time limit (its rows, mismatches, time; or "stopped at");
- `down`.

Writes benchmarks/results/services.json and services.md and prints the table. Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import signal
import subprocess
import sys
import time

from scaleup import CLI, RESULTS, ROOT, settle

from lab import documents
from lab.kernel.journal import Journal
from lab.plan.model import Plan
from lab.render import nodenet

KUBE_PROXY_STAGE = re.compile(r"kube-proxy on \d+ nodes")
RESYNCED = re.compile(r"re-synced on \d+ nodes in ([0-9.]+) s")


def run_stamped(argv: list[str], limit: float | None = None) -> dict:
    """Run one CLI command: wall time, peak RSS, exit code, stdout, stderr lines stamped (s since start).
    Past `limit` seconds the command (its process group: it is ours) is stopped and `stopped` is set."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    assert proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    out, partial, lines, stopped = bytearray(), b"", [], False
    while sel.get_map():
        if limit is not None and not stopped and time.perf_counter() - t0 > limit:
            os.killpg(proc.pid, signal.SIGINT)  # the CLI's own interrupt path; it is our process group
            stopped = True
        for key, _ in sel.select(timeout=1.0):
            chunk = os.read(key.fileobj.fileno(), 65536)  # type: ignore[union-attr]
            if not chunk:
                sel.unregister(key.fileobj)
            elif key.data == "out":
                out += chunk
            else:
                now = time.perf_counter() - t0
                partial += chunk
                *done, partial = partial.split(b"\n")
                lines += [(round(now, 3), line.decode(errors="replace")) for line in done]
    _, status, usage = os.wait4(proc.pid, 0)
    if partial:
        lines.append((round(time.perf_counter() - t0, 3), partial.decode(errors="replace")))
    return {
        "seconds": time.perf_counter() - t0,
        "rc": os.waitstatus_to_exitcode(status),
        "rss_kib": usage.ru_maxrss,
        "stdout": out.decode(errors="replace"),
        "stderr": lines,
        "stopped": stopped,
    }


def must(result: dict, what: str) -> dict:
    if result["rc"] != 0:
        tail = "\n".join(line for _, line in result["stderr"][-8:])
        raise SystemExit(f"{what} failed (exit {result['rc']}):\n{tail}")
    return result


def stage(lines: list[tuple[float, str]], pattern: re.Pattern[str], total: float) -> float | None:
    """Seconds from the progress line matching `pattern` to the next line (or the end)."""
    for i, (t, line) in enumerate(lines):
        if pattern.search(line):
            return (lines[i + 1][0] if i + 1 < len(lines) else total) - t
    return None


def kernel_rules(netns: str, save: str) -> int:
    """Lines of `save` (the lab's iptables-save) in the node's namespace (every table)."""
    text = subprocess.run(["ip", "netns", "exec", netns, save], capture_output=True, text=True, check=True).stdout
    return text.count("\n")


def per_node(name: str) -> list[dict]:
    plan = documents.load(Plan, Journal(name).plan(), "saved plan")
    rows = []
    for node in plan.nodes:
        batch = nodenet.ruleset(plan, node)
        rows.append(
            {
                "node": node.name,
                "pods": sum(p.node == node.name for p in plan.pods),
                "batch_lines": batch.count("\n"),
                "batch_bytes": len(batch.encode()),
                "kernel_rules": kernel_rules(node.netns, plan.iptables_tool("save")),
            }
        )
    return rows


def lab(args: argparse.Namespace) -> dict:
    params = {
        "nodes": args.nodes,
        "workloads": args.workloads,
        "replicas": args.replicas,
        "per_workload": args.per_workload,
        "model": args.model,
        "name": args.name,
        "iptables": args.iptables,
    }
    up_argv = [*CLI, "up", "topologies/servicemix.py", *(a for k, v in params.items() for a in ("-p", f"{k}={v}"))]
    doc: dict = {"busy_settle_s": {}}
    doc["busy_settle_s"]["up"] = settle()
    print("up ...", file=sys.stderr)
    up = run_stamped(up_argv)
    try:
        must(up, "up")
        doc["up"] = {
            "seconds": up["seconds"],
            "peak_rss_mib": up["rss_kib"] / 1024,
            "kube_proxy_s": stage(up["stderr"], KUBE_PROXY_STAGE, up["seconds"]),
            "progress": up["stderr"],
        }
        doc["services"] = len(documents.load(Plan, Journal(args.name).plan(), "saved plan").services)
        doc["nodes"] = per_node(args.name)
        print(f"  {up['seconds']:.2f} s; scale w0 ...", file=sys.stderr)
        doc["busy_settle_s"]["scale"] = settle()
        save = documents.load(Plan, Journal(args.name).plan(), "saved plan").iptables_tool("save")
        sc = must(run_stamped([*CLI, "scale", "w0", str(args.replicas + 1), "--lab", args.name]), "scale")
        took = next((float(m.group(1)) for _, line in sc["stderr"] if (m := RESYNCED.search(line))), None)
        doc["resync"] = {
            "command_s": sc["seconds"],
            "kube_proxy_s": took,
            "progress": sc["stderr"],
            "kernel_rules_after": [kernel_rules(f"{args.name}-{n['node']}", save) for n in doc["nodes"]],
        }
        print(f"  {sc['seconds']:.2f} s; check ...", file=sys.stderr)
        doc["busy_settle_s"]["check"] = settle()
        ck = run_stamped([*CLI, "check", args.name, "--json"], limit=args.check_limit)
        rows = json.loads(ck["stdout"])["results"] if ck["stdout"].strip().startswith("{") else []
        doc["check"] = {
            "seconds": ck["seconds"],
            "rc": ck["rc"],
            "stopped": ck["stopped"],
            "limit_s": args.check_limit,
            "rows": len(rows),
            "mismatches": [r for r in rows if not r["ok"]][:20],
            "mismatch_count": sum(not r["ok"] for r in rows),
        }
        print(f"  {ck['seconds']:.2f} s, {len(rows)} rows", file=sys.stderr)
    finally:
        doc["busy_settle_s"]["down"] = settle()
        down = run_stamped([*CLI, "down", args.name])
        doc["down_s"] = must(down, "down")["seconds"]
    return doc


def markdown(doc: dict) -> str:
    env, r = doc["environment"], doc["result"]
    up, ck, rs = r["up"], r["check"], r["resync"]
    n = r["nodes"]
    lines = [
        f"{doc['topology']}: {len(n)} nodes, {r['services']} Services x {doc['replicas']} endpoints "
        f"({doc['workloads']} workloads x {doc['replicas']} pods, {doc['per_workload']} Services each: "
        "7 ClusterIP, 3 NodePort per ten), model "
        f"{doc['model']}; kernel {env['kernel']}, {env['cpus']} CPUs, Python {env['python']}, "
        f"{env['iptables']}, one run",
        "",
        "| step | time | detail |",
        "|---|---|---|",
        f"| `up` (whole command) | {up['seconds']:.2f} s | peak RSS {up['peak_rss_mib']:.0f} MiB |",
        f"| kube-proxy stage of `up` | {up['kube_proxy_s']:.2f} s | one `iptables-restore --noflush` per node, "
        f"{up['kube_proxy_s'] / len(n):.2f} s per node |",
        f"| `scale w0 {doc['replicas'] + 1}` (whole command) | {rs['command_s']:.2f} s | kube-proxy re-sync on every "
        f"node (iptables-save, resync, restore): {rs['kube_proxy_s']:.2f} s |",
    ]
    if ck["stopped"]:
        lines.append(f"| `check` | stopped at {ck['seconds']:.0f} s (limit {ck['limit_s']:.0f} s) | not finished |")
    else:
        lines.append(f"| `check` | {ck['seconds']:.2f} s | {ck['rows']} rows, {ck['mismatch_count']} mismatches |")
    lines += [
        f"| `down` | {r['down_s']:.2f} s | |",
        "",
        "| node | pods | iptables-restore batch | batch bytes | rules in the kernel after `up` (iptables-save lines) "
        "| after the re-sync |",
        "|---|---|---|---|---|---|",
    ]
    for row, after in zip(n, rs["kernel_rules_after"], strict=True):
        lines.append(
            f"| {row['node']} | {row['pods']} | {row['batch_lines']} lines | {row['batch_bytes'] / 1e6:.2f} MB "
            f"| {row['kernel_rules']} | {after} |"
        )
    lines += ["", f"Command: `{doc['command']}`", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("vpc", "tunnel"), default="vpc")
    ap.add_argument("--iptables", choices=("host", "nft", "legacy"), default="host", help="the iptables backend")
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--workloads", type=int, default=50)
    ap.add_argument("--replicas", type=int, default=10, help="pods per workload = endpoints per Service")
    ap.add_argument("--per-workload", type=int, default=20, help="Services selecting each workload")
    ap.add_argument("--name", default="svcb", help="lab name (default svcb)")
    ap.add_argument("--check-limit", type=float, default=900.0, help="stop `check` after this many seconds")
    ap.add_argument("--out", default="services", help="results file stem in benchmarks/results")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (it makes namespaces)")
    tool = "iptables" if args.iptables == "host" else f"iptables-{args.iptables}"
    iptables = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    doc = {
        "command": "benchmarks/services.py " + " ".join(sys.argv[1:]),
        "topology": "topologies/servicemix.py",
        "model": args.model,
        "iptables_backend": args.iptables,
        "workloads": args.workloads,
        "replicas": args.replicas,
        "per_workload": args.per_workload,
        "environment": {
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "iptables": iptables,
        },
        "result": lab(args),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(doc, indent=1) + "\n")
    text = markdown(doc)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
