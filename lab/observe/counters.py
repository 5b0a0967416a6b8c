"""Packet counters read from a node's netfilter: the kernel's own evidence of which rules traffic hit."""

from __future__ import annotations

import re

from lab.kernel import procs

_COUNTED = re.compile(r"^\[(\d+):\d+\] (-A (\S+) .*)$")


def iptables_counts(ns: str, tables: tuple[str, ...] = ("nat", "filter")) -> dict[str, int]:
    """Packets per rule ("table: -A CHAIN ...") in `ns`; the nat table counts each new connection once."""
    counts = {}
    for table in tables:
        out = procs.run(ns, ["iptables-save", "-c", "-t", table]).stdout
        counts |= {f"{table}: {m.group(2)}": int(m.group(1)) for m in map(_COUNTED.match, out.splitlines()) if m}
    return counts


def nodeport_connections(ns: str, node_port: int, protocol: str = "tcp") -> int:
    """New connections to `node_port` that kube-proxy's KUBE-NODEPORTS rule took in on this node."""
    marker = f"--dport {node_port} "
    return sum(
        n
        for rule, n in iptables_counts(ns, ("nat",)).items()
        if rule.startswith("nat: -A KUBE-NODEPORTS ") and f"-p {protocol} " in rule and marker in rule + " "
    )
