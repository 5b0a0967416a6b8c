"""The kernel's IP Virtual Server: whether this host has it, and a namespace's table brought to a wanted state.

IPVS is programmed over generic netlink (pyroute2's IPVS socket, opened inside
the node's namespace: every namespace has its own table). A re-sync changes only
what differs, as kube-proxy does: services and real servers that are not wanted
any more are deleted, missing ones added, the rest left alone.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from pyroute2 import IPVS, IPVSDest, IPVSService

from lab.kernel import netns
from lab.render.ipvs import VirtualServer

PROC = Path("/proc/net/ip_vs")
PROTOCOLS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}
PERSISTENT = 0x1  # IP_VS_SVC_F_PERSISTENT
MASQUERADE = 0  # IP_VS_CONN_F_MASQ: real servers behind NAT, as kube-proxy uses them


def missing() -> str:
    """Why this host cannot run IPVS ("" when it can): the module is loaded (/proc/net/ip_vs), or loads."""
    if PROC.exists():
        return ""
    try:
        res = subprocess.run(["modprobe", "ip_vs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"modprobe ip_vs: {exc}"
    if PROC.exists():
        return ""
    reason = (res.stderr or res.stdout).strip().splitlines() or ["modprobe ip_vs failed"]
    return reason[-1].removeprefix("modprobe: ").removeprefix("FATAL: ")


def _service(v: VirtualServer) -> IPVSService:
    flags = PERSISTENT if v.persistence else 0
    return IPVSService(
        addr=v.address,
        port=v.port,
        protocol=PROTOCOLS[v.protocol],
        sched_name=v.scheduler,
        timeout=v.persistence,
        netmask="255.255.255.255",
        flags={"flags": flags, "mask": 0xFFFF},
    )


def _key(s: dict) -> tuple[int, str, int]:
    return (s["protocol"], s["addr"], s["port"])


def program(ns: str, servers: list[VirtualServer]) -> None:
    """Make the IPVS table of `ns` hold exactly `servers`."""
    with netns.inside(ns):
        sock = IPVS()
    with sock:
        have = {_key(s): s for s in map(IPVSService.from_message, sock.service("dump"))}
        want = {(PROTOCOLS[v.protocol], v.address, v.port): v for v in servers}
        for key in have.keys() - want.keys():
            sock.service("del", service=have[key])
        for key, v in want.items():
            svc = _service(v)
            if key not in have:
                sock.service("add", service=svc)
            dests = {(d["addr"], d["port"]): d for d in map(IPVSDest.from_message, sock.dest("dump", service=svc))}
            for real in dests.keys() - set(v.reals):
                sock.dest("del", service=svc, dest=dests[real])
            for ip, port in set(v.reals) - dests.keys():
                sock.dest("add", service=svc, dest=IPVSDest(addr=ip, port=port, fwd_method=MASQUERADE, weight=1))


def connections(ns: str) -> dict[str, int]:
    """Connections each virtual server ("tcp 192.168.0.2:30080") has taken in so far: IPVS's own counter."""
    with netns.inside(ns):
        sock = IPVS()
    counts = {}
    with sock:
        for msg in sock.service("dump"):
            attrs = msg.get("IPVS_CMD_ATTR_SERVICE")
            svc = IPVSService.from_message(msg)
            stats = attrs.get("IPVS_SVC_ATTR_STATS") if attrs else None
            proto = {v: k for k, v in PROTOCOLS.items()}.get(svc["protocol"], str(svc["protocol"]))
            counts[f"{proto} {svc['addr']}:{svc['port']}"] = int(stats.get("IPVS_STATS_ATTR_CONNS", 0)) if stats else 0
    return counts
