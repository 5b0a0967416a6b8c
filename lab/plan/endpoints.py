"""What `trace SRC DST` names, resolved against the plan. Pure.

A trainee writes what they see in `status`: a pod, node or host by name
(hosts also by role), a Service name, a ClusterIP, `node-1:30080`, an EIP
(a node's, the ELB's, the NAT gateway's with its DNAT port), the ELB VIP.
Every answer names the namespace a packet leaves from (sources) or the
address it is sent to, the port and protocol that address serves, and what
sits behind it (a Service's endpoints, an ELB listener, a DNAT rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address

from lab.errors import UsageError
from lab.plan.model import Host, Plan, ServicePlan
from lab.spec import WORKLOAD_PORT

SERVER_ROLES = ("internet-server", "intranet-server")  # hosts where netexec answers on 8080
PROTOCOLS = ("icmp", "tcp", "udp")
_ROLE_ALIASES = {"internet": "internet-router", "client": "internet-client", "server": "internet-server"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")


def _shown(text: str, limit: int = 60) -> str:
    """User input as it may appear in a message: one line, bounded."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


@dataclass(frozen=True)
class Endpoint:
    """One end of a trace: where it lives (netns: sources need one) and the address, port and protocol used."""

    kind: str  # pod | node | host | service | nodeport | node-eip | elb | dnat
    name: str  # pod-1-1, node-1, client, web, node-1:30080, ...
    ip: str
    netns: str = ""
    node: str = ""  # pods: their node; nodeport / node-eip: the node taking it; dnat: the rule's node
    port: int | None = None
    protocol: str = ""  # tcp | udp when the address serves one (a Service, netexec); "" otherwise
    service: str = ""  # the Service behind a front (ClusterIP, NodePort, ELB listener, DNAT rule)
    serves: int | None = None  # netexec answers HTTP and UDP on this port (pods, Internet and intranet servers)
    via: list[str] = field(default_factory=list)  # the fronts in order, e.g. ["elb-eip", "elb"]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.ip}{f':{self.port}' if self.port else ''})"


def _split(text: str, arg: str) -> tuple[str, int | None]:
    name, sep, port = text.rpartition(":")
    if not sep:
        return text, None
    if not port.isdigit() or len(port) > 5 or not 1 <= int(port) <= 65535:
        raise UsageError(f"{arg} {_shown(text)}: the port after ':' must be a number from 1 to 65535")
    return name, int(port)


def _host(plan: Plan, key: str) -> Host | None:
    role = _ROLE_ALIASES.get(key, key)
    return next((h for h in plan.hosts if key in (h.name, h.netns) or role == h.role), None)


def _by_port(services: list[ServicePlan], port: int | None, what: str, arg: str, text: str) -> ServicePlan:
    if port is not None:
        found = next((s for s in services if s.port == port), None)
        if found:
            return found
    listeners = ", ".join(f"{s.port} ({s.name})" for s in services)
    need = "needs a port" if port is None else f"has no port {port}"
    raise UsageError(f"{arg} {_shown(text)}: {what} {need}; it serves {listeners}")


def _front(plan: Plan, ip: str, port: int | None, arg: str, text: str) -> Endpoint | None:
    """Addresses that front Services: ClusterIPs, node EIPs, the ELB VIP and EIP, the NAT gateway's EIP."""
    svc = next((s for s in plan.services if s.cluster_ip == ip), None)
    if svc:
        if port is not None and port != svc.port:
            raise UsageError(f"{arg} {_shown(text)}: ClusterIP {ip} of {svc.name} serves port {svc.port} only")
        return Endpoint("service", svc.name, ip, port=svc.port, protocol=svc.protocol.lower(), service=svc.name)
    node_name = next((n for n, eip in plan.node_eips.items() if eip == ip), None)
    if node_name:
        return _node_port(plan, node_name, ip, port, ["node-eip"])
    elb = plan.host("elb")
    lbs = [s for s in plan.services if s.type == "LoadBalancer"]
    if elb and ip in (elb.ip, elb.eip):
        via = ["elb-eip", "elb"] if ip == elb.eip else ["elb"]
        if port is None:
            return Endpoint("elb", elb.name, ip, netns=elb.netns, via=via)
        svc = _by_port(lbs, port, "the ELB", arg, text)
        return Endpoint("elb", f"{svc.name} listener", ip, port=port, protocol="tcp", service=svc.name, via=via)
    natgw = plan.host("nat-gateway")
    if natgw and ip == natgw.eip:
        rules = [(r, s) for s in plan.services for r in s.dnat]
        if port is None:
            return Endpoint("host", natgw.name, ip, netns=natgw.netns, via=["natgw-eip"])
        hit = next(((r, s) for r, s in rules if r.eip_port == port), None)
        if hit is None:
            known = ", ".join(f"{r.eip_port} -> {r.node}" for r, _ in rules) or "none"
            raise UsageError(f"{arg} {_shown(text)}: the NAT gateway's EIP has no DNAT rule for port {port} ({known})")
        rule, svc = hit
        return Endpoint(
            "dnat", f"DNAT {ip}:{port}", ip, node=rule.node, port=port, protocol="tcp", service=svc.name, via=["dnat"]
        )
    return None


