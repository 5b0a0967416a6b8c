"""Performance runs: iperf3, ping and TCP request/response over a running lab's paths.

Every figure is measured several times and reported with min/median/max, because
one run on a shared 2-core machine says little. The numbers only mean something
next to the datapath that produced them (DESIGN.md section 3: 20x apart), so a
suite's result names it, and a bare veth pair (`run_baseline`) gives the ceiling
of this machine.

iperf3 runs through the `iperf3` binding (libiperf): its Server and Client each
run in a forked child that first enters the namespace, runs ONE test and sends the
result back through a Pipe. A forked child holds exactly one thread, so setns()
there moves the whole child (and the thread libiperf's server starts later). The
children are our own PIDs: they are always ended and reaped in `finally`, also on
Ctrl-C, and die with us if we are killed (PR_SET_PDEATHSIG).

ping runs as `ip netns exec ... ping`; the TCP request/response test opens its
sockets inside the namespaces from this process (as lab.probe does), so it starts
no process at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import itertools
import math
import multiprocessing
import os
import platform
import re
import select
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from lab import netns, procs
from lab.errors import LabError
from lab.plan import Plan, Pod
from lab.services import ServicePlan

Progress = Callable[[str], None]

BENCH_PORT = 5201  # iperf3's port: a Service must target it for the pod-ClusterIP path
IP_UDP_HEADERS = 28  # IPv4 (20) + UDP (8): the largest unfragmented UDP payload is MTU - 28
BASELINE_NET = ("10.255.255.1", "10.255.255.2", 30)  # lives only inside the two baseline namespaces
PING_COUNT, PING_COUNT_QUICK = 100, 20
RR_ROUNDS, RR_ROUNDS_QUICK, RR_WARMUP = 2000, 200, 50
LISTEN_WAIT = 5.0  # seconds for an iperf3 server to start listening
SOCKET_TIMEOUT = 5.0

PATH_NAMES = ("pod-pod same node", "pod-pod across nodes", "pod-ClusterIP", "node-node")
# metric -> (unit, which direction is better); the order is the report's.
METRICS: dict[str, tuple[str, str]] = {
    "tcp_1_gbps": ("Gbit/s", "higher"),
    "tcp_n_gbps": ("Gbit/s", "higher"),
    "cpu_sender_pct": ("%", "lower"),
    "cpu_receiver_pct": ("%", "lower"),
    "udp_64_kpps": ("kpps", "higher"),
    "udp_64_loss_pct": ("%", "lower"),
    "udp_large_gbps": ("Gbit/s", "higher"),
    "udp_large_loss_pct": ("%", "lower"),
    "ping_p50_ms": ("ms", "lower"),
    "ping_p99_ms": ("ms", "lower"),
    "tcp_rr_p50_us": ("\u00b5s", "lower"),
    "tcp_rr_p99_us": ("\u00b5s", "lower"),
    "mtu": ("bytes", "higher"),
}

_PR_SET_PDEATHSIG = 1
_PIPE_SIZE = 1 << 20  # libiperf prints its JSON into a pipe read only afterwards: a full pipe would hang it
_libc = ctypes.CDLL(None, use_errno=True)
_ports = itertools.cycle(range(BENCH_PORT + 100, BENCH_PORT + 200))  # per-test ports off the Service's 5201
_fork = multiprocessing.get_context("fork")


class BenchError(LabError):
    """A measurement could not be taken (path broken, tool failed)."""


@dataclass
class Settings:
    """How long and how often: defaults for a report, `quick_mode()` for a compare that fits in 2 minutes."""

    duration: float = 5.0  # seconds per iperf3 test (libiperf takes whole seconds: rounded, at least 1)
    repetitions: int = 3
    streams: int = 4  # parallel TCP streams of the tcp_n test
    quick: bool = False

    @classmethod
    def quick_mode(cls) -> Settings:
        return cls(duration=1, repetitions=1, streams=2, quick=True)

    @property
    def seconds(self) -> int:
        return max(1, round(self.duration))

    @property
    def omit(self) -> int:
        """Seconds iperf3 leaves out at the start (TCP slow start), as the public CNI benchmarks do."""
        return 0 if self.quick else 1


@dataclass(frozen=True)
class ServiceTarget:
    """A Service as the far end: aim at cluster_ip:port, serve on every endpoint (netns, pod IP) at target_port."""

    cluster_ip: str
    port: int
    target_port: int
    endpoints: tuple[tuple[str, str], ...]


# ------------------------------------------------------------------ pure helpers


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), interpolating linearly between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """min/median/max of the repetitions."""
    if not values:
        raise ValueError("summary of no values")
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def metric(key: str, values: Sequence[float]) -> dict[str, Any]:
    """One metric in the documented form: unit, direction, the values and their summary."""
    unit, better = METRICS[key]
    return {"unit": unit, "better": better, "values": list(values), **summarize(values)}


_PING_TIME = re.compile(r"\btime[=<]\s*([\d.]+)\s*ms\b")


def parse_ping(output: str) -> list[float]:
    """The round-trip times (ms) of `ping` output, one per reply line; summary lines are ignored."""
    return [float(m.group(1)) for line in output.splitlines() if (m := _PING_TIME.search(line))]


def listening(proc_net_tcp: str, port: int) -> bool:
    """Whether /proc/<pid>/net/tcp{,6} text shows a socket in LISTEN state (0A) on `port`."""
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and fields[1].rsplit(":", 1)[-1] == f"{port:04X}":
            return True
    return False


def tcp_figures(result: dict) -> dict[str, float]:
    """Receiver-side Gbit/s and both CPU totals from an iperf3 TCP client result."""
    end = result["end"]
    cpu = end.get("cpu_utilization_percent", {})
    return {
        "gbps": end["sum_received"]["bits_per_second"] / 1e9,
        "cpu_sender": cpu.get("host_total", 0.0),
        "cpu_receiver": cpu.get("remote_total", 0.0),
    }


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


# ------------------------------------------------------------------ the paths of a lab


def _plain(plan: Plan, node: str) -> list[Pod]:
    return [p for p in plan.pods_on(node) if p.workload == ""]


def bench_service(plan: Plan) -> tuple[ServiceTarget | None, str]:
    """The Service the pod-ClusterIP path goes through, or None and why there is none.

    iperf3 must listen where the Service sends traffic, so only a TCP Service whose
    targetPort is 5201 can be measured (the shipped topologies define `bench`). Its
    iperf3 control and data connections must all reach the same endpoint, so it needs
    sessionAffinity ClientIP or a single endpoint. UDP and ping are not measured
    through it: a TCP Service translates no UDP, and a ClusterIP answers no ICMP.
    """
    candidates = [s for s in plan.services if s.protocol == "TCP" and s.target_port == BENCH_PORT and s.cluster_ip]
    if not candidates:
        return None, f"no Service with targetPort {BENCH_PORT} (iperf3); add one to the topology"
    with_endpoints = [s for s in candidates if s.endpoints]
    if not with_endpoints:
        return None, f"Service {candidates[0].name} (targetPort {BENCH_PORT}) has no endpoints"
    usable = [s for s in with_endpoints if s.session_affinity == "ClientIP" or len(s.endpoints) == 1]
    if not usable:
        s = with_endpoints[0]
        return None, (
            f"Service {s.name} spreads iperf3's connections over {len(s.endpoints)} endpoints: "
            "give it sessionAffinity: ClientIP"
        )
    chosen: ServicePlan = usable[0]
    by_name = {p.name: p for p in plan.pods}
    endpoints = tuple((by_name[e.pod].netns, e.ip) for e in chosen.endpoints)
    return ServiceTarget(chosen.cluster_ip, chosen.port, chosen.target_port, endpoints), ""


def paths(plan: Plan) -> tuple[dict[str, tuple[str, str, str]], dict[str, str]]:
    """The measured paths -> (client netns, server netns, IP to aim at), and skipped paths -> reason.

    - "pod-pod same node": two plain pods (no workload) on node-1;
    - "pod-pod across nodes": a plain pod on node-1 -> one on the last node;
    - "pod-ClusterIP": a plain pod on node-1 -> the ClusterIP of the Service `bench_service`
      picks; the server netns given is its first endpoint's, but `run_suite` serves on
      every endpoint (the Service may pick any). Skipped, with the reason, when no Service
      has targetPort 5201: a temporary DNAT rule would change the lab being measured;
    - "node-node": node-1's netns -> the last node's IP.
    """
    found: dict[str, tuple[str, str, str]] = {}
    skipped: dict[str, str] = {}
    if not plan.nodes:
        return found, dict.fromkeys(PATH_NAMES, "the lab has no nodes")
    first, last = plan.nodes[0], plan.nodes[-1]
    local = _plain(plan, first.name)
    if len(local) >= 2:
        found["pod-pod same node"] = (local[0].netns, local[1].netns, local[1].ip)
    else:
        skipped["pod-pod same node"] = f"{first.name} has fewer than two plain pods (pods_per_node)"
    remote = _plain(plan, last.name)
    if len(plan.nodes) < 2:
        skipped["pod-pod across nodes"] = "the lab has one node: no path across nodes"
    elif not local or not remote:
        skipped["pod-pod across nodes"] = f"{first.name} or {last.name} has no plain pod (pods_per_node)"
    else:
        found["pod-pod across nodes"] = (local[0].netns, remote[0].netns, remote[0].ip)
    target, reason = bench_service(plan)
    if target is None:
        skipped["pod-ClusterIP"] = reason
    elif not local:
        skipped["pod-ClusterIP"] = f"{first.name} has no plain pod to act as client (pods_per_node)"
    else:
        found["pod-ClusterIP"] = (local[0].netns, target.endpoints[0][0], target.cluster_ip)
    if len(plan.nodes) < 2:
        skipped["node-node"] = "the lab has one node: no path across nodes"
    else:
        found["node-node"] = (first.netns, last.netns, last.ip)
    return found, skipped


# ------------------------------------------------------------------ iperf3 in forked children


def _child_setup(parent: int) -> None:
    """In a fresh child: die with the parent, leave Ctrl-C to it, keep libiperf's stderr off the terminal."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
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


