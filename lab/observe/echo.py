"""A TCP echo server listening inside lab namespaces, answered by a thread of this process (no process started).

The checks use it to prove a path carries TCP and which source address
arrived; the benchmark times 1-byte request/response rounds over it.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from lab.kernel import netns


class EchoServer:
    """Listening sockets in each (netns, IP); the first connection on any of them is echoed until EOF."""

    def __init__(self, listeners: list[socket.socket], timeout: float) -> None:
        self.listeners = listeners
        self.timeout = timeout
        self.peers: list[str] = []  # "ip:port" of the client, as the server saw it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.listeners[0].getsockname()[1]

    def _serve(self) -> None:
        try:
            ready, _, _ = select.select(self.listeners, [], [], self.timeout)
            if not ready:
                return
            conn, addr = ready[0].accept()
            self.peers.append(f"{addr[0]}:{addr[1]}")
            with conn:
                conn.settimeout(self.timeout)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while not self._stop.is_set():
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(data)
        except OSError:
            pass  # the client side reports the failure

    def close(self) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 1)
        for s in self.listeners:
            s.close()


@contextmanager
def echo_server(servers: Sequence[tuple[str, str]], port: int = 0, timeout: float = 5.0) -> Iterator[EchoServer]:
    """Listen on (netns, IP):port for each of `servers` (port 0: one free port, the first socket's)."""
    listeners: list[socket.socket] = []
    try:
        for ns, ip in servers:
            with netns.inside(ns):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listeners.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, port or (listeners[0].getsockname()[1] if len(listeners) > 1 else 0)))
            s.listen(1)
    except BaseException:
        for s in listeners:
            s.close()
        raise
    server = EchoServer(listeners, timeout)
    try:
        yield server
    finally:
        server.close()


def client_socket(ns: str, timeout: float) -> socket.socket:
    """A TCP_NODELAY socket made inside `ns` (it stays there)."""
    with netns.inside(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
