"""lab.bench's pure parts: statistics, the metric registry, /proc and iperf3 result parsing, a plan's paths.

Expected values are written out by hand (or computed the textbook way, or by numpy), never with lab.bench's helpers.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy
import pytest

from lab.bench import suite
from lab.bench.iperf import listening, tcp_figures, udp_figures
from lab.bench.metrics import METRICS, SUMMARY
from lab.bench.paths import LEFT_OUT, bench_service, only, paths
from lab.bench.results import Metric
from lab.bench.settings import Settings
from lab.bench.stats import percentile, summarize
from lab.kernel import journal
from lab.plan import make_plan
from lab.plan.model import Plan
from lab.spec import build_spec


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 0, 5.0),
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([3.0, 1.0, 2.0], 50, 2.0),  # unsorted input
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 25, 1.75),  # rank 0.75 between 1 and 2
        (list(range(1, 101)), 99, 99.01),  # rank 98.01 of 0..99
        (list(range(1, 101)), 50, 50.5),
        ([10.0, 10.0, 10.0, 1000.0], 99, 970.3),  # rank 2.97: one outlier dominates p99
        ([0.1] * 20 + [7.0], 99, 5.62),  # rank 19.8
    ],
)
def test_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("p", [0, 1, 25, 50, 75, 90, 99, 100])
def test_percentile_is_numpys_linear_default(seed: int, p: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(0, 1) for _ in range(rng.randint(1, 300))]
    assert percentile(values, p) == pytest.approx(float(numpy.percentile(values, p)), rel=1e-12)


@pytest.mark.parametrize(("values", "p"), [([], 50), ([1.0], -1), ([1.0], 100.5), ([1.0, 2.0], 99.9)])
def test_percentile_refuses(values: list[float], p: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, p)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([2.0], {"min": 2.0, "median": 2.0, "max": 2.0}),
        ([3.0, 1.0, 2.0], {"min": 1.0, "median": 2.0, "max": 3.0}),
        ([4.0, 1.0, 3.0, 2.0], {"min": 1.0, "median": 2.5, "max": 4.0}),
        ([0.0, 0.0, 0.0], {"min": 0.0, "median": 0.0, "max": 0.0}),  # loss 0 % is a value, not missing
        ([1500], {"min": 1500, "median": 1500, "max": 1500}),
    ],
)
def test_summarize(values: list[float], expected: dict[str, float]) -> None:
    assert summarize(values) == expected


def test_summarize_refuses_nothing() -> None:
    with pytest.raises(ValueError):
        summarize([])


def test_metric_has_the_documented_form() -> None:
    m = Metric.of("tcp_1_gbps", [3.0, 1.0, 2.0])
    assert m.model_dump() == {
        "unit": "Gbit/s",
        "better": "higher",
        "values": [3.0, 1.0, 2.0],
        "min": 1.0,
        "median": 2.0,
        "max": 3.0,
    }
    assert Metric.of("ping_p99_ms", [0.1]).better == "lower"
    assert Metric.of("tcp_rr_p50_us", [20.0]).unit == "\u00b5s"


def test_metric_keys_and_directions() -> None:
    assert list(METRICS) == [
        "tcp_1_gbps",
        "tcp_n_gbps",
        "tcp_1_cpu_s_per_gb",
        "tcp_n_cpu_s_per_gb",
        "tcp_1_retransmits",
        "tcp_n_retransmits",
        "cpu_sender_pct",
        "cpu_receiver_pct",
        "udp_64_kpps",
        "udp_64_loss_pct",
        "udp_large_gbps",
        "udp_large_loss_pct",
        "ping_p50_ms",
        "ping_p99_ms",
        "tcp_rr_p50_us",
        "tcp_rr_p99_us",
        "mtu",
    ]
    assert all(m.better in ("higher", "lower") for m in METRICS.values())
    assert [METRICS[k].unit for k in ("tcp_1_gbps", "udp_64_kpps", "ping_p50_ms", "mtu")] == [
        "Gbit/s",
        "kpps",
        "ms",
        "bytes",
    ]
    assert set(SUMMARY) <= set(METRICS)
    assert METRICS["tcp_n_gbps"].for_streams(4).short == "TCP 4 streams"


PING_OK = """PING 10.255.255.2 (10.255.255.2) 56(84) bytes of data.
64 bytes from 10.255.255.2: icmp_seq=1 ttl=64 time=0.045 ms
64 bytes from 10.255.255.2: icmp_seq=2 ttl=64 time=0.031 ms
64 bytes from 10.255.255.2: icmp_seq=3 ttl=64 time=1.20 ms

