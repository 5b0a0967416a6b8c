"""Starting the netexec server for a lab: detached, recognised by its pidfile, ready when every socket listens."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from lab.errors import LabError
from lab.kernel import procs


def log_stderr_to(log: Path | None) -> None:
    """A lab daemon's own first step: its stderr (messages, tracebacks) appended to its log file."""
    if log is not None:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)


def start(config_path: Path, pidfile: Path, log: Path, timeout: float = 30.0, module: str = "lab.netexec") -> int:
    """Start the server detached and return its PID once every socket listens.

    The caller journals `pidfile` before this and ends the server with
    `lab.procs.stop(pidfile)`; `--pidfile=<pidfile>` is passed verbatim as one
    argument, which is how `lab.procs` recognises the process. `module` is the
    lab daemon to run with the same contract (`lab.elbcheck`).
    """
    running = procs.pid_of(pidfile)
    if running is not None:
        raise LabError(f"{module} for {pidfile} is already running (PID {running})")
    with contextlib.suppress(FileNotFoundError):
        Path(pidfile).unlink()  # stale: its process is gone, and it would fake readiness
    root = str(Path(__file__).resolve().parents[2])  # so `-m lab.netexec` is this very lab package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    argv = [sys.executable, "-m", module, "--config", str(config_path), f"--pidfile={pidfile}"]
    argv += ["--log", str(log)]
    try:
        with open(log, "ab") as err:
            since = err.tell()  # the log is appended to: report only what this start wrote
            child = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, env=env
            )
    except OSError as exc:
        raise LabError(f"cannot start {module} ({config_path}): {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        if _pid_in(pidfile) == child.pid:
            return child.pid
        code = child.poll()
        if code is not None:
            raise LabError(
                f"{module} ({config_path}) exited with code {code} before it was ready:\n{_tail(log, since)}"
            )
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            if _pid_in(pidfile) == child.pid:
                Path(pidfile).unlink(missing_ok=True)
            raise LabError(f"{module} ({config_path}) not ready after {timeout:g} s, killed:\n{_tail(log, since)}")
        time.sleep(0.01)


def _pid_in(pidfile: Path) -> int | None:
    try:
        return int(Path(pidfile).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(log: Path, since: int = 0, lines: int = 10) -> str:
    """The last lines written to `log` after byte offset `since`."""
    try:
        with open(log, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace").rstrip().splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(nothing logged)"
