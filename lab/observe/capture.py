"""Frames captured on a lab interface while a probe runs: is it VXLAN, and what is inside."""

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


@dataclass
class Frame:
    summary: str
    vxlan: bool
    dst: str  # the innermost IPv4 destination


def parse(frame: bytes) -> Frame | None:
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    proto, src, dst = ip[9], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    if proto == 17 and len(ip) >= ihl + 8:
        sport, dport = struct.unpack("!HH", ip[ihl : ihl + 4])
        if dport == VXLAN_PORT and len(ip) >= ihl + 16:
            vni = int.from_bytes(ip[ihl + 12 : ihl + 15], "big")
            inner = parse(ip[ihl + 16 :])
            inner_text = inner.summary if inner else "non-IP frame"
            summary = f"UDP {src}:{sport} > {dst}:{dport} VXLAN vni {vni} [{inner_text}]"
            return Frame(summary, True, inner.dst if inner else "")
        return Frame(f"UDP {src}:{sport} > {dst}:{dport}", False, dst)
    name = {1: "ICMP", 6: "TCP"}.get(proto, f"proto {proto}")
    return Frame(f"{name} {src} > {dst}", False, dst)


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
