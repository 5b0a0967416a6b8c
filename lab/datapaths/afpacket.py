"""Receive buffers of ovs-vswitchd's AF_PACKET sockets, raised in place (datapath ovs-userspace).

Why: the netdev datapath reads every system port (eth0, the pod veths) through an
AF_PACKET socket it never sizes (OVS `netdev_linux_rxq_construct`: no SO_RCVBUF,
no other_config key), so each keeps `net.core.rmem_default` (212,992 bytes), which
overflows under TCP: tens of thousands of retransmits per 5 s across nodes. That
sysctl is the host's (read-only inside a network namespace), and cce-lab does not
change the host. Instead, as root, the lab takes a duplicate of each socket from the
daemon (pidfd_getfd(2)) and raises that very socket's buffer (SO_RCVBUFFORCE): the
daemon's own descriptor sees it, and the duplicate is closed again at once.

Nothing is journalled: the sockets die with the daemon. OVS opens a new socket when
a port is added or re-added (a new one starts at the default again), so the lab
sizes every receiving AF_PACKET socket of the daemon after `up` wires the ports and
again after every change that adds ports (`move`, `scale`); sizing is idempotent.
A socket opened behind the lab's back (a port re-added by hand with `ovs-vsctl`)
starts at the default and stays so until the next `move`/`scale` on that node.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.kernel import libc, procs

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # socket(7); Python 3.11 lacks the name
_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")


class CannotTake(LabError):
    """This host does not let the lab take or size the daemon's sockets (no pidfd_getfd, ptrace or CAP_NET_ADMIN)."""


@dataclass(frozen=True)
class Buffer:
    """One AF_PACKET socket of a daemon and the receive buffer the kernel holds for it (SO_RCVBUF, `ss` rb)."""

    pid: int
    fd: int
    inode: int
    rcvbuf: int


def receiving_inodes(table: str) -> set[int]:
    """The inodes of the packet sockets in /proc/PID/net/packet (that network namespace's) that receive frames.

    A socket of protocol 0 receives none (packet(7)): OVS's one send-only socket,
    which it opens at its first transmit, is left out, so it need not be sized.
    """
    lines = table.splitlines()
    if not lines:
        return set()
    header = lines[0].split()
    proto, inode = header.index("Proto"), header.index("Inode")
    rows = [line.split() for line in lines[1:]]
    return {int(f[inode]) for f in rows if len(f) == len(header) and int(f[proto], 16) != 0}


def socket_inode(link: str) -> int | None:
    """The inode of a /proc/PID/fd link to a socket (`socket:[123]`), None for anything else."""
    match = _SOCKET_LINK.match(link)
    return int(match.group(1)) if match else None


def force_value(rcvbuf: int) -> int:
    """What to pass to SO_RCVBUFFORCE so the kernel holds `rcvbuf` bytes: it doubles the value it is given."""
    return (rcvbuf + 1) // 2


def _packet_fds(pid: int) -> dict[int, int]:
    """fd -> socket inode, for the receiving AF_PACKET sockets `pid` holds."""
    inodes = receiving_inodes(Path(f"/proc/{pid}/net/packet").read_text())
    found: dict[int, int] = {}
    for entry in os.scandir(f"/proc/{pid}/fd"):
        try:
            inode = socket_inode(os.readlink(entry.path))
        except OSError:  # closed meanwhile
            continue
        if inode in inodes:
            found[int(entry.name)] = inode
    return found


@contextmanager
def _daemon(pidfile: Path) -> Iterator[tuple[int, int]]:
    """(PID, pidfd) of the daemon started with `--pidfile=<pidfile>`; the pidfd pins that very process."""
    pid = procs.pid_of(pidfile)
    if pid is None:
        raise LabError(f"the daemon of {pidfile} is not running")
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as exc:
        raise CannotTake(f"pidfd_open({pid}): {exc.strerror}") from exc
    try:
        if procs.pid_of(pidfile) != pid:  # it ended between the pidfile and the pidfd
            raise LabError(f"the daemon of {pidfile} ended while its sockets were sized")
        yield pid, pidfd
    finally:
        os.close(pidfd)


def _sockets(pidfile: Path) -> Iterator[tuple[int, int, int, socket.socket]]:
    """(pid, fd, inode, a duplicate) per receiving AF_PACKET socket of the daemon; each duplicate closed after use."""
    with _daemon(pidfile) as (pid, pidfd):
        for fd, inode in sorted(_packet_fds(pid).items()):
            try:
                duplicate = libc.pidfd_getfd(pidfd, fd)
            except OSError as exc:
                if exc.errno == errno.EBADF:  # the daemon closed it meanwhile
                    continue
                raise CannotTake(f"pidfd_getfd (pid {pid}, fd {fd}): {exc.strerror}") from exc
            with socket.socket(fileno=duplicate) as sock:
                if os.fstat(duplicate).st_ino == inode:  # not a descriptor number reused meanwhile
                    yield pid, fd, inode, sock


def buffers(pidfile: Path) -> list[Buffer]:
    """The receive buffer of every receiving AF_PACKET socket of the daemon behind `pidfile`, as the kernel holds it."""
    return [
        Buffer(pid, fd, inode, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        for pid, fd, inode, sock in _sockets(pidfile)
    ]


def size(pidfile: Path, rcvbuf: int, shrink: bool = False) -> list[Buffer]:
    """Give every receiving AF_PACKET socket of the daemon behind `pidfile` `rcvbuf` bytes of receive buffer.

    A buffer already larger (a host whose rmem_default is higher) is kept unless
    `shrink`. Returns what the kernel then holds; a socket left smaller is an error.
    """
    sized = []
    for pid, fd, inode, sock in _sockets(pidfile):
        if shrink or sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < rcvbuf:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, force_value(rcvbuf))
            except PermissionError as exc:  # SO_RCVBUFFORCE needs CAP_NET_ADMIN in the initial user namespace
                raise CannotTake(f"SO_RCVBUFFORCE (pid {pid}, fd {fd}): {exc.strerror}") from exc
        held = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        if held < rcvbuf and not shrink:
            raise LabError(f"ovs-vswitchd (pid {pid}) fd {fd}: receive buffer {held} bytes after asking {rcvbuf}")
        sized.append(Buffer(pid, fd, inode, held))
    return sized