def _node_port(plan: Plan, node: str, ip: str, port: int | None, via: list[str]) -> Endpoint:
    """A node's IP or EIP: with a NodePort, the Service behind it; else the node itself."""
    svc = next((s for s in plan.services if port is not None and s.node_port == port), None)
    n = plan.node(node)
    if svc:
        return Endpoint(
            "nodeport",
            f"{node}:{port}",
            ip,
            node=node,
            port=port,
            protocol=svc.protocol.lower(),
            service=svc.name,
            via=via,
        )
    kind = "node-eip" if via else "node"
    return Endpoint(kind, node, ip, netns=n.netns, node=node, port=port, via=via)


def _plain_host(host: Host, port: int | None) -> Endpoint:
    serves = WORKLOAD_PORT if host.role in SERVER_ROLES else None
    return Endpoint("host", host.name, host.ip, host.netns, port=port, serves=serves)


def resolve(plan: Plan, text: str, arg: str = "DST") -> Endpoint:
    """The endpoint `text` names in this lab; UsageError (naming `arg` and the rule) for anything else."""
    if not text or not _NAME.match(text):
        raise UsageError(f"{arg} {_shown(text)}: give a pod, node or host name, a Service, an IP or NAME:PORT")
    key, port = _split(text, arg)
    try:
        addr = ip_address(key)
    except ValueError:
        addr = None
    if addr is not None:
        if not isinstance(addr, IPv4Address):
            raise UsageError(f"{arg} {_shown(text)}: the lab is IPv4 only")
        return _by_ip(plan, str(addr), port, arg, text)
    pod = next((p for p in plan.pods if key in (p.name, p.netns)), None)
    if pod:
        return Endpoint("pod", pod.name, pod.ip, pod.netns, pod.node, port, serves=pod.port)
    node = next((n for n in plan.nodes if key in (n.name, n.netns)), None)
    if node:
        return _node_port(plan, node.name, node.ip, port, [])
    host = _host(plan, key)
    if host:
        if host.role == "elb" and port is not None:
            return _front(plan, host.ip, port, arg, text) or Endpoint("host", host.name, host.ip, host.netns)
        if host.role == "nat-gateway" and port is not None and host.eip:
            return _front(plan, host.eip, port, arg, text) or Endpoint("host", host.name, host.ip, host.netns)
        return _plain_host(host, port)
    svc = plan.service(key)
    if svc:
        return _front(plan, svc.cluster_ip, port, arg, text)  # type: ignore[return-value]
    names = ", ".join(
        [*(n.name for n in plan.nodes[:3]), *(p.name for p in plan.pods[:3]), *(h.name for h in plan.hosts)]
    )
    raise UsageError(
        f"{arg} {_shown(text)}: no pod, node, host or Service of that name in lab {plan.name} (e.g. {names})"
    )


def _by_ip(plan: Plan, ip: str, port: int | None, arg: str, text: str) -> Endpoint:
    front = _front(plan, ip, port, arg, text)
    if front:
        return front
    pod = next((p for p in plan.pods if p.ip == ip), None)
    if pod:
        return Endpoint("pod", pod.name, pod.ip, pod.netns, pod.node, port, serves=pod.port)
    node = next((n for n in plan.nodes if n.ip == ip), None)
    if node:
        return _node_port(plan, node.name, ip, port, [])
    host = next((h for h in plan.hosts if h.ip == ip), None)
    if host:
        return _plain_host(host, port)
    raise UsageError(
        f"{arg} {_shown(text)}: not an address of lab {plan.name} (a trace stays inside the lab: "
        "pods, nodes, hosts, ClusterIPs, EIPs, the ELB VIP)"
    )


def source(plan: Plan, text: str) -> Endpoint:
    """SRC: a pod, node or host (a namespace to send from)."""
    end = resolve(plan, text, "SRC")
    if not end.netns or end.kind not in ("pod", "node", "host") or end.via:
        raise UsageError(f"SRC {_shown(text)}: a trace starts in a pod, node or host, not at {end.kind} {end.name}")
    return end


def protocol_for(src: Endpoint, dst: Endpoint, proto: str | None, port: int | None) -> tuple[str, int | None]:
    """The protocol and port the probe uses: what was asked, else what the destination serves (ICMP if nothing)."""
    if proto is not None and proto not in PROTOCOLS:
        raise UsageError(f"--proto {_shown(proto, 10)}: use icmp, tcp or udp")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: a port is a number from 1 to 65535")
    if dst.ip == src.ip:
        raise UsageError(f"DST {dst.name}: it is the source itself; trace a path between two places")
    chosen = proto or dst.protocol or ("tcp" if (port or dst.port) else "icmp")
    if chosen == "icmp":
        if port is not None:
            raise UsageError(f"--port {port}: ICMP has no ports; add --proto tcp or --proto udp")
        return "icmp", None
    if dst.protocol and chosen != dst.protocol:
        raise UsageError(f"--proto {chosen}: {dst.name} serves {dst.protocol.upper()} ({dst.service})")
    if port is not None and dst.via and port != dst.port:
        raise UsageError(f"--port {port}: {dst.name} is reached on port {dst.port}; write the port in DST instead")
    final = port or dst.port or dst.serves or WORKLOAD_PORT
    return chosen, final
