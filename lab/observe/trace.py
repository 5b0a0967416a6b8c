"""`cce-lab trace SRC DST`: one real packet, every hop it crossed in order, from the kernel's own evidence.

The interfaces it may cross come from the plan (`lab.plan.packetpath`);
an AF_PACKET socket is opened on each before the packet is sent, and only
the interfaces that saw it (or its NATed or VXLAN-wrapped form, told apart by
the trace's token, ICMP id or source port) are reported, in the order of the
kernel's timestamps. Around the send, every netfilter counter on the way is
read (the rules it hit), and afterwards each namespace is asked how it routed
the packet, what conntrack made of it and, in the OVS datapaths, which
OpenFlow flows br-int matched (`ofproto/trace`). Counters are shared: other
traffic at the same instant shows up too, so trace an otherwise quiet lab.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lab.errors import UsageError
from lab.observe import traceevidence as ev
from lab.observe import tracesend
from lab.observe.capture import ICMP_ERRORS, PACKET_OTHERHOST, Capture, Captured, Decoded, decode
from lab.observe.explain import hit_in_order
from lab.observe.tracedrop import dropped
from lab.observe.tracepcap import save
from lab.observe.traceresults import Hop, TraceEnd, TraceReport
from lab.plan import endpoints, packetpath
from lab.plan.endpoints import Endpoint
from lab.plan.model import Plan

PROTO_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17}
DEFAULT_SIZE = 56  # like ping
MAX_SIZE = 65_507  # ICMP payload of the largest IPv4 packet
SETTLE = 0.15  # seconds to keep capturing after the answer (the last hops of the reply)
START_CHAINS = tuple(
    f"{t}: {c}"
    for t, c in [
        ("raw", "PREROUTING"),
        ("mangle", "PREROUTING"),
        ("nat", "PREROUTING"),
        ("mangle", "FORWARD"),
        ("filter", "FORWARD"),
        ("filter", "INPUT"),
        ("raw", "OUTPUT"),
        ("mangle", "OUTPUT"),
        ("nat", "OUTPUT"),
        ("filter", "OUTPUT"),
        ("mangle", "POSTROUTING"),
        ("nat", "POSTROUTING"),
    ]
)


def _netfilter_spaces(plan: Plan, watches: list[packetpath.Watch]) -> list[str]:
    """Namespaces on the path with iptables rules: nodes, the VPC router, the ELB, the NAT gateway."""
    ruled = {n.netns for n in plan.nodes} | {
        h.netns for h in plan.hosts if h.role in ("vpc-router", "elb", "nat-gateway")
    }
    return list(dict.fromkeys(w.netns for w in watches if w.netns in ruled))


def classify(d: Decoded, raw: bytes, protocol: str, mark: tracesend.Mark, ports: set[int]) -> str | None:
    """request | reply | error | segment (the rest of a TCP connection) for the trace's frames; None for others."""
    ip, number = d.ip, PROTO_NUMBERS[protocol]
    if ip.proto == 1 and ip.icmp_type in ICMP_ERRORS and ip.quoted is not None:
        q = ip.quoted
        if protocol == "icmp" and q.proto == 1 and (q.icmp_id == mark.ident or mark.token in raw):
            return "error"
        return "error" if q.proto == number and {q.sport, q.dport} & ports else None
    if protocol == "icmp":
        if ip.proto != 1 or mark.token not in raw:
            return None
        return {8: "request", 0: "reply"}.get(ip.icmp_type)
    if ip.proto != number or not {ip.sport, ip.dport} & ports:
        return None
    if protocol == "tcp":
        if ip.tcp_flags & 0x04:
            return "error"
        if ip.tcp_flags & 0x02:
            return "reply" if ip.tcp_flags & 0x10 else "request"
        return "segment"
    return "request" if ip.payload.startswith(b"whoami") else "reply"


def _send(plan: Plan, src: Endpoint, dst: Endpoint, protocol: str, port: int | None, size: int, mark) -> tracesend.Sent:
    if protocol == "icmp":
        return tracesend.icmp(src.netns, dst.ip, mark, size)
    assert port is not None
    if protocol == "udp":
        return tracesend.udp(src.netns, dst.ip, port, mark)
    http = bool(dst.service or (dst.serves and port == dst.serves))
    listen = dst.netns if not http and dst.kind in ("node", "host", "pod") else ""
    return tracesend.tcp(src.netns, dst.ip, port, mark, http, listen_ns=listen)


def _capture_while(cap: Capture, action) -> tracesend.Sent:
    """Run the probe in a thread while this one drains the capture sockets; then let the last frames land."""
    result: list[tracesend.Sent] = []
    worker = threading.Thread(target=lambda: result.append(action()), daemon=True)
    worker.start()
    while worker.is_alive():
        cap.poll(0.01)
    end = time.monotonic() + SETTLE
    while (left := end - time.monotonic()) > 0:
        cap.poll(left)
    worker.join()
    return result[0] if result else tracesend.Sent(False, "the probe failed to run")


