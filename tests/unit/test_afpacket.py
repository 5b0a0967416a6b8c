"""Sizing ovs-vswitchd's AF_PACKET receive buffers: the /proc parsing, and (as root) the pidfd_getfd mechanism
on a stand-in daemon that holds packet sockets in a network namespace of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.datapaths import afpacket
from lab.errors import LabError

# /proc/net/packet of a node: OVS's eth0 and veth sockets (ETH_P_ALL), its send-only socket (protocol 0).
PACKET_TABLE = """\
sk               RefCnt Type Proto  Iface R Rmem   User   Inode
ffff8f0a4c7e1000 3      3    0003   2     1 0      0      91234
ffff8f0a4c7e2800 3      3    0003   7     1 1280   0      91240
ffff8f0a4c7e5000 3      3    0000   0     0 0      0      91301
"""


def test_receiving_sockets_are_read_from_proc_net_packet() -> None:
    assert afpacket.receiving_inodes(PACKET_TABLE) == {91234, 91240}


@pytest.mark.parametrize("table", ["", "sk RefCnt Type Proto Iface R Rmem User Inode\n"])
def test_no_packet_sockets(table: str) -> None:
    assert afpacket.receiving_inodes(table) == set()


@pytest.mark.parametrize(
    ("link", "inode"),
    [("socket:[91234]", 91234), ("pipe:[91234]", None), ("/dev/null", None), ("socket:[]", None)],
)
def test_socket_inode_of_an_fd_link(link: str, inode: int | None) -> None:
    assert afpacket.socket_inode(link) == inode


@pytest.mark.parametrize(("wanted", "given"), [(8 << 20, 4 << 20), (212992, 106496), (3, 2)])
def test_the_kernel_doubles_what_so_rcvbufforce_is_given(wanted: int, given: int) -> None:
    assert afpacket.force_value(wanted) == given
    assert 2 * afpacket.force_value(wanted) >= wanted


STAND_IN = """
import ctypes, os, socket, sys
assert ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0  # CLONE_NEWNET: nothing in the root namespace
receiving = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
receiving.bind(("lo", 0))
send_only = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
pidfile = sys.argv[1].split("=", 1)[1]
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(pidfile + ".tmp", pidfile)
print(receiving.fileno(), flush=True)
sys.stdin.readline()
print(receiving.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), flush=True)
"""


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, int]]:
    """A process started with --pidfile= holding one receiving and one send-only AF_PACKET socket."""
    if os.geteuid() != 0:
        pytest.skip("pidfd_getfd on another process needs root")
    pidfile = tmp_path / "stand-in.pid"
    proc = subprocess.Popen(
        [sys.executable, "-c", STAND_IN, f"--pidfile={pidfile}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        fd = int(proc.stdout.readline())
        yield proc, pidfile, fd
    finally:
        proc.kill()
        proc.wait()


def test_the_daemons_own_socket_gets_the_buffer(stand_in: tuple[subprocess.Popen[str], Path, int]) -> None:
    proc, pidfile, fd = stand_in
    default = int(Path("/proc/sys/net/core/rmem_default").read_text())
    (before,) = afpacket.buffers(pidfile)  # the send-only socket is not among them
    assert (before.pid, before.fd, before.rcvbuf) == (proc.pid, fd, default)
    wanted = 4 * default + 1
    (after,) = afpacket.size(pidfile, wanted)
    assert after.rcvbuf >= wanted
    assert afpacket.size(pidfile, 2 * default) == [after]  # never shrunk unless asked
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert int(proc.stdout.readline()) == after.rcvbuf  # what the daemon itself reads on its descriptor


def test_shrink_sets_exactly(stand_in: tuple[subprocess.Popen[str], Path, int]) -> None:
    _, pidfile, _ = stand_in
    afpacket.size(pidfile, 8 << 20)
    (back,) = afpacket.size(pidfile, 1 << 20, shrink=True)
    assert back.rcvbuf == 1 << 20


def test_a_pidfile_without_its_daemon_is_refused(tmp_path: Path) -> None:
    pidfile = tmp_path / "gone.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # a live PID, but not started with --pidfile=<this file>
    with pytest.raises(LabError, match="not running"):
        afpacket.size(pidfile, 1 << 20)