# ------------------------------------------------------------------ ping and TCP request/response


def ping_times(client_ns: str, dst: str, count: int) -> list[float]:
    """`count` echo requests 10 ms apart from `client_ns`; the round-trip times in ms."""
    argv = ["ping", "-n", "-c", str(count), "-i", "0.01", "-W", "1", dst]
    res = procs.run(client_ns, argv, check=False, timeout=count * 0.01 + 15)
    times = parse_ping(res.stdout)
    if not times:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise BenchError(f"ping {dst} from {client_ns}: no reply ({detail[-1] if detail else 'no output'})")
    return times


def _rr_serve(listeners: list[socket.socket], stop: threading.Event) -> None:
    """Accept one connection on whichever listener gets it; echo single bytes until EOF."""
    try:
        ready, _, _ = select.select(listeners, [], [], SOCKET_TIMEOUT)
        if not ready:
            return
        conn, _ = ready[0].accept()
        with conn:
            conn.settimeout(SOCKET_TIMEOUT)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not stop.is_set():
                data = conn.recv(1)
                if not data:
                    return
                conn.sendall(data)
    except OSError:
        pass  # the client side reports the failure


def tcp_rr(
    client_ns: str, servers: Sequence[tuple[str, str]], host: str, port: int, listen_port: int, rounds: int
) -> list[float]:
    """1-byte request / 1-byte reply over one TCP_NODELAY connection; each round trip in µs.

    Listening sockets are made inside every server netns, the client socket inside
    `client_ns`, and a thread of this process answers: no process is started.
    """
    listeners: list[socket.socket] = []
    client: socket.socket | None = None
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        for ns, ip in servers:
            with netns.inside(ns):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listeners.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, listen_port))
            s.listen(1)
        if listen_port == 0:
            port = listeners[0].getsockname()[1]
        with netns.inside(client_ns):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        thread = threading.Thread(target=_rr_serve, args=(listeners, stop), daemon=True)
        thread.start()
        client.settimeout(SOCKET_TIMEOUT)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
    finally:
        stop.set()
        if client is not None:
            client.close()
        if thread is not None:
            thread.join(SOCKET_TIMEOUT + 1)
        for s in listeners:
            s.close()