def _rows(plan, watches, frames, protocol, mark, ports) -> tuple[list[tuple[Captured, Decoded, str]], list]:
    """The first frame of each leg in each direction on each interface, in time order; and every frame that matched.

    A switch floods a frame for an unknown MAC out of every port: a NIC that
    got such a copy (not addressed to it) ignored it, so neither that copy nor
    the port that flooded it is a hop (the pcap files keep them).
    """
    matched, first, ignored = [], {}, set()
    ports_of = {ns: switch_ports(plan, ns) for ns in {w.netns for w in watches}}
    for f in frames:
        d = decode(f.data)
        leg = classify(d, f.data, protocol, mark, ports) if d else None
        if leg is None:
            continue
        matched.append(f)
        w = watches[f.point]
        if f.pkttype == PACKET_OTHERHOST and w.ifname not in ports_of[w.netns]:
            ignored.add((w.netns, w.ifname, leg))
            continue
        key = (f.point, f.outgoing, leg)
        if leg != "segment" and key not in first:
            first[key] = (f, d, leg)
    taken = {(watches[p].netns, watches[p].ifname, leg) for (p, out, leg) in first if not out}

    def flooded(f: Captured, leg: str) -> bool:
        w = watches[f.point]
        far = packetpath.peer(plan, w.netns, w.ifname) if f.outgoing else None
        return far is not None and (far.netns, far.ifname, leg) in ignored - taken

    def order(r: tuple[Captured, Decoded, str]) -> tuple:
        """Time; at the same instant a frame leaves before it arrives, and a switch port comes before its bridge."""
        f, w = r[0], watches[r[0].point]
        on_port = w.ifname in ports_of[w.netns]
        return (f.time, not f.outgoing, on_port == f.outgoing, f.point)

    rows = sorted((r for r in first.values() if not flooded(r[0], r[2])), key=order)
    return rows, matched


def _hop(i: int, t0: float, watch: packetpath.Watch, f: Captured, d: Decoded, leg: str) -> Hop:
    return Hop(
        index=i,
        t_us=round((f.time - t0) * 1e6, 1),
        leg=leg,
        owner=watch.owner,
        netns=watch.netns,
        ifname=watch.ifname,
        role=watch.role,
        direction="out" if f.outgoing else "in",
        headers=d.text(),
        src=d.ip.src,
        dst=d.ip.dst,
        sport=d.ip.sport,
        dport=d.ip.dport,
        length=d.ip.length,
        vni=d.vni,
        outer_src=d.outer.src if d.outer else "",
        outer_dst=d.outer.dst if d.outer else "",
    )


def switch_ports(plan: Plan, ns: str) -> set[str]:
    """Interfaces of `ns` that are ports of a switch (OVS, a Linux bridge): frames cross them, no route applies."""
    node = next((n for n in plan.nodes if n.netns == ns), None)
    if node is not None:
        if plan.datapath == "routed":
            return set()
        pods = {p.host_if for p in plan.pods_on(node.name)}
        return pods | ({"eth0"} if plan.datapath == "ovs-userspace" else set())
    if ns == plan.router.netns:
        return {n.router_if for n in plan.nodes} | {h.router_if for h in plan.hosts if h.router_if}
    inet = plan.host("internet-router")
    if inet and ns == inet.netns:
        return {h.name for h in plan.hosts if h.role in ("internet-client", "internet-server")}
    return set()


def _evidence(plan: Plan, src: Endpoint, dst: Endpoint, hops: list[Hop], decoded: list[Decoded]) -> None:
    """Routes, OpenFlow flows, FDB and VPC route entries, attached to the hops they explain."""
    request = [(h, d) for h, d in zip(hops, decoded, strict=True) if h.leg == "request"]
    if request and request[0][0].netns == src.netns:
        request[0][0].evidence.append(f"route: {ev.route_get(src.netns, dst.ip)}")
    routed: set[str] = {src.netns}
    last_in: dict[str, Hop] = {}
    nodes = {n.netns: n for n in plan.nodes}
    for h, d in request:
        ovs = switch_ports(plan, h.netns)
        node = nodes.get(h.netns)
        if node and plan.datapath.startswith("ovs"):
            entering = (h.direction == "in" and h.ifname in ovs and h.ifname != "eth0") or (
                h.direction == "out" and h.ifname == "gw0"
            )
            vxlan_in = h.direction == "in" and h.vni is not None and h.ifname == "eth0"
            if entering or vxlan_in:
                port = ev.in_port(plan, node, h.ifname, h.outer_src if vxlan_in else "")
                if port is not None:
                    h.evidence += ev.ofproto_trace(plan, node, d, port, False, h.outer_src if vxlan_in else "")
        if h.ifname in ovs:
            continue
        if h.direction == "in":
            last_in[h.netns] = h
        elif h.netns not in routed and h.netns in last_in:
            routed.add(h.netns)
            came = last_in[h.netns]
            h.evidence.append(f"route: {ev.route_get(h.netns, h.dst, came.src, came.ifname)}")
            if h.netns == plan.router.netns:
                text, live = ev.vpc_route(plan, h.dst)
                if text:
                    h.evidence.append(text + ("" if live else " -- MISSING from the router's table"))
        if h.vni is not None and h.direction == "out" and plan.datapath == "linux-vxlan":
            h.evidence.append(ev.fdb_entry(h.netns, h.outer_dst))


