"""TCP across nodes on `ovs-userspace` against the receive buffer of ovs-vswitchd's AF_PACKET sockets.

    .venv/bin/python benchmarks/afpacket.py [--sizes 0,1M,4M,8M,16M] [--paths P,...] [--duration 5]
        [--repetitions 3] [--name afp]

Brings up topologies/tunnel.yaml renamed NAME, pinned to `datapath: ovs-userspace`, with
`ovs_userspace_rcvbuf: 0` (the lab leaves OVS's default); then, for each size, sets every
receiving AF_PACKET socket of every node's vswitchd to exactly that receive buffer
(`lab.datapaths.afpacket`; 0 = the host's net.core.rmem_default, what OVS leaves) and runs iperf3,
one TCP stream, on each path of --paths: `pod-pod across nodes` (a plain pod on node-1 to one on the
last node) and/or `pod-ClusterIP` (node-1's pod to the `bench` Service), as `cce-lab bench` picks
them. The lab is taken down at the end. Writes
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
from lab.bench.paths import bench_service, paths  # noqa: E402
from lab.datapaths import afpacket, ovs  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PATHS = ("pod-pod across nodes", "pod-ClusterIP")


def _bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1:].upper() in units else int(text)


def _target(plan, path: str) -> tuple[str, list[tuple[str, str]], str, int | None, int | None]:
    """client netns, servers (netns, IP), host to aim at, fixed port and listen port (a Service's) or None."""
    client, server, ip = paths(plan)[0][path]
    if path != "pod-ClusterIP":
        return client, [(server, ip)], ip, None, None
    service, _ = bench_service(plan)
    assert service is not None
    return client, list(service.endpoints), service.cluster_ip, service.port, service.target_port


def _one_size(plan, path: str, rcvbuf: int, duration: int, repetitions: int) -> dict:
    held = set()
    for node in plan.nodes:
        held |= {b.rcvbuf for b in afpacket.size(ovs.vswitchd_pidfile(plan.name, node), rcvbuf, shrink=True)}
    client, servers, host, fixed, listen = _target(plan, path)
    gbps, retransmits = [], []
    for _ in range(repetitions):
        options = {"protocol": "tcp", "streams": 1, "duration": duration, "omit": 1}
        port = fixed or next(iperf.ports)
        result = iperf.iperf3_test(client, servers, host, port, listen or port, options, duration + 20)
        figures = iperf.tcp_figures(result)
        gbps.append(figures["gbps"])
        retransmits.append(figures.get("retransmits", float("nan")))
    return {"path": path, "rcvbuf": rcvbuf, "held": sorted(held), "gbps": gbps, "retransmits": retransmits}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,1M,4M,8M,16M")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--name", default="afp")
    parser.add_argument("--paths", default=PATHS[0], help=f"comma-separated, of: {', '.join(PATHS)}")
    a = parser.parse_args()
    default = int(Path("/proc/sys/net/core/rmem_default").read_text())
    sizes = [_bytes(s) or default for s in a.sizes.split(",")]
    spec = topology.load(ROOT / "topologies" / "tunnel.yaml")
    spec = spec.model_copy(update={"name": a.name, "datapath": "ovs-userspace", "ovs_userspace_rcvbuf": 0})
    rows = []
    with engine.session(engine.plan_for_up(spec), print) as plan:
        for path, rcvbuf in ((p, s) for p in a.paths.split(",") for s in sizes):
            rows.append(_one_size(plan, path, rcvbuf, a.duration, a.repetitions))
            r = rows[-1]
            print(
                f"{path}: rcvbuf {rcvbuf:>9} (kernel holds {r['held']}): "
                f"{statistics.median(r['gbps']):.2f} Gbit/s ({min(r['gbps']):.2f}-{max(r['gbps']):.2f}), "
                f"retransmits {statistics.median(r['retransmits']):.0f} "
                f"({min(r['retransmits']):.0f}-{max(r['retransmits']):.0f})",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {
        "command": " ".join(["benchmarks/afpacket.py", *sys.argv[1:]]),
        "duration": a.duration,
        "repetitions": a.repetitions,
        "rmem_default": default,
        "rows": rows,
    }
    (RESULTS / "afpacket.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
