"""The one registry of what a performance run measures: key -> unit, direction, title, column header.

The engine fills metrics by these keys, results.json names them, report.md and the
charts title them, and the CLI table heads its columns with them. `{streams}` in a
title or header is the run's number of parallel TCP streams.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is named and judged."""

    title: str  # a chart's title and a report section's heading
    short: str  # a table column header
    unit: str
    better: Better

    def for_streams(self, streams: int | str) -> MetricInfo:
        """The title and header with the run's number of parallel TCP streams filled in."""
        return replace(self, title=self.title.format(streams=streams), short=self.short.format(streams=streams))


# The order is the report's.
METRICS: dict[str, MetricInfo] = {
    "tcp_1_gbps": MetricInfo("TCP throughput, 1 stream", "TCP 1 stream", "Gbit/s", "higher"),
    "tcp_n_gbps": MetricInfo("TCP throughput, {streams} streams", "TCP {streams} streams", "Gbit/s", "higher"),
    "tcp_1_cpu_s_per_gb": MetricInfo("CPU time per GB moved, TCP 1 stream", "CPU/GB 1 stream", "CPU s/GB", "lower"),
    "tcp_n_cpu_s_per_gb": MetricInfo(
        "CPU time per GB moved, TCP {streams} streams", "CPU/GB {streams} streams", "CPU s/GB", "lower"
    ),
    "tcp_1_retransmits": MetricInfo("TCP retransmits, 1 stream", "retr. 1 stream", "segments", "lower"),
    "tcp_n_retransmits": MetricInfo(
        "TCP retransmits, {streams} streams", "retr. {streams} streams", "segments", "lower"
    ),
    "cpu_sender_pct": MetricInfo("CPU use of the sender", "CPU sender", "%", "lower"),
    "cpu_receiver_pct": MetricInfo("CPU use of the receiver", "CPU receiver", "%", "lower"),
    "udp_64_kpps": MetricInfo("UDP 64-byte packets", "UDP 64 B", "kpps", "higher"),
    "udp_64_loss_pct": MetricInfo("UDP 64-byte packets, loss", "UDP 64 B loss", "%", "lower"),
    "udp_large_gbps": MetricInfo("UDP large datagrams, throughput", "UDP large", "Gbit/s", "higher"),
    "udp_large_loss_pct": MetricInfo("UDP large datagrams, loss", "UDP large loss", "%", "lower"),
    "ping_p50_ms": MetricInfo("Ping round trip, median (p50)", "ping p50", "ms", "lower"),
    "ping_p99_ms": MetricInfo("Ping round trip, p99", "ping p99", "ms", "lower"),
    "tcp_rr_p50_us": MetricInfo("TCP request/response latency, median (p50)", "TCP RR p50", "\u00b5s", "lower"),
    "tcp_rr_p99_us": MetricInfo("TCP request/response latency, p99", "TCP RR p99", "\u00b5s", "lower"),
    "mtu": MetricInfo("Path MTU", "MTU", "bytes", "higher"),
}

# The figures a reader compares first: the columns of report.md's summary and of the CLI's table.
SUMMARY: tuple[str, ...] = (
    "tcp_1_gbps",
    "tcp_n_gbps",
    "tcp_1_cpu_s_per_gb",
    "tcp_n_cpu_s_per_gb",
    "udp_64_kpps",
    "udp_large_gbps",
    "ping_p50_ms",
    "tcp_rr_p50_us",
)
# The rows of each tunnel/VPC ratio table, per path: the summary's and the retransmits.
TUNNEL_VPC: tuple[str, ...] = (*SUMMARY[:4], "tcp_1_retransmits", "tcp_n_retransmits", *SUMMARY[4:])


def info(key: str) -> MetricInfo:
    """The registry's entry; a key it does not know (a newer document's) is titled by itself."""
    return METRICS.get(key) or MetricInfo(key, key, "", "higher")
