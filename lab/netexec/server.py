"""One process that answers HTTP and UDP as every pod of a lab, like Kubernetes' `agnhost netexec`.

A connectivity check must prove *which* pod answered and *which* source IP
arrived, so each pod needs a real server. Hundreds of pods must stay cheap, so
one process serves them all: for each target it enters the target's network
namespace (`lab.netns.inside`), creates and binds a TCP and a UDP socket there
(a socket stays in the namespace it was made in), steps back, and finally
serves every socket from one asyncio loop in the main thread. No thread and no
task per connection: a connection is a small `asyncio.Protocol`.

Run: `python -m lab.netexec --config FILE --pidfile=PATH [--log FILE]`, where
FILE is `{"targets": [{"name", "netns" (or null: this namespace), "ip", "port"}]}`.
The pidfile is written only once every socket listens (readiness); a failed
bind exits 1 naming the target; SIGTERM closes everything, removes the
pidfile and exits 0. The lab starts it with `start()` and ends it with
`lab.procs.stop(pidfile)`.

What each request gets is `lab.netexec.protocol`'s (pure) business.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from lab.kernel import netns
from lab.netexec import healthz
from lab.netexec.launch import log_stderr_to
from lab.netexec.protocol import MAX_HEAD, http_reply, peer_text, response, udp_reply

READ_TIMEOUT = 5.0  # seconds a client gets to send its whole request head
BACKLOG = 128


@dataclass(frozen=True)
class Target:
    """One identity to serve: `name` answers on (ip, port), TCP and UDP, inside `netns`."""

    name: str
    netns: str | None
    ip: str
    port: int
    health: healthz.HealthCheck | None = None  # a health-check node port (HTTP only), not a pod's server

    def where(self) -> str:
        return f"target {self.name!r} ({self.ip}:{self.port} in {self.netns or 'the current namespace'})"


class ConfigError(ValueError):
    """The config file is unusable; the message says which entry and why."""


def load_config(path: Path) -> list[Target]:
    """Read and check the JSON target list, so a typo fails before any socket is opened."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    entries = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected an object with a 'targets' list")
    targets, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path}: targets[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object")
        name, ns, ip, port = entry.get("name"), entry.get("netns"), entry.get("ip"), entry.get("port")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: 'name' must be a non-empty string")
        if ns is not None and (not isinstance(ns, str) or not ns or "/" in ns):
            raise ConfigError(f"{where} ({name}): 'netns' must be a namespace name or null")
        try:
            ipaddress.ip_address(ip)
        except ValueError as exc:
            raise ConfigError(f"{where} ({name}): 'ip' is not an IP address: {ip!r}") from exc
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ConfigError(f"{where} ({name}): 'port' must be an integer 1-65535")
        if (ns, ip, port) in seen:
            raise ConfigError(f"{where} ({name}): {ip}:{port} in {ns or 'the current namespace'} is listed twice")
        seen.add((ns, ip, port))
        try:
            health = healthz.parse(entry["health"], f"{where} ({name})") if "health" in entry else None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        targets.append(Target(name, ns, ip, port, health))
    if not targets:
        raise ConfigError(f"{path}: no targets")
    return targets


class BindError(OSError):
    """A target's socket could not be made; the message names the target."""


@contextlib.contextmanager
def _namespace(name: str | None) -> Iterator[None]:
    """Inside namespace `name`; None stays in the current one (unit tests on 127.0.0.1)."""
    if name is None:
        yield
        return
    with netns.inside(name):
        yield


def bind_all(targets: list[Target]) -> list[tuple[Target, socket.socket, socket.socket | None]]:
    """Create, bind and listen every target's TCP and UDP socket inside its namespace.

    Targets are grouped by namespace so each namespace is entered once. On any
    failure every socket made so far is closed and BindError names the target.
    """
    by_ns: dict[str | None, list[Target]] = {}
    for t in targets:
        by_ns.setdefault(t.netns, []).append(t)
    bound: dict[Target, tuple[socket.socket, socket.socket | None]] = {}
    current: Target | None = None
    try:
        for ns, group in by_ns.items():
            current = group[0]
            with _namespace(ns):
                for t in group:
                    current = t
                    bound[t] = _bind_one(t)
    except OSError as exc:
        for tcp, udp in bound.values():
            tcp.close()
            if udp is not None:
                udp.close()
        assert current is not None
        raise BindError(f"{current.where()}: {exc}") from exc
    return [(t, *bound[t]) for t in targets]


def _bind_one(t: Target) -> tuple[socket.socket, socket.socket | None]:
    family = socket.AF_INET6 if ipaddress.ip_address(t.ip).version == 6 else socket.AF_INET
    tcp = socket.socket(family, socket.SOCK_STREAM)
    try:
        # TCP: SO_REUSEADDR so a restart is not refused by the last run's TIME_WAIT connections.
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((t.ip, t.port))
        except OSError as exc:
            raise OSError(exc.errno, f"TCP bind: {exc.strerror}") from exc
        tcp.listen(BACKLOG)
        tcp.setblocking(False)
        if t.health is not None:  # kube-proxy's health-check port is HTTP only
            return tcp, None
        # UDP: no SO_REUSEADDR. UDP has no TIME_WAIT to skip, and on Linux the option would let a
        # second server bind the same port silently and steal datagrams instead of failing here.
        udp = socket.socket(family, socket.SOCK_DGRAM)
    except BaseException:
        tcp.close()
        raise
    try:
        try:
            udp.bind((t.ip, t.port))
        except OSError as exc:
            raise OSError(exc.errno, f"UDP bind: {exc.strerror}") from exc
        udp.setblocking(False)
    except BaseException:
        tcp.close()
        udp.close()
        raise
    return tcp, udp


# --- serving -------------------------------------------------------------------------------------


def _head_end(buf: bytearray) -> tuple[int, int]:
    """Where the request head ends and the length of its terminator (CRLF CRLF, or bare LF LF); -1 if not yet."""
    found = [(i, n) for i, n in ((buf.find(b"\r\n\r\n"), 4), (buf.find(b"\n\n"), 2)) if i >= 0]
    return min(found) if found else (-1, 0)


class HttpConnection(asyncio.Protocol):
    """One TCP connection: collect the request head (bounded size and time), answer, close."""

    __slots__ = ("buf", "health", "name", "peer", "timer", "transport")

    def __init__(self, name: str, health: healthz.HealthCheck | None = None) -> None:
        self.name = name
        self.health = health
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = peer_text(peer) if peer else "?"
        self.timer = asyncio.get_running_loop().call_later(READ_TIMEOUT, self._timed_out)

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.buf += data
        end, sep = _head_end(self.buf)
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self._finish(response(400, b"request head too large\n"))
            return
        if end + sep > MAX_HEAD:
            self._finish(response(400, b"request head too large\n"))
            return
        head = bytes(self.buf[:end])
        if self.health is not None:
            self._finish(healthz.reply(self.health, head))
        else:
            self._finish(http_reply(self.name, self.peer, head))

    def eof_received(self) -> bool:
        if self.buf.strip():  # a head cut short: say so rather than vanish
            self._finish(response(400, b"incomplete request\n"))
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.transport = None
        self.buf = bytearray()

    def _timed_out(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            if self.buf:
                self._finish(response(408, b"request timeout\n"))
            else:
                self.transport.close()

    def _finish(self, response: bytes) -> None:
        assert self.transport is not None
        if self.timer is not None:
            self.timer.cancel()
        self.transport.write(response)
        self.transport.close()  # flushes the response, then FIN
        self.buf = bytearray()


class UdpResponder(asyncio.DatagramProtocol):
    """Answer each datagram to its sender from the target's own socket."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # the selector class is not a subclass

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.transport is not None:
            self.transport.sendto(udp_reply(self.name, peer_text(addr), data), addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable from a gone client
        pass


def _raise_fd_limit(needed: int) -> None:
    """Two sockets per target plus connections: lift the soft fd limit (often 1024) to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise OSError(f"{needed} file descriptors needed, the limit is {soft} (raise 'ulimit -n')")


def _write_pidfile(pidfile: Path) -> None:
    """Atomically: a reader sees no pidfile or a complete one, never a half-written PID."""
    tmp = pidfile.with_name(f".{pidfile.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, pidfile)


def _remove_pidfile(pidfile: Path) -> None:
    """Remove the pidfile only if it is still ours (never a successor's)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        if int(pidfile.read_text().split()[0]) == os.getpid():
            pidfile.unlink()


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} netexec[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


async def serve(sockets: list[tuple[Target, socket.socket, socket.socket | None]], pidfile: Path | None) -> None:
    """Serve every socket until SIGTERM/SIGINT; the pidfile exists exactly while serving."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    servers: list[asyncio.Server] = []
    transports: list[asyncio.BaseTransport] = []
    try:
        for t, tcp, udp in sockets:
            name, health = t.name, t.health
            servers.append(
                await loop.create_server(lambda n=name, h=health: HttpConnection(n, h), sock=tcp, backlog=BACKLOG)
            )
            if udp is not None:
                transport, _ = await loop.create_datagram_endpoint(lambda n=name: UdpResponder(n), sock=udp)
                transports.append(transport)
        if pidfile is not None:
            _write_pidfile(pidfile)
        _log(f"serving {len(sockets)} targets (HTTP + UDP)")
        await stopping.wait()
        _log("stop signal: closing")
    finally:
        for server in servers:
            server.close()
        for transport in transports:
            transport.close()
        if pidfile is not None:
            _remove_pidfile(pidfile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.netexec", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="JSON: {'targets': [{name, netns, ip, port}]}")
    parser.add_argument("--pidfile", required=True, type=Path, help="written once every socket listens")
    parser.add_argument("--log", type=Path, help="append stderr (messages and errors) to this file")
    args = parser.parse_args(argv)
    log_stderr_to(args.log)
    try:
        targets = load_config(args.config)
    except ConfigError as exc:
        print(f"netexec: error: {exc}", file=sys.stderr, flush=True)
        return 2
    if not args.pidfile.parent.is_dir():
        print(f"netexec: error: pidfile directory {args.pidfile.parent} does not exist", file=sys.stderr, flush=True)
        return 1
    try:
        _raise_fd_limit(2 * len(targets) + 256)
        sockets = bind_all(targets)
    except OSError as exc:
        print(f"netexec: error: {exc}", file=sys.stderr, flush=True)
        return 1
    asyncio.run(serve(sockets, args.pidfile))
    return 0
