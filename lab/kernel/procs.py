"""Processes the lab starts: run inside a namespace, known by pidfile, ended by PID.

Every daemon is started with `--pidfile=<path in the lab's state dir>` and is
only ever signalled after checking that the PID's argument list holds exactly
that option, so a recycled PID or someone else's process is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from lab.errors import LabError
from lab.kernel.libc import libc
from lab.kernel.netns import path as netns_path

PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000


def run(
    netns: str | None,
    argv: list[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
    mounts: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside `netns` when given) and return its result.

    `mounts=False`: only the network namespace is entered (setns in the child), not `ip netns exec`'s
    private mount namespace with the namespace's own /sys. For tools that read no /sys (iptables-restore,
    iptables-save, ipset, nft): `ip netns exec` copies every mount of the host (one per namespace of every
    lab up) into a new mount namespace, one more process and ~50 ms per call on a 1,000-namespace lab.
    """
    if netns and not mounts:
        return _run_in_netns(netns, argv, input=input, check=check, timeout=timeout, env=env)
    full = ["ip", "netns", "exec", netns, *argv] if netns else argv
    return _run(full, argv, netns, input=input, check=check, timeout=timeout, env=env, preexec=_die_with_us)


def _run_in_netns(
    netns: str, argv: list[str], *, input: str | None, check: bool, timeout: float, env: Mapping[str, str] | None
) -> subprocess.CompletedProcess[str]:
    """`run` with the child moved into `netns` by setns(2) before exec, as `ip netns exec` does first."""
    try:
        fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:  # what `ip netns exec` reports, with its exit code
        msg = f'Cannot open network namespace "{netns}": {exc.strerror}'
        if check:
            raise LabError(f"{' '.join(argv)} in {netns} failed: {msg}") from None
        return subprocess.CompletedProcess(argv, 1, stdout="", stderr=msg + "\n")

    def enter() -> None:
        _die_with_us()
        if libc.setns(fd, CLONE_NEWNET) != 0:
            os._exit(1)  # cannot happen for an open namespace file; never run the tool in the wrong namespace

    try:
        return _run(argv, argv, netns, input=input, check=check, timeout=timeout, env=env, preexec=enter)
    finally:
        os.close(fd)


def _run(
    full: list[str],
    argv: list[str],
    netns: str | None,
    *,
    input: str | None,
    check: bool,
    timeout: float,
    env: Mapping[str, str] | None,
    preexec: Callable[[], None],
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            full, input=input, capture_output=True, text=True, timeout=timeout, env=env, preexec_fn=preexec
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv)} in {netns or 'root namespace'} timed out after {timeout}s") from exc
    except FileNotFoundError as exc:
        raise LabError(f"{full[0]} is not installed: run 'make setup'") from exc
    if check and result.returncode != 0:
        where = f" in {netns}" if netns else ""
        raise LabError(f"{' '.join(argv)}{where} failed: {(result.stderr or result.stdout).strip()}")
    return result


def _die_with_us() -> None:
    """In the child, before exec: if the lab command is killed mid-way, its helper dies with it.

    A `cce-lab up` killed while `ip netns exec ovsdb-server ...` runs must not
    leave that helper to start a daemon after `down` has cleaned up. A daemon
    that detaches (forks) is not affected: the setting does not pass to a fork.
    """
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _started_with(pid: int, option: str, marker: str | None, title: str | None) -> bool:
    """Exactly `option` among its arguments; or, for a daemon that retitles itself, its `title` and `marker`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    if marker:
        return cmdline.startswith(title or "") and marker in cmdline
    return option in cmdline.split("\0")


def pid_of(pidfile: str | Path, marker: str | None = None, title: str | None = None) -> int | None:
    """The live PID of the daemon started with `--pidfile=<pidfile>` (or showing `marker`).

    Read from the pidfile; if that is not written yet (an `up` killed while a
    daemon was starting), found by its exact `--pidfile=` argument.
    """
    option = f"--pidfile={pidfile}"
    try:
        pid = int(Path(pidfile).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    if pid is not None and _started_with(pid, option, marker, title):
        return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _started_with(int(entry.name), option, marker, title):
            return int(entry.name)
    return None


def stop(pidfile: str | Path, marker: str | None = None, title: str | None = None, timeout: float = 3.0) -> bool:
    """End the daemon behind `pidfile` (TERM, then KILL) and wait until it is gone."""
    pid = pid_of(pidfile, marker, title)
    if pid is None:
        return False
    try:
        born = _stat(pid)[19]
        os.kill(pid, signal.SIGTERM)
    except (OSError, IndexError):  # it ended by itself meanwhile
        return True
    deadline = time.monotonic() + timeout
    killed = False
    while _running(pid, born):
        if time.monotonic() > deadline:
            if killed:
                raise LabError(f"process {pid} ({pidfile}) survived SIGKILL")
            os.kill(pid, signal.SIGKILL)
            killed, deadline = True, deadline + timeout
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
