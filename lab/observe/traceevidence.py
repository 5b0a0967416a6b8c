"""The kernel's own evidence for a hop: the route it took, the rules and flows it hit, the conntrack entry.

Each reader asks the running lab with the tools a trainee would use
(`ip route get`, `iptables-save -c`, `ovs-appctl ofproto/trace`, the
conntrack table in /proc), and returns short lines to print under the hop.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network

from lab.datapaths.ovs import rundir
from lab.errors import LabError
from lab.kernel import netns, procs
from lab.observe.capture import Decoded
from lab.observe.counters import iptables_counts, ipvs_conns
from lab.observe.parallel import parallel
from lab.plan.cluster import GW_OFPORT, VXLAN_VNI
from lab.plan.model import Node, Plan
from lab.render import ovs as render_ovs

TABLES = ("raw", "mangle", "nat", "filter")
MAX_LINE = 180
_KV = re.compile(r"(\w+)=(\S+)")


def _short(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def route_get(ns: str, dst: str, src: str = "", iif: str = "") -> str:
    """`ip route get` in `ns`: the route the kernel picks (for a forwarded packet: from SRC iif IF)."""
    argv = ["ip", "-o", "route", "get", dst]
    if src and iif:
        argv += ["from", src, "iif", iif]
    res = procs.run(ns, argv, check=False, timeout=10)
    text = (res.stdout or res.stderr).strip().replace("\\", " ")
    return _short(text.removeprefix("RTNETLINK answers: ") if res.returncode else text)


def route_failed(text: str) -> bool:
    """Whether `ip route get` said the packet has nowhere to go."""
    words = ("unreachable", "prohibit", "blackhole", "No route", "Network is unreachable", "Invalid")
    return any(w in text for w in words)


def link_mtu(ns: str, ifname: str) -> int | None:
    res = procs.run(ns, ["ip", "-o", "link", "show", "dev", ifname], check=False, timeout=10)
    m = re.search(r" mtu (\d+)", res.stdout)
    return int(m.group(1)) if m else None


def link_state(ns: str, ifname: str) -> str:
    res = procs.run(ns, ["ip", "-o", "link", "show", "dev", ifname], check=False, timeout=10)
    if res.returncode:
        return "missing"
    m = re.search(r" state (\S+)", res.stdout)
    flags = re.search(r"<([^>]*)>", res.stdout)
    return f"{m.group(1) if m else '?'} <{flags.group(1) if flags else ''}>"


def counters(spaces: list[str], save: str) -> dict[str, dict[str, int]]:
    """Packet counters of every rule, by namespace (read in parallel: one `save` per table)."""
    return dict(zip(spaces, parallel(spaces, lambda ns: iptables_counts(ns, save, TABLES)), strict=True))


def ipvs_entries(ns: str, ports: set[int]) -> list[str]:
    """IPVS's connection-table entries of the traced flow in `ns` (kube-proxy in IPVS mode): which real server."""
    try:
        table = ipvs_conns(ns)
    except OSError:  # no IPVS in this namespace's kernel
        return []
    return [
        f"IPVS: {pro} {client} -> virtual server {vip} -> real server {real} ({state})"
        for pro, client, vip, real, state in table
        if int(client.rsplit(":", 1)[1]) in ports
    ]


def conntrack(ns: str, proto: str, ports: set[int], ident: int) -> tuple[list[str], set[int]]:
    """This namespace's conntrack entries for the traced flow ('orig -> reply' with the NAT they did),
    and the client ports SNAT gave it (the reply tuple's destination port)."""
    try:
        with netns.inside(ns), open("/proc/thread-self/net/nf_conntrack") as f:
            lines = f.read().splitlines()
    except OSError:
        return [], set()
    found, translated = [], set()
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or fields[2] != proto:
            continue
        orig, reply = _tuples(_KV.findall(line))
        if proto == "icmp":
            if orig.get("id") != str(ident) and reply.get("id") != str(ident):
                continue
        elif not ports & {
            int(v) for d in (orig, reply) for k, v in d.items() if k in ("sport", "dport") and v.isdigit()
        }:
            continue
        found.append(describe_conntrack(proto, fields, orig, reply))
        if reply.get("dport", "").isdigit():
            translated.add(int(reply["dport"]))
    return found[:4], translated