--- 10.255.255.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 21ms
rtt min/avg/max/mdev = 0.031/0.425/1.200/0.548 ms
"""
PING_LOSS = """PING 172.16.0.18 (172.16.0.18) 56(84) bytes of data.
64 bytes from 172.16.0.18: icmp_seq=2 ttl=62 time=12 ms
From 192.168.0.2 icmp_seq=3 Destination Host Unreachable

--- 172.16.0.18 ping statistics ---
3 packets transmitted, 1 received, +1 errors, 66.6667% packet loss, time 2003ms
"""
PING_NONE = """PING 10.247.0.10 (10.247.0.10) 56(84) bytes of data.

--- 10.247.0.10 ping statistics ---
20 packets transmitted, 0 received, 100% packet loss, time 190ms
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (PING_OK, [0.045, 0.031, 1.2]),
        (PING_LOSS, [12.0]),  # integer times, error lines skipped
        (PING_NONE, []),  # "time 190ms" in the summary is not a round trip
        ("64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time<1 ms\n", [1.0]),  # old iputils' floor
        ("64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.050 ms (DUP!)\n", [0.05]),
        ("", []),
    ],
)
def test_the_shared_ping_parser_reads_what_the_bench_needs(output: str, expected: list[float]) -> None:
    """The benchmark reads ping through lab.observe.ping: the round trips of every output it meets."""
    from lab.observe.ping import parse

    assert parse(output).times_ms == pytest.approx(expected)


@pytest.mark.parametrize(
    "output",
    [
        "PING 172.16.0.18 (172.16.0.18) 1423(1451) bytes of data.\nping: local error: message too long, mtu=1450\n",
        "PING 172.16.0.18 (172.16.0.18) 1423(1451) bytes of data.\nping: sendmsg: Message too long\n",
    ],
    ids=["iputils-20221126-bookworm", "iputils-20240905-trixie"],
)
def test_a_df_packet_the_kernel_refuses_is_a_local_error_in_either_iputils(output: str) -> None:
    """The MTU row tells a local refusal from a black hole by this reason, whichever ping wrote it."""
    from lab.observe import verdicts
    from lab.observe.ping import parse

    result = parse(output)
    assert not result.ok and "message too long" in result.reason.lower()
    assert verdicts.mtu(True, False, result.reason, {"p": 1450}, 1450)[0] == "1450"


PROC_TCP = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 020FFF0A:1451 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
    "   1: 020FFF0A:14B5 010FFF0A:A3F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n"
)
PROC_TCP6 = (
    "  sl  local_address                         remote_address                        st tx_queue rx_queue\n"
    "   0: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 0A 00000000:00000000\n"
)


@pytest.mark.parametrize(
    ("text", "port", "expected"),
    [
        (PROC_TCP, 5201, True),  # 0x1451 listening
        (PROC_TCP, 5301, False),  # 0x14B5 is an established connection, not a listener
        (PROC_TCP, 20817, False),  # 0x5151: the port must match whole, not as a substring
        (PROC_TCP6, 5353, True),  # 0x14E9 on [::]
        (PROC_TCP.splitlines()[0], 5201, False),  # header only
        ("", 5201, False),
    ],
)
def test_listening(text: str, port: int, expected: bool) -> None:
    assert listening(text, port) is expected


TCP_RESULT = {
    "start": {"test_start": {"protocol": "TCP", "num_streams": 1}},
    "intervals": [  # the first second omitted: the end sums leave it out, the bytes moved do not
        {"sum": {"bytes": 1_000_000_000, "omitted": True}},
        {"sum": {"bytes": 2_000_000_000, "omitted": False}},
    ],
    "end": {
        "sum_sent": {"bits_per_second": 17.5e9, "retransmits": 7},
        "sum_received": {"bits_per_second": 17.25e9, "bytes": 4_000_000_000},
        "cpu_utilization_percent": {"host_total": 87.1, "remote_total": 39.8, "host_user": 0.5},
    },
}
UDP_RESULT = {
    "end": {
        "sum": {"bytes": 6400, "seconds": 2.0, "bits_per_second": 25600, "lost_percent": 5.0, "sender": True},
        "sum_sent": {"bytes": 6400, "seconds": 2.0, "bits_per_second": 25600, "lost_percent": 0},
        "sum_received": {"bytes": 6400000, "seconds": 2.0, "bits_per_second": 25.6e6, "lost_percent": 1.5},
    }
}


