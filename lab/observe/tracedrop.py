"""Where a traced packet died, and what did it: the source's refusal, an ICMP error or reset, a rule, a route, the MTU.

The hop is read from the captures (the last interface that saw the request,
or the first that saw an error answering it); the cause from the kernel at
that hop: DROP/REJECT rules whose counters moved, `ip route get`, link
state and MTU, the planned VPC route missing from the router's table.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network

from lab.observe import traceevidence as ev
from lab.observe.traceresults import Drop, Hop, TraceReport
from lab.observe.tracesend import Sent
from lab.plan import packetpath
from lab.plan.endpoints import Endpoint
from lab.plan.model import Plan
from lab.plan.netpol import why_denied
from lab.spec import VXLAN_OVERHEAD

_VERDICT = re.compile(r" -j (DROP|REJECT)\b")


def refusing_rules(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """DROP and REJECT rules whose counters moved."""
    return [r for r, n in after.items() if n > before.get(r, 0) and _VERDICT.search(r)]


def _remote_pod(plan: Plan, ns: str, dst: str) -> bool:
    """A packet in node `ns` for a pod block of another node: the tunnel model wraps it in VXLAN."""
    node = next((n for n in plan.nodes if n.netns == ns), None)
    if node is None or plan.model != "tunnel":
        return False
    try:
        addr = IPv4Address(dst)
    except ValueError:
        return False
    return any(addr in IPv4Network(b) for n in plan.nodes if n.name != node.name for b in n.pod_cidrs)


def _mtu(plan: Plan, last: Hop, route: str) -> str:
    if last.vni is not None or _remote_pod(plan, last.netns, last.dst):
        wire = last.length + VXLAN_OVERHEAD
        if wire > plan.mtu:
            return (
                f"MTU: a {last.length}-byte packet with DF needs {wire} bytes once VXLAN wraps it, over the "
                f"underlay MTU {plan.mtu}; pods must stay at {plan.mtu - VXLAN_OVERHEAD} (VXLAN adds {VXLAN_OVERHEAD})"
            )
        return ""
    dev = re.search(r" dev (\S+)", route)
    mtu = ev.link_mtu(last.netns, dev.group(1) if dev else last.ifname)
    if mtu and last.length > mtu:
        return (
            f"MTU: a {last.length}-byte packet with DF does not fit {dev.group(1) if dev else last.ifname} (MTU {mtu})"
        )
    return ""


def _local(src: Endpoint, dst: Endpoint, sent: Sent) -> Drop:
    route = ev.route_get(src.netns, dst.ip)
    dev = re.search(r" dev (\S+)", route)
    reason = f"{src.name}'s own kernel refused to send it: {sent.local_error}; route: {route}"
    if dev and "too long" in sent.local_error:
        reason += f"; {dev.group(1)} has MTU {ev.link_mtu(src.netns, dev.group(1))} and the packet has DF set"
    return Drop(src.name, src.netns, dev.group(1) if dev else "", reason)


def dropped(
    plan: Plan,
    src: Endpoint,
    dst: Endpoint,
    sent: Sent,
    report: TraceReport,
    before: dict[str, dict[str, int]],
    after: dict[str, dict[str, int]],
) -> Drop:
    """The hop where the packet died and the kernel's reason, as far as the evidence goes."""
    if sent.local_error:
        return _local(src, dst, sent)
    hops = report.hops
    errors = [h for h in hops if h.leg == "error"]
    if errors:
        e = errors[0]
        what = f"TCP reset from {e.src}:{e.sport}" if "TCP" in e.headers.split("[")[-1] else f"{e.headers}"
        rules = refusing_rules(before.get(e.netns, {}), after.get(e.netns, {}))
        reason = f"{what} ({sent.detail})" + "".join(f"; rule: {r}" for r in rules)
        return Drop(e.owner, e.netns, e.ifname, reason)
    request = [h for h in hops if h.leg == "request"]
    if not request:
        return Drop(src.name, src.netns, "", f"no interface saw it leave; route: {ev.route_get(src.netns, dst.ip)}")
    last = request[-1]
    reasons = [
        f"rule whose counter moved: {r}" for r in refusing_rules(before.get(last.netns, {}), after.get(last.netns, {}))
    ]
    if any(h.netns == plan.router.netns for h in request):
        text, live = ev.vpc_route(plan, last.dst)
        if text and not live:
            reasons.append(f"{text} is MISSING from the VPC router's table, so it took the default route")
    route = ""
    if last.direction == "out":
        peer = packetpath.peer(plan, last.netns, last.ifname)
        if peer and not any((h.netns, h.ifname) == (peer.netns, peer.ifname) for h in request):
            state = ev.link_state(peer.netns, peer.ifname)
            reasons.append(f"it left by {last.ifname} and never arrived at {peer.owner} {peer.ifname} (link {state})")
    else:
        route = ev.route_get(last.netns, last.dst, last.src, last.ifname)
        if ev.route_failed(route):
            reasons.append(f"no route in {last.owner}: {route}")
        if any("drop" in line and line.startswith("Datapath actions") for line in last.evidence):
            policy = why_denied(plan, src.name, dst.name) if dst.kind == "pod" else ""
            reasons.append("br-int's flows drop it (see ofproto/trace above)" + (f": {policy}" if policy else ""))
    mtu = _mtu(plan, last, route)
    if mtu:
        reasons.append(mtu)
    tables = ev.nft_tables(last.netns) if last.direction == "in" and not reasons else []
    if tables:
        reasons.append(f"nftables in {last.owner} ({', '.join(tables)}) took it in and nothing came back")
    if not reasons:
        reasons.append(
            f"nothing left {last.owner} after {last.ifname} ({last.direction}); its routes and counters do not say why"
            + (f"; route: {route}" if route else "")
        )
    return Drop(last.owner, last.netns, last.ifname, "; ".join(reasons))
