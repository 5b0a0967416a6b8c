"""Probes that observe a running lab: ping, a TCP exchange, a capture.

TCP and capture sockets are opened by this process inside the namespaces
(a socket stays in the namespace it was created in), so a check needs no
helper server process and leaves none behind.
"""

from __future__ import annotations

import json
import re
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lab import netns, procs

ETH_P_ALL = 0x0003


@dataclass
class Outcome:
    ok: bool  # the probe got through
    detail: str


def ping(src_ns: str, dst: str, size: int | None = None, dont_fragment: bool = False, timeout: float = 1.0) -> Outcome:
    """One ICMP echo from `src_ns`; with `size`, that many payload bytes."""
    argv = ["ping", "-n", "-c", "1", "-W", str(timeout)]
    if size is not None:
        argv += ["-s", str(size)]
    if dont_fragment:
        argv += ["-M", "do"]
    res = procs.run(src_ns, [*argv, dst], check=False, timeout=timeout + 5)
    rtt = re.search(r"time=([\d.]+) ms", res.stdout)
    if res.returncode == 0 and rtt:
        return Outcome(True, f"ICMP reply in {rtt.group(1)} ms")
    lines = (res.stderr + res.stdout).strip().splitlines()
    for key in ("local error", "Unreachable", "Frag needed", "Time to live"):
        reason = next((ln for ln in lines if key in ln), None)
        if reason:
            return Outcome(False, reason.removeprefix("ping: "))
    return Outcome(False, f"no reply within {timeout:g} s")


def tcp(src_ns: str, dst_ns: str, dst_ip: str, timeout: float = 2.0) -> Outcome:
    """Listen in `dst_ns`, connect from `src_ns`, exchange a line; reports the peer address seen."""
    try:
        return _tcp(src_ns, dst_ns, dst_ip, timeout)
    except OSError as exc:  # e.g. a trainee removed the address or the namespace: that is a result
        return Outcome(False, f"TCP probe could not run: {exc}")


def _tcp(src_ns: str, dst_ns: str, dst_ip: str, timeout: float) -> Outcome:
    with netns.inside(dst_ns):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with netns.inside(src_ns):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    seen: list[str] = []
    try:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((dst_ip, 0))
        server.listen(1)
        server.settimeout(timeout)
        port = server.getsockname()[1]

        def serve() -> None:
            try:
                conn, addr = server.accept()
                with conn:
                    conn.settimeout(timeout)
                    data = conn.recv(64)
                    seen.append(f"{addr[0]}:{addr[1]}")
                    conn.sendall(data)
            except OSError:
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client.settimeout(timeout)
        try:
            client.connect((dst_ip, port))
            client.sendall(b"cce-lab\n")
            echoed = client.recv(64)
        except OSError as exc:
            return Outcome(False, f"TCP to {dst_ip}:{port}: {exc.strerror or 'timed out'}")
        thread.join(timeout)
        if echoed != b"cce-lab\n":
            return Outcome(False, f"TCP to {dst_ip}:{port}: echo mismatch")
        return Outcome(True, f"TCP {dst_ip}:{port} echoed, server saw {seen[0] if seen else '?'}")
    finally:
        client.close()
        server.close()


@dataclass
class Frame:
    summary: str
    vxlan: bool
    dst: str  # the innermost IPv4 destination


def _parse(frame: bytes) -> Frame | None:
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    proto, src, dst = ip[9], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    if proto == 17 and len(ip) >= ihl + 8:
        sport, dport = struct.unpack("!HH", ip[ihl : ihl + 4])
        if dport == 4789 and len(ip) >= ihl + 16:
            vni = int.from_bytes(ip[ihl + 12 : ihl + 15], "big")
            inner = _parse(ip[ihl + 16 :])
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
                frame = _parse(data)
                if frame and frame.dst == dst:
                    frames.append(frame)
        return frames
    finally:
        sock.close()


@dataclass
class Http:
    """One HTTP exchange: status (None if no answer), the /whoami data, and how long it took."""

    status: int | None
    data: dict
    detail: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def answered_by(self) -> str:
        return str(self.data.get("hostname", ""))

    @property
    def source(self) -> str:
        """The client address the server saw, without the port."""
        return str(self.data.get("client", "")).rsplit(":", 1)[0]


def http(src_ns: str, ip: str, port: int, path: str = "/whoami", host: str | None = None, timeout: float = 2.0) -> Http:
    """GET `path` from `ip:port`, from a socket opened in `src_ns` (no curl, no process)."""
    t0 = time.monotonic()
    try:
        with netns.inside(src_ns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            sock.settimeout(timeout)
            sock.connect((ip, port))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host or ip}\r\nConnection: close\r\n\r\n".encode())
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else str(exc))
        return Http(None, {}, f"{ip}:{port}: {reason}", time.monotonic() - t0)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return Http(None, {}, f"{ip}:{port}: not an HTTP answer", time.monotonic() - t0)
    text = body.decode(errors="replace").strip()
    try:
        data = json.loads(text) if text.startswith("{") else {}
    except ValueError:
        data = {}
    seconds = time.monotonic() - t0
    detail = f"HTTP {status} in {seconds * 1000:.1f} ms" + (f": {text[:60]}" if status != 200 else "")
    return Http(status, data, detail, seconds)


def udp(src_ns: str, ip: str, port: int, message: str = "hostname", timeout: float = 2.0) -> Outcome:
    """One datagram to `ip:port` from `src_ns`; the answer is the outcome's detail."""
    try:
        with netns.inside(src_ns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            sock.settimeout(timeout)
            sock.sendto(message.encode(), (ip, port))
            data, _ = sock.recvfrom(65535)
    except OSError as exc:
        return Outcome(False, f"UDP {ip}:{port}: {exc.strerror or 'no answer'}")
    return Outcome(True, data.decode(errors="replace"))
