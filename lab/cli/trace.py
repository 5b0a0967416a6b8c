"""`cce-lab trace SRC DST`: send one packet and show every hop it crossed, in order, with the kernel's evidence."""

from __future__ import annotations

import argparse
import json

from lab import documents
from lab.cli.console import need_root, out
from lab.observe import status, trace
from lab.report.trace import print_trace


def add(sub) -> None:
    sp = sub.add_parser("trace", help="send one packet from SRC to DST and show every hop it crossed, in order")
    sp.add_argument("src", metavar="SRC", help="pod, node or host (name or role, e.g. pod-1-1, node-2, ecs, client)")
    sp.add_argument(
        "dst",
        metavar="DST",
        help="pod, node, host, Service (name or ClusterIP), NODE:NODEPORT, EIP[:PORT], ELB VIP:PORT",
    )
    sp.add_argument("--proto", choices=("icmp", "tcp", "udp"), help="default: what DST serves, else ICMP")
    sp.add_argument("--port", type=int, help="TCP/UDP port (default: what DST serves)")
    sp.add_argument("--size", type=int, help="ICMP payload bytes (like ping -s; DF is always set)")
    sp.add_argument("--pcap", metavar="DIR", help="keep one pcap per hop in DIR, with a README of the hops")
    sp.add_argument("--lab", help="lab name (default: the only lab up)")
    sp.add_argument("--json", action="store_true", help="print the trace document (cce-lab schema trace)")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    plan = status.load_plan(status.pick_lab(a.lab))
    report = trace.trace(plan, a.src, a.dst, a.proto, a.port, a.size, a.pcap)
    if a.json:
        print(json.dumps(documents.dump(report), indent=2))
    else:
        print_trace(out, report)
    return 0 if report.ok else 1