def _check_inputs(protocol: str, size: int | None, pcap_dir: str | None) -> int:
    if size is not None and protocol != "icmp":
        raise UsageError("--size: sets the ICMP payload; add --proto icmp (TCP and UDP send one small request)")
    if size is not None and not 0 <= size <= MAX_SIZE:
        raise UsageError(f"--size {size}: the ICMP payload is 0 to {MAX_SIZE} bytes")
    if pcap_dir is not None:
        path = Path(pcap_dir)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--pcap {str(pcap_dir)[:80]!r}: exists and is not a directory")
    return DEFAULT_SIZE if size is None else size


def trace(
    plan: Plan,
    src_text: str,
    dst_text: str,
    proto: str | None = None,
    port: int | None = None,
    size: int | None = None,
    pcap_dir: str | None = None,
) -> TraceReport:
    """Send one packet from SRC to DST on the running lab and report every hop that saw it."""
    t_start = time.monotonic()
    src = endpoints.source(plan, src_text)
    dst = endpoints.resolve(plan, dst_text)
    protocol, port = endpoints.protocol_for(src, dst, proto, port)
    payload = _check_inputs(protocol, size, pcap_dir)
    watches = packetpath.hops(plan, src, dst)
    spaces = _netfilter_spaces(plan, watches)
    mark = tracesend.new_mark()
    number = PROTO_NUMBERS[protocol]
    before = ev.counters(spaces, plan.iptables_tool("save"))

    def keep(raw: bytes) -> bool:
        d = decode(raw)
        return d is not None and d.ip.proto in (1, number)

    cap = Capture([(w.netns, w.ifname) for w in watches], keep)
    try:
        sent = _capture_while(cap, lambda: _send(plan, src, dst, protocol, port, payload, mark))
    finally:
        cap.close()
    after = ev.counters(spaces, plan.iptables_tool("save"))
    ports = {mark.ident}
    tracked: dict[str, list[str]] = {}
    for ns in spaces:
        lines, translated = ev.conntrack(ns, protocol, ports, mark.ident)
        tracked[ns] = lines
        ports |= translated if protocol != "icmp" else set()
    if plan.kube_proxy_mode == "ipvs" and protocol != "icmp":
        for node in plan.nodes:
            tracked[node.netns] = tracked.get(node.netns, []) + ev.ipvs_entries(node.netns, ports)
    rows, matched = _rows(plan, watches, cap.frames, protocol, mark, ports)
    t0 = rows[0][0].time if rows else 0.0
    hops = [_hop(i, t0, watches[f.point], f, d, leg) for i, (f, d, leg) in enumerate(rows, start=1)]
    _evidence(plan, src, dst, hops, [d for _, d, _ in rows])
    for ns in spaces:
        switched = switch_ports(plan, ns)
        mine = [h for h in hops if h.netns == ns]
        first = next((h for h in mine if h.ifname not in switched), mine[0] if mine else None)
        if first is None:
            continue
        first.evidence += [f"rule: {ev._short(r)}" for r in hit_in_order(before[ns], after[ns], START_CHAINS)]
        first.evidence += tracked[ns]
    report = TraceReport(
        lab=plan.name,
        model=plan.model,
        datapath=plan.datapath,
        source=TraceEnd(src.kind, src.name, src.ip, src.netns),
        destination=TraceEnd(dst.kind, dst.name, dst.ip, dst.netns, port),
        protocol=protocol,
        port=port,
        size=payload if protocol == "icmp" else None,
        ok=sent.ok,
        detail=sent.detail,
        answered_by=sent.answered_by,
        source_seen=sent.source_seen,
        hops=hops,
        watched=len(watches) - len(cap.missing),
        missing=[f"{ns}/{ifname}" for ns, ifname in cap.missing],
    )
    if not sent.ok:
        report.dropped = dropped(plan, src, dst, sent, report, before, after)
    if len(watches) >= packetpath.MAX_WATCHES:
        report.notes.append(f"only the first {packetpath.MAX_WATCHES} interfaces on the way were watched")
    if pcap_dir is not None:
        report.pcap_dir = str(save(Path(pcap_dir), report, watches, matched))
    report.seconds = round(time.monotonic() - t_start, 3)
    return report
