"""iperf3 tests between namespaces: libiperf's Server and Client, each in a forked child.

iperf3 runs through the `iperf3` binding (libiperf): its Server and Client each run
in a forked child that first enters the namespace, runs ONE test and sends the
result back through a Pipe. A forked child holds exactly one thread, so setns()
there moves the whole child (and the thread libiperf's server starts later). The
children are our own PIDs: they are always ended and reaped in `finally`, also on
Ctrl-C, and die with us if we are killed (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import itertools
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from lab.bench.paths import BENCH_PORT
from lab.bench.settings import BenchError
from lab.kernel import netns
from lab.kernel.libc import libc
from lab.kernel.procs import PR_SET_PDEATHSIG

LISTEN_WAIT = 5.0  # seconds for an iperf3 server to start listening
_PIPE_SIZE = 1 << 20  # libiperf prints its JSON into a pipe read only afterwards: a full pipe would hang it
_fork = multiprocessing.get_context("fork")
ports = itertools.cycle(range(BENCH_PORT + 100, BENCH_PORT + 200))  # per-test ports off the Service's 5201


# ------------------------------------------------------------------ reading results (pure)


def listening(proc_net_tcp: str, port: int) -> bool:
    """Whether /proc/<pid>/net/tcp{,6} text shows a socket in LISTEN state (0A) on `port`."""
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and fields[1].rsplit(":", 1)[-1] == f"{port:04X}":
            return True
    return False


def tcp_figures(result: dict) -> dict[str, float]:
    """From an iperf3 TCP client result: receiver-side Gbit/s, both CPU totals, the sender's retransmits
    (absent where libiperf cannot read TCP_INFO), and the bytes moved over the whole run.

    The bytes moved include the omitted first seconds (the client's intervals marked
    `omitted`), which the end sums leave out but the machine's CPU time holds.
    """
    end = result["end"]
    cpu = end.get("cpu_utilization_percent", {})
    omitted = sum(i["sum"]["bytes"] for i in result.get("intervals", []) if i.get("sum", {}).get("omitted"))
    figures = {
        "gbps": end["sum_received"]["bits_per_second"] / 1e9,
        "cpu_sender": cpu.get("host_total", 0.0),
        "cpu_receiver": cpu.get("remote_total", 0.0),
        "bytes": float(end["sum_received"]["bytes"] + omitted),
    }
    retransmits = end.get("sum_sent", {}).get("retransmits")
    if retransmits is not None:
        figures["retransmits"] = float(retransmits)
    return figures


def udp_figures(result: dict, payload: int) -> dict[str, float]:
    """Received kpps, Gbit/s and loss % from an iperf3 UDP client result (its receiver-side sum)."""
    end = result["end"]
    got = end.get("sum_received") or end["sum"]
    seconds = got.get("seconds") or 1.0
    return {
        "kpps": got["bytes"] / payload / seconds / 1000,
        "gbps": got["bits_per_second"] / 1e9,
        "loss": float(got.get("lost_percent", 0.0)),
    }


# ------------------------------------------------------------------ the children


def _child_setup(parent: int) -> None:
    """In a fresh child: die with the parent, leave Ctrl-C to it, keep libiperf's stderr off the terminal."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _roomy_pipe(obj: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(obj._pipe_in, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _server_child(conn: Connection, parent: int, ns: str, bind_ip: str, port: int) -> None:
    try:
        _child_setup(parent)
        netns.enter(ns)
        import iperf3

        server = iperf3.Server()
        server.verbose = False
        server.bind_address = bind_ip
        server.port = port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # libiperf's own bind error lacks errno
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((bind_ip, port))
        _roomy_pipe(server)
        conn.send(server.run().json)  # libiperf's run_server returns after one test
    except Exception as exc:
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def _client_child(conn: Connection, parent: int, ns: str, options: dict[str, Any]) -> None:
    try:
        _child_setup(parent)
        netns.enter(ns)
        import iperf3

        client = iperf3.Client()
        client.verbose = False
        client.server_hostname = options["host"]
        client.port = options["port"]
        client.duration = options["duration"]
        client.omit = options["omit"]
        if options["protocol"] == "udp":
            client.protocol = "udp"  # before blksize: the binding clamps blksize when switching
            client.blksize = options["blksize"]
            client.bandwidth = 0  # unlimited: libiperf defaults to 0 as long as no CLI parsing sets 1 Mbit/s
            # Not in the binding. Without argtypes ctypes would pass the test pointer as a 32-bit int.
            client.lib.iperf_set_dont_fragment.argtypes = (ctypes.c_void_p, ctypes.c_int)
            client.lib.iperf_set_dont_fragment(client._test, 1)
        else:
            client.num_streams = options["streams"]
            client.zerocopy = True  # sendfile(); the binding enables it only if libiperf has it
        _roomy_pipe(client)
        conn.send(client.run().json)
    except Exception as exc:
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def _end(children: list[BaseProcess]) -> None:
    """Terminate (SIGTERM, then SIGKILL) and reap our own children; never anything by name."""
    for p in children:
        if p.is_alive():
            p.terminate()
    for p in children:
        p.join(2)
        if p.is_alive():
            p.kill()
            p.join(2)
        with contextlib.suppress(ValueError):
            p.close()


def _wait_listening(proc: BaseProcess, conn: Connection, port: int, what: str) -> None:
    """Until the server child listens on `port` (read from /proc, so no test connection confuses iperf3)."""
    deadline = time.monotonic() + LISTEN_WAIT
    while time.monotonic() < deadline:
        for table in ("tcp", "tcp6"):
            try:
                with open(f"/proc/{proc.pid}/net/{table}") as f:
                    if listening(f.read(), port):
                        return
            except OSError:
                pass
        if not proc.is_alive():
            break
        time.sleep(0.02)
    error = conn.recv().get("error") if conn.poll(0.2) else None
    raise BenchError(f"iperf3 server for {what} did not listen on port {port}: {error or 'timed out'}")


def iperf3_test(
    client_ns: str,
    servers: Sequence[tuple[str, str]],
    host: str,
    port: int,
    listen_port: int,
    options: dict[str, Any],
    timeout: float,
) -> dict:
    """One iperf3 test: a server child per (netns, bind IP), one client child aiming at host:port.

    `options`: protocol ("tcp" or "udp"), duration, omit, and streams (TCP) or blksize (UDP).
    Returns the client's JSON result (it carries the receiver's figures too).
    """
    children: list[BaseProcess] = []
    conns: list[Connection] = []
    parent = os.getpid()
    what = f"{options['protocol'].upper()} to {host}:{port}"
    try:
        for ns, ip in servers:
            recv, send = _fork.Pipe(duplex=False)
            conns.append(recv)
            proc = _fork.Process(target=_server_child, args=(send, parent, ns, ip, listen_port), daemon=True)
            children.append(proc)
            proc.start()
            send.close()
            _wait_listening(proc, recv, listen_port, what)
        recv, send = _fork.Pipe(duplex=False)
        conns.append(recv)
        opts = {**options, "host": host, "port": port}
        proc = _fork.Process(target=_client_child, args=(send, parent, client_ns, opts), daemon=True)
        children.append(proc)
        proc.start()
        send.close()
        if not recv.poll(timeout):
            raise BenchError(f"iperf3 {what} gave no result within {timeout:g} s")
        try:
            result = recv.recv()
        except EOFError as exc:
            raise BenchError(f"iperf3 client for {what} died without a result") from exc
        error = result.get("error")
        if error:
            raise BenchError(f"iperf3 {what}: {error}")
        return result
    finally:
        _end(children)
        for c in conns:
            c.close()
