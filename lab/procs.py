"""Processes the lab starts: run inside a namespace, known by pidfile, ended by PID.

Every daemon is started with a pidfile inside the lab's state directory and is
only ever signalled after checking that the PID's command line names that
pidfile, so a recycled PID or someone else's process is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from lab.errors import LabError


def run(
    netns: str | None, argv: list[str], *, input: str | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside `netns` when given) and return its result."""
    full = ["ip", "netns", "exec", netns, *argv] if netns else argv
    try:
        result = subprocess.run(full, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv)} in {netns or 'root namespace'} timed out after {timeout}s") from exc
    if check and result.returncode != 0:
        where = f" in {netns}" if netns else ""
        raise LabError(f"{' '.join(argv)}{where} failed: {(result.stderr or result.stdout).strip()}")
    return result


def pid_of(pidfile: str | Path) -> int | None:
    """The live PID recorded in `pidfile`, if that process really was started with it."""
    try:
        pid = int(Path(pidfile).read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(pidfile) in cmdline else None


def stop(pidfile: str | Path, timeout: float = 3.0) -> bool:
    """End the process behind `pidfile` (TERM, then KILL) and wait until it is gone."""
    pid = pid_of(pidfile)
    if pid is None:
        return False
    born = _stat(pid)[19]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running(pid, born):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline += timeout
        time.sleep(0.01)
    return True


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (state is [0], start time [19])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _running(pid: int, born: str) -> bool:
    """Alive and still the same process (same start time), not a zombie."""
    try:
        fields = _stat(pid)
    except OSError:
        return False
    return fields[19] == born and fields[0] != "Z"