def path_mtu(client_ns: str, dst: str) -> int:
    """The MTU the client sends with towards `dst`: its route's mtu metric, else the egress link's MTU."""
    with contextlib.closing(netns.iproute(client_ns)) as ipr:
        route = ipr.route("get", dst=dst)[0]
        metrics = route.get_attr("RTA_METRICS")
        mtu = metrics.get_attr("RTAX_MTU") if metrics else None
        if mtu:
            return int(mtu)
        link = ipr.link("get", index=route.get_attr("RTA_OIF"))[0]
        return int(link.get_attr("IFLA_MTU"))


# ------------------------------------------------------------------ running a path


def run_path(
    client_ns: str,
    server_ns: str,
    server_ip: str,
    settings: Settings,
    progress: Progress | None = None,
    *,
    service: ServiceTarget | None = None,
) -> dict[str, dict]:
    """Every metric of one path, each measured `settings.repetitions` times.

    With `service`, the far end is a Service: iperf3 and the TCP request/response
    server listen on every endpoint, the client aims at the ClusterIP (server_ns and
    server_ip are then ignored), and UDP and ping are left out (see `bench_service`).
    """
    report = progress or (lambda _msg: None)
    n = settings.repetitions
    if service:
        servers = list(service.endpoints)
        host, fixed_port, listen_port = service.cluster_ip, service.port, service.target_port
    else:
        servers, host, fixed_port, listen_port = [(server_ns, server_ip)], server_ip, None, None
    mtu = path_mtu(client_ns, host)
    iperf_timeout = settings.seconds + settings.omit + 15

    def iperf(options: dict[str, Any]) -> dict:
        port = fixed_port or next(_ports)
        base = {"duration": settings.seconds, "omit": settings.omit}
        return iperf3_test(client_ns, servers, host, port, listen_port or port, {**base, **options}, iperf_timeout)

    values: dict[str, list[float]] = {k: [] for k in METRICS}
    values["mtu"] = [mtu]
    groups: list[tuple[str, Callable[[], None]]] = []

    def tcp(streams: int) -> None:
        fig = tcp_figures(iperf({"protocol": "tcp", "streams": streams}))
        if streams == 1:
            values["tcp_1_gbps"].append(fig["gbps"])
            values["cpu_sender_pct"].append(fig["cpu_sender"])
            values["cpu_receiver_pct"].append(fig["cpu_receiver"])
        else:
            values["tcp_n_gbps"].append(fig["gbps"])

    def udp(payload: int, prefix: str) -> None:
        fig = udp_figures(iperf({"protocol": "udp", "blksize": payload}), payload)
        if prefix == "udp_64":
            values["udp_64_kpps"].append(fig["kpps"])
        else:
            values["udp_large_gbps"].append(fig["gbps"])
        values[f"{prefix}_loss_pct"].append(fig["loss"])

    def ping() -> None:
        times = ping_times(client_ns, host, PING_COUNT_QUICK if settings.quick else PING_COUNT)
        values["ping_p50_ms"].append(percentile(times, 50))
        values["ping_p99_ms"].append(percentile(times, 99))

    def rr() -> None:
        rounds = RR_ROUNDS_QUICK if settings.quick else RR_ROUNDS
        times = tcp_rr(client_ns, servers, host, fixed_port or 0, listen_port or 0, rounds)
        values["tcp_rr_p50_us"].append(percentile(times, 50))
        values["tcp_rr_p99_us"].append(percentile(times, 99))

    large = mtu - IP_UDP_HEADERS
    groups.append(("TCP 1 stream", lambda: tcp(1)))
    groups.append((f"TCP {settings.streams} streams", lambda: tcp(settings.streams)))
    if not service:
        groups.append(("UDP 64 B", lambda: udp(64, "udp_64")))
        groups.append((f"UDP {large} B", lambda: udp(large, "udp_large")))
        groups.append(("ping", ping))
    groups.append(("TCP request/response", rr))
    for name, run in groups:
        for k in range(1, n + 1):
            report(f"{name} {k}/{n}")
            run()
    return {k: metric(k, v) for k, v in values.items() if v}


