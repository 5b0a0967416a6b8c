"""What a lab must never change in the root namespace, read as a comparable snapshot.

Links, addresses, routes and rules (IPv4 and IPv6), permanent neighbour and FDB
entries, the namespaces and their mounts under /run/netns, the sysctls a lab
could touch, nftables (and iptables-legacy / ebtables where installed), the
daemons the lab runs and the lab state directory. Integration tests compare it
around every test, the unit tests around the whole session (CI runs both as root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

WATCHED = {"ovs-vswitchd", "ovsdb-server", "iperf3", "nginx", "tcpdump"}
SYSCTLS = [
    "net/ipv4/ip_forward",
    *(
        f"net/ipv4/conf/{w}/{k}"
        for w in ("all", "default")
        for k in ("rp_filter", "proxy_arp", "forwarding", "send_redirects", "accept_redirects")
    ),
    *(f"net/ipv6/conf/{w}/disable_ipv6" for w in ("all", "default")),
    "net/core/rmem_default",
    "net/core/rmem_max",
]


def _run(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        return ""
    return subprocess.run(list(argv), capture_output=True, text=True).stdout


def _ip_json(*args: str) -> list:
    return json.loads(subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout or "[]")


def root_snapshot() -> dict:
    """The root namespace as a dict of comparable parts."""
    links = sorted((ln["ifname"], ln.get("operstate"), ln.get("mtu")) for ln in _ip_json("link"))
    addrs = sorted((a["ifname"], i["local"], i["prefixlen"]) for a in _ip_json("addr") for i in a.get("addr_info", []))
    routes = sorted(json.dumps(r, sort_keys=True) for r in _ip_json("route", "show", "table", "all"))
    rules = sorted(json.dumps(r, sort_keys=True) for r in _ip_json("rule"))
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    found: dict[int, tuple[str, int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            state, ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
            lab_owned = "/run/cce-lab/" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        # An exited daemon stays a zombie until PID 1 collects it: it no longer runs.
        if (comm in WATCHED or lab_owned) and state != "Z":
            found[int(pid)] = (comm, int(ppid))
    # A daemon's workers (nginx's, which `nginx -s reload` replaces) count by their parent, not by PID.
    procs = {(ppid, f"{comm} worker") if ppid in found else (pid, comm) for pid, (comm, ppid) in found.items()}
    state = sorted(os.listdir("/run/cce-lab")) if os.path.isdir("/run/cce-lab") else []
    sysctls = {}
    for key in SYSCTLS:
        try:
            sysctls[key] = Path("/proc/sys", key).read_text().strip()
        except OSError:
            continue
    mounts = sorted(ln.split()[4] for ln in Path("/proc/self/mountinfo").read_text().splitlines() if "/run/netns" in ln)
    return {
        "nftables": _run("nft", "list", "ruleset"),
        "iptables-legacy": _run("iptables-legacy-save"),
        "ebtables": _run("ebtables-save"),
        "sysctls": sysctls,
        "routes6": sorted(json.dumps(r, sort_keys=True) for r in _ip_json("-6", "route", "show", "table", "all")),
        "rules6": sorted(json.dumps(r, sort_keys=True) for r in _ip_json("-6", "rule")),
        "neigh": sorted(json.dumps(n, sort_keys=True) for n in _ip_json("neigh", "show", "nud", "permanent")),
        "fdb": sorted(_run("bridge", "fdb", "show").splitlines()),
        "netns_mounts": mounts,
        "links": links,
        "addrs": addrs,
        "routes": routes,
        "rules": rules,
        "netns": netns,
        "processes": sorted(procs),
        "lab_state": state,
    }
