"""What produced the figures: kernel, CPUs, Python, Open vSwitch and iperf3 versions, the OVS module's presence."""

from __future__ import annotations

import os
import platform

from lab.bench.results import Environment
from lab.datapaths.ovs import kernel_available
from lab.errors import LabError
from lab.kernel import procs


def _first_line(argv: list[str]) -> str | None:
    """The first line a `--version` prints, or None when the program is missing or fails."""
    try:
        res = procs.run(None, argv, check=False, timeout=10)
    except (LabError, OSError):  # not installed, not runnable, or timed out
        return None
    lines = (res.stdout or res.stderr).strip().splitlines()
    return lines[0].strip() if res.returncode == 0 and lines else None


def environment() -> Environment:
    """This machine, as a results document records it."""
    try:
        import iperf3

        iperf = iperf3.Client().iperf_version
    except Exception:  # no binding or no libiperf: fall back to the command
        iperf = _first_line(["iperf3", "--version"]) or "not installed"
    return Environment(
        kernel=platform.release(),
        cpus=os.cpu_count(),
        machine=platform.machine(),
        python=platform.python_version(),
        ovs=_first_line(["ovs-vswitchd", "--version"]) or "not installed",
        iperf3=iperf,
        ovs_kernel_module=kernel_available(),
    )
