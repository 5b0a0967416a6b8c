"""TCP across nodes on `ovs-userspace` against the receive buffer of ovs-vswitchd's AF_PACKET sockets.

    .venv/bin/python benchmarks/afpacket.py [--sizes 0,1M,4M,8M,16M] [--duration 5] [--repetitions 3] [--name afp]

Brings up topologies/tunnel.yaml renamed NAME, pinned to `datapath: ovs-userspace`, with
`ovs_userspace_rcvbuf: 0` (the lab leaves OVS's default); then, for each size, sets every
AF_PACKET socket of every node's vswitchd to exactly that receive buffer (`lab.datapaths.afpacket`,
0 = the host's net.core.rmem_default, what OVS leaves) and runs iperf3, one TCP stream, from a plain pod on
node-1 to one on the last node. The lab is taken down at the end. Writes
benchmarks/results/afpacket.json and prints the table (median and range over the repetitions).
Needs root; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab import topology  # noqa: E402
from lab.apply import engine  # noqa: E402
from lab.bench import iperf  # noqa: E402
from lab.bench.paths import paths  # noqa: E402
from lab.datapaths import afpacket, ovs  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PATH = "pod-pod across nodes"


def _bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1:].upper() in units else int(text)


def _one_size(plan, rcvbuf: int, duration: int, repetitions: int) -> dict:
    held = set()
    for node in plan.nodes:
        held |= {b.rcvbuf for b in afpacket.size(ovs.vswitchd_pidfile(plan.name, node), rcvbuf, shrink=True)}
    client, server, ip = paths(plan)[0][PATH]
    gbps, retransmits = [], []
    for _ in range(repetitions):
        options = {"protocol": "tcp", "streams": 1, "duration": duration, "omit": 1}
        port = next(iperf.ports)
        result = iperf.iperf3_test(client, [(server, ip)], ip, port, port, options, duration + 20)
        figures = iperf.tcp_figures(result)
        gbps.append(figures["gbps"])
        retransmits.append(figures.get("retransmits", float("nan")))
    return {"rcvbuf": rcvbuf, "held": sorted(held), "gbps": gbps, "retransmits": retransmits}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,1M,4M,8M,16M")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--name", default="afp")
    a = parser.parse_args()
    default = int(Path("/proc/sys/net/core/rmem_default").read_text())
    sizes = [_bytes(s) or default for s in a.sizes.split(",")]
    spec = topology.load(ROOT / "topologies" / "tunnel.yaml")
    spec = spec.model_copy(update={"name": a.name, "datapath": "ovs-userspace", "ovs_userspace_rcvbuf": 0})
    rows = []
    with engine.session(engine.plan_for_up(spec), print) as plan:
        for rcvbuf in sizes:
            rows.append(_one_size(plan, rcvbuf, a.duration, a.repetitions))
            r = rows[-1]
            print(
                f"rcvbuf {rcvbuf:>10} (kernel holds {r['held']}): "
                f"{statistics.median(r['gbps']):.2f} Gbit/s ({min(r['gbps']):.2f}-{max(r['gbps']):.2f}), "
                f"retransmits {statistics.median(r['retransmits']):.0f} "
                f"({min(r['retransmits']):.0f}-{max(r['retransmits']):.0f})",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"path": PATH, "duration": a.duration, "repetitions": a.repetitions, "rmem_default": default, "rows": rows}
    (RESULTS / "afpacket.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
