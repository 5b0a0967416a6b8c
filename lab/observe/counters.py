"""Packet counters read from a node's netfilter: the kernel's own evidence of which rules traffic hit."""

from __future__ import annotations

import re

from lab.kernel import netns, procs

_COUNTED = re.compile(r"^\[(\d+):\d+\] (-A (\S+) .*)$")


def iptables_counts(ns: str, save: str, tables: tuple[str, ...] = ("nat", "filter")) -> dict[str, int]:
    """Packets per rule ("table: -A CHAIN ...") in `ns`, read with `save` (the lab's iptables-save); the nat
    table counts each new connection once."""
    counts = {}
    for table in tables:
        out = procs.run(ns, [save, "-c", "-t", table], mounts=False).stdout
        counts |= {f"{table}: {m.group(2)}": int(m.group(1)) for m in map(_COUNTED.match, out.splitlines()) if m}
    return counts


def nodeport_connections(ns: str, save: str, node_port: int, protocol: str = "tcp") -> int:
    """New connections to `node_port` that kube-proxy's KUBE-NODEPORTS rule took in on this node."""
    marker = f"--dport {node_port} "
    return sum(
        n
        for rule, n in iptables_counts(ns, save, ("nat",)).items()
        if rule.startswith("nat: -A KUBE-NODEPORTS ") and f"-p {protocol} " in rule and marker in rule + " "
    )


def untranslated_connections(ns: str, ip: str) -> int | None:
    """TCP connections to `ip` that `ns` tracks with the reply coming from `ip` itself: nothing DNATed them.
    For a ClusterIP, which exists only in kube-proxy's rules, those are lost, and an unreplied one (SYN_SENT,
    kept alive by its own retries) also takes any later connection that draws its source port.
    None where the conntrack tool is missing."""
    argv = ["conntrack", "-L", "-p", "tcp", "--orig-dst", ip, "--reply-src", ip]
    res = procs.run(ns, argv, check=False, mounts=False)
    if res.returncode != 0:
        return None
    return sum(1 for line in res.stdout.splitlines() if line.startswith("tcp "))


def ipvs_clients(ns: str, virtual_server: str) -> frozenset[str]:
    """The clients (ip:port) IPVS's connection table in `ns` holds for `virtual_server` (ip:port); an entry
    outlives its connection by TCP's TIME_WAIT (2 minutes), so a burst's connections are all still there."""
    return frozenset(c[1] for c in ipvs_conns(ns) if c[2] == virtual_server)


def _hex_ip(h: str) -> str:
    return ".".join(str(int(h[i : i + 2], 16)) for i in range(0, 8, 2))


def ipvs_conns(ns: str) -> list[tuple[str, str, str, str, str]]:
    """IPVS's connection table in `ns`: (protocol, client ip:port, virtual ip:port, real ip:port, state)."""
    with netns.inside(ns), open("/proc/thread-self/net/ip_vs_conn") as f:
        lines = f.read().splitlines()[1:]
    table = []
    for line in lines:
        pro, fip, fpt, vip, vpt, dip, dpt, state, *_ = line.split()
        ends = [f"{_hex_ip(ip)}:{int(pt, 16)}" for ip, pt in ((fip, fpt), (vip, vpt), (dip, dpt))]
        table.append((pro, *ends, state))
    return table
