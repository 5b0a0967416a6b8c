"""The trace document (`trace --json`): the packet, every hop it was seen at in time order, where it died."""

from __future__ import annotations

from dataclasses import field

from pydantic.dataclasses import dataclass

TRACE_SCHEMA_VERSION = 1


@dataclass
class TraceEnd:
    kind: str  # pod | node | host | service | nodeport | node-eip | elb | dnat
    name: str
    ip: str
    netns: str = ""
    port: int | None = None


@dataclass
class Hop:
    """One interface that saw the packet (or its NATed / encapsulated form), with the kernel's evidence there."""

    index: int
    t_us: float  # microseconds after the first frame, from the kernel's receive timestamps
    leg: str  # request | reply | error (an ICMP error or TCP reset answering it)
    owner: str  # pod-1-1, node-1, vpc-router, ...
    netns: str
    ifname: str
    role: str
    direction: str  # out (the interface sent it) | in (it arrived there)
    headers: str  # as seen here: the VXLAN outer header, then the inner packet
    src: str
    dst: str
    sport: int = 0
    dport: int = 0
    length: int = 0  # IP total length of the (inner) packet
    vni: int | None = None
    outer_src: str = ""
    outer_dst: str = ""
    evidence: list[str] = field(default_factory=list)


@dataclass
class Drop:
    """Where the packet died and what the kernel says did it."""

    owner: str
    netns: str
    ifname: str
    reason: str


@dataclass
class TraceReport:
    lab: str
    model: str
    datapath: str
    source: TraceEnd
    destination: TraceEnd
    protocol: str  # icmp | tcp | udp
    port: int | None
    size: int | None  # ICMP payload bytes
    ok: bool  # the answer came back
    detail: str
    answered_by: str = ""
    source_seen: str = ""  # the client address the far end saw
    seconds: float = 0.0  # the whole trace, evidence included
    hops: list[Hop] = field(default_factory=list)
    dropped: Drop | None = None
    watched: int = 0  # interfaces captured on
    missing: list[str] = field(default_factory=list)  # planned interfaces that were not there
    pcap_dir: str = ""
    notes: list[str] = field(default_factory=list)
    schema_version: int = TRACE_SCHEMA_VERSION