def _tuples(kv: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """The original and reply tuples of a conntrack line (each starts at `src=`; mark, zone, use are neither)."""
    starts = [i for i, (k, _) in enumerate(kv) if k == "src"][:2]
    if len(starts) < 2:
        return dict(kv), {}
    keys = {"src", "dst", "sport", "dport", "type", "code", "id"}
    orig = dict(kv[starts[0] : starts[1]])
    reply = {}
    for k, v in kv[starts[1] :]:
        if k not in keys or k in reply:
            break
        reply[k] = v
    return orig, reply


def describe_conntrack(proto: str, fields: list[str], orig: dict[str, str], reply: dict[str, str]) -> str:
    def end(d: dict[str, str], a: str, p: str) -> str:
        return d.get(a, "?") + (f":{d[p]}" if p in d else "")

    state = next((f for f in fields[3:6] if f.isupper() and "=" not in f), "")
    nat = []
    if reply.get("src") != orig.get("dst") or reply.get("sport") != orig.get("dport"):
        nat.append(f"DNAT to {end(reply, 'src', 'sport')}")
    if reply.get("dst") != orig.get("src") or reply.get("dport") != orig.get("sport"):
        nat.append(f"SNAT to {end(reply, 'dst', 'dport')}")
    text = f"conntrack {proto} {state} {end(orig, 'src', 'sport')} -> {end(orig, 'dst', 'dport')}".replace("  ", " ")
    return _short(text + (f" ({', '.join(nat)})" if nat else " (no NAT)"))


def _ovs_flow(d: Decoded, in_port: int, tunnel_from: str = "", tunnel_to: str = "") -> str:
    ip = d.ip
    proto = {1: "icmp", 6: "tcp", 17: "udp"}.get(ip.proto, "ip")
    flow = [f"in_port={in_port}"]
    if tunnel_from:
        flow += [f"tun_src={tunnel_from}", f"tun_dst={tunnel_to}", f"tun_id={VXLAN_VNI}"]
    flow += [proto, f"dl_src={d.eth_src}", f"dl_dst={d.eth_dst}", f"nw_src={ip.src}", f"nw_dst={ip.dst}"]
    flow.append(f"nw_ttl={ip.ttl}")
    if ip.proto == 1:
        flow += [f"icmp_type={ip.icmp_type}", f"icmp_code={ip.icmp_code}"]
    elif ip.proto in (6, 17):
        flow += [f"tp_src={ip.sport}", f"tp_dst={ip.dport}"]
    return ",".join(flow)


def ofproto_trace(plan: Plan, node: Node, d: Decoded, in_port: int, reply: bool, tunnel_from: str = "") -> list[str]:
    """`ovs-appctl ofproto/trace br-int` for the packet as it entered br-int: the flows it matched, what OVS did."""
    ctl = f"{rundir(plan.name, node)}/ovs-vswitchd.ctl"
    ct = "trk,est,rpl" if reply and in_port != GW_OFPORT else "trk,new"
    flow = _ovs_flow(d, in_port, tunnel_from, node.ip if tunnel_from else "")
    try:
        out = procs.run(None, ["ovs-appctl", "-t", ctl, "ofproto/trace", "br-int", flow, "--ct-next", ct]).stdout
    except LabError as exc:
        return [_short(f"ofproto/trace failed: {exc}")]
    lines, bridge, actions = [], "", ""
    for raw in out.splitlines():
        s = raw.strip()
        if s.startswith("bridge("):
            bridge = s
        elif bridge != 'bridge("br-int")':
            continue
        elif re.match(r"^\d+\. ", s):
            lines.append(f"br-int table {s}")
        elif s.startswith(("output:", "resubmit", "ct(", "mod_", "-> tunneling to")) and lines:
            lines[-1] += f"; {s.removeprefix('-> ')}"
        elif s == "drop" and lines and "ct(" not in lines[-1]:  # after ct() OVS prints the clone's end as drop
            lines[-1] += "; drop"
    for raw in out.splitlines():
        if raw.startswith("Datapath actions:"):
            actions = raw.strip()
    return [_short(x) for x in [*lines[-5:], actions] if x]


def in_port(plan: Plan, node: Node, ifname: str, outer_src: str = "") -> int | None:
    """br-int's OpenFlow port a packet seen on `ifname` (or arriving by VXLAN from `outer_src`) entered by."""
    if ifname == "gw0":
        return GW_OFPORT
    pod = next((p for p in plan.pods_on(node.name) if p.host_if == ifname), None)
    if pod:
        return pod.ofport
    if outer_src:
        return next((port for port, peer in render_ovs.tunnel_ports(plan, node) if peer.ip == outer_src), None)
    return None


def fdb_entry(ns: str, remote_ip: str) -> str:
    """linux-vxlan: the static FDB entry that sends the remote VTEP's frames to its node."""
    res = procs.run(ns, ["bridge", "fdb", "show", "dev", "vxlan0"], check=False, timeout=10)
    hit = next((ln for ln in res.stdout.splitlines() if f"dst {remote_ip} " in ln + " "), "")
    return _short(f"FDB vxlan0: {hit}") if hit else f"FDB vxlan0: no entry for {remote_ip}"


def vpc_route(plan: Plan, dst: str) -> tuple[str, bool]:
    """The planned VPC route for `dst` and whether the router still holds it (the VPC route table)."""
    addr = IPv4Address(dst)
    route = next((r for r in plan.vpc_routes if r.dst != "0.0.0.0/0" and addr in IPv4Network(r.dst)), None)
    if route is None:
        return "", True
    live = procs.run(plan.router.netns, ["ip", "-o", "route", "show", route.dst], check=False, timeout=10).stdout
    text = f"VPC route table: {route.dst} -> {route.via} ({route.note})"
    return text, f"via {route.via}" in live


def nft_tables(ns: str) -> list[str]:
    res = procs.run(ns, ["nft", "list", "tables"], check=False, timeout=10)
    return [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
