"""Running the measurements: one path, every path of a lab, and the bare veth-pair baseline.

Every figure is measured `settings.repetitions` times and kept with min/median/max,
because one run on a shared 2-core machine says little. The numbers only mean
something next to the datapath that produced them (DESIGN.md section 3: 20x apart),
so a lab's result names it, and a bare veth pair (`run_baseline`) gives the ceiling
of this machine. Each TCP test also records the machine's CPU time per GB moved
(`cpu`: its idle window of the same length just before doubles a TCP test's time)
and the sender's retransmits.

The baseline's two namespaces are journalled like a lab's (`ccebench-<pid>`, no
plan: never listed as a lab) and always undone; a run killed outright leaves its
journal, which the next baseline undoes once that PID is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

from lab.bench import cpu, iperf, latency
from lab.bench.metrics import METRICS
from lab.bench.paths import ServiceTarget, bench_service, only, paths
from lab.bench.results import BASELINE_MODEL, BASELINE_PATH, LabResult, Metric
from lab.bench.settings import Settings
from lab.bench.stats import percentile
from lab.errors import LabError
from lab.kernel import journal, links, netns, teardown
from lab.kernel.journal import Journal
from lab.plan.model import Plan
from lab.progress import Progress, quiet

IP_UDP_HEADERS = 28  # IPv4 (20) + UDP (8): the largest unfragmented UDP payload is MTU - 28
BASELINE_NET = ("10.255.255.1", "10.255.255.2", 30)  # lives only inside the two baseline namespaces
BASELINE_PREFIX = journal.NON_LAB_PREFIX  # journal ccebench-<pid>, namespaces ccebench-<pid>-a/-b
PING_COUNT, PING_COUNT_QUICK = 100, 20
RR_ROUNDS, RR_ROUNDS_QUICK = 2000, 200


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


def run_path(
    client_ns: str,
    server_ns: str,
    server_ip: str,
    settings: Settings,
    progress: Progress = quiet,
    *,
    service: ServiceTarget | None = None,
) -> dict[str, Metric]:
    """Every metric of one path, each measured `settings.repetitions` times.

    With `service`, the far end is a Service: iperf3 and the TCP request/response
    server listen on every endpoint, the client aims at the ClusterIP (server_ns and
    server_ip are then ignored), and UDP and ping are left out (see `bench_service`).
    """
    n = settings.repetitions
    if service:
        servers = list(service.endpoints)
        host, fixed_port, listen_port = service.cluster_ip, service.port, service.target_port
    else:
        servers, host, fixed_port, listen_port = [(server_ns, server_ip)], server_ip, None, None
    mtu = path_mtu(client_ns, host)
    iperf_timeout = settings.seconds + settings.omit + 15

    def run_iperf(options: dict[str, Any]) -> dict:
        port = fixed_port or next(iperf.ports)
        base = {"duration": settings.seconds, "omit": settings.omit}
        return iperf.iperf3_test(
            client_ns, servers, host, port, listen_port or port, {**base, **options}, iperf_timeout
        )

    hz = cpu.clock_ticks()
    values: dict[str, list[float]] = {k: [] for k in METRICS}
    values["mtu"] = [mtu]

    def tcp(streams: int) -> None:
        result, busy, idle = cpu.measured(
            lambda: run_iperf({"protocol": "tcp", "streams": streams}), settings.seconds + settings.omit
        )
        fig = iperf.tcp_figures(result)
        prefix = "tcp_1" if streams == 1 else "tcp_n"
        values[f"{prefix}_gbps"].append(fig["gbps"])
        per_gb = cpu.per_gigabyte(cpu.cpu_seconds(busy, idle, hz), fig["bytes"])
        if per_gb is not None:
            values[f"{prefix}_cpu_s_per_gb"].append(per_gb)
        if "retransmits" in fig:
            values[f"{prefix}_retransmits"].append(fig["retransmits"])
        if streams == 1:
            values["cpu_sender_pct"].append(fig["cpu_sender"])
            values["cpu_receiver_pct"].append(fig["cpu_receiver"])

    def udp(payload: int, prefix: str) -> None:
        fig = iperf.udp_figures(run_iperf({"protocol": "udp", "blksize": payload}), payload)
        if prefix == "udp_64":
            values["udp_64_kpps"].append(fig["kpps"])
        else:
            values["udp_large_gbps"].append(fig["gbps"])
        values[f"{prefix}_loss_pct"].append(fig["loss"])

    def ping() -> None:
        times = latency.ping_times(client_ns, host, PING_COUNT_QUICK if settings.quick else PING_COUNT)
        values["ping_p50_ms"].append(percentile(times, 50))
        values["ping_p99_ms"].append(percentile(times, 99))

    def rr() -> None:
        rounds = RR_ROUNDS_QUICK if settings.quick else RR_ROUNDS
        times = latency.tcp_rr(client_ns, servers, host, fixed_port or 0, listen_port or 0, rounds)
        values["tcp_rr_p50_us"].append(percentile(times, 50))
        values["tcp_rr_p99_us"].append(percentile(times, 99))

    large = mtu - IP_UDP_HEADERS
    groups: list[tuple[str, Callable[[], None]]] = [
        ("TCP 1 stream", lambda: tcp(1)),
        (f"TCP {settings.streams} streams", lambda: tcp(settings.streams)),
    ]
    if not service:
        groups.append(("UDP 64 B", lambda: udp(64, "udp_64")))
        groups.append((f"UDP {large} B", lambda: udp(large, "udp_large")))
        groups.append(("ping", ping))
    groups.append(("TCP request/response", rr))
    for name, run in groups:
        for k in range(1, n + 1):
            progress(f"{name} {k}/{n}")
            run()
    return {k: Metric.of(k, v) for k, v in values.items() if v}


def run_suite(
    plan: Plan, settings: Settings, progress: Progress = quiet, only_paths: Collection[str] | None = None
) -> LabResult:
    """Every path of a running lab (or those in `only_paths`); a path not measured is skipped with the reason."""
    found, skipped = only(*paths(plan), only_paths)
    target, _ = bench_service(plan)
    measured: dict[str, dict[str, Metric]] = {}
    for name, (client_ns, server_ns, server_ip) in found.items():
        service = target if name == "pod-ClusterIP" else None
        try:
            measured[name] = run_path(
                client_ns, server_ns, server_ip, settings, lambda msg, p=name: progress(f"{p}: {msg}"), service=service
            )
        except (LabError, OSError) as exc:
            skipped[name] = f"failed: {exc}"
    return LabResult(
        name=plan.name, model=plan.model, datapath=plan.datapath, mtu=plan.pod_mtu, paths=measured, skipped=skipped
    )


# ------------------------------------------------------------------ the baseline

_BASELINE_RUN = re.compile(rf"^{BASELINE_PREFIX}(\d+)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_baselines() -> list[str]:
    """Journals of baseline runs that were killed outright (SIGKILL/SIGTERM skip `finally`).

    `ccebench-<pid>` whose PID is gone, or is ours (a dead run's PID we now hold).
    """
    root = journal.STATE_ROOT
    if not root.is_dir():
        return []
    stale = []
    for entry in sorted(root.iterdir()):
        m = _BASELINE_RUN.match(entry.name)
        if m and entry.is_dir() and (int(m.group(1)) == os.getpid() or not _alive(int(m.group(1)))):
            stale.append(entry.name)
    return stale


def sweep_stale_baselines() -> int:
    """Undo every stale baseline journal (its namespaces, then its state dir); how many there were."""
    stale = stale_baselines()
    for name in stale:
        teardown.undo(Journal(name))
    return len(stale)


@contextlib.contextmanager
def veth_pair(mtu: int = 1500) -> Iterator[tuple[str, str, str]]:
    """Two bare namespaces joined by one veth pair: yields (client netns, server netns, server IP).

    Both namespaces are journalled before they are made and always undone, which also
    removes the veth: nothing is created in the root namespace.
    """
    sweep_stale_baselines()
    run = Journal(f"{BASELINE_PREFIX}{os.getpid()}")
    a, b = f"{run.dir.name}-a", f"{run.dir.name}-b"
    ip_a, ip_b, prefix = BASELINE_NET
    run.start(None)  # no plan: a baseline is not a lab
    try:
        for name in (a, b):
            run.add(netns=name)
            netns.create(name)
        with contextlib.closing(netns.iproute(a)) as ipr:
            links.veth(ipr, "eth0", b, "eth0", mtu)
        for name, ip in ((a, ip_a), (b, ip_b)):
            links.configure(name, "eth0", ip, prefix, mtu=mtu)
        yield a, b, ip_b
    finally:
        teardown.undo(run)


def run_baseline(settings: Settings, mtu: int = 1500, progress: Progress = quiet) -> LabResult:
    """The machine's ceiling: the same metrics over one veth pair between two bare namespaces."""
    with veth_pair(mtu) as (client_ns, server_ns, server_ip):
        metrics = run_path(client_ns, server_ns, server_ip, settings, lambda msg: progress(f"{BASELINE_PATH}: {msg}"))
    return LabResult(
        name=BASELINE_MODEL, model=BASELINE_MODEL, datapath="veth", mtu=mtu, paths={BASELINE_PATH: metrics}
    )
