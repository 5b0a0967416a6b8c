"""Frames captured on lab interfaces: is it VXLAN, what is inside, and when each interface saw it.

One decoder (`decode`) for the checks' one-interface capture and for `trace`,
which opens AF_PACKET sockets on many (namespace, interface) pairs at once
(`Capture`) before its packet is sent and reads the kernel's receive
timestamps afterwards.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from lab.kernel import netns
from lab.plan.cluster import VXLAN_PORT

ETH_P_ALL = 0x0003
PACKET_OTHERHOST, PACKET_OUTGOING = 3, 4  # sockaddr_ll pkttype: not for this host; sent by the interface
SO_TIMESTAMPNS = 35  # Linux: receive timestamps as struct timespec (SCM_TIMESTAMPNS)
PROTO_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP"}
TCP_FLAGS = "FSRPAU"  # FIN SYN RST PSH ACK URG, bit 0 upwards
ICMP_ERRORS = (3, 11, 12)  # unreachable, time exceeded, parameter problem: they quote the packet


@dataclass
class Frame:
    summary: str
    vxlan: bool
    dst: str  # the innermost IPv4 destination


@dataclass
class IPv4:
    """One IPv4 header and what follows it, as far as a trace needs."""

    src: str
    dst: str
    proto: int
    ttl: int
    length: int  # total length from the header
    df: bool
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    icmp_type: int = -1
    icmp_code: int = -1
    icmp_id: int = 0
    payload: bytes = b""  # the L4 payload
    quoted: IPv4 | None = None  # ICMP errors: the packet they answer

    def flags_text(self) -> str:
        return "".join(c for i, c in enumerate(TCP_FLAGS) if self.tcp_flags & (1 << i))

    def text(self) -> str:
        name = PROTO_NAMES.get(self.proto, f"proto {self.proto}")
        if self.proto in (6, 17):
            flags = f" [{self.flags_text()}]" if self.proto == 6 else ""
            return f"{name} {self.src}:{self.sport} > {self.dst}:{self.dport}{flags}"
        if self.proto == 1:
            kind = {0: "echo reply", 8: "echo request", 3: "unreachable", 11: "time exceeded"}.get(self.icmp_type, "")
            detail = f"{kind} id {self.icmp_id}" if self.icmp_type in (0, 8) else f"{kind} code {self.icmp_code}"
            return f"ICMP {self.src} > {self.dst} {detail}".rstrip()
        return f"{name} {self.src} > {self.dst}"


@dataclass
class Decoded:
    """A frame: the Ethernet addresses of the innermost frame, its IPv4 packet, and the VXLAN outer header if any."""

    eth_src: str
    eth_dst: str
    ip: IPv4
    outer: IPv4 | None = None
    vni: int | None = None

    def text(self) -> str:
        if self.outer is None:
            return self.ip.text()
        o = self.outer
        return f"UDP {o.src}:{o.sport} > {o.dst}:{o.dport} VXLAN vni {self.vni} [{self.ip.text()}]"


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def decode_ip(ip: bytes, quoted: bool = False) -> IPv4 | None:
    """An IPv4 packet (no Ethernet header, as a raw socket reads it); None if it is not one."""
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    length, frag = struct.unpack("!H2xH", ip[2:8])
    p = IPv4(socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[9], ip[8], length, bool(frag & 0x4000))
    l4 = ip[ihl:]
    if p.proto in (6, 17) and len(l4) >= 4:
        p.sport, p.dport = struct.unpack("!HH", l4[:4])
        if p.proto == 6 and len(l4) >= 14:
            p.tcp_flags = l4[13]
            p.payload = l4[(l4[12] >> 4) * 4 :]
        elif p.proto == 17:
            p.payload = l4[8:]
    elif p.proto == 1 and len(l4) >= 4:
        p.icmp_type, p.icmp_code = l4[0], l4[1]
        p.icmp_id = struct.unpack("!H", l4[4:6])[0] if len(l4) >= 6 else 0
        p.payload = l4[8:]
        if p.icmp_type in ICMP_ERRORS and not quoted:
            p.quoted = decode_ip(l4[8:], quoted=True)
    return p


def decode(frame: bytes) -> Decoded | None:
    """An Ethernet frame carrying IPv4 (VXLAN to UDP 4789 unwrapped); None for anything else (ARP, IPv6, VLAN)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = decode_ip(frame[14:])
    if ip is None:
        return None
    if ip.proto == 17 and ip.dport == VXLAN_PORT and len(ip.payload) >= 8:
        inner = decode(ip.payload[8:])
        vni = int.from_bytes(ip.payload[4:7], "big")
        if inner is None:
            return Decoded(_mac(frame[6:12]), _mac(frame[0:6]), IPv4("", "", 0, 0, 0, False), ip, vni)
        return Decoded(inner.eth_src, inner.eth_dst, inner.ip, ip, vni)
    return Decoded(_mac(frame[6:12]), _mac(frame[0:6]), ip)


