"""The one packet (or connection) `trace` sends, marked so every capture point can tell it from the rest.

ICMP: an echo request from a raw socket with a random id and a random
token in its payload (NAT keeps payloads, so the token is found at every hop,
inside VXLAN too), the don't-fragment bit set like `ping -M do`. TCP and UDP:
a random source port (NAT keeps it unless it collides; `trace` also follows
the tuples conntrack reports), an HTTP GET carrying the token where netexec
answers, else a line to an echo listener opened for the trace in the
destination's namespace. Sockets are made by this process inside the
namespaces and closed before returning: nothing is left behind.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import time
from dataclasses import dataclass

from lab.kernel import netns
from lab.observe.capture import ICMP_ERRORS, decode_ip
from lab.observe.echo import echo_server

IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2  # Linux <linux/in.h>: always set DF, never fragment locally
ICMP_KINDS = {
    (3, 0): "network unreachable",
    (3, 1): "host unreachable",
    (3, 3): "port unreachable",
    (3, 4): "fragmentation needed",
    (3, 10): "host administratively prohibited",
    (3, 13): "communication administratively prohibited",
    (11, 0): "TTL exceeded",
}


@dataclass
class Mark:
    token: bytes  # in the payload
    ident: int  # ICMP echo id, or the TCP/UDP source port


def new_mark() -> Mark:
    return Mark(b"cce-lab-trace-" + os.urandom(6).hex().encode(), random.randint(40000, 59999))


@dataclass
class Sent:
    ok: bool
    detail: str
    local_error: str = ""  # the source's own kernel refused to send (e.g. "message too long")
    answered_by: str = ""
    source_seen: str = ""  # the client address the far end saw
    seconds: float = 0.0


def _checksum(data: bytes) -> int:
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def icmp_echo(mark: Mark, size: int) -> bytes:
    """An echo request of `size` payload bytes (like ping -s) that starts with the token."""
    payload = (mark.token + b"." * size)[:size] if size >= len(mark.token) else mark.token
    head = struct.pack("!BBHHH", 8, 0, 0, mark.ident, 1)
    return struct.pack("!BBHHH", 8, 0, _checksum(head + payload), mark.ident, 1) + payload


def icmp_kind(kind: int, code: int) -> str:
    return ICMP_KINDS.get((kind, code), f"ICMP type {kind} code {code}")


def icmp(ns: str, dst: str, mark: Mark, size: int, timeout: float = 2.0) -> Sent:
    t0 = time.monotonic()
    with netns.inside(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    with sock:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        try:
            sock.sendto(icmp_echo(mark, size), (dst, 0))
        except OSError as exc:
            return Sent(False, f"not sent: {exc.strerror}", local_error=exc.strerror or str(exc))
        deadline = t0 + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except TimeoutError:
                break
            except OSError as exc:
                return Sent(False, f"ICMP: {exc.strerror}", seconds=time.monotonic() - t0)
            ip = decode_ip(data)
            if ip is None or mark.token not in data:
                continue
            took = time.monotonic() - t0
            if ip.icmp_type == 0:
                return Sent(True, f"ICMP echo reply from {ip.src} in {took * 1000:.2f} ms", seconds=took)
            if ip.icmp_type in ICMP_ERRORS:
                return Sent(False, f"{icmp_kind(ip.icmp_type, ip.icmp_code)} from {ip.src}", seconds=took)
    return Sent(False, f"no reply within {timeout:g} s", seconds=time.monotonic() - t0)


def _bound(ns: str, kind: int, mark: Mark) -> socket.socket:
    """A socket in `ns` bound to the mark's source port (the next free one if taken)."""
    with netns.inside(ns):
        sock = socket.socket(socket.AF_INET, kind)
    for port in range(mark.ident, mark.ident + 50):
        try:
            sock.bind(("0.0.0.0", port))
            mark.ident = port
            return sock
        except OSError:
            continue
    sock.close()
    raise OSError("no free source port near the chosen one")


def _error_text(exc: OSError) -> str:
    return "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)


def tcp(ns: str, dst: str, port: int, mark: Mark, http: bool, listen_ns: str = "", timeout: float = 2.0) -> Sent:
    """One connection: HTTP GET /whoami where netexec answers, else a line echoed by a listener in `listen_ns`."""
    if not http and listen_ns:
        with echo_server([(listen_ns, dst)], port=port, timeout=timeout + 1) as server:
            sent = _tcp_exchange(ns, dst, port, mark, False, timeout)
        if sent.ok:
            sent.source_seen = server.peers[0] if server.peers else ""
            sent.detail += f"; the listener saw {sent.source_seen or '?'}"
        return sent
    return _tcp_exchange(ns, dst, port, mark, http, timeout)


def _tcp_exchange(ns: str, dst: str, port: int, mark: Mark, http: bool, timeout: float) -> Sent:
    t0 = time.monotonic()
    sock = _bound(ns, socket.SOCK_STREAM, mark)
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((dst, port))
            if http:
                sock.sendall(
                    f"GET /whoami HTTP/1.1\r\nHost: {dst}\r\nX-Cce-Lab-Trace: {mark.token.decode()}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
                reply = b"".join(chunks)
            else:
                sock.sendall(mark.token + b"\n")
                reply = sock.recv(4096)
        except OSError as exc:
            return Sent(False, f"TCP {dst}:{port}: {_error_text(exc)}", seconds=time.monotonic() - t0)
    took = time.monotonic() - t0
    if not http:
        ok = reply.startswith(mark.token)
        return Sent(ok, f"TCP {dst}:{port} echoed in {took * 1000:.2f} ms" if ok else "echo mismatch", seconds=took)
    head, _, body = reply.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode(errors="replace") if head.count(b" ") else "?"
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    name, client = str(doc.get("hostname", "")), str(doc.get("client", ""))
    detail = f"HTTP {status} from {name or '?'} in {took * 1000:.2f} ms, client seen as {client or '?'}"
    return Sent(status == "200", detail, answered_by=name, source_seen=client, seconds=took)


def udp(ns: str, dst: str, port: int, mark: Mark, timeout: float = 2.0) -> Sent:
    """One datagram `whoami` (netexec answers it with JSON); the source port is the mark."""
    t0 = time.monotonic()
    sock = _bound(ns, socket.SOCK_DGRAM, mark)
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((dst, port))
            sock.send(b"whoami")
            data = sock.recv(65535)
        except OSError as exc:
            return Sent(False, f"UDP {dst}:{port}: {_error_text(exc)}", seconds=time.monotonic() - t0)
    took = time.monotonic() - t0
    try:
        doc = json.loads(data)
    except ValueError:
        doc = {}
    name, client = str(doc.get("hostname", "")), str(doc.get("client", ""))
    detail = f"UDP answer from {name or '?'} in {took * 1000:.2f} ms, client seen as {client or '?'}"
    return Sent(True, detail, answered_by=name, source_seen=client, seconds=took)
