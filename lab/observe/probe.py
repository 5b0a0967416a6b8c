"""Probes that observe a running lab: ping, a TCP exchange, HTTP and UDP requests to the netexec servers.

Sockets are opened by this process inside the namespaces (a socket stays in
the namespace it was created in), so a check needs no helper server process
and leaves none behind.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

from lab.kernel import netns
from lab.observe import ping as pings
from lab.observe.echo import client_socket, echo_server


@dataclass
class Outcome:
    ok: bool  # the probe got through
    detail: str
    source: str = ""  # the client address the far end saw (TCP)
    error: bool = False  # the probe could not run at all: that proves neither reachable nor blocked


def ping(src_ns: str, dst: str, size: int | None = None, dont_fragment: bool = False, timeout: float = 1.0) -> Outcome:
    """One ICMP echo from `src_ns`; with `size`, that many payload bytes."""
    res = pings.ping(src_ns, dst, size=size, dont_fragment=dont_fragment, timeout=timeout)
    if res.ok:
        return Outcome(True, f"ICMP reply in {res.times_ms[0]:g} ms")
    return Outcome(False, res.reason)


def tcp(src_ns: str, dst_ns: str, dst_ip: str, timeout: float = 2.0) -> Outcome:
    """Listen in `dst_ns`, connect from `src_ns`, exchange a line; reports the peer address seen."""
    message = b"cce-lab\n"
    try:
        with echo_server([(dst_ns, dst_ip)], timeout=timeout) as server:
            with client_socket(src_ns, timeout) as client:
                try:
                    client.connect((dst_ip, server.port))
                    client.sendall(message)
                    echoed = client.recv(64)
                except OSError as exc:
                    return Outcome(False, f"TCP to {dst_ip}:{server.port}: {exc.strerror or 'timed out'}")
            if echoed != message:
                return Outcome(False, f"TCP to {dst_ip}:{server.port}: echo mismatch")
            seen = server.peers[0] if server.peers else "?"
            return Outcome(True, f"TCP {dst_ip}:{server.port} echoed, server saw {seen}", seen.rsplit(":", 1)[0])
    except OSError as exc:  # e.g. a trainee removed the address or the namespace: that is a result
        return Outcome(False, f"TCP probe could not run: {exc}", error=True)


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
    return parse_answer(b"".join(chunks), f"{ip}:{port}", t0)[0]


def parse_answer(raw: bytes, where: str, t0: float) -> tuple[Http, dict[str, str]]:
    """An HTTP answer read off a socket: the result (JSON body parsed) and its headers, lower-cased."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        return Http(None, {}, f"{where}: not an HTTP answer", time.monotonic() - t0), {}
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    text = body.decode(errors="replace").strip()
    try:
        data = json.loads(text) if text.startswith("{") else {}
    except ValueError:
        data = {}
    seconds = time.monotonic() - t0
    detail = f"HTTP {status} in {seconds * 1000:.1f} ms" + (f": {text[:60]}" if status != 200 else "")
    return Http(status, data, detail, seconds), headers


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