# ------------------------------------------------------------------ suites


def run_suite(plan: Plan, settings: Settings, progress: Progress | None = None) -> dict:
    """Every path of a running lab; a path that cannot be measured is skipped with the reason."""
    report = progress or (lambda _msg: None)
    found, skipped = paths(plan)
    target, _ = bench_service(plan)
    measured: dict[str, dict] = {}
    for name, (client_ns, server_ns, server_ip) in found.items():
        service = target if name == "pod-ClusterIP" else None
        try:
            measured[name] = run_path(
                client_ns, server_ns, server_ip, settings, lambda msg, p=name: report(f"{p}: {msg}"), service=service
            )
        except (LabError, OSError) as exc:
            skipped[name] = f"failed: {exc}"
    return {
        "name": plan.name,
        "model": plan.model,
        "datapath": plan.datapath,
        "mtu": plan.pod_mtu,
        "paths": measured,
        "skipped": skipped,
    }


_BASELINE_NS = re.compile(r"^ccebench-(\d+)-[ab]$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_baselines() -> list[str]:
    """Baseline namespaces left by a run that was killed outright (SIGKILL/SIGTERM skip `finally`)."""
    stale = []
    for name in netns.list_names():
        m = _BASELINE_NS.match(name)
        if m and (int(m.group(1)) == os.getpid() or not _alive(int(m.group(1)))):
            stale.append(name)
    return stale


@contextlib.contextmanager
def veth_pair(mtu: int = 1500) -> Iterator[tuple[str, str, str]]:
    """Two bare namespaces joined by one veth pair: yields (client netns, server netns, server IP).

    Both namespaces are ours (`ccebench-<pid>-a/-b`) and are always deleted, which
    also removes the veth: nothing is created in the root namespace.
    """
    a, b = f"ccebench-{os.getpid()}-a", f"ccebench-{os.getpid()}-b"
    ip_a, ip_b, prefix = BASELINE_NET
    made: list[str] = []
    for name in _stale_baselines():
        netns.delete(name)
    try:
        for name in (a, b):
            netns.create(name)
            made.append(name)
        with contextlib.closing(netns.iproute(a)) as ipr:
            ipr.link("add", ifname="eth0", kind="veth", mtu=mtu, peer={"ifname": "eth0", "net_ns_fd": netns.path(b)})
        for name, ip in ((a, ip_a), (b, ip_b)):
            with contextlib.closing(netns.iproute(name)) as ipr:
                eth0 = netns.link_index(ipr, "eth0")
                ipr.link("set", index=eth0, mtu=mtu)
                ipr.addr("add", index=eth0, address=ip, prefixlen=prefix)
                ipr.link("set", index=eth0, state="up")
                ipr.link("set", index=netns.link_index(ipr, "lo"), state="up")
        yield a, b, ip_b
    finally:
        for name in made:
            netns.delete(name)


def run_baseline(settings: Settings, mtu: int = 1500, progress: Progress | None = None) -> dict:
    """The machine's ceiling: the same metrics over one veth pair between two bare namespaces."""
    report = progress or (lambda _msg: None)
    with veth_pair(mtu) as (client_ns, server_ns, server_ip):
        metrics = run_path(client_ns, server_ns, server_ip, settings, lambda msg: report(f"veth pair: {msg}"))
    return {
        "name": "baseline",
        "model": "baseline",
        "datapath": "veth",
        "mtu": mtu,
        "paths": {"veth pair": metrics},
        "skipped": {},
    }


def _first_line(argv: list[str]) -> str | None:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (res.stdout or res.stderr).strip().splitlines()
    return lines[0].strip() if res.returncode == 0 and lines else None


def environment() -> dict[str, Any]:
    """What produced the figures: kernel, CPUs, Python, OVS and iperf3 versions."""
    try:
        import iperf3

        iperf = iperf3.Client().iperf_version
    except Exception:  # no binding or no libiperf: fall back to the command
        iperf = _first_line(["iperf3", "--version"]) or "not installed"
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "ovs": _first_line(["ovs-vswitchd", "--version"]) or "not installed",
        "iperf3": iperf,
    }