def parse(frame: bytes) -> Frame | None:
    d = decode(frame)
    if d is None:
        return None
    if d.outer is not None:
        o = d.outer
        inner_text = PROTO_NAMES.get(d.ip.proto, f"proto {d.ip.proto}") + f" {d.ip.src} > {d.ip.dst}"
        inner_text = inner_text if d.ip.src else "non-IP frame"
        return Frame(f"UDP {o.src}:{o.sport} > {o.dst}:{o.dport} VXLAN vni {d.vni} [{inner_text}]", True, d.ip.dst)
    if d.ip.proto == 17:
        return Frame(f"UDP {d.ip.src}:{d.ip.sport} > {d.ip.dst}:{d.ip.dport}", False, d.ip.dst)
    return Frame(f"{PROTO_NAMES.get(d.ip.proto, f'proto {d.ip.proto}')} {d.ip.src} > {d.ip.dst}", False, d.ip.dst)


def capture_during(ns: str, ifname: str, action: Callable[[], object], dst: str, duration: float = 2.0) -> list[Frame]:
    """Capture IPv4 frames on `ifname` in `ns` while `action()` runs; keep those (tunnelled) to `dst`.

    Raises OSError when the interface or namespace is gone.
    """
    with netns.inside(ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.bind((ifname, 0))
        sock.setblocking(False)
        action()
        frames: list[Frame] = []
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline and not frames:
            ready, _, _ = select.select([sock], [], [], 0.1)
            while ready:
                try:
                    data = sock.recv(65535)
                except BlockingIOError:
                    break
                frame = parse(data)
                if frame and frame.dst == dst:
                    frames.append(frame)
        return frames
    finally:
        sock.close()


@dataclass
class Captured:
    point: int  # index into the capture's points
    time: float  # the kernel's timestamp (seconds since the epoch)
    outgoing: bool  # the interface sent it (else it arrived there)
    data: bytes
    pkttype: int = 0  # sockaddr_ll: 0 host, 1 broadcast, 2 multicast, 3 other host (not for it), 4 outgoing


class Capture:
    """AF_PACKET sockets on many (netns, ifname) points, all open before anything is sent.

    Points that do not exist (a datapath without that device, a link a fault
    removed) are skipped and listed in `missing`. Sockets are drained while the
    probe runs, so a busy interface cannot overflow them.
    """

    def __init__(self, points: list[tuple[str, str]], keep: Callable[[bytes], bool]) -> None:
        self.points = points
        self.keep = keep
        self.missing: list[tuple[str, str]] = []
        self.frames: list[Captured] = []
        self._socks: dict[int, socket.socket] = {}
        self._index: dict[int, int] = {}
        try:
            for i, (ns, ifname) in enumerate(points):
                try:
                    with netns.inside(ns):
                        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                except OSError:
                    self.missing.append((ns, ifname))
                    continue
                try:
                    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                    sock.bind((ifname, 0))
                except OSError:
                    sock.close()
                    self.missing.append((ns, ifname))
                    continue
                sock.setblocking(False)
                self._socks[sock.fileno()] = sock
                self._index[sock.fileno()] = i
        except BaseException:
            self.close()
            raise

    def poll(self, timeout: float = 0.0) -> None:
        """Read whatever the sockets hold (waiting up to `timeout` for the first frame)."""
        if not self._socks:
            return
        ready, _, _ = select.select(list(self._socks.values()), [], [], timeout)
        for sock in ready:
            point = self._index[sock.fileno()]
            while True:
                try:
                    data, ancillary, _, addr = sock.recvmsg(65535, 64)
                except (BlockingIOError, InterruptedError):
                    break
                if not self.keep(data):
                    continue
                stamp = time.time()
                for level, kind, value in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                        sec, nsec = struct.unpack("qq", value[:16])
                        stamp = sec + nsec / 1e9
                self.frames.append(Captured(point, stamp, addr[2] == PACKET_OUTGOING, data, addr[2]))

    def close(self) -> None:
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()