def test_tcp_figures_take_the_receiver_side_and_both_cpus() -> None:
    assert tcp_figures(TCP_RESULT) == pytest.approx(
        {"gbps": 17.25, "cpu_sender": 87.1, "cpu_receiver": 39.8, "bytes": 5e9, "retransmits": 7}
    )
    no_tcp_info = json.loads(json.dumps(TCP_RESULT))
    del no_tcp_info["end"]["sum_sent"]["retransmits"], no_tcp_info["intervals"]
    assert tcp_figures(no_tcp_info) == pytest.approx(
        {"gbps": 17.25, "cpu_sender": 87.1, "cpu_receiver": 39.8, "bytes": 4e9}
    )


@pytest.mark.parametrize(
    ("result", "payload", "expected"),
    [
        (UDP_RESULT, 64, {"kpps": 50.0, "gbps": 0.0256, "loss": 1.5}),  # 100000 datagrams in 2 s
        (UDP_RESULT, 1472, {"kpps": 6400000 / 1472 / 2 / 1000, "gbps": 0.0256, "loss": 1.5}),
        # an older libiperf without sum_received: fall back to its (receiver-informed) sum
        ({"end": {"sum": UDP_RESULT["end"]["sum"]}}, 64, {"kpps": 0.05, "gbps": 25.6e-6, "loss": 5.0}),
    ],
)
def test_udp_figures(result: dict, payload: int, expected: dict[str, float]) -> None:
    assert udp_figures(result, payload) == pytest.approx(expected)


def test_settings_quick_mode() -> None:
    quick = Settings.quick_mode()
    assert (quick.duration, quick.repetitions, quick.streams, quick.quick) == (1, 1, 2, True)
    assert (quick.seconds, quick.omit) == (1, 0)
    default = Settings()
    assert (default.duration, default.repetitions, default.streams, default.quick) == (5.0, 3, 4, False)
    assert (default.seconds, default.omit) == (5, 1)
    assert Settings(duration=0.2).seconds == 1  # libiperf takes whole seconds, at least one


# ------------------------------------------------------------------ paths of a plan (pure)

BENCH_SVC = {"name": "bench", "type": "ClusterIP", "selector": {"app": "web"}, "port": 5201, "targetPort": 5201}


def _plan(**overrides: object) -> Plan:
    data = {
        "name": "t",
        "model": "tunnel",
        "nodes": 3,
        "pods_per_node": 2,
        "workloads": [{"name": "web", "replicas": 3}],
    }
    return make_plan(build_spec({**data, **overrides}))


def test_paths_of_a_three_node_lab_with_a_bench_service() -> None:
    plan = _plan(services=[{**BENCH_SVC, "sessionAffinity": "ClientIP"}])
    found, skipped = paths(plan)
    assert skipped == {}
    assert found["pod-pod same node"] == ("t-pod-1-1", "t-pod-1-2", plan.pods_on("node-1")[1].ip)
    last = next(p for p in plan.pods_on("node-3") if p.workload == "")
    assert found["pod-pod across nodes"] == ("t-pod-1-1", "t-pod-3-1", last.ip)
    assert found["node-node"] == ("t-node-1", "t-node-3", plan.nodes[2].ip)
    svc = next(s for s in plan.services if s.name == "bench")
    client, server, ip = found["pod-ClusterIP"]
    assert (client, ip) == ("t-pod-1-1", svc.cluster_ip)
    first = min(svc.endpoints, key=lambda e: f"{e.ip}:{e.port}")  # kube-proxy's order: by "ip:port" text
    assert server == f"t-{first.pod}"  # the first endpoint; run_suite serves on all of them
    target, reason = bench_service(plan)
    assert target is not None and reason == ""
    assert (target.port, target.target_port) == (5201, 5201)
    web = sorted((p.netns, p.ip) for p in plan.pods if p.workload == "web")
    assert sorted(target.endpoints) == web and len(web) == 3  # iperf3 serves on every endpoint


@pytest.mark.parametrize(
    ("services", "reason"),
    [
        ([], "no Service with targetPort 5201 (iperf3); add one to the topology"),
        ([{**BENCH_SVC, "targetPort": 8080, "sessionAffinity": "ClientIP"}], "no Service with targetPort 5201"),
        ([{**BENCH_SVC, "protocol": "UDP", "sessionAffinity": "ClientIP"}], "no Service with targetPort 5201"),
        ([BENCH_SVC], "spreads iperf3's connections over 3 endpoints: give it sessionAffinity: ClientIP"),
    ],
)
def test_pod_clusterip_skipped_with_the_reason(services: list[dict], reason: str) -> None:
    found, skipped = paths(_plan(services=services))
    assert "pod-ClusterIP" not in found
    assert reason in skipped["pod-ClusterIP"]
    assert set(found) == {"pod-pod same node", "pod-pod across nodes", "node-node"}


