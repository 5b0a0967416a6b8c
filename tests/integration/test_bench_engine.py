"""lab.bench on real namespaces: the veth baseline, Ctrl-C in the middle of a test, a lab's paths.

Every test must leave no `ccebench-` namespace, no baseline journal and no child
process behind (the conftest fixture also checks the root namespace is unchanged).
Labs here are named `ccebench`: other test files on this kernel use other names.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest

from lab.bench import suite
from lab.bench.metrics import METRICS
from lab.bench.results import Metric
from lab.bench.settings import Settings
from lab.kernel import journal, netns, procs
from lab.kernel.journal import Journal
from lab.observe import status

LOSS = {"udp_64_loss_pct", "udp_large_loss_pct"}  # 0 % loss is a fine result
# A TCP Service translates no UDP and a ClusterIP answers no ICMP.
THROUGH_SERVICE_ABSENT = {
    "udp_64_kpps",
    "udp_64_loss_pct",
    "udp_large_gbps",
    "udp_large_loss_pct",
    "ping_p50_ms",
    "ping_p99_ms",
}
CPU = {"cpu_sender_pct", "cpu_receiver_pct"}  # can round to 0 when the sender only calls sendfile()
# no retransmit is a fine result; CPU per GB is 0 when the idle window happened to be busier than the test
CPU |= {"tcp_1_retransmits", "tcp_n_retransmits", "tcp_1_cpu_s_per_gb", "tcp_n_cpu_s_per_gb"}


def _ccebench_namespaces() -> list[str]:
    return [n for n in netns.list_names() if n.startswith("ccebench-")]


def _baseline_journals() -> list[str]:
    root = journal.STATE_ROOT
    return sorted(p.name for p in root.iterdir() if p.name.startswith("ccebench-")) if root.is_dir() else []


def _our_children() -> list[int]:
    """PIDs whose parent is this process (multiprocessing may not know a child it lost)."""
    me, found = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(int(pid))
    return found


@pytest.fixture(autouse=True)
def nothing_left_behind():
    assert not _ccebench_namespaces(), "a ccebench- namespace exists before the test"
    assert not _baseline_journals(), "a baseline journal exists before the test"
    yield
    assert not _ccebench_namespaces()
    assert not _baseline_journals()
    assert multiprocessing.active_children() == []
    assert _our_children() == []


def _check_metrics(metrics: dict[str, Metric], repetitions: int, absent: set[str] = frozenset()) -> None:
    assert set(metrics) == set(METRICS) - absent
    for key, m in metrics.items():
        assert (m.unit, m.better) == (METRICS[key].unit, METRICS[key].better)
        assert len(m.values) == (1 if key == "mtu" else repetitions), key
        assert m.min <= m.median <= m.max, key
        if key in LOSS:
            assert all(0 <= v <= 100 for v in m.values), (key, m)
        elif key in CPU:
            assert all(v >= 0 for v in m.values), (key, m)
        else:
            assert all(v > 0 for v in m.values), (key, m)


def test_baseline_quick_measures_every_metric() -> None:
    settings = Settings.quick_mode()
    seen: list[str] = []
    result = suite.run_baseline(settings, progress=seen.append)
    assert result.model_dump(exclude={"paths"}) == {
        "name": "baseline",
        "model": "baseline",
        "datapath": "veth",
        "mtu": 1500,
        "skipped": {},
    }
    assert list(result.paths) == ["veth pair"]
    metrics = result.paths["veth pair"]
    _check_metrics(metrics, settings.repetitions)
    assert metrics["mtu"].values == [1500]
    assert metrics["tcp_1_gbps"].median > 0.1  # a veth pair does Gbit/s, not Mbit/s
    assert seen == [
        "veth pair: TCP 1 stream 1/1",
        "veth pair: TCP 2 streams 1/1",
        "veth pair: UDP 64 B 1/1",
        "veth pair: UDP 1472 B 1/1",
        "veth pair: ping 1/1",
        "veth pair: TCP request/response 1/1",
    ]


def test_baseline_mtu_sets_the_large_udp_payload() -> None:
    settings = Settings(duration=1, repetitions=2, streams=2, quick=True)
    seen: list[str] = []
    result = suite.run_baseline(settings, mtu=1450, progress=seen.append)
    metrics = result.paths["veth pair"]
    _check_metrics(metrics, 2)
    assert result.mtu == 1450 and metrics["mtu"].values == [1450]
    assert "veth pair: UDP 1422 B 2/2" in seen


def test_the_veth_pair_is_journalled_and_no_lab() -> None:
    """While the pair is up its journal names both namespaces; it has no plan, so it is not a lab."""
    name = f"ccebench-{os.getpid()}"
    with suite.veth_pair(1500) as (a, b, ip):
        assert (a, b, ip) == (f"{name}-a", f"{name}-b", "10.255.255.2")
        assert [e["netns"] for e in Journal(name).entries() if "netns" in e] == [a, b]
        assert Journal(name).plan() is None and name not in journal.list_labs()
        assert sorted(_ccebench_namespaces()) == [a, b]
        assert procs.run(a, ["ping", "-c", "1", "-W", "1", ip], check=False).returncode == 0
        mtu = procs.run(b, ["cat", "/sys/class/net/eth0/mtu"]).stdout.strip()
        assert mtu == "1500"


def test_a_killed_runs_baseline_is_undone_by_the_next() -> None:
    """SIGKILL skips `finally`: the journal of a PID that is gone is undone when the next pair is made."""
    dead = 4_194_304 + 7  # above the kernel's largest pid_max: no such process can exist
    stale = Journal(f"ccebench-{dead}")
    stale.start(None)
    try:
        for side in ("a", "b"):
            stale.add(netns=f"ccebench-{dead}-{side}")
            netns.create(f"ccebench-{dead}-{side}")
        assert _baseline_journals() == [f"ccebench-{dead}"]
        with suite.veth_pair() as (a, b, _):
            assert sorted(_ccebench_namespaces()) == [a, b]
            assert _baseline_journals() == [f"ccebench-{os.getpid()}"]
    finally:  # should the sweep fail, leave nothing
        for side in ("a", "b"):
            netns.delete(f"ccebench-{dead}-{side}")
        stale.remove()


def test_ctrl_c_in_the_middle_of_an_iperf3_test_leaves_nothing() -> None:
    """SIGINT to our main thread while a 5 s iperf3 test runs: namespaces and children are gone after."""
    main = threading.main_thread().ident
    assert main is not None
    started = threading.Event()

    def on_progress(msg: str) -> None:
        if not started.is_set():
            started.set()
            timer.start()

    timer = threading.Timer(1.5, signal.pthread_kill, args=(main, signal.SIGINT))
    try:
        with pytest.raises(KeyboardInterrupt):
            suite.run_baseline(Settings(duration=5, repetitions=1), progress=on_progress)
    finally:
        timer.cancel()
    assert started.is_set()


def test_suite_on_a_two_node_lab(lab) -> None:
    """Every path of a small routed lab; through the Service only TCP is measured."""
    name = lab(
        name="ccebench",
        model="vpc",
        nodes=2,
        pods_per_node=2,
        workloads=[{"name": "web", "replicas": 2}],
        services=[
            {
                "name": "bench",
                "type": "ClusterIP",
                "selector": {"app": "web"},
                "port": 5201,
                "targetPort": 5201,
                "sessionAffinity": "ClientIP",
            }
        ],
    )
    plan = status.load_plan(name)
    settings = Settings.quick_mode()
    result = suite.run_suite(plan, settings)
    assert (result.name, result.model, result.datapath, result.mtu) == ("ccebench", "vpc", "routed", 1500)
    assert result.skipped == {}
    assert list(result.paths) == ["pod-pod same node", "pod-pod across nodes", "pod-ClusterIP", "node-node"]
    for path, metrics in result.paths.items():
        _check_metrics(metrics, settings.repetitions, THROUGH_SERVICE_ABSENT if path == "pod-ClusterIP" else set())


def test_a_broken_path_is_skipped_with_the_reason(lab) -> None:
    """A pod whose address was removed: its paths fail fast and say why; the others are still measured."""
    name = lab(name="ccebench", model="vpc", nodes=2, pods_per_node=2)
    plan = status.load_plan(name)
    victim = plan.pods_on("node-2")[0]
    procs.run(victim.netns, ["ip", "addr", "flush", "dev", "eth0"])
    result = suite.run_suite(plan, Settings.quick_mode())
    assert set(result.paths) == {"pod-pod same node", "node-node"}
    assert result.skipped["pod-pod across nodes"].startswith("failed: ")
    assert "no Service with targetPort 5201" in result.skipped["pod-ClusterIP"]
