"""The safety of teardown without root: which process a pidfile names, and the journal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.kernel import journal as journal_mod
from lab.kernel import procs


@pytest.fixture
def sleeper(tmp_path):
    """A child whose argv carries --pidfile=<tmp>, like the lab's daemons; always reaped."""
    started = []

    def start(with_option: bool = True) -> tuple[subprocess.Popen, str]:
        pidfile = str(tmp_path / f"d{len(started)}.pid")
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        if with_option:
            argv.append(f"--pidfile={pidfile}")
        proc = subprocess.Popen(argv)
        started.append(proc)
        deadline = time.monotonic() + 5  # until exec has filled in the new command line
        while b"sleep" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.005)
        return proc, pidfile

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_pid_found_by_exact_option_before_the_pidfile_exists(sleeper):
    proc, pidfile = sleeper()
    deadline = time.monotonic() + 5
    while procs.pid_of(pidfile) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert procs.pid_of(pidfile) == proc.pid


def test_pidfile_naming_a_foreign_process_is_ignored(sleeper):
    foreign, _ = sleeper(with_option=False)
    _, pidfile = sleeper()
    other = pidfile + ".other"
    with open(other, "w") as f:
        f.write(f"{foreign.pid}\n")
    assert procs.pid_of(other) is None  # the PID exists, but was not started with this pidfile
    assert procs.stop(other) is False
    assert foreign.poll() is None


def test_stop_ends_the_process_and_waits_for_it(sleeper):
    proc, pidfile = sleeper()
    with open(pidfile, "w") as f:
        f.write(f"{proc.pid}\n")
    assert procs.stop(pidfile) is True
    assert proc.wait(timeout=5) != 0  # ended by a signal
    assert procs.pid_of(pidfile) is None


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setattr(journal_mod, "STATE_ROOT", tmp_path / "state")
    return tmp_path / "state"


def test_journal_is_claimed_once_and_removed_whole(state):
    j = journal_mod.Journal("lab1")
    j.start({"name": "lab1"})
    with pytest.raises(LabError, match="another run"):
        journal_mod.Journal("lab1").start({"name": "lab1"})
    j.add(netns="lab1-vpc")
    j.add(pidfile="/x.pid")
    assert not j.complete()
    j.add(done=True)
    claim, *rest = j.entries()
    assert claim["owner"] == os.getpid() and j.owner() == os.getpid()  # the builder, while it lives
    assert rest == [{"netns": "lab1-vpc"}, {"pidfile": "/x.pid"}, {"done": True}]
    assert j.complete() and j.plan() == {"name": "lab1"}
    assert journal_mod.list_labs() == ["lab1"]
    j.remove()
    assert not state.exists()


def test_a_half_written_lab_is_reported_not_misread(state):
    """Killed between the journal claim and plan.json: status says incomplete, commands say what to do."""
    from lab.observe import status

    j = journal_mod.Journal("half")
    j.start(None)  # the claim exists, the plan does not
    assert journal_mod.list_labs() == ["half"]
    st = status.lab_status("half")
    assert (st.name, st.state, st.nodes) == ("half", "incomplete", [])
    with pytest.raises(LabError, match="interrupted before its plan was saved: run 'cce-lab down half'"):
        status.load_plan("half")
    j.remove()