def test_a_single_endpoint_needs_no_affinity() -> None:
    plan = _plan(workloads=[{"name": "web", "replicas": 1}], services=[BENCH_SVC])
    found, _ = paths(plan)
    web = next(p for p in plan.pods if p.workload == "web")
    assert found["pod-ClusterIP"][1] == web.netns


def test_a_bench_service_without_endpoints_is_skipped() -> None:
    plan = _plan(workloads=[{"name": "web", "replicas": 0}], services=[{**BENCH_SVC, "sessionAffinity": "ClientIP"}])
    _, skipped = paths(plan)
    assert skipped["pod-ClusterIP"] == "Service bench (targetPort 5201) has no endpoints"


def test_one_node_skips_the_paths_across_nodes() -> None:
    found, skipped = paths(_plan(nodes=1, model="vpc"))
    assert set(found) == {"pod-pod same node"}
    assert skipped["pod-pod across nodes"] == "the lab has one node: no path across nodes"
    assert skipped["node-node"] == "the lab has one node: no path across nodes"
    assert "pod-ClusterIP" in skipped


def test_one_plain_pod_per_node_skips_the_same_node_path() -> None:
    plan = _plan(pods_per_node=1)
    found, skipped = paths(plan)
    assert skipped == {
        "pod-pod same node": "node-1 has fewer than two plain pods (pods_per_node)",
        "pod-ClusterIP": "no Service with targetPort 5201 (iperf3); add one to the topology",
    }
    assert found["pod-pod across nodes"] == ("t-pod-1-1", "t-pod-3-1", plan.pods_on("node-3")[0].ip)


def test_no_plain_pods_leaves_only_node_node() -> None:
    plan = _plan(pods_per_node=0, services=[{**BENCH_SVC, "sessionAffinity": "ClientIP"}])
    found, skipped = paths(plan)
    assert found == {"node-node": ("t-node-1", "t-node-3", plan.nodes[2].ip)}
    assert skipped["pod-ClusterIP"] == "node-1 has no plain pod to act as client (pods_per_node)"
    assert skipped["pod-pod across nodes"] == "node-1 or node-3 has no plain pod (pods_per_node)"


def test_only_the_chosen_paths_are_measured_and_the_rest_are_left_out_with_the_reason() -> None:
    found, skipped = paths(_plan(pods_per_node=1))  # pod-pod same node and pod-ClusterIP cannot be measured
    kept, why = only(found, skipped, ["pod-pod across nodes", "pod-pod same node"])
    assert kept == {"pod-pod across nodes": found["pod-pod across nodes"]}
    assert why == {**skipped, "node-node": LEFT_OUT}  # a path that cannot be measured keeps its own reason
    assert only(found, skipped, None) == (found, skipped)
    assert only(found, skipped, []) == ({}, {**skipped, **dict.fromkeys(found, LEFT_OUT)})


DEAD = 4_194_304 + 7  # above the kernel's largest pid_max: no such process can exist


def _journal(root: Path, name: str, *entries: dict) -> None:
    (root / name).mkdir()
    (root / name / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_only_baseline_journals_of_dead_runs_count_as_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A run killed outright leaves journal ccebench-<pid>; a live run's, a lab's and odd names stay."""
    monkeypatch.setattr(journal, "STATE_ROOT", tmp_path)
    names = [
        f"ccebench-{DEAD}",
        f"ccebench-{os.getpid()}",  # our own PID: a leftover of a dead run that held it
        "ccebench-1",  # PID 1 is alive: another run's
        "ccebench",  # a lab named ccebench
        f"ccebench-{DEAD}-a",
        "tunnel",
    ]
    for name in names:
        _journal(tmp_path, name)
    assert suite.stale_baselines() == sorted([f"ccebench-{DEAD}", f"ccebench-{os.getpid()}"])


def test_stale_baselines_are_undone_through_their_journal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(journal, "STATE_ROOT", tmp_path)
    gone = f"ccebench-{DEAD}-a"  # no such namespace: undo skips it, as `down` does
    _journal(tmp_path, f"ccebench-{DEAD}", {"netns": gone}, {"netns": f"ccebench-{DEAD}-b"})
    _journal(tmp_path, "ccebench-1", {"netns": "ccebench-1-a"})
    _journal(tmp_path, "vpc", {"netns": "vpc-node-1"})
    assert suite.sweep_stale_baselines() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccebench-1", "vpc"]
    assert suite.sweep_stale_baselines() == 0


def test_no_state_dir_means_nothing_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(journal, "STATE_ROOT", tmp_path / "absent")
    assert suite.stale_baselines() == []
