"""Round-trip latency of a path: ping (ICMP) and TCP request/response, from inside the namespaces.

ping runs as `ip netns exec ... ping` (lab.observe.ping); the request/response test
opens its sockets inside the namespaces from this process and a thread of this
process echoes (lab.observe.echo), so it starts no process at all.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

from lab.bench.settings import BenchError
from lab.observe import echo
from lab.observe import ping as icmp

PING_INTERVAL = 0.01  # seconds between echo requests
RR_WARMUP = 50  # rounds left out at the start (first connection, caches)
SOCKET_TIMEOUT = 5.0


def ping_times(client_ns: str, dst: str, count: int) -> list[float]:
    """`count` echo requests 10 ms apart from `client_ns`; the round-trip times in ms."""
    result = icmp.ping(client_ns, dst, count, interval=PING_INTERVAL, timeout=1)
    if not result.ok:
        raise BenchError(f"ping {dst} from {client_ns}: no reply ({result.reason})")
    return result.times_ms


def tcp_rr(
    client_ns: str, servers: Sequence[tuple[str, str]], host: str, port: int, listen_port: int, rounds: int
) -> list[float]:
    """1-byte request / 1-byte reply over one TCP_NODELAY connection; each round trip in µs.

    The echo server listens on every (netns, IP) of `servers` at `listen_port` (0: a free
    port, then also the one aimed at when `port` is 0); the client socket lives in `client_ns`.
    """
    try:
        # the client is closed first, so the echo thread sees EOF and ends at once
        with (
            echo.echo_server(servers, port=listen_port, timeout=SOCKET_TIMEOUT) as server,
            contextlib.closing(echo.client_socket(client_ns, SOCKET_TIMEOUT)) as client,
        ):
            port = port or server.port
            client.connect((host, port))
            times: list[float] = []
            clock = time.perf_counter_ns
            for i in range(RR_WARMUP + rounds):
                start = clock()
                client.sendall(b"x")
                if not client.recv(1):
                    raise BenchError(f"TCP request/response to {host}:{port}: the server closed the connection")
                if i >= RR_WARMUP:
                    times.append((clock() - start) / 1000)
            return times
    except OSError as exc:
        raise BenchError(f"TCP request/response to {host}:{port} from {client_ns}: {exc}") from exc
