"""`ping` run inside a namespace, and its output read: one parser for the checks and the benchmark."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.kernel import procs

_TIME = re.compile(r"\btime[=<]\s*([\d.]+)\s*ms\b")
# A DF packet over the link MTU, refused by the sender's kernel: iputils 20221126 (bookworm) says
# "local error: message too long, mtu=1450", 20240905 (trixie) "sendmsg: Message too long".
_REASONS = ("local error", "message too long", "Message too long", "Unreachable", "Frag needed", "Time to live")


@dataclass
class PingResult:
    times_ms: list[float]  # one per reply, in order
    reason: str  # why there was no reply (empty when every echo was answered)

    @property
    def ok(self) -> bool:
        return bool(self.times_ms)


def parse(output: str) -> PingResult:
    """The round-trip times of `ping` output (summary lines ignored) and the error line, if any."""
    lines = output.strip().splitlines()
    times = [float(m.group(1)) for line in lines if (m := _TIME.search(line))]
    reason = next((ln.removeprefix("ping: ") for key in _REASONS for ln in lines if key in ln), "")
    return PingResult(times, reason)


def ping(
    ns: str,
    dst: str,
    count: int = 1,
    *,
    interval: float | None = None,
    size: int | None = None,
    dont_fragment: bool = False,
    timeout: float = 1.0,
) -> PingResult:
    """`count` ICMP echoes from `ns` to `dst` (`interval` seconds apart, `size` payload bytes)."""
    argv = ["ping", "-n", "-c", str(count), "-W", f"{timeout:g}"]
    if interval is not None:
        argv += ["-i", f"{interval:g}"]
    if size is not None:
        argv += ["-s", str(size)]
    if dont_fragment:
        argv += ["-M", "do"]
    wait = count * (interval or 1.0) + timeout + 5
    res = procs.run(ns, [*argv, dst], check=False, timeout=wait, mounts=False)  # ping reads no /sys
    result = parse(res.stdout + "\n" + res.stderr)
    if not result.ok and not result.reason:
        result.reason = f"no reply within {timeout:g} s"
    return result
